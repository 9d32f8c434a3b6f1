/// Checks of the training-step kernels (GEMM, fused bias + activation, losses, reductions) against the
/// Reference computed in float64.
///
/// These use an absolute bound scaled to the data (inputs are uniform in [−1, 1)), not ULPs: a GEMM or a
/// sum of k terms legitimately differs from float64 by about k·2⁻²⁴ of its terms' magnitude, and OpenCL's
/// exp/tanh/erf may be several ULP off, which is large relative to results near zero.
extension Verify {
    /// GEMM shapes (m, n, k): tiny, ragged and training-sized.
    public static let gemmShapes = [(1, 1, 1), (3, 5, 7), (17, 33, 65), (64, 128, 64), (130, 10, 257)]
    /// Row counts for the per-row and per-column kernels.
    public static let layerRows = [1, 7, 64, 129]
    /// Lengths for the reductions.
    public static let reduceSizes = [0, 1, 255, 256, 1000, 65_537, 1_000_003]

    /// Runs every layer, loss and reduction check.
    ///
    /// - Parameters:
    ///   - backend: The backend to check.
    ///   - progress: Called with each result as it is made.
    /// - Returns: Every result, in the order made.
    /// - Throws: The backend's error.
    public static func runLayers(backend: Backend, progress: (VerifyResult) -> Void = { _ in }) throws -> [VerifyResult]
    {
        var results: [VerifyResult] = []
        func record(_ result: VerifyResult) { progress(result); results.append(result) }
        for (m, n, k) in gemmShapes {
            for (ta, tb) in [(false, false), (false, true), (true, false), (true, true)] {
                record(try checkGEMM(m: m, n: n, k: k, transposeA: ta, transposeB: tb, backend: backend))
            }
        }
        for activation in Activation.allCases {
            for rows in layerRows {
                record(
                    try checkBiasActivation(
                        rows: rows, cols: 33, activation: activation, backward: false, backend: backend))
                record(
                    try checkBiasActivation(
                        rows: rows, cols: 33, activation: activation, backward: true, backend: backend))
            }
        }
        for kind in LossKind.allCases {
            for rows in layerRows {
                record(try checkLoss(kind, rows: rows, cols: kind == .bce ? 1 : 10, backend: backend))
            }
        }
        for size in reduceSizes {
            for squares in [false, true] { record(try checkReduce(count: size, squares: squares, backend: backend)) }
        }
        for size in [1, 17, 1000, 65_537] {
            for mode in ["norm", "value"] { record(try checkClip(count: size, mode: mode, backend: backend)) }
        }
        return results
    }

    static func upload(_ values: [Float], _ backend: Backend) throws -> DeviceBuffer {
        let buffer = try backend.makeBuffer(count: values.count)
        try backend.write(values, to: buffer)
        return buffer
    }

    /// Checks one GEMM, C = 0.75 · op(A) · op(B) + 0.5 · C, against the Reference in float64.
    ///
    /// - Parameters:
    ///   - m: Rows of C.
    ///   - n: Columns of C.
    ///   - k: The inner dimension.
    ///   - transposeA: Use Aᵀ.
    ///   - transposeB: Use Bᵀ.
    ///   - backend: The backend to check.
    /// - Returns: The result, within (k + 2)·2⁻²³ absolute.
    /// - Throws: The backend's error.
    public static func checkGEMM(
        m: Int, n: Int, k: Int, transposeA: Bool, transposeB: Bool, backend: Backend
    ) throws -> VerifyResult {
        var random = SplitMix64(seed: UInt64(m * 1000 + n * 10 + k))
        let a = random.uniforms(m * k), b = random.uniforms(k * n), c0 = random.uniforms(m * n)
        let lda = transposeA ? m : k, ldb = transposeB ? k : n
        let (alpha, beta): (Float, Float) = (0.75, 0.5)
        let buffers = try [a, b, c0].map { try upload($0, backend) }
        try backend.run(
            .gemm(
                MatrixMultiply(
                    transposeA: transposeA, transposeB: transposeB, m: m, n: n, k: k, alpha: alpha,
                    a: buffers[0], lda: lda, b: buffers[1], ldb: ldb, beta: beta, c: buffers[2], ldc: n)))
        var expected = c0.map(Double.init)
        Reference.gemm(
            transposeA: transposeA, transposeB: transposeB, m: m, n: n, k: k, alpha: Double(alpha),
            a: a.map(Double.init), lda: lda, b: b.map(Double.init), ldb: ldb, beta: Double(beta), c: &expected, ldc: n)
        var comparison = Comparison()
        comparison.add("C", try backend.read(buffers[2]), expected.map { Float($0) })
        // k products of magnitude < 1 summed in float32: |error| <= k·2⁻²³ bounds any summation order.
        return comparison.result(
            kernel: "gemm",
            configuration: "m=\(m),n=\(n),k=\(k),trans=\(transposeA ? "T" : "N")\(transposeB ? "T" : "N")",
            size: m * n, absoluteBound: Double(k + 2) * 0x1p-23)
    }

