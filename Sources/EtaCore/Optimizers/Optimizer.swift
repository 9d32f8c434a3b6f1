/// An optimizer run: a configuration plus its step count, applied to a `ParameterArena` in one launch per step.
///
/// ```swift
/// let optimizer = Optimizer(try OptimizerConfiguration(spec: "adam:lr=1e-3"))
/// let arena = try ParameterArena(layout: layout, stateSlots: optimizer.configuration.stateSlots, backend: backend)
/// try arena.upload(gradient, to: .gradients)
/// try optimizer.step(arena)                       // lr from the configuration
/// try optimizer.step(arena, learningRate: 5e-4)   // lr from a schedule
/// ```
public final class Optimizer {
    /// The optimizer and its hyperparameters.
    public let configuration: OptimizerConfiguration
    /// Number of steps taken; the next step is `step + 1`.
    public private(set) var step = 0
    /// Host-side state some optimizers carry between steps (NAdam's `mu_product`); saved in checkpoints.
    public var hostState: [String: Double] = [:]

    /// Sums a two-pass optimizer's per-arena sums over the arenas of a sharded state (``OptimizerShard``); nil: the
    /// arena is the whole model.
    public var reduceSums: (([Double]) throws -> [Double])?

    /// Whether the parameters currently hold Schedule-Free's x (evaluation) rather than y (training).
    public private(set) var isEvaluating = false

    /// Schedule-Free: puts x (the averaged iterate) into the parameters for evaluation or saving; a no-op for
    /// other optimizers and before the first step (as the reference's `eval()`).
    ///
    /// - Parameter arena: The arena this optimizer steps.
    /// - Throws: `EtaError` or `CLError` from the backend's launch.
    public func evaluationMode(_ arena: ParameterArena) throws {
        guard !isEvaluating, let beta = configuration.averagingBeta else { return }
        if step > 0, let z = arena.state["z"] {
            try arena.backend.run(
                .lerpToward(target: arena.parameters, toward: z, count: arena.layout.count, weight: Float(1 - 1 / beta))
            )
        }
        isEvaluating = true
    }

    /// Schedule-Free: back to y for training (the reference's `train()`).
    ///
    /// - Parameter arena: The arena this optimizer steps.
    /// - Throws: `EtaError` or `CLError` from the backend's launch.
    public func trainingMode(_ arena: ParameterArena) throws {
        guard isEvaluating, let beta = configuration.averagingBeta else { return }
        if step > 0, let z = arena.state["z"] {
            try arena.backend.run(
                .lerpToward(target: arena.parameters, toward: z, count: arena.layout.count, weight: Float(1 - beta)))
        }
        isEvaluating = false
    }

    /// Sets state slots that do not start at zero (Adagrad's `initial_accumulator_value`). Call once on a new arena.
    ///
    /// - Parameter arena: A new arena holding this configuration's state slots.
    /// - Throws: `EtaError` (e.g. `.software` for a missing slot) or `CLError` from the backend.
    public func initializeState(_ arena: ParameterArena) throws {
        for slot in configuration.stateSlots {
            let value = configuration.rule.initialValue(ofSlot: slot)
            guard value != 0 else { continue }
            // 16-bit state is filled through the host, where the value is rounded and packed.
            if arena.stateType == .fp32 {
                try arena.backend.fill(try arena.buffer(.state(slot)), with: value)
            } else {
                try arena.upload([Float](repeating: value, count: arena.layout.count), to: .state(slot))
            }
        }
    }

    /// A run of `configuration` that has taken `step` steps.
    ///
    /// - Parameters:
    ///   - configuration: The optimizer and its hyperparameters.
    ///   - step: Steps already taken (a restored run's count); the next step is `step + 1`.
    public init(_ configuration: OptimizerConfiguration, step: Int = 0) {
        self.configuration = configuration
        self.step = step
    }

