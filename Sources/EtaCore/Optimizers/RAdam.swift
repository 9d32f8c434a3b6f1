import Foundation

/// `torch.optim.RAdam` (Liu et al., ICLR 2020): Adam with the variance of the adaptive rate rectified.
public struct RAdam: OptimizerRule {
    /// The learning rate, `lr`.
    public var lr = 1e-3
    /// The decay rate of the gradient's running average, `beta1`.
    public var beta1 = 0.9
    /// The decay rate of the squared gradient's running average, `beta2`.
    public var beta2 = 0.999
    /// The term added to the denominator for numerical stability, `eps`.
    public var eps = 1e-8
    /// The weight decay λ, `weight_decay`: an L2 term g + λθ, or θ(1 − lr·λ) with `decoupledWeightDecay`.
    public var weightDecay = 0.0
    /// Decoupled weight decay θ(1 − lr·λ) instead of the L2 term, `decoupled_weight_decay`.
    public var decoupledWeightDecay = false
    /// Maximize the objective instead of minimizing it, `maximize`.
    public var maximize = false

    /// PyTorch's defaults.
    public init() {}

    /// The SPEC name, `radam`.
    public static let name = "radam"
    /// The SPEC keys, bound to the properties above, in the order `spec` prints them.
    public static var keys: [HyperparameterKey<Self>] {
        [
            .number("lr", \.lr), .beta("beta1", \.beta1), .beta("beta2", \.beta2), .number("eps", \.eps),
            .number("weight_decay", \.weightDecay), .flag("decoupled_weight_decay", \.decoupledWeightDecay),
            .flag("maximize", \.maximize),
        ]
    }
    /// A momentum-cycling schedule drives `beta1`.
    public static var cycledMomentum: WritableKeyPath<Self, Double>? { \.beta1 }
    /// A parameter group may override `weight_decay`.
    public static var weightDecay: WritableKeyPath<Self, Double>? { \.weightDecay }

    /// The kernel's state arguments: `exp_avg`, `exp_avg_sq`.
    public var kernelSlots: [String] { ["exp_avg", "exp_avg_sq"] }
    /// The state kept: `exp_avg` and `exp_avg_sq`.
    public var stateSlots: [String] { ["exp_avg", "exp_avg_sq"] }

    /// c0 1-beta1, c1 beta2, c2 1-beta2, c3 1-beta1^t, c4 lr, c5 sqrt(1-beta2^t), c6 rect, c7 eps, c8 weight_decay,
    /// c9 1-lr·wd; flag A decoupled, B rectified (rho_t > 5).
    ///
    /// - Parameters:
    ///   - t: The step, from 1.
    ///   - lr: The scheduled learning rate.
    ///   - host: Host state between steps (unused).
    /// - Returns: The kernel's scalars and flags.
    public func scalars(step t: Int, lr: Double, host: inout [String: Double]) -> UpdateScalars {
        let step = Double(t)
        let bc2 = 1 - pow(beta2, step)
        let rhoInf = 2 / (1 - beta2) - 1
        let rhoT = rhoInf - 2 * step * pow(beta2, step) / bc2
        let rect = rhoT > 5 ? ((rhoT - 4) * (rhoT - 2) * rhoInf / ((rhoInf - 4) * (rhoInf - 2) * rhoT)).squareRoot() : 0
        return UpdateScalars(
            [
                Float(1 - beta1), Float(beta2), Float(1 - beta2), Float(1 - pow(beta1, step)), Float(lr),
                Float(bc2.squareRoot()), Float(rect), Float(eps), Float(weightDecay), Float(1 - lr * weightDecay),
            ],
            flags: (maximize ? UpdateScalars.maximize : 0) | (decoupledWeightDecay ? UpdateScalars.flagA : 0)
                | (rhoT > 5 ? UpdateScalars.flagB : 0))
    }

    /// One step of the Reference's RAdam.
    ///
    /// - Parameters:
    ///   - x: The parameters and state, updated in place.
    ///   - grad: The gradient, one value per parameter.
    ///   - t: The step, from 1.
    ///   - lr: The scheduled learning rate.
    public func referenceStep(_ x: inout ReferenceOptimizerState, grad: [Float], step t: Int, lr: Double) {
        Reference.radam(self, &x, grad: grad, step: t, lr: lr)
    }
}
