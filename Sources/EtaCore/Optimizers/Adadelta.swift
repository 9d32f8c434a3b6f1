/// `torch.optim.Adadelta` (Zeiler, arXiv:1212.5701).
public struct Adadelta: OptimizerRule {
    /// The factor on the computed update, `lr`.
    public var lr = 1.0
    /// The decay rate of both running averages, `rho`.
    public var rho = 0.9
    /// The term added to the denominator for numerical stability, `eps`.
    public var eps = 1e-6
    /// The L2 penalty added to the gradient, `weight_decay`.
    public var weightDecay = 0.0
    /// Maximize the objective instead of minimizing it, `maximize`.
    public var maximize = false

    /// PyTorch's defaults.
    public init() {}

    /// The SPEC name, `adadelta`.
    public static let name = "adadelta"
    /// The SPEC keys, bound to the properties above, in the order `spec` prints them.
    public static var keys: [HyperparameterKey<Self>] {
        [
            .number("lr", \.lr), .number("rho", \.rho, 0...1, "in [0, 1]"), .number("eps", \.eps),
            .number("weight_decay", \.weightDecay), .flag("maximize", \.maximize),
        ]
    }
    /// A parameter group may override `weight_decay`.
    public static var weightDecay: WritableKeyPath<Self, Double>? { \.weightDecay }

    /// The kernel's state arguments: `square_avg`, `acc_delta`.
    public var kernelSlots: [String] { ["square_avg", "acc_delta"] }
    /// The state kept: `square_avg` and `acc_delta`.
    public var stateSlots: [String] { ["square_avg", "acc_delta"] }

    /// c0 lr, c1 rho, c2 1-rho, c3 eps, c4 weight_decay.
    ///
    /// - Parameters:
    ///   - t: The step, from 1.
    ///   - lr: The scheduled learning rate.
    ///   - host: Host state between steps (unused).
    /// - Returns: The kernel's scalars and flags.
    public func scalars(step t: Int, lr: Double, host: inout [String: Double]) -> UpdateScalars {
        UpdateScalars(
            [Float(lr), Float(rho), Float(1 - rho), Float(eps), Float(weightDecay)],
            flags: maximize ? UpdateScalars.maximize : 0)
    }

    /// One step of the Reference's Adadelta.
    ///
    /// - Parameters:
    ///   - x: The parameters and state, updated in place.
    ///   - grad: The gradient, one value per parameter.
    ///   - t: The step, from 1.
    ///   - lr: The scheduled learning rate.
    public func referenceStep(_ x: inout ReferenceOptimizerState, grad: [Float], step t: Int, lr: Double) {
        Reference.adadelta(self, &x, grad: grad, lr: lr)
    }
}
