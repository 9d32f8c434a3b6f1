import Foundation

/// `torch.optim.Muon` (Jordan et al. 2024): momentum with lerp (Nesterov by default), then the update orthogonalised
/// by the quintic Newton–Schulz iteration on the Frobenius-normalised matrix, scaled by `adjust_lr_fn`, with decoupled
/// decay at the unadjusted lr.
///
/// Muon updates tensors of two or more dimensions, seen as [shape[0] × the rest] (a convolution kernel flattened as
/// the reference implementation does); the others take ``auxiliary`` (default AdamW lr 3e-4, beta2 0.95), whose lr
/// follows the schedule in proportion. The iteration runs in float32 on the device's GEMMs (PyTorch runs it in
/// bfloat16); the README states the tolerance against both.
public struct Muon: TensorwiseRule {
    /// The learning rate, `lr`.
    public var lr = 1e-3
    /// The decoupled weight decay θ(1 − lr·λ), `weight_decay`.
    public var weightDecay = 0.1
    /// The momentum factor μ, `momentum`.
    public var momentum = 0.95
    /// Nesterov momentum, `nesterov`.
    public var nesterov = true
    /// The Newton–Schulz coefficients (a, b, c), `ns_coefficients` split as `ns_a`, `ns_b`, `ns_c`.
    public var nsA = 3.4445, nsB = -4.7750, nsC = 2.0315
    /// The floor of the Frobenius norm, `eps`.
    public var eps = 1e-7
    /// Newton–Schulz iterations, `ns_steps`.
    public var nsSteps = 5.0
    /// The lr adjustment by shape, `adjust_lr_fn`: `original` lr·√max(1, A/B), `match_rms_adamw` lr·0.2·√max(A, B),
    /// `spectral_unclamped` lr·√(A/B).
    public var adjustLRFunction = "original"
    /// The optimizer of the tensors with fewer than two dimensions.
    public var auxiliary: OptimizerConfiguration? = Muon.defaultAuxiliary

    /// AdamW lr 3e-4, beta2 0.95 (its other values PyTorch's defaults).
    public static let defaultAuxiliary: OptimizerConfiguration? = {
        var adamw = AdamW()
        (adamw.lr, adamw.beta2) = (3e-4, 0.95)
        return OptimizerConfiguration(adamw)
    }()

    /// PyTorch's defaults, with the default auxiliary optimizer.
    public init() {}

    /// The SPEC name, `muon`.
    public static let name = "muon"
    /// The SPEC keys, bound to the properties above, in the order `spec` prints them.
    public static var keys: [HyperparameterKey<Self>] {
        [
            .number("lr", \.lr), .number("weight_decay", \.weightDecay), .beta("momentum", \.momentum),
            .flag("nesterov", \.nesterov), .number("ns_a", \.nsA, -1e6...1e6, "finite"),
            .number("ns_b", \.nsB, -1e6...1e6, "finite"), .number("ns_c", \.nsC, -1e6...1e6, "finite"),
            .number("eps", \.eps), .number("ns_steps", \.nsSteps, 0...99, "an integer in [0, 99]"),
            .choice("adjust_lr_fn", \.adjustLRFunction, ["original", "match_rms_adamw", "spectral_unclamped"]),
        ]
    }
    /// A momentum-cycling schedule drives `momentum`.
    public static var cycledMomentum: WritableKeyPath<Self, Double>? { \.momentum }
    /// The weight decay key, `weight_decay`.
    public static var weightDecay: WritableKeyPath<Self, Double>? { \.weightDecay }

    /// ns_steps must be whole.
    ///
    /// - Parameter spec: The SPEC, for the message.
    /// - Throws: `EtaError` `.usage` for a fractional ns_steps.
    public func validate(spec: String) throws {
        guard nsSteps == nsSteps.rounded() else {
            throw EtaError(.usage, "invalid value \(nsSteps) for 'ns_steps' in SPEC '\(spec)': must be an integer")
        }
    }

    /// Tensors of two or more dimensions.
    ///
    /// - Parameter shape: A tensor's dimensions.
    /// - Returns: Whether Muon updates it.
    public static func updates(shape: [Int]) -> Bool { shape.count >= 2 }

    /// `momentum_buffer`, the tensor's shape.
    ///
    /// - Parameter shape: The tensor's dimensions.
    /// - Returns: One state tensor.
    public func stateTensors(forShape shape: [Int]) -> [(slot: String, shape: [Int])] { [("momentum_buffer", shape)] }

    /// The matrix [A × B] as Muon sees it: shape[0] rows, the rest flattened.
    static func flattened(_ shape: [Int]) -> (rows: Int, cols: Int) {
        let rows = shape.first ?? 1
        return (rows, rows == 0 ? 0 : shape.reduce(1, *) / rows)
    }

    /// X and its next iterate (A·B each), the Gram matrix and its polynomial (min(A, B)² each).
    ///
    /// - Parameter shape: The tensor's dimensions.
    /// - Returns: Floats of scratch.
    public func scratchCount(forShape shape: [Int]) -> Int {
        let (rows, cols) = Self.flattened(shape), side = min(rows, cols)
        return 2 * rows * cols + 2 * side * side
    }

