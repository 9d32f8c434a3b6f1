import Foundation

/// How a configuration runs below the seam: its kernel, the kernel's state arguments and a step's scalars.
extension OptimizerConfiguration {
    /// The update kernel (`Kernels/`), e.g. `adam_update`.
    public var kernel: String {
        switch self {
        case .sgd: "sgd_update"
        case .adam, .adamw: "adam_update"
        case .family(let c): c.descriptor.kernel
        }
    }

    /// The kernel's state arguments s0, s1, s2 in order; a slot this configuration does not hold is passed as absent.
    public var kernelSlots: [String] {
        switch self {
        case .sgd: ["momentum_buffer"]
        case .adam, .adamw: ["exp_avg", "exp_avg_sq", "max_exp_avg_sq"]
        case .family(let c): c.descriptor.kernelSlots
        }
    }

    /// The first pass of a two-pass optimizer; nil for one pass.
    public var twoPhase: FamilyOptimizer.TwoPhase? {
        if case .family(let c) = self { return c.descriptor.twoPhase }
        return nil
    }

    /// The configured weight decay (0 for optimizers without one).
    public var weightDecay: Double {
        switch self {
        case .sgd(let h): h.weightDecay
        case .adam(let h), .adamw(let h): h.weightDecay
        case .family(let c): c["weight_decay"]
        }
    }

    /// This configuration with `value` as its weight decay (a parameter group's own).
    public func withWeightDecay(_ value: Double) -> OptimizerConfiguration {
        switch self {
        case .sgd(var h): h.weightDecay = value; return .sgd(h)
        case .adam(var h): h.weightDecay = value; return .adam(h)
        case .adamw(var h): h.weightDecay = value; return .adamw(h)
        case .family(let c):
            guard c.values["weight_decay"] != nil else { return self }
            var values = c.values
            values["weight_decay"] = value
            return .family(FamilyOptimizer.Configuration(name: c.name, values: values))
        }
    }

    /// The kernel scalars of step `t` (1-based) at learning rate `lr`; `host` carries host-side state between steps.
    /// Python computes these in double; the kernels take float.
    public func stepScalars(step t: Int, lr: Double, host: inout [String: Double]) -> UpdateScalars {
        switch self {
        case .sgd(let h):
            // c0 lr, c1 weight_decay, c2 momentum, c3 1-dampening; A momentum, B nesterov, C first step.
            let flags = (h.maximize ? UpdateScalars.maximize : 0) | (h.momentum != 0 ? UpdateScalars.flagA : 0)
                | (h.nesterov ? UpdateScalars.flagB : 0) | (t == 1 ? UpdateScalars.flagC : 0)
            return UpdateScalars([Float(lr), Float(h.weightDecay), Float(h.momentum), Float(1 - h.dampening)], flags: flags)
        case .adam(let h), .adamw(let h):
            // Bias corrections in double, as `_single_tensor_adam`.
            let biasCorrection1 = 1 - pow(h.beta1, Double(t))
            let biasCorrection2 = 1 - pow(h.beta2, Double(t))
            let flags = (h.maximize ? UpdateScalars.maximize : 0) | (h.amsgrad ? UpdateScalars.flagA : 0)
                | (h.decoupledWeightDecay ? UpdateScalars.flagB : 0)
            return UpdateScalars([Float(h.weightDecay), Float(1 - lr * h.weightDecay), Float(1 - h.beta1), Float(h.beta2),
                                  Float(1 - h.beta2), Float(lr / biasCorrection1), Float(biasCorrection2.squareRoot()), Float(h.eps)],
                                 flags: flags)
        case .family(let c):
            let s = c.descriptor.scalars(c, t, lr, &host)
            return UpdateScalars(s.values, flags: s.flags)
        }
    }

    /// This configuration with a schedule's cycled momentum in place of its `momentum` or, failing that, its `beta1`
    /// (as PyTorch's CyclicLR and OneCycleLR choose between `momentum` and `betas[0]`).
    public func cycled(momentum: Double?) throws -> OptimizerConfiguration {
        guard let momentum else { return self }
        switch self {
        case .sgd(var h): h.momentum = momentum; return .sgd(h)
        case .adam(var h): h.beta1 = momentum; return .adam(h)
        case .adamw(var h): h.beta1 = momentum; return .adamw(h)
        case .family(let c):
            guard let key = FamilyOptimizer.cycledKey(c) else {
                throw EtaError(.usage, "the schedule cycles momentum, which \(c.name) does not take (no momentum or beta1): set cycle_momentum=false")
            }
            var values = c.values
            values[key] = momentum
            return .family(FamilyOptimizer.Configuration(name: c.name, values: values))
        }
    }
}