    /// One update of K replicas in one launch (an LR sweep): replica r is [r·replicaSize, (r+1)·replicaSize) of the
    /// arena and takes `learningRates[r]`. The replicas run as parameter groups, each with its own host state, so a
    /// replica computes exactly what a separate run at its learning rate would.
    ///
    /// - Parameters:
    ///   - arena: The arena of all replicas, `learningRates.count · replicaSize` elements.
    ///   - replicaSize: Elements per replica, a multiple of ``GroupLayout/chunk``.
    ///   - learningRates: Each replica's learning rate (1 to 255 replicas).
    /// - Throws: `EtaError` `.usage` for an optimizer without ``OptimizerCapabilities/sweepReplicas``, `.software`
    ///   for a replica size or count out of range, or the backend's error.
    public func step(_ arena: ParameterArena, replicaSize: Int, learningRates: [Double]) throws {
        let next = step + 1
        guard configuration.capabilities.sweepReplicas else {
            throw EtaError(
                .usage, "sweeps run the one-pass optimizers; \(configuration.name) is not supported in a sweep yet")
        }
        if next == 1, let z = arena.state["z"] {
            try arena.backend.run(.copy(source: arena.parameters, destination: z, count: arena.layout.count))
        }
        let layout =
            try replicaCache.flatMap { $0.arena === arena ? $0.layout : nil }
            ?? makeReplicaLayout(arena, replicaSize: replicaSize, replicas: learningRates.count)
        replicaCache = (arena, layout)
        var first: UpdateScalars?
        let rows = learningRates.enumerated().flatMap { r, lr in
            (0...groups.count).map { g in
                let (rate, decay) = groupValues(g, lr: lr, weightDecay: configuration.weightDecay)
                let scalars = withHostState(prefix: "replica\(r)." + (g > 0 ? "group\(g)." : "")) { host in
                    // Group 0 takes the configuration as it is; the others their own weight decay.
                    (g == 0 ? configuration : configuration.withWeightDecay(decay))
                        .stepScalars(step: next, lr: rate, host: &host)
                }
                first = first ?? scalars
                return scalars.values
            }
        }
        try launch(
            configuration.kernel, configuration.kernelSlots, first!, arena: arena,
            groups: UpdateGroups(layout: layout, scalars: rows))
        step = next
    }

    /// Sets the step count (restoring a checkpoint).
    ///
    /// - Parameter step: Steps already taken, at least 0.
    /// - Throws: `EtaError` `.dataError` for a negative count.
    public func setStep(_ step: Int) throws {
        guard step >= 0 else { throw EtaError(.dataError, "a step count cannot be negative (got \(step))") }
        self.step = step
    }

    /// Applies one update to `arena` with `learningRate` (the configured lr when nil) and, when a schedule
    /// cycles it, `momentum` in place of the optimizer's `momentum` (or its `beta1` where it has none).
    ///
    /// - Parameters:
    ///   - arena: The arena, with this configuration's state slots.
    ///   - learningRate: This step's learning rate, finite and ≥ 0; nil: the configured lr.
    ///   - momentum: A cycling schedule's momentum (or beta1) for this step; nil: the configured value.
    /// - Throws: `EtaError` `.software` when the arena lacks a state slot; `.usage` for an invalid learning rate,
    ///   16-bit storage the optimizer cannot keep, a cycled momentum it does not take, or parameter groups with a
    ///   two-pass optimizer; or the backend's error.
    public func step(_ arena: ParameterArena, learningRate: Double? = nil, momentum: Double? = nil) throws {
        guard configuration.stateSlots.allSatisfy(arena.state.keys.contains) else {
            throw EtaError(
                .software,
                "arena lacks state slots for \(configuration.name): needs \(configuration.stateSlots), has "
                    + "\(arena.stateSlots)"
            )
        }
        let lr = learningRate ?? configuration.learningRate
        guard lr >= 0, lr.isFinite else {
            throw EtaError(.usage, "invalid learning rate \(lr): must be finite and >= 0")
        }
        if arena.stateType != .fp32 { try Self.checkStateType(arena.stateType, for: configuration) }
        if arena.parameterType != .fp32 {
            try Self.checkStateType(arena.parameterType, for: configuration, what: "parameter")
        }
        let next = step + 1
        for slot in ["z", "p0"] where next == 1 {
            // Schedule-Free's z and Prodigy's p0 start at the initial parameters (the references clone p at step 1).
            if let buffer = arena.state[slot] {
                try arena.backend.run(.copy(source: arena.parameters, destination: buffer, count: arena.layout.count))
            }
        }
        let configuration = try configuration.cycled(momentum: momentum)
        if let rule = configuration.rule as? any TensorwiseRule {
            try tensorwiseStep(rule, arena: arena, step: next, lr: lr)
        } else if configuration.isTwoPass {
            try twoPassStep(configuration, arena: arena, step: next, lr: lr)
        } else {
            let scalars = configuration.stepScalars(step: next, lr: lr, host: &hostState)
            // Each group has its own host state (Schedule-Free's lr_max and weight sum), saved under "group<g>.".
            let groups = try groupScalars(arena) { g in
                guard g > 0 else { return scalars.values }
                let (rate, decay) = groupValues(g, lr: lr, weightDecay: configuration.weightDecay)
                return withHostState(prefix: "group\(g).") { host in
                    configuration.withWeightDecay(decay).stepScalars(step: next, lr: rate, host: &host)
                }.values
            }
            try launch(configuration.kernel, configuration.kernelSlots, scalars, arena: arena, groups: groups)
        }
        step = next
    }