    /// Checks the fused bias + activation kernel, forward or backward, against the Reference in float64.
    ///
    /// - Parameters:
    ///   - rows: Rows of Z.
    ///   - cols: Columns of Z (and the bias's length).
    ///   - activation: The nonlinearity.
    ///   - backward: Check the backward kernel (dZ and dbias) instead of the forward one (Z and A).
    ///   - backend: The backend to check.
    /// - Returns: The result.
    /// - Throws: The backend's error.
    public static func checkBiasActivation(
        rows: Int, cols: Int, activation: Activation, backward: Bool, backend: Backend
    ) throws -> VerifyResult {
        var random = SplitMix64(seed: UInt64(rows * 31 + cols) &+ UInt64(activation.rawValue))
        let z = random.uniforms(rows * cols).map { $0 * 3 }, bias = random.uniforms(cols),
            upstream = random.uniforms(rows * cols)
        var comparison = Comparison()
        let configuration = "\(activation.name),rows=\(rows),cols=\(cols)"
        if !backward {
            let zBuffer = try upload(z, backend), biasBuffer = try upload(bias, backend),
                aBuffer = try backend.makeBuffer(count: rows * cols)
            try backend.run(
                .biasActivation(
                    BiasActivationCommand(
                        pass: .forward, z: DeviceSlice(zBuffer), bias: DeviceSlice(biasBuffer),
                        activations: DeviceSlice(aBuffer), rows: rows, cols: cols, activation: activation)))
            var zRef = z.map(Double.init), aRef = zRef
            Reference.biasActivationForward(
                z: &zRef, bias: bias.map(Double.init), a: &aRef, rows: rows, cols: cols, activation: activation)
            comparison.add("Z", try backend.read(zBuffer), zRef.map { Float($0) })
            comparison.add("A", try backend.read(aBuffer), aRef.map { Float($0) })
            return comparison.result(
                kernel: "bias_activation_forward", configuration: configuration, size: rows * cols, absoluteBound: 1e-5)
        }
        let gradA = try upload(upstream, backend), zBuffer = try upload(z, backend)
        let gradZ = try backend.makeBuffer(count: rows * cols), gradBias = try backend.makeBuffer(count: cols)
        try backend.run(
            .biasActivation(
                BiasActivationCommand(
                    pass: .backward, z: DeviceSlice(zBuffer), bias: DeviceSlice(gradBias),
                    activations: DeviceSlice(gradA), gradZ: DeviceSlice(gradZ), rows: rows, cols: cols,
                    activation: activation)))
        var gradZRef = [Double](repeating: 0, count: rows * cols)
        let gradBiasRef = Reference.biasActivationBackward(
            gradA: upstream.map(Double.init), z: z.map(Double.init), gradZ: &gradZRef,
            rows: rows, cols: cols, activation: activation)
        comparison.add("dZ", try backend.read(gradZ), gradZRef.map { Float($0) })
        comparison.add("dbias", try backend.read(gradBias), gradBiasRef.map { Float($0) })
        return comparison.result(
            kernel: "bias_activation_backward", configuration: configuration, size: rows * cols,
            absoluteBound: 1e-5 * Double(rows))
    }

