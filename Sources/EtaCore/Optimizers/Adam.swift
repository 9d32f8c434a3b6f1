import Foundation

/// Adam with `torch.optim.Adam`'s names and defaults: L2 or decoupled weight decay, AMSGrad, maximize.
///
/// Adam: Kingma & Ba, "Adam: A Method for Stochastic Optimization" (ICLR 2015). AMSGrad: Reddi et al.,
/// "On the Convergence of Adam and Beyond" (ICLR 2018). AdamW: Loshchilov & Hutter, "Decoupled Weight
/// Decay Regularization" (ICLR 2019).
public struct Adam: OptimizerRule, Codable {
    public var lr = 1e-3
    public var beta1 = 0.9
    public var beta2 = 0.999
    public var eps = 1e-8
    public var weightDecay = 0.0
    public var amsgrad = false
    public var maximize = false
    /// AdamW's θ ← θ(1 − lr·λ) instead of Adam's L2 term g ← g + λθ.
    public var decoupledWeightDecay = false

    public init() {}

    public init(lr: Double = 1e-3, beta1: Double = 0.9, beta2: Double = 0.999, eps: Double = 1e-8,
                weightDecay: Double = 0, amsgrad: Bool = false, maximize: Bool = false,
                decoupledWeightDecay: Bool = false) {
        (self.lr, self.beta1, self.beta2, self.eps, self.weightDecay) = (lr, beta1, beta2, eps, weightDecay)
        (self.amsgrad, self.maximize, self.decoupledWeightDecay) = (amsgrad, maximize, decoupledWeightDecay)
    }

    /// `torch.optim.AdamW`'s defaults: decoupled decay with λ = 0.01.
    public static var adamW: Adam { Adam(weightDecay: 1e-2, decoupledWeightDecay: true) }

    public static let name = "adam"
    public static var keys: [HyperparameterKey<Self>] {
        [.number("lr", \.lr), .beta("beta1", \.beta1), .beta("beta2", \.beta2), .number("eps", \.eps),
         .number("weight_decay", \.weightDecay), .flag("amsgrad", \.amsgrad), .flag("maximize", \.maximize),
         .flag("decoupled_weight_decay", \.decoupledWeightDecay)]
    }
    public static var cycledMomentum: WritableKeyPath<Self, Double>? { \.beta1 }
    public static var weightDecay: WritableKeyPath<Self, Double>? { \.weightDecay }

    public var kernelSlots: [String] { ["exp_avg", "exp_avg_sq", "max_exp_avg_sq"] }
    public var stateSlots: [String] { amsgrad ? ["exp_avg", "exp_avg_sq", "max_exp_avg_sq"] : ["exp_avg", "exp_avg_sq"] }

    /// c0 weight_decay, c1 1-lr·wd, c2 1-beta1, c3 beta2, c4 1-beta2, c5 lr/(1-beta1^t), c6 sqrt(1-beta2^t), c7 eps;
    /// flag A amsgrad, B decoupled. Bias corrections in double, as `_single_tensor_adam`.
    public func scalars(step t: Int, lr: Double, host: inout [String: Double]) -> UpdateScalars {
        let biasCorrection1 = 1 - pow(beta1, Double(t))
        let biasCorrection2 = 1 - pow(beta2, Double(t))
        let flags = (maximize ? UpdateScalars.maximize : 0) | (amsgrad ? UpdateScalars.flagA : 0)
            | (decoupledWeightDecay ? UpdateScalars.flagB : 0)
        return UpdateScalars([Float(weightDecay), Float(1 - lr * weightDecay), Float(1 - beta1), Float(beta2), Float(1 - beta2),
                              Float(lr / biasCorrection1), Float(biasCorrection2.squareRoot()), Float(eps)], flags: flags)
    }

    public func referenceStep(_ x: inout ReferenceOptimizerState, grad: [Float], step t: Int, lr: Double) {
        var m = x.state["exp_avg"]!, v = x.state["exp_avg_sq"]!
        var vmax = x.state["max_exp_avg_sq"] ?? []
        Reference.adam(param: &x.param, grad: grad, expAvg: &m, expAvgSq: &v, maxExpAvgSq: &vmax, hyper: self, step: t, lr: lr)
        (x.state["exp_avg"], x.state["exp_avg_sq"]) = (m, v)
        if amsgrad { x.state["max_exp_avg_sq"] = vmax }
    }
}

/// AdamW: `torch.optim.AdamW`, Adam with decoupled weight decay (λ = 0.01 by default) and the same kernel.
public struct AdamW: OptimizerRule, Codable {
    public var lr = 1e-3
    public var beta1 = 0.9
    public var beta2 = 0.999
    public var eps = 1e-8
    public var weightDecay = 1e-2
    public var amsgrad = false
    public var maximize = false

    public init() {}

    /// `h`'s values (its `decoupledWeightDecay` is implied).
    public init(_ h: Adam) {
        (lr, beta1, beta2, eps, weightDecay, amsgrad, maximize) = (h.lr, h.beta1, h.beta2, h.eps, h.weightDecay, h.amsgrad, h.maximize)
    }

    /// The same values as an Adam configuration with decoupled decay.
    public var adam: Adam {
        Adam(lr: lr, beta1: beta1, beta2: beta2, eps: eps, weightDecay: weightDecay, amsgrad: amsgrad, maximize: maximize,
             decoupledWeightDecay: true)
    }

    public static let name = "adamw"
    public static var keys: [HyperparameterKey<Self>] {
        [.number("lr", \.lr), .beta("beta1", \.beta1), .beta("beta2", \.beta2), .number("eps", \.eps),
         .number("weight_decay", \.weightDecay), .flag("amsgrad", \.amsgrad), .flag("maximize", \.maximize)]
    }
    public static var cycledMomentum: WritableKeyPath<Self, Double>? { \.beta1 }
    public static var weightDecay: WritableKeyPath<Self, Double>? { \.weightDecay }

    public var kernel: String { "adam_update" }
    public var kernelSlots: [String] { adam.kernelSlots }
    public var stateSlots: [String] { adam.stateSlots }

    public func scalars(step t: Int, lr: Double, host: inout [String: Double]) -> UpdateScalars {
        adam.scalars(step: t, lr: lr, host: &host)
    }

    public func referenceStep(_ x: inout ReferenceOptimizerState, grad: [Float], step t: Int, lr: Double) {
        adam.referenceStep(&x, grad: grad, step: t, lr: lr)
    }
}

/// The name Adam's hyperparameters had before every optimizer became one ``OptimizerRule``.
public typealias AdamHyperparameters = Adam