    /// Launches `kernel` over the arena with its state arguments `slots`.
    private func launch(
        _ kernel: String, _ slots: [String], _ scalars: UpdateScalars, arena: ParameterArena,
        groups: UpdateGroups? = nil, blocks: UpdateBlocks? = nil
    ) throws {
        try arena.backend.run(
            .update(
                UpdateLaunch(
                    kernel: kernel, parameters: arena.parameters, gradients: arena.gradients,
                    states: slots.map { arena.state[$0] }, count: arena.layout.count,
                    scalars: scalars, groups: groups, blocks: blocks, storage: arena.storage)))
    }

    /// Throws a usage error when `configuration` cannot keep its state in `type`: Schedule-Free's z is an iterate
    /// (x and y are read from it), and the two-pass optimizers re-read in their second pass what the first stored.
    ///
    /// - Parameters:
    ///   - type: The storage of the state (or parameters).
    ///   - configuration: The optimizer.
    ///   - what: What is stored, for the message: `state` or `parameter`.
    /// - Throws: `EtaError` `.usage` naming the optimizers that do support 16-bit storage.
    public static func checkStateType(
        _ type: StorageType, for configuration: OptimizerConfiguration, what: String = "state"
    ) throws {
        guard type != .fp32, !configuration.capabilities.compactStorage else { return }
        let compact = OptimizerConfiguration.rules.filter { $0.capabilities.compactStorage }.map { $0.name }
        throw EtaError(
            .usage,
            "\(configuration.name) keeps float32 \(what)s; \(type.rawValue) \(what) storage is for "
                + "\(compact.dropLast().joined(separator: ", ")) and \(compact.last ?? "")"
        )
    }

    /// A two-pass optimizer's step: the block pass, its sums, and the update.
    private func twoPassStep(_ c: OptimizerConfiguration, arena: ParameterArena, step next: Int, lr: Double) throws {
        guard let twoPhase = c.rule.twoPassShape else { return }
        guard groups.isEmpty else {
            throw EtaError(
                .usage,
                "parameter groups are not supported by \(c.name) yet (its step depends on sums over all parameters)")
        }
        // The reference packages take no step at lr 0 (Prodigy, D-Adaptation: "group_lr > 0" guards everything).
        if twoPhase.finishes && lr == 0 { return }
        let blocks = try updateBlocks(arena, perTensor: twoPhase.perTensor)
        let scalars = c.stepScalars(step: next, lr: lr, host: &hostState)
        try launch(twoPhase.accumulateKernel, twoPhase.accumulateSlots, scalars, arena: arena, blocks: blocks)
        guard twoPhase.finishes else {
            // LAMB: the sums stay on the device.
            return try launch(c.kernel, c.kernelSlots, scalars, arena: arena, blocks: blocks)
        }
        let partials = try arena.backend.read(blocks.partials, count: 2 * blocks.count)
        var sums = [0.0, 0.0]
        for block in 0..<blocks.count {
            sums[0] += Double(partials[2 * block])
            sums[1] += Double(partials[2 * block + 1])
        }
        if let reduceSums { sums = try reduceSums(sums) }
        guard let update = c.rule.finishTwoPass(sums: sums, lr: lr, host: &hostState) else { return }
        try launch(c.kernel, c.kernelSlots, update, arena: arena)
    }

