import Foundation

/// `torch.optim.Adamax` (Kingma & Ba 2015, §7): the infinity-norm variant of Adam.
public struct Adamax: OptimizerRule {
    /// The learning rate, `lr`.
    public var lr = 2e-3
    /// The decay rate of the gradient's running average, `beta1`.
    public var beta1 = 0.9
    /// The decay rate of the infinity norm, `beta2`.
    public var beta2 = 0.999
    /// The term added to the denominator for numerical stability, `eps`.
    public var eps = 1e-8
    /// The L2 penalty added to the gradient, `weight_decay`.
    public var weightDecay = 0.0
    /// Maximize the objective instead of minimizing it, `maximize`.
    public var maximize = false

    /// PyTorch's defaults.
    public init() {}

    /// The SPEC name, `adamax`.
    public static let name = "adamax"
    /// The SPEC keys, bound to the properties above, in the order `spec` prints them.
    public static var keys: [HyperparameterKey<Self>] {
        [
            .number("lr", \.lr), .beta("beta1", \.beta1), .beta("beta2", \.beta2), .number("eps", \.eps),
            .number("weight_decay", \.weightDecay), .flag("maximize", \.maximize),
        ]
    }
    /// A momentum-cycling schedule drives `beta1`.
    public static var cycledMomentum: WritableKeyPath<Self, Double>? { \.beta1 }
    /// A parameter group may override `weight_decay`.
    public static var weightDecay: WritableKeyPath<Self, Double>? { \.weightDecay }

    /// The kernel's state arguments: `exp_avg`, `exp_inf`.
    public var kernelSlots: [String] { ["exp_avg", "exp_inf"] }
    /// The state kept: `exp_avg` and `exp_inf`.
    public var stateSlots: [String] { ["exp_avg", "exp_inf"] }

    /// c0 -lr/(1-beta1^t), c1 1-beta1, c2 beta2, c3 eps, c4 weight_decay.
    ///
    /// - Parameters:
    ///   - t: The step, from 1.
    ///   - lr: The scheduled learning rate.
    ///   - host: Host state between steps (unused).
    /// - Returns: The kernel's scalars and flags.
    public func scalars(step t: Int, lr: Double, host: inout [String: Double]) -> UpdateScalars {
        let clr = lr / (1 - pow(beta1, Double(t)))
        return UpdateScalars(
            [Float(-clr), Float(1 - beta1), Float(beta2), Float(eps), Float(weightDecay)],
            flags: maximize ? UpdateScalars.maximize : 0)
    }

    /// One step of the Reference's Adamax.
    ///
    /// - Parameters:
    ///   - x: The parameters and state, updated in place.
    ///   - grad: The gradient, one value per parameter.
    ///   - t: The step, from 1.
    ///   - lr: The scheduled learning rate.
    public func referenceStep(_ x: inout ReferenceOptimizerState, grad: [Float], step t: Int, lr: Double) {
        Reference.adamax(self, &x, grad: grad, step: t, lr: lr)
    }
}
