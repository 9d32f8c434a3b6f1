import Foundation

/// Adam with `torch.optim.Adam`'s names and defaults: L2 or decoupled weight decay, AMSGrad, maximize.
///
/// Adam: Kingma & Ba, "Adam: A Method for Stochastic Optimization" (ICLR 2015). AMSGrad: Reddi et al.,
/// "On the Convergence of Adam and Beyond" (ICLR 2018). AdamW: Loshchilov & Hutter, "Decoupled Weight
/// Decay Regularization" (ICLR 2019).
public struct Adam: OptimizerRule, Codable {
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
    /// Keep the running maximum of the second moment and divide by it (AMSGrad), `amsgrad`.
    public var amsgrad = false
    /// Maximize the objective instead of minimizing it, `maximize`.
    public var maximize = false
    /// AdamW's θ ← θ(1 − lr·λ) instead of Adam's L2 term g ← g + λθ.
    public var decoupledWeightDecay = false

    /// PyTorch's defaults.
    public init() {}

    /// The given hyperparameters (PyTorch's names and defaults).
    ///
    /// - Parameters:
    ///   - lr: The learning rate.
    ///   - beta1: The decay rate of the gradient's running average, in [0, 1).
    ///   - beta2: The decay rate of the squared gradient's running average, in [0, 1).
    ///   - eps: The term added to the denominator.
    ///   - weightDecay: The weight decay λ (an L2 term unless `decoupledWeightDecay`).
    ///   - amsgrad: Keep the running maximum of the second moment (AMSGrad).
    ///   - maximize: Maximize the objective instead of minimizing it.
    ///   - decoupledWeightDecay: AdamW's decay θ(1 − lr·λ) instead of the L2 term.
    public init(
        lr: Double = 1e-3, beta1: Double = 0.9, beta2: Double = 0.999, eps: Double = 1e-8,
        weightDecay: Double = 0, amsgrad: Bool = false, maximize: Bool = false,
        decoupledWeightDecay: Bool = false
    ) {
        (self.lr, self.beta1, self.beta2, self.eps, self.weightDecay) = (lr, beta1, beta2, eps, weightDecay)
        (self.amsgrad, self.maximize, self.decoupledWeightDecay) = (amsgrad, maximize, decoupledWeightDecay)
    }

    /// `torch.optim.AdamW`'s defaults: decoupled decay with λ = 0.01.
    public static var adamW: Adam { Adam(weightDecay: 1e-2, decoupledWeightDecay: true) }

    /// The SPEC name, `adam`.
    public static let name = "adam"
    /// The SPEC keys, bound to the properties above, in the order `spec` prints them.
    public static var keys: [HyperparameterKey<Self>] {
        [
            .number("lr", \.lr), .beta("beta1", \.beta1), .beta("beta2", \.beta2), .number("eps", \.eps),
            .number("weight_decay", \.weightDecay), .flag("amsgrad", \.amsgrad), .flag("maximize", \.maximize),
            .flag("decoupled_weight_decay", \.decoupledWeightDecay),
        ]
    }
    /// A momentum-cycling schedule drives `beta1`.
    public static var cycledMomentum: WritableKeyPath<Self, Double>? { \.beta1 }
    /// A parameter group may override `weight_decay`.
    public static var weightDecay: WritableKeyPath<Self, Double>? { \.weightDecay }

    /// The kernel's state arguments: `exp_avg`, `exp_avg_sq`, `max_exp_avg_sq`.
    public var kernelSlots: [String] { ["exp_avg", "exp_avg_sq", "max_exp_avg_sq"] }
    /// The state kept: `exp_avg`, `exp_avg_sq`, and `max_exp_avg_sq` with AMSGrad.
    public var stateSlots: [String] {
        amsgrad ? ["exp_avg", "exp_avg_sq", "max_exp_avg_sq"] : ["exp_avg", "exp_avg_sq"]
    }

    /// c0 weight_decay, c1 1-lr·wd, c2 1-beta1, c3 beta2, c4 1-beta2, c5 lr/(1-beta1^t), c6 sqrt(1-beta2^t), c7 eps;
    /// flag A amsgrad, B decoupled. Bias corrections in double, as `_single_tensor_adam`.
    ///
    /// - Parameters:
    ///   - t: The step, from 1.
    ///   - lr: The scheduled learning rate.
    ///   - host: Host state between steps (unused).
    /// - Returns: The kernel's scalars and flags.
    public func scalars(step t: Int, lr: Double, host: inout [String: Double]) -> UpdateScalars {
        let biasCorrection1 = 1 - pow(beta1, Double(t))
        let biasCorrection2 = 1 - pow(beta2, Double(t))
        let flags =
            (maximize ? UpdateScalars.maximize : 0) | (amsgrad ? UpdateScalars.flagA : 0)
            | (decoupledWeightDecay ? UpdateScalars.flagB : 0)
        return UpdateScalars(
            [
                Float(weightDecay), Float(1 - lr * weightDecay), Float(1 - beta1), Float(beta2), Float(1 - beta2),
                Float(lr / biasCorrection1), Float(biasCorrection2.squareRoot()), Float(eps),
            ], flags: flags)
    }

