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
    public let configuration: OptimizerConfiguration
    /// Number of steps taken; the next step is `step + 1`.
    public private(set) var step = 0
    /// Host-side state some optimizers carry between steps (NAdam's `mu_product`); saved in checkpoints.
    public var hostState: [String: Double] = [:]

    /// Whether the parameters currently hold Schedule-Free's x (evaluation) rather than y (training).
    public private(set) var isEvaluating = false

    /// Schedule-Free: puts x (the averaged iterate) into the parameters for evaluation or saving; a no-op for
    /// other optimizers and before the first step (as the reference's `eval()`).
    public func evaluationMode(_ arena: ParameterArena) throws {
        guard !isEvaluating, case .family(let c) = configuration, let beta = FamilyOptimizer.scheduleFreeBeta(c) else { return }
        if step > 0, let z = arena.state["z"] {
            try arena.backend.run(.lerpToward(target: arena.parameters, toward: z, count: arena.layout.count, weight: Float(1 - 1 / beta)))
        }
        isEvaluating = true
    }

    /// Schedule-Free: back to y for training (the reference's `train()`).
    public func trainingMode(_ arena: ParameterArena) throws {
        guard isEvaluating, case .family(let c) = configuration, let beta = FamilyOptimizer.scheduleFreeBeta(c) else { return }
        if step > 0, let z = arena.state["z"] {
            try arena.backend.run(.lerpToward(target: arena.parameters, toward: z, count: arena.layout.count, weight: Float(1 - beta)))
        }
        isEvaluating = false
    }

    /// Sets state slots that do not start at zero (Adagrad's `initial_accumulator_value`). Call once on a new arena.
    public func initializeState(_ arena: ParameterArena) throws {
        guard case .family(let c) = configuration else { return }
        for slot in c.descriptor.stateSlots(c) {
            let value = c.descriptor.initialState(c, slot)
            guard value != 0 else { continue }
            // 16-bit state is filled through the host, where the value is rounded and packed.
            if arena.stateType == .fp32 { try arena.backend.fill(try arena.buffer(.state(slot)), with: value) }
            else { try arena.upload([Float](repeating: value, count: arena.layout.count), to: .state(slot)) }
        }
    }

    public init(_ configuration: OptimizerConfiguration, step: Int = 0) {
        self.configuration = configuration
        self.step = step
    }

    /// One update of K replicas in one launch, each with its own learning rate: `table` holds, for SGD, the K
    /// learning rates at `offset`, and for Adam-family the K step sizes then the K decay factors (see
    /// `replicaTable(learningRates:step:)`).
    ///
    /// Family optimizers take their per-replica values from `learningRates` (this step's lr of each replica): the
    /// replicas run as parameter groups, each with its own host state, at one small host write per step.
    public func step(_ arena: ParameterArena, replicas: ReplicaScalars, learningRates: [Double]? = nil) throws {
        let next = step + 1
        let count = arena.layout.count
        switch configuration {
        case .family(let c):
            guard c.descriptor.twoPhase == nil, let learningRates, learningRates.count == replicas.replicas else {
                throw EtaError(.usage, "sweeps run sgd, adam, adamw and the one-pass family optimizers; \(c.name) is not supported in a sweep yet")
            }
            if next == 1, let z = arena.state["z"] { try arena.backend.run(.copy(source: arena.parameters, destination: z, count: count)) }
            var table = try replicaCache.flatMap { $0.arena === arena ? $0.groups : nil }
                ?? makeReplicaGroups(arena, replicaSize: replicas.replicaSize, replicas: replicas.replicas)
            replicaCache = (arena, table)
            var first: FamilyOptimizer.StepScalars?
            table.hostScalars = learningRates.enumerated().map { r, lr in
                let result = withHostState(prefix: "replica\(r).") { host in c.descriptor.scalars(c, next, lr, &host) }
                first = first ?? result
                return result.values + [Float](repeating: 0, count: max(0, 12 - result.values.count))
            }
            try arena.backend.write(table.hostScalars.flatMap { $0 }, to: table.scalars)
            try arena.backend.run(.family(FamilyLaunch(kernel: c.descriptor.kernel, parameters: arena.parameters, gradients: arena.gradients,
                                                       states: c.descriptor.kernelSlots.map { arena.state[$0] }, count: count,
                                                       scalars: first!.values, flags: first!.flags, groups: table, storage: arena.storage)))
        case .sgd(let h):
            try arena.backend.run(.sgd(SGDLaunch(parameters: arena.parameters, gradients: arena.gradients,
                                                 momentumBuffer: arena.state["momentum_buffer"], count: count,
                                                 scalars: Self.sgdScalars(h, step: next, lr: h.lr), replicas: replicas,
                                                 storage: arena.storage)))
        case .adam(let h), .adamw(let h):
            try arena.backend.run(.adam(AdamLaunch(parameters: arena.parameters, gradients: arena.gradients,
                                                   expAvg: try arena.buffer(.state("exp_avg")), expAvgSq: try arena.buffer(.state("exp_avg_sq")),
                                                   maxExpAvgSq: arena.state["max_exp_avg_sq"], count: count,
                                                   scalars: Self.adamScalars(h, step: next, lr: h.lr), replicas: replicas,
                                                   storage: arena.storage)))
        }
        step = next
    }

    /// The per-replica values of step `step` (1-based) for `learningRates`: what a single-replica update at each
    /// learning rate would pass, so a sweep replica computes exactly what a separate run would.
    public func replicaTable(learningRates: [Double], step t: Int) -> [Float] {
        switch configuration {
        case .sgd(let h): return learningRates.map { Self.sgdScalars(h, step: t, lr: $0).learningRate }
        case .adam(let h), .adamw(let h):
            let scalars = learningRates.map { Self.adamScalars(h, step: t, lr: $0) }
            return scalars.map(\.stepSize) + scalars.map(\.decayFactor)
        case .family: return learningRates.map(Float.init)
        }
    }

    /// Sets the step count (restoring a checkpoint).
    public func setStep(_ step: Int) throws {
        guard step >= 0 else { throw EtaError(.dataError, "a step count cannot be negative (got \(step))") }
        self.step = step
    }

    /// Applies one update to `arena` with `learningRate` (the configured lr when nil) and, when a schedule
    /// cycles it, `momentum` in place of SGD's momentum or Adam's beta1.
    public func step(_ arena: ParameterArena, learningRate: Double? = nil, momentum: Double? = nil) throws {
        guard configuration.stateSlots.allSatisfy(arena.state.keys.contains) else {
            throw EtaError(.software, "arena lacks state slots for \(configuration.name): needs \(configuration.stateSlots), has \(arena.stateSlots)")
        }
        let lr = learningRate ?? configuration.learningRate
        guard lr >= 0, lr.isFinite else { throw EtaError(.usage, "invalid learning rate \(lr): must be finite and >= 0") }
        if arena.stateType != .fp32 { try Self.checkStateType(arena.stateType, for: configuration) }
        if arena.parameterType != .fp32 { try Self.checkStateType(arena.parameterType, for: configuration, what: "parameter") }
        let next = step + 1
        let count = arena.layout.count
        switch configuration {
        case .sgd(var h):
            if let momentum { h.momentum = momentum }
            var launch = SGDLaunch(parameters: arena.parameters, gradients: arena.gradients,
                                   momentumBuffer: arena.state["momentum_buffer"], count: count,
                                   scalars: Self.sgdScalars(h, step: next, lr: lr))
            launch.storage = arena.storage
            launch.groups = try groupScalars(arena, stride: 2) { g in
                var group = h
                let (rate, decay) = groupValues(g, lr: lr, weightDecay: h.weightDecay)
                group.weightDecay = decay
                let s = Self.sgdScalars(group, step: next, lr: rate)
                return [s.learningRate, s.weightDecay]
            }
            try arena.backend.run(.sgd(launch))
        case .adam(var h), .adamw(var h):
            if let momentum { h.beta1 = momentum }
            var launch = AdamLaunch(parameters: arena.parameters, gradients: arena.gradients,
                                    expAvg: try arena.buffer(.state("exp_avg")), expAvgSq: try arena.buffer(.state("exp_avg_sq")),
                                    maxExpAvgSq: arena.state["max_exp_avg_sq"], count: count,
                                    scalars: Self.adamScalars(h, step: next, lr: lr))
            launch.storage = arena.storage
            launch.groups = try groupScalars(arena, stride: 3) { g in
                var group = h
                let (rate, decay) = groupValues(g, lr: lr, weightDecay: h.weightDecay)
                group.weightDecay = decay
                let s = Self.adamScalars(group, step: next, lr: rate)
                return [s.stepSize, s.decayFactor, s.weightDecay]
            }
            try arena.backend.run(.adam(launch))
        case .family(let c):
            for slot in ["z", "p0"] where next == 1 {
                // Schedule-Free's z and Prodigy's p0 start at the initial parameters (the references clone p at step 1).
                if let buffer = arena.state[slot] { try arena.backend.run(.copy(source: arena.parameters, destination: buffer, count: count)) }
            }
            try familyStep(try Self.cycled(c, momentum: momentum), arena: arena, step: next, lr: lr)
        }
        step = next
    }

    /// Throws a usage error when `configuration` cannot keep its state in `type`: Schedule-Free's z is an iterate
    /// (x and y are read from it), and the two-pass optimizers re-read in their second pass what the first stored.
    public static func checkStateType(_ type: StorageType, for configuration: OptimizerConfiguration, what: String = "state") throws {
        guard type != .fp32, case .family(let c) = configuration else { return }
        if FamilyOptimizer.scheduleFreeBeta(c) != nil || c.descriptor.twoPhase != nil {
            throw EtaError(.usage, "\(c.name) keeps float32 \(what)s; \(type.rawValue) \(what) storage is for sgd, adam, adamw, rmsprop, adagrad, adadelta, adamax, nadam, radam and lion")
        }
    }

    /// `c` with a schedule's cycled momentum in place of its `momentum` or, failing that, its `beta1` (as PyTorch's
    /// CyclicLR and OneCycleLR choose between `momentum` and `betas[0]`).
    static func cycled(_ c: FamilyOptimizer.Configuration, momentum: Double?) throws -> FamilyOptimizer.Configuration {
        guard let momentum else { return c }
        guard let key = FamilyOptimizer.cycledKey(c) else {
            throw EtaError(.usage, "the schedule cycles momentum, which \(c.name) does not take (no momentum or beta1): set cycle_momentum=false")
        }
        var values = c.values
        values[key] = momentum
        return FamilyOptimizer.Configuration(name: c.name, values: values)
    }

    /// One step of a family optimizer: one launch, or for a two-pass optimizer the block pass, its sums, and the update.
    private func familyStep(_ c: FamilyOptimizer.Configuration, arena: ParameterArena, step next: Int, lr: Double) throws {
        let descriptor = c.descriptor, count = arena.layout.count
        func launch(_ kernel: String, _ slots: [String], _ scalars: FamilyOptimizer.StepScalars, _ blocks: UpdateBlocks?) throws {
            try arena.backend.run(.family(FamilyLaunch(kernel: kernel, parameters: arena.parameters, gradients: arena.gradients,
                                                       states: slots.map { arena.state[$0] }, count: count, scalars: scalars.values,
                                                       flags: scalars.flags, blocks: blocks, storage: arena.storage)))
        }
        guard let twoPhase = descriptor.twoPhase else {
            let scalars = descriptor.scalars(c, next, lr, &hostState)
            guard !groups.isEmpty else { return try launch(descriptor.kernel, descriptor.kernelSlots, scalars, nil) }
            // Each group has its own host state (Schedule-Free's lr_max and weight sum), saved under "group<g>.".
            let grouped = try groupScalars(arena, stride: 12) { g in
                guard g > 0 else { return scalars.values }
                let (rate, decay) = groupValues(g, lr: lr, weightDecay: c["weight_decay"])
                var values = c.values
                if values["weight_decay"] != nil { values["weight_decay"] = decay }
                return withHostState(prefix: "group\(g).") { host in
                    descriptor.scalars(FamilyOptimizer.Configuration(name: c.name, values: values), next, rate, &host)
                }.values
            }
            return try arena.backend.run(.family(FamilyLaunch(kernel: descriptor.kernel, parameters: arena.parameters, gradients: arena.gradients,
                                                              states: descriptor.kernelSlots.map { arena.state[$0] }, count: count,
                                                              scalars: scalars.values, flags: scalars.flags, groups: grouped, storage: arena.storage)))
        }
        guard groups.isEmpty else {
            throw EtaError(.usage, "parameter groups are not supported by \(c.name) yet (its step depends on sums over all parameters)")
        }
        // The reference packages take no step at lr 0 (Prodigy, D-Adaptation: "group_lr > 0" guards everything).
        if twoPhase.finish != nil && lr == 0 { return }
        let blocks = try updateBlocks(arena, perTensor: twoPhase.perTensor)
        let scalars = descriptor.scalars(c, next, lr, &hostState)
        try launch(twoPhase.accumulateKernel, twoPhase.accumulateSlots, scalars, blocks)
        guard let finish = twoPhase.finish else {
            return try launch(descriptor.kernel, descriptor.kernelSlots, scalars, blocks)   // LAMB: sums stay on the device
        }
        let partials = try arena.backend.read(blocks.partials, count: 2 * blocks.count)
        var sums = [0.0, 0.0]
        for block in 0..<blocks.count {
            sums[0] += Double(partials[2 * block])
            sums[1] += Double(partials[2 * block + 1])
        }
        guard let update = finish(c, sums, lr, &hostState) else { return }
        try launch(descriptor.kernel, descriptor.kernelSlots, update, nil)
    }

    /// The block table and partials of `arena`, made on first use.
    private func updateBlocks(_ arena: ParameterArena, perTensor: Bool) throws -> UpdateBlocks {
        if let cached = blockCache, cached.arena === arena { return cached.blocks }
        let table = UpdateBlocks.table(for: arena.layout, perTensor: perTensor)
        let count = table.count / 4
        let tableBuffer = try arena.backend.makeBuffer(count: max(table.count, 1))
        try arena.backend.write(table.map { Float(bitPattern: $0) }, to: tableBuffer)
        let blocks = UpdateBlocks(table: tableBuffer, partials: try arena.backend.makeBuffer(count: max(2 * count, 1)), count: count)
        blockCache = (arena, blocks)
        return blocks
    }

    private var blockCache: (arena: ParameterArena, blocks: UpdateBlocks)?

    private var replicaCache: (arena: ParameterArena, groups: UpdateGroups)?

    /// Runs `body` on the host state kept under `prefix` (a parameter group's or a sweep replica's own), saving it back.
    private func withHostState<T>(prefix: String, _ body: (inout [String: Double]) -> T) -> T {
        var host = Dictionary(uniqueKeysWithValues: hostState.filter { $0.key.hasPrefix(prefix) }.map { (String($0.key.dropFirst(prefix.count)), $0.value) })
        let result = body(&host)
        for (key, value) in host { hostState[prefix + key] = value }
        return result
    }

    /// Parameter groups (per-tensor lr scale and weight decay), applied in the same single launch per update.
    public var groups: [ParameterGroup] = [] { didSet { groupCache = nil } }
    private var groupCache: (arena: ParameterArena, groups: UpdateGroups)?

    /// This step's per-group scalars, written to the device; nil without groups.
    private func groupScalars(_ arena: ParameterArena, stride: Int, _ values: (Int) -> [Float]) throws -> UpdateGroups? {
        guard !groups.isEmpty else { return nil }
        var table = try groupCache.flatMap { $0.arena === arena ? $0.groups : nil } ?? makeGroups(arena, stride: stride)
        groupCache = (arena, table)
        table.hostScalars = (0...groups.count).map { g in
            let v = values(g)
            return v + [Float](repeating: 0, count: max(0, stride - v.count))
        }
        try arena.backend.write(table.hostScalars.flatMap { $0 }, to: table.scalars)
        return table
    }

    /// The step-size estimate d of an optimizer that adapts one (Prodigy, D-Adaptation Adam; its effective lr is
    /// d·lr), d0 before the first step; nil for the others.
    public var stepSizeEstimate: Double? {
        guard case .family(let c) = configuration, c.descriptor.twoPhase?.finish != nil else { return nil }
        return hostState["d"] ?? c["d0"]
    }

    /// The SGD kernel's scalars for step `t` (1-based). Python computes these in double; the kernels take float.
    public static func sgdScalars(_ h: SGDHyperparameters, step t: Int, lr: Double) -> SGDScalars {
        SGDScalars(learningRate: Float(lr), weightDecay: Float(h.weightDecay), momentum: Float(h.momentum),
                   oneMinusDampening: Float(1 - h.dampening), maximize: h.maximize, nesterov: h.nesterov, firstStep: t == 1)
    }

    /// The Adam kernel's scalars for step `t` (1-based): bias corrections in double, as `_single_tensor_adam`.
    public static func adamScalars(_ h: AdamHyperparameters, step t: Int, lr: Double) -> AdamScalars {
        let biasCorrection1 = 1 - pow(h.beta1, Double(t))
        let biasCorrection2 = 1 - pow(h.beta2, Double(t))
        return AdamScalars(
            weightDecay: Float(h.weightDecay), decayFactor: Float(1 - lr * h.weightDecay),
            beta1Weight: Float(1 - h.beta1), beta2: Float(h.beta2), oneMinusBeta2: Float(1 - h.beta2),
            stepSize: Float(lr / biasCorrection1), biasCorrection2Sqrt: Float(biasCorrection2.squareRoot()),
            eps: Float(h.eps), maximize: h.maximize, amsgrad: h.amsgrad, decoupled: h.decoupledWeightDecay)
    }
}

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
