/// SGD's hyperparameters, with `torch.optim.SGD`'s names and defaults.
///
/// Momentum SGD is due to Polyak (1964); Nesterov momentum to Nesterov (1983) in the form of
/// Sutskever et al., "On the importance of initialization and momentum in deep learning" (ICML 2013).
public struct SGDHyperparameters: Equatable, Sendable, Codable {
    public var lr = 1e-3
    public var momentum = 0.0
    public var dampening = 0.0
    public var weightDecay = 0.0
    public var nesterov = false
    public var maximize = false

    public init(lr: Double = 1e-3, momentum: Double = 0, dampening: Double = 0, weightDecay: Double = 0,
                nesterov: Bool = false, maximize: Bool = false) {
        self.lr = lr
        self.momentum = momentum
        self.dampening = dampening
        self.weightDecay = weightDecay
        self.nesterov = nesterov
        self.maximize = maximize
    }
}

/// Adam's (and AdamW's) hyperparameters, with `torch.optim.Adam`'s names and defaults.
///
/// Adam: Kingma & Ba, "Adam: A Method for Stochastic Optimization" (ICLR 2015). AMSGrad: Reddi et al.,
/// "On the Convergence of Adam and Beyond" (ICLR 2018). AdamW: Loshchilov & Hutter, "Decoupled Weight
/// Decay Regularization" (ICLR 2019).
public struct AdamHyperparameters: Equatable, Sendable, Codable {
    public var lr = 1e-3
    public var beta1 = 0.9
    public var beta2 = 0.999
    public var eps = 1e-8
    public var weightDecay = 0.0
    public var amsgrad = false
    public var maximize = false
    /// AdamW's θ ← θ(1 − lr·λ) instead of Adam's L2 term g ← g + λθ.
    public var decoupledWeightDecay = false

    public init(lr: Double = 1e-3, beta1: Double = 0.9, beta2: Double = 0.999, eps: Double = 1e-8,
                weightDecay: Double = 0, amsgrad: Bool = false, maximize: Bool = false,
                decoupledWeightDecay: Bool = false) {
        self.lr = lr
        self.beta1 = beta1
        self.beta2 = beta2
        self.eps = eps
        self.weightDecay = weightDecay
        self.amsgrad = amsgrad
        self.maximize = maximize
        self.decoupledWeightDecay = decoupledWeightDecay
    }

    /// `torch.optim.AdamW`'s defaults: decoupled decay with λ = 0.01.
    public static var adamW: AdamHyperparameters { AdamHyperparameters(weightDecay: 1e-2, decoupledWeightDecay: true) }
}

/// An optimizer as a value: which algorithm and its hyperparameters.
///
/// ```swift
/// let config = try OptimizerConfiguration(spec: "adamw:lr=3e-4,weight_decay=0.05")
/// config.stateSlots  // ["exp_avg", "exp_avg_sq"]
/// ```
public enum OptimizerConfiguration: Equatable, Sendable {
    case sgd(SGDHyperparameters)
    case adam(AdamHyperparameters)
    case adamw(AdamHyperparameters)
    /// rmsprop, adagrad, adadelta, adamax, nadam, radam, lion (see `FamilyOptimizer`).
    case family(FamilyOptimizer.Configuration)

    /// The SPEC name: `sgd`, `adam` or `adamw`.
    public var name: String {
        switch self {
        case .sgd: "sgd"
        case .adam: "adam"
        case .adamw: "adamw"
        case .family(let c): c.name
        }
    }

    /// The configured learning rate.
    public var learningRate: Double {
        switch self {
        case .sgd(let h): h.lr
        case .adam(let h), .adamw(let h): h.lr
        case .family(let c): c["lr"]
        }
    }

    /// The optimizer state slots, with PyTorch's state names, that an arena must hold.
    public var stateSlots: [String] {
        switch self {
        case .sgd(let h): h.momentum != 0 ? ["momentum_buffer"] : []
        case .adam(let h), .adamw(let h): h.amsgrad ? ["exp_avg", "exp_avg_sq", "max_exp_avg_sq"] : ["exp_avg", "exp_avg_sq"]
        case .family(let c): c.descriptor.stateSlots(c)
        }
    }

    /// Bytes read and written per parameter by one float32 update (the figure GB/s is computed from).
    public var bytesPerParameter: Int { bytesPerParameter(stateType: .fp32) }

    /// Bytes read and written per parameter by one update with state stored as `stateType` and parameters as
    /// `parameterType` (with `master`, a float32 copy is read and written and the 16-bit parameters only written).
    public func bytesPerParameter(stateType: StorageType, parameterType: StorageType = .fp32, master: Bool = false) -> Int {
        let s = stateType.bytes
        guard case .family(let c) = self, c.descriptor.twoPhase != nil else {
            // g read; p read and written (or the master read and written, and p written); each state slot read and written.
            let parameters = master ? 8 + parameterType.bytes : 2 * parameterType.bytes
            return 4 + parameters + 2 * s * stateSlots.count
        }
        // Two passes (float32 state): the first reads p, g and its slots and writes the slots it updates; the second
        // reads p and the moments (or g) and writes p.
        switch c.name {
        case "lamb": return (16 + 8) + (12 + 4)                                    // p g m v → m v; p m v → p
        case "prodigy": return c["beta1"] > 0 ? (24 + 12) + (12 + 4) : (20 + 8) + (12 + 4)   // p g p0 s [m] v → s [m] v
        default: return (16 + (c.flag("decouple") ? 0 : 4) + 12) + (12 + 4)         // dadapt: g s m v [p] → s m v
        }
    }
}