    /// One step of the Reference's Adam.
    ///
    /// - Parameters:
    ///   - x: The parameters and state, updated in place.
    ///   - grad: The gradient, one value per parameter.
    ///   - t: The step, from 1.
    ///   - lr: The scheduled learning rate.
    public func referenceStep(_ x: inout ReferenceOptimizerState, grad: [Float], step t: Int, lr: Double) {
        var m = x.state["exp_avg"]!, v = x.state["exp_avg_sq"]!
        var vmax = x.state["max_exp_avg_sq"] ?? []
        Reference.adam(
            param: &x.param, grad: grad, expAvg: &m, expAvgSq: &v, maxExpAvgSq: &vmax, hyper: self, step: t, lr: lr)
        (x.state["exp_avg"], x.state["exp_avg_sq"]) = (m, v)
        if amsgrad { x.state["max_exp_avg_sq"] = vmax }
    }
}

/// AdamW: `torch.optim.AdamW`, Adam with decoupled weight decay (λ = 0.01 by default) and the same kernel.
public struct AdamW: OptimizerRule, Codable {
    /// The learning rate, `lr`.
    public var lr = 1e-3
    /// The decay rate of the gradient's running average, `beta1`.
    public var beta1 = 0.9
    /// The decay rate of the squared gradient's running average, `beta2`.
    public var beta2 = 0.999
    /// The term added to the denominator for numerical stability, `eps`.
    public var eps = 1e-8
    /// The decoupled weight decay λ of θ(1 − lr·λ), `weight_decay`.
    public var weightDecay = 1e-2
    /// Keep the running maximum of the second moment and divide by it (AMSGrad), `amsgrad`.
    public var amsgrad = false
    /// Maximize the objective instead of minimizing it, `maximize`.
    public var maximize = false

    /// PyTorch's defaults.
    public init() {}

    /// `h`'s values (its `decoupledWeightDecay` is implied).
    ///
    /// - Parameter h: The hyperparameters to copy.
    public init(_ h: Adam) {
        (lr, beta1, beta2, eps, weightDecay, amsgrad, maximize) = (
            h.lr, h.beta1, h.beta2, h.eps, h.weightDecay, h.amsgrad, h.maximize
        )
    }

    /// The same values as an Adam configuration with decoupled decay.
    public var adam: Adam {
        Adam(
            lr: lr, beta1: beta1, beta2: beta2, eps: eps, weightDecay: weightDecay, amsgrad: amsgrad,
            maximize: maximize,
            decoupledWeightDecay: true)
    }

    /// The SPEC name, `adamw`.
    public static let name = "adamw"
    /// The SPEC keys, bound to the properties above, in the order `spec` prints them.
    public static var keys: [HyperparameterKey<Self>] {
        [
            .number("lr", \.lr), .beta("beta1", \.beta1), .beta("beta2", \.beta2), .number("eps", \.eps),
            .number("weight_decay", \.weightDecay), .flag("amsgrad", \.amsgrad), .flag("maximize", \.maximize),
        ]
    }
    /// A momentum-cycling schedule drives `beta1`.
    public static var cycledMomentum: WritableKeyPath<Self, Double>? { \.beta1 }
    /// A parameter group may override `weight_decay`.
    public static var weightDecay: WritableKeyPath<Self, Double>? { \.weightDecay }

    /// Adam's kernel, `adam_update` (decoupled decay is one of its flags).
    public var kernel: String { "adam_update" }
    /// Adam's kernel arguments: `exp_avg`, `exp_avg_sq`, `max_exp_avg_sq`.
    public var kernelSlots: [String] { adam.kernelSlots }
    /// The state kept: `exp_avg`, `exp_avg_sq`, and `max_exp_avg_sq` with AMSGrad (as Adam).
    public var stateSlots: [String] { adam.stateSlots }

    /// Adam's scalars with decoupled decay.
    ///
    /// - Parameters:
    ///   - t: The step, from 1.
    ///   - lr: The scheduled learning rate.
    ///   - host: Host state between steps (unused).
    /// - Returns: The kernel's scalars and flags.
    public func scalars(step t: Int, lr: Double, host: inout [String: Double]) -> UpdateScalars {
        adam.scalars(step: t, lr: lr, host: &host)
    }

    /// One step of the Reference's Adam with decoupled decay.
    ///
    /// - Parameters:
    ///   - x: The parameters and state, updated in place.
    ///   - grad: The gradient, one value per parameter.
    ///   - t: The step, from 1.
    ///   - lr: The scheduled learning rate.
    public func referenceStep(_ x: inout ReferenceOptimizerState, grad: [Float], step t: Int, lr: Double) {
        adam.referenceStep(&x, grad: grad, step: t, lr: lr)
    }
}

/// The name Adam's hyperparameters had before every optimizer became one ``OptimizerRule``.
public typealias AdamHyperparameters = Adam
