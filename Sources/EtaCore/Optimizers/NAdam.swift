import Foundation

/// `torch.optim.NAdam` (Dozat, ICLR 2016 workshop): Nesterov momentum in Adam, with PyTorch's momentum decay.
public struct NAdam: OptimizerRule {
    public var lr = 2e-3
    public var beta1 = 0.9
    public var beta2 = 0.999
    public var eps = 1e-8
    public var weightDecay = 0.0
    public var momentumDecay = 4e-3
    public var decoupledWeightDecay = false
    public var maximize = false

    public init() {}

    public static let name = "nadam"
    public static var keys: [HyperparameterKey<Self>] {
        [.number("lr", \.lr), .beta("beta1", \.beta1), .beta("beta2", \.beta2), .number("eps", \.eps),
         .number("weight_decay", \.weightDecay), .number("momentum_decay", \.momentumDecay),
         .flag("decoupled_weight_decay", \.decoupledWeightDecay), .flag("maximize", \.maximize)]
    }
    public static var cycledMomentum: WritableKeyPath<Self, Double>? { \.beta1 }
    public static var weightDecay: WritableKeyPath<Self, Double>? { \.weightDecay }

    public var kernelSlots: [String] { ["exp_avg", "exp_avg_sq"] }
    public var stateSlots: [String] { ["exp_avg", "exp_avg_sq"] }

    /// μ_t and μ_{t+1} of PyTorch's momentum schedule.
    func momentumSchedule(step t: Int) -> (mu: Double, muNext: Double) {
        let step = Double(t)
        return (beta1 * (1 - 0.5 * pow(0.96, step * momentumDecay)), beta1 * (1 - 0.5 * pow(0.96, (step + 1) * momentumDecay)))
    }

    /// c0 1-beta1, c1 beta2, c2 1-beta2, c3 1-beta2^t, c4 eps, c5 weight_decay, c6 1-lr·wd,
    /// c7 -lr(1-μ)/(1-Πμ), c8 -lr·μ_next/(1-Πμ·μ_next); flag A decoupled. `host` keeps mu_product.
    public func scalars(step t: Int, lr: Double, host: inout [String: Double]) -> UpdateScalars {
        let (mu, muNext) = momentumSchedule(step: t)
        // PyTorch keeps mu_product as a float32 tensor: multiply in float32, read back as a double.
        let product = Double(Float(host["mu_product"] ?? 1) * Float(mu))
        host["mu_product"] = product
        let productNext = product * muNext
        return UpdateScalars([Float(1 - beta1), Float(beta2), Float(1 - beta2), Float(1 - pow(beta2, Double(t))), Float(eps),
                              Float(weightDecay), Float(1 - lr * weightDecay), Float(-lr * (1 - mu) / (1 - product)),
                              Float(-lr * muNext / (1 - productNext))],
                             flags: (maximize ? UpdateScalars.maximize : 0) | (decoupledWeightDecay ? UpdateScalars.flagA : 0))
    }

    public func referenceStep(_ x: inout ReferenceOptimizerState, grad: [Float], step t: Int, lr: Double) {
        Reference.nadam(self, &x, grad: grad, step: t, lr: lr)
    }
}