    /// The block table and partials of `arena`, made on first use.
    private func updateBlocks(_ arena: ParameterArena, perTensor: Bool) throws -> UpdateBlocks {
        if let cached = blockCache, cached.arena === arena { return cached.blocks }
        let table = UpdateBlocks.table(for: arena.layout, perTensor: perTensor)
        let count = table.count / 4
        let tableBuffer = try arena.backend.makeBuffer(count: max(table.count, 1))
        try arena.backend.write(table.map { Float(bitPattern: $0) }, to: tableBuffer)
        let blocks = UpdateBlocks(
            table: tableBuffer, partials: try arena.backend.makeBuffer(count: max(2 * count, 1)), count: count)
        blockCache = (arena, blocks)
        return blocks
    }

    private var blockCache: (arena: ParameterArena, blocks: UpdateBlocks)?

    private var replicaCache: (arena: ParameterArena, layout: GroupLayout)?

    private var tensorwiseCache: TensorwiseWorkspace?

    /// The tensorwise state and scratch of `arena`, made on first use.
    func tensorwiseWorkspace(_ arena: ParameterArena, rule: any TensorwiseRule) throws -> TensorwiseWorkspace {
        if let cached = tensorwiseCache, cached.arena === arena { return cached }
        let workspace = try TensorwiseWorkspace(arena: arena, rule: rule)
        tensorwiseCache = workspace
        return workspace
    }

    /// Runs `body` on the host state kept under `prefix` (a parameter group's or a sweep replica's own), saving it
    /// back.
    private func withHostState<T>(prefix: String, _ body: (inout [String: Double]) -> T) -> T {
        var host = Dictionary(
            uniqueKeysWithValues: hostState.filter { $0.key.hasPrefix(prefix) }.map {
                (String($0.key.dropFirst(prefix.count)), $0.value)
            })
        let result = body(&host)
        for (key, value) in host { hostState[prefix + key] = value }
        return result
    }

    /// Parameter groups (per-tensor lr scale and weight decay), applied in the same single launch per update.
    public var groups: [ParameterGroup] = [] { didSet { (groupCache, replicaCache) = (nil, nil) } }
    /// A sweep's model tensors within one replica, which ``groups`` match per replica; nil: groups apply to whole
    /// arenas only.
    public var replicaTensorLayout: TensorLayout? { didSet { replicaCache = nil } }
    private var groupCache: (arena: ParameterArena, layout: GroupLayout)?

    /// This step's per-group scalars (`values(g)` for group g); nil without groups.
    private func groupScalars(_ arena: ParameterArena, _ values: (Int) -> [Float]) throws -> UpdateGroups? {
        guard !groups.isEmpty else { return nil }
        let layout = try groupCache.flatMap { $0.arena === arena ? $0.layout : nil } ?? makeGroupLayout(arena)
        groupCache = (arena, layout)
        return UpdateGroups(layout: layout, scalars: (0...groups.count).map(values))
    }

    /// The step-size estimate d of an optimizer that adapts one (Prodigy, D-Adaptation Adam; its effective lr is
    /// d·lr), d0 before the first step; nil for the others.
    public var stepSizeEstimate: Double? {
        guard let rule = configuration.rule as? StepSizeAdapting else { return nil }
        return hostState["d"] ?? rule.d0
    }
}

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