    /// The lr of a matrix [A × B] under `adjust_lr_fn`.
    func adjustedLR(_ lr: Double, rows: Int, cols: Int) -> Double {
        let (a, b) = (Double(rows), Double(cols))
        switch adjustLRFunction {
        case "match_rms_adamw": return lr * 0.2 * max(a, b).squareRoot()
        case "spectral_unclamped": return lr * (a / b).squareRoot()
        default: return lr * max(1, a / b).squareRoot()
        }
    }

    /// Momentum, the Frobenius normalisation, ns_steps iterations of three GEMMs, and the update.
    ///
    /// - Parameters:
    ///   - x: The tensor, its `momentum_buffer` and scratch.
    ///   - t: The step (unused: Muon keeps no step).
    ///   - lr: The scheduled learning rate.
    /// - Throws: The backend's error.
    public func launchStep(_ x: TensorwiseLaunch, step t: Int, lr: Double) throws {
        let (rows, cols) = Self.flattened(x.shape), count = rows * cols
        guard count > 0 else { return }
        let side = min(rows, cols), wide = rows <= cols
        var current = DeviceSlice(x.scratch, offset: 0), next = DeviceSlice(x.scratch, offset: count)
        let gram = DeviceSlice(x.scratch, offset: 2 * count),
            poly = DeviceSlice(x.scratch, offset: 2 * count + side * side)
        try x.run(
            .muonMomentum(
                gradients: x.gradients, buffer: x.state["momentum_buffer"]!, output: current, count: count,
                oneMinusMomentum: Float(1 - momentum), momentum: Float(momentum), nesterov: nesterov))
        try x.sumOfSquares(current, count: count, into: 0)
        try x.run(.scaleByNorm(values: current, count: count, stats: x.stats, index: 0, eps: Float(eps)))
        for _ in 0..<Int(nsSteps) {
            // wide: A = X·Xᵀ, X ← a·X + B·X; tall (the transposed iteration): A = XᵀX, X ← a·X + X·Bᵀ.
            try x.backend.run(
                .gemm(
                    MatrixMultiply(
                        transposeA: !wide, transposeB: wide, m: side, n: side, k: wide ? cols : rows,
                        a: current.buffer, aOffset: current.offset, lda: cols, b: current.buffer,
                        bOffset: current.offset, ldb: cols, c: gram.buffer, cOffset: gram.offset, ldc: side)))
            try x.copy(gram, to: poly, count: side * side)
            try x.backend.run(
                .gemm(
                    MatrixMultiply(
                        m: side, n: side, k: side, alpha: Float(nsC), a: gram.buffer, aOffset: gram.offset, lda: side,
                        b: gram.buffer, bOffset: gram.offset, ldb: side, beta: Float(nsB), c: poly.buffer,
                        cOffset: poly.offset, ldc: side)))
            try x.copy(current, to: next, count: count)
            let product =
                wide
                ? MatrixMultiply(
                    m: rows, n: cols, k: rows, a: poly.buffer, aOffset: poly.offset, lda: side, b: current.buffer,
                    bOffset: current.offset, ldb: cols, beta: Float(nsA), c: next.buffer, cOffset: next.offset,
                    ldc: cols)
                : MatrixMultiply(
                    transposeB: true, m: rows, n: cols, k: cols, a: current.buffer, aOffset: current.offset,
                    lda: cols, b: poly.buffer, bOffset: poly.offset, ldb: side, beta: Float(nsA), c: next.buffer,
                    cOffset: next.offset, ldc: cols)
            try x.backend.run(.gemm(product))
            swap(&current, &next)
        }
        try x.run(
            .muonApply(
                parameters: x.parameters, update: current, count: count, decay: Float(1 - lr * weightDecay),
                negativeLR: Float(-adjustedLR(lr, rows: rows, cols: cols))))
    }

    /// One step of the Reference's Muon for one matrix.
    ///
    /// - Parameters:
    ///   - param: The parameters, updated in place.
    ///   - grad: The gradient.
    ///   - shape: The tensor's dimensions.
    ///   - state: `momentum_buffer`.
    ///   - t: The step.
    ///   - lr: The scheduled learning rate.
    public func referenceTensorStep(
        param: inout [Float], grad: [Float], shape: [Int], state: inout [String: [Float]], step t: Int, lr: Double
    ) {
        Reference.muon(self, param: &param, grad: grad, shape: shape, state: &state, lr: lr)
    }

    /// One step of the Reference's Muon over every tensor (the auxiliary optimizer's for the vectors).
    ///
    /// - Parameters:
    ///   - x: The parameters, per-tensor state and host state, updated in place.
    ///   - grad: The gradient.
    ///   - t: The step, from 1.
    ///   - lr: The scheduled learning rate.
    public func referenceStep(_ x: inout ReferenceOptimizerState, grad: [Float], step t: Int, lr: Double) {
        Reference.tensorwise(self, &x, grad: grad, step: t, lr: lr)
    }
}
