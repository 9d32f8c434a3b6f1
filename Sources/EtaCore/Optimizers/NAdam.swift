import Foundation

/// `torch.optim.NAdam` (Dozat, ICLR 2016 workshop): Nesterov momentum in Adam, with PyTorch's momentum decay.
public struct NAdam: OptimizerRule {
    /// The learning rate, `lr`.
    public var lr = 2e-3
    /// The decay rate of the gradient's running average, `beta1`.
    public var beta1 = 0.9
    /// The decay rate of the squared gradient's running average, `beta2`.
    public var beta2 = 0.999
    /// The term added to the denominator for numerical stability, `eps`.
    public var eps = 1e-8
    /// The weight decay λ, `weight_decay`: an L2 term g + λθ, or θ(1 − lr·λ) with `decoupledWeightDecay`.
    public var weightDecay = 0.0
    /// The decay ψ of the momentum schedule μ_t = β1(1 − 0.5·0.96^(tψ)), `momentum_decay`.
    public var momentumDecay = 4e-3
    /// Decoupled weight decay θ(1 − lr·λ) instead of the L2 term, `decoupled_weight_decay`.
    public var decoupledWeightDecay = false
    /// Maximize the objective instead of minimizing it, `maximize`.
    public var maximize = false

    /// PyTorch's defaults.
    public init() {}

    /// The SPEC name, `nadam`.
    public static let name = "nadam"
    /// The SPEC keys, bound to the properties above, in the order `spec` prints them.
    public static var keys: [HyperparameterKey<Self>] {
        [
            .number("lr", \.lr), .beta("beta1", \.beta1), .beta("beta2", \.beta2), .number("eps", \.eps),
            .number("weight_decay", \.weightDecay), .number("momentum_decay", \.momentumDecay),
            .flag("decoupled_weight_decay", \.decoupledWeightDecay), .flag("maximize", \.maximize),
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

    /// μ_t and μ_{t+1} of PyTorch's momentum schedule.
    func momentumSchedule(step t: Int) -> (mu: Double, muNext: Double) {
        let step = Double(t)
        return (
            beta1 * (1 - 0.5 * pow(0.96, step * momentumDecay)),
            beta1 * (1 - 0.5 * pow(0.96, (step + 1) * momentumDecay))
        )
    }

    /// c0 1-beta1, c1 beta2, c2 1-beta2, c3 1-beta2^t, c4 eps, c5 weight_decay, c6 1-lr·wd,
    /// c7 -lr(1-μ)/(1-Πμ), c8 -lr·μ_next/(1-Πμ·μ_next); flag A decoupled. `host` keeps mu_product.
    ///
    /// - Parameters:
    ///   - t: The step, from 1.
    ///   - lr: The scheduled learning rate.
    ///   - host: Host state; this step's `mu_product` is stored there.
    /// - Returns: The kernel's scalars and flags.
    public func scalars(step t: Int, lr: Double, host: inout [String: Double]) -> UpdateScalars {
        let (mu, muNext) = momentumSchedule(step: t)
        // PyTorch keeps mu_product as a float32 tensor: multiply in float32, read back as a double.
        let product = Double(Float(host["mu_product"] ?? 1) * Float(mu))
        host["mu_product"] = product
        let productNext = product * muNext
        return UpdateScalars(
            [
                Float(1 - beta1), Float(beta2), Float(1 - beta2), Float(1 - pow(beta2, Double(t))), Float(eps),
                Float(weightDecay), Float(1 - lr * weightDecay), Float(-lr * (1 - mu) / (1 - product)),
                Float(-lr * muNext / (1 - productNext)),
            ],
            flags: (maximize ? UpdateScalars.maximize : 0) | (decoupledWeightDecay ? UpdateScalars.flagA : 0))
    }

    /// One step of the Reference's NAdam.
    ///
    /// - Parameters:
    ///   - x: The parameters and state, updated in place.
    ///   - grad: The gradient, one value per parameter.
    ///   - t: The step, from 1.
    ///   - lr: The scheduled learning rate.
    public func referenceStep(_ x: inout ReferenceOptimizerState, grad: [Float], step t: Int, lr: Double) {
        Reference.nadam(self, &x, grad: grad, step: t, lr: lr)
    }
}
