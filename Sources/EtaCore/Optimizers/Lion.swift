/// Lion (Chen et al., arXiv:2302.06675), with lion-pytorch's equations: the sign of an interpolated momentum.
public struct Lion: OptimizerRule {
    /// The learning rate, `lr`.
    public var lr = 1e-4
    /// The interpolation between momentum and gradient whose sign is the update, `beta1`.
    public var beta1 = 0.9
    /// The decay rate of the momentum, `beta2`.
    public var beta2 = 0.99
    /// Decoupled weight decay θ(1 − lr·λ), `weight_decay`.
    public var weightDecay = 0.0

    /// The reference implementation's defaults.
    public init() {}

    /// The SPEC name, `lion`.
    public static let name = "lion"
    /// The SPEC keys, bound to the properties above, in the order `spec` prints them.
    public static var keys: [HyperparameterKey<Self>] {
        [
            .number("lr", \.lr), .number("beta1", \.beta1, 0...1, "in [0, 1]"),
            .number("beta2", \.beta2, 0...1, "in [0, 1]"),
            .number("weight_decay", \.weightDecay),
        ]
    }
    /// A momentum-cycling schedule drives `beta1`.
    public static var cycledMomentum: WritableKeyPath<Self, Double>? { \.beta1 }
    /// A parameter group may override `weight_decay`.
    public static var weightDecay: WritableKeyPath<Self, Double>? { \.weightDecay }

    /// The kernel's state arguments: `exp_avg`.
    public var kernelSlots: [String] { ["exp_avg"] }
    /// The state kept: `exp_avg`.
    public var stateSlots: [String] { ["exp_avg"] }

    /// c0 lr, c1 beta1, c2 1-beta1, c3 beta2, c4 1-beta2, c5 1-lr·wd.
    ///
    /// - Parameters:
    ///   - t: The step, from 1.
    ///   - lr: The scheduled learning rate.
    ///   - host: Host state between steps (unused).
    /// - Returns: The kernel's scalars and flags.
    public func scalars(step t: Int, lr: Double, host: inout [String: Double]) -> UpdateScalars {
        UpdateScalars([
            Float(lr), Float(beta1), Float(1 - beta1), Float(beta2), Float(1 - beta2), Float(1 - lr * weightDecay),
        ])
    }

    /// One step of the Reference's Lion.
    ///
    /// - Parameters:
    ///   - x: The parameters and state, updated in place.
    ///   - grad: The gradient, one value per parameter.
    ///   - t: The step, from 1.
    ///   - lr: The scheduled learning rate.
    public func referenceStep(_ x: inout ReferenceOptimizerState, grad: [Float], step t: Int, lr: Double) {
        Reference.lion(self, &x, grad: grad, lr: lr)
    }
}