    /// Checks one fused loss and gradient kernel against the Reference in float64.
    ///
    /// - Parameters:
    ///   - kind: The loss.
    ///   - rows: Rows of the batch.
    ///   - cols: Outputs per row (1 for BCE).
    ///   - backend: The backend to check.
    /// - Returns: The result over the row losses, correctness and gradient.
    /// - Throws: The backend's error.
    public static func checkLoss(_ kind: LossKind, rows: Int, cols: Int, backend: Backend) throws -> VerifyResult {
        var random = SplitMix64(seed: UInt64(rows * 7 + cols))
        let input = random.uniforms(rows * cols).map { $0 * 4 }
        let targets: [Float]
        switch kind {
        case .crossEntropy: targets = (0..<rows).map { Float($0 * 7 % cols) }
        case .bce: targets = (0..<rows).map { Float($0 % 2) }
        case .mse: targets = random.uniforms(rows * cols)
        }
        let inputBuffer = try upload(input, backend), targetBuffer = try upload(targets, backend)
        let grad = try backend.makeBuffer(count: rows * cols), loss = try backend.makeBuffer(count: rows),
            correct = try backend.makeBuffer(count: rows)
        let scale = kind == .mse ? 1 / Float(rows * cols) : 1 / Float(rows)
        try backend.run(
            .loss(
                LossCommand(
                    kind: kind, input: inputBuffer, inputOffset: 0, targets: targetBuffer, targetsOffset: 0,
                    grad: grad, rowLoss: loss, rowCorrect: correct, rows: rows, cols: cols, scale: scale)))
        let reference = Reference.loss(
            kind, input: input.map(Double.init), targets: targets.map(Double.init), rows: rows, cols: cols)
        var comparison = Comparison()
        comparison.add("loss", try backend.read(loss), reference.rowLoss.map { Float($0) })
        comparison.add("correct", try backend.read(correct), reference.rowCorrect.map { Float($0) })
        comparison.add("grad", try backend.read(grad), reference.grad.map { Float($0) })
        return comparison.result(
            kernel: kind == .crossEntropy ? "softmax_cross_entropy" : kind == .bce ? "bce_with_logits" : "mse",
            configuration: "rows=\(rows),cols=\(cols)", size: rows * cols, absoluteBound: 1e-5 * Double(cols))
    }

    /// Checks the reduction kernel (scaled, accumulated into an existing value) against a float64 sum.
    ///
    /// - Parameters:
    ///   - count: Values summed.
    ///   - squares: Sum the squares instead.
    ///   - backend: The backend to check.
    /// - Returns: The result.
    /// - Throws: The backend's error.
    public static func checkReduce(count: Int, squares: Bool, backend: Backend) throws -> VerifyResult {
        var random = SplitMix64(seed: UInt64(count) &+ 99)
        let values = random.uniforms(count)
        let source = try upload(values, backend), destination = try upload([0.5, 0.25], backend)
        try backend.run(
            .reduce(
                ReduceCommand(
                    source: source, sourceOffset: 0, count: count, squares: squares,
                    destination: destination, index: 1, scale: 0.5, accumulate: true)))
        let sum = values.reduce(0.0) { $0 + (squares ? Double($1) * Double($1) : Double($1)) }
        var comparison = Comparison()
        comparison.add("sum", try backend.read(destination), [0.5, Float(0.25 + 0.5 * sum)])
        return comparison.result(
            kernel: "reduce", configuration: squares ? "sum_of_squares" : "sum", size: count,
            absoluteBound: Double(count + 2) * 0x1p-24)
    }
}

extension Verify {
    /// Clipping by global norm (the norm from the device's own reduction) and by value.
    ///
    /// - Parameters:
    ///   - count: Gradient elements.
    ///   - mode: `norm` or `value`.
    ///   - backend: The backend to check.
    /// - Returns: The result.
    /// - Throws: The backend's error.
    public static func checkClip(count: Int, mode: String, backend: Backend) throws -> VerifyResult {
        var random = SplitMix64(seed: UInt64(count) &+ 7)
        let values = random.uniforms(count).map { $0 * 3 }
        let gradients = try upload(values, backend), stats = try upload([0, 0], backend)
        var expected = values
        if mode == "norm" {
            try backend.run(
                .reduce(
                    ReduceCommand(
                        source: gradients, sourceOffset: 0, count: count, squares: true, destination: stats,
                        index: 1, scale: 1, accumulate: false)))
            try backend.run(.clipByNorm(gradients: gradients, count: count, stats: stats, normIndex: 1, maxNorm: 0.5))
            Reference.clipByNorm(&expected, maxNorm: 0.5)
        } else {
            try backend.run(.clipByValue(gradients: gradients, count: count, clip: 1.25))
            Reference.clipByValue(&expected, clip: 1.25)
        }
        var comparison = Comparison()
        comparison.add("grad", try backend.read(gradients), expected)
        // By value is exact; by norm inherits the float32 norm's error (count·2⁻²⁴ relative) times |g| ≤ 3.
        return comparison.result(
            kernel: mode == "norm" ? "clip_by_norm" : "clip_by_value", configuration: mode, size: count,
            absoluteBound: mode == "norm" ? 3 * Double(count + 2) * 0x1p-24 : 0)
    }
}
