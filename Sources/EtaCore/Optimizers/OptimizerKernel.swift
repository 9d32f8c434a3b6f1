/// How a configuration runs below the seam: its kernel, the kernel's state arguments and a step's scalars.
extension OptimizerConfiguration {
    /// The update kernel, e.g. `adam_update`.
    public var kernel: String { rule.kernel }
    /// The kernel's state arguments in order.
    public var kernelSlots: [String] { rule.kernelSlots }

    /// The kernel scalars of step `t` (1-based) at learning rate `lr`; `host` carries host-side state between steps.
    ///
    /// - Parameters:
    ///   - t: The step, from 1.
    ///   - lr: The scheduled learning rate.
    ///   - host: The optimizer's host state, updated by optimizers that keep one.
    /// - Returns: The kernel's scalars and flags (the first pass's, for a two-pass optimizer).
    public func stepScalars(step t: Int, lr: Double, host: inout [String: Double]) -> UpdateScalars {
        rule.scalars(step: t, lr: lr, host: &host)
    }

    /// The configured weight decay (0 for optimizers without one).
    public var weightDecay: Double { rule.weightDecayValue }

    /// This configuration with `value` as its weight decay (a parameter group's own).
    ///
    /// - Parameter value: The weight decay, at least 0.
    /// - Returns: The configuration, unchanged for optimizers without weight decay.
    public func withWeightDecay(_ value: Double) -> OptimizerConfiguration { Self(rule.withWeightDecay(value)) }

    /// Whether a momentum-cycling schedule can drive this optimizer (it has `momentum` or `beta1`).
    public var cyclesMomentum: Bool { rule.cycledMomentumKey != nil }

    /// This configuration with a schedule's cycled momentum in place of its `momentum` or, failing that, its `beta1`
    /// (as PyTorch's CyclicLR and OneCycleLR choose between `momentum` and `betas[0]`).
    ///
    /// - Parameter momentum: The schedule's momentum for this step; nil returns the configuration unchanged.
    /// - Returns: The configuration with the cycled value.
    /// - Throws: `EtaError` `.usage` when the optimizer has neither `momentum` nor `beta1`.
    public func cycled(momentum: Double?) throws -> OptimizerConfiguration {
        guard let momentum else { return self }
        guard let cycled = rule.withCycledMomentum(momentum) else {
            throw EtaError(
                .usage,
                "the schedule cycles momentum, which \(name) does not take (no momentum or beta1): set "
                    + "cycle_momentum=false"
            )
        }
        return Self(cycled)
    }
}

extension OptimizerRule {
    var weightDecayValue: Double { Self.weightDecay.map { self[keyPath: $0] } ?? 0 }

    func withWeightDecay(_ value: Double) -> any OptimizerRule {
        guard let path = Self.weightDecay else { return self }
        var copy = self
        copy[keyPath: path] = value
        return copy
    }

    /// The SPEC name of the cycled key, if any.
    var cycledMomentumKey: String? {
        guard let path = Self.cycledMomentum else { return nil }
        return Self.keys.first { if case .number(let p, _, _, _) = $0.binding { p == path } else { false } }?.name
    }

    func withCycledMomentum(_ value: Double) -> (any OptimizerRule)? {
        guard let path = Self.cycledMomentum else { return nil }
        var copy = self
        copy[keyPath: path] = value
        return copy
    }

    /// The second pass's scalars from the first pass's sums (Prodigy, D-Adaptation); nil skips the second pass.
    func finishTwoPass(sums: [Double], lr: Double, host: inout [String: Double]) -> UpdateScalars? {
        twoPass?.finish?(self, sums, lr, &host)
    }
}

extension OptimizerConfiguration {
    /// The kernels of one step as reports name them: `adam_update`, or `lamb_moments+lamb_update` for two passes.
    public var kernelLabel: String { rule.twoPassShape.map { $0.accumulateKernel + "+" + kernel } ?? kernel }

    /// The SPEC key a momentum-cycling schedule drives (`momentum`, else `beta1`); nil when there is neither.
    public var cycledMomentumKey: String? { rule.cycledMomentumKey }

    /// This configuration with learning rate `lr`.
    ///
    /// - Parameter lr: The learning rate.
    /// - Returns: The configuration.
    public func withLearningRate(_ lr: Double) -> OptimizerConfiguration {
        var copy = self
        copy.rule.lr = lr
        return copy
    }
}
