import Foundation

/// `torch.optim.Adafactor` (Shazeer & Stern 2018): second moments factored into row and column means for tensors of
/// two or more dimensions (over their last two), unfactored for vectors, with the relative step ρ = min(lr, 1/√t),
/// the parameter scale α = max(eps2, RMS(θ))·ρ, update clipping by `d`, and decoupled decay.
public struct Adafactor: TensorwiseRule {
    /// The learning rate, `lr` (a cap on the relative step).
    public var lr = 1e-2
    /// The decay of the second moments' weight t^beta2_decay, `beta2_decay`.
    public var beta2Decay = -0.8
    /// The floor of the second moment, `eps1` (PyTorch's None: float32's machine epsilon).
    public var eps1 = Double(Float.ulpOfOne)
    /// The floor of the parameter scale, `eps2`.
    public var eps2 = 1e-3
    /// The clipping threshold of the update's RMS, `d`.
    public var d = 1.0
    /// The decoupled weight decay θ(1 − lr·λ), `weight_decay`.
    public var weightDecay = 0.0
    /// Maximize the objective instead of minimizing it, `maximize`.
    public var maximize = false

    /// PyTorch's defaults.
    public init() {}

    /// The SPEC name, `adafactor`.
    public static let name = "adafactor"
    /// The SPEC keys (the `eps` pair split as `eps1`, `eps2`), in the order `spec` prints them.
    public static var keys: [HyperparameterKey<Self>] {
        [
            .number("lr", \.lr), .number("beta2_decay", \.beta2Decay, -1e6...0, "<= 0"), .number("eps1", \.eps1),
            .number("eps2", \.eps2), .number("d", \.d, 1...Double.greatestFiniteMagnitude, ">= 1"),
            .number("weight_decay", \.weightDecay), .flag("maximize", \.maximize),
        ]
    }
    /// The weight decay key, `weight_decay`.
    public static var weightDecay: WritableKeyPath<Self, Double>? { \.weightDecay }

    /// Every tensor: factored when it has two or more dimensions.
    ///
    /// - Parameter shape: A tensor's dimensions.
    /// - Returns: True.
    public static func updates(shape: [Int]) -> Bool { true }

    /// `row_var` (the last dimension 1) and `col_var` (the second to last 1) for a factored tensor, else `variance`.
    ///
    /// - Parameter shape: The tensor's dimensions.
    /// - Returns: The state tensors with PyTorch's shapes.
    public func stateTensors(forShape shape: [Int]) -> [(slot: String, shape: [Int])] {
        guard shape.count >= 2 else { return [("variance", shape)] }
        var rows = shape, cols = shape
        rows[rows.count - 1] = 1
        cols[cols.count - 2] = 1
        return [("row_var", rows), ("col_var", cols)]
    }

    /// The direction U, one float per element.
    ///
    /// - Parameter shape: The tensor's dimensions.
    /// - Returns: Floats of scratch.
    public func scratchCount(forShape shape: [Int]) -> Int { shape.reduce(1, *) }

    /// ‖θ‖², the statistics, U and ‖U‖², then the update.
    ///
    /// - Parameters:
    ///   - x: The tensor, its state and scratch.
    ///   - t: The step, from 1.
    ///   - lr: The scheduled learning rate.
    /// - Throws: The backend's error.
    public func launchStep(_ x: TensorwiseLaunch, step t: Int, lr: Double) throws {
        let count = x.count
        guard count > 0 else { return }
        let factored = x.shape.count >= 2
        let (matrices, rows, cols) = factored ? Self.matrixView(x.shape) : (1, 1, count)
        let step = Double(t)
        let rowVariance = x.state[factored ? "row_var" : "variance"]!
        let columnVariance = x.state["col_var"] ?? rowVariance
        let direction = DeviceSlice(x.scratch, offset: 0)
        func command(_ stage: AdafactorCommand.Stage, _ tensor: DeviceSlice) -> TensorUpdateCommand {
            .adafactor(
                AdafactorCommand(
                    stage: stage, tensor: tensor, output: direction, rowVariance: rowVariance,
                    columnVariance: columnVariance, rowMeans: DeviceSlice(x.stats, offset: 2),
                    stats: DeviceSlice(x.stats, offset: 0), matrices: matrices, rows: rows, cols: cols,
                    factored: factored, weight: Float(pow(step, beta2Decay)), eps1: Float(eps1), eps2: Float(eps2),
                    d: Float(d), rho: Float(min(lr, 1 / step.squareRoot())),
                    decay: weightDecay != 0 ? Float(1 - lr * weightDecay) : 1, maximize: maximize))
        }
        try x.sumOfSquares(x.parameters, count: count, into: 0)
        if factored {
            try x.run(command(.rows, x.gradients))
            try x.run(command(.columns, x.gradients))
            try x.backend.run(
                .reduce(
                    ReduceCommand(
                        source: rowVariance.buffer, sourceOffset: rowVariance.offset, count: rows, squares: false,
                        destination: x.stats, index: 2, scale: Float(1 / Double(rows)), accumulate: false,
                        segments: matrices)))
        }
        try x.run(command(.direction, x.gradients))
        try x.sumOfSquares(direction, count: count, into: 1)
        try x.run(command(.apply, x.parameters))
    }

    /// One step of the Reference's Adafactor for one tensor.
    ///
    /// - Parameters:
    ///   - param: The parameters, updated in place.
    ///   - grad: The gradient.
    ///   - shape: The tensor's dimensions.
    ///   - state: `row_var` and `col_var`, or `variance`.
    ///   - t: The step, from 1.
    ///   - lr: The scheduled learning rate.
    public func referenceTensorStep(
        param: inout [Float], grad: [Float], shape: [Int], state: inout [String: [Float]], step t: Int, lr: Double
    ) {
        Reference.adafactor(self, param: &param, grad: grad, shape: shape, state: &state, step: t, lr: lr)
    }

    /// One step of the Reference's Adafactor over every tensor.
    ///
    /// - Parameters:
    ///   - x: The parameters and per-tensor state, updated in place.
    ///   - grad: The gradient.
    ///   - t: The step, from 1.
    ///   - lr: The scheduled learning rate.
    public func referenceStep(_ x: inout ReferenceOptimizerState, grad: [Float], step t: Int, lr: Double) {
        Reference.tensorwise(self, &x, grad: grad, step: t, lr: lr)
    }
}
