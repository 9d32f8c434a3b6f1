/// The steps of tensorwise optimizers (``TensorwiseRule``: Muon, Adafactor): per-tensor state in one buffer, scratch
/// for the largest tensor, and the auxiliary optimizer over a compact arena of the tensors the rule leaves to it.
final class TensorwiseWorkspace {
    /// The arena this workspace serves.
    let arena: ParameterArena
    /// The state tensors, named `SLOT.TENSOR` (`momentum_buffer.layer0.weight`), back to back in `state`.
    let stateLayout: TensorLayout
    let state: DeviceBuffer
    let scratch: DeviceBuffer
    let stats: DeviceBuffer
    /// The tensors the auxiliary optimizer updates: where each lies in the arena and in `auxiliaryArena`.
    let auxiliaryTensors: [(arena: TensorLayout.Entry, compact: TensorLayout.Entry)]
    let auxiliaryArena: ParameterArena?
    let auxiliary: Optimizer?

    init(arena: ParameterArena, rule: any TensorwiseRule) throws {
        self.arena = arena
        let entries = arena.layout.entries
        let updated = entries.filter { type(of: rule).updates(shape: $0.shape) }
        stateLayout = try TensorLayout(Optimizer.tensorStateEntries(rule, layout: arena.layout, auxiliary: false))
        let backend = arena.backend
        state = try backend.makeBuffer(count: max(1, stateLayout.count))
        scratch = try backend.makeBuffer(
            count: max(1, updated.map { rule.scratchCount(forShape: $0.shape) }.max() ?? 0))
        stats = try backend.makeBuffer(count: 2 + (updated.map { $0.shape.dropLast(2).reduce(1, *) }.max() ?? 1))
        let others = entries.filter { !type(of: rule).updates(shape: $0.shape) }
        if let aux = rule.auxiliary, !others.isEmpty {
            let layout = try TensorLayout(others.map { ($0.name, $0.shape) }, alignment: GroupLayout.chunk)
            auxiliaryTensors = zip(others, layout.entries).map { ($0, $1) }
            let compact = try ParameterArena(layout: layout, stateSlots: aux.stateSlots, backend: backend)
            let optimizer = Optimizer(aux)
            try optimizer.initializeState(compact)
            (auxiliaryArena, auxiliary) = (compact, optimizer)
        } else {
            (auxiliaryTensors, auxiliaryArena, auxiliary) = ([], nil, nil)
        }
    }

    /// The slice of state tensor `SLOT.TENSOR`.
    func slice(_ slot: String, _ tensor: String) -> DeviceSlice {
        DeviceSlice(state, offset: stateLayout["\(slot).\(tensor)"]!.offset)
    }

    /// Copies each auxiliary tensor between the arena's role and the compact arena's (`toCompact`: into it).
    func exchange(_ role: ParameterArena.Role, toCompact: Bool) throws {
        guard let compact = auxiliaryArena else { return }
        for (entry, place) in auxiliaryTensors where entry.count > 0 {
            let outer = DeviceSlice(try arena.buffer(role), offset: entry.offset)
            let inner = DeviceSlice(try compact.buffer(role), offset: place.offset)
            try arena.backend.run(
                .add(
                    AddCommand(a: toCompact ? outer : inner, destination: toCompact ? inner : outer, count: entry.count)
                ))
        }
    }
}

extension Optimizer {
    /// The per-tensor state `rule` keeps for `layout`, named `SLOT.TENSOR`, with PyTorch's shapes; with `auxiliary`,
    /// also the auxiliary optimizer's slots of the tensors it updates.
    static func tensorStateEntries(
        _ rule: any TensorwiseRule, layout: TensorLayout, auxiliary: Bool
    ) -> [(name: String, shape: [Int])] {
        var entries: [(name: String, shape: [Int])] = []
        for entry in layout.entries where type(of: rule).updates(shape: entry.shape) {
            for (slot, shape) in rule.stateTensors(forShape: entry.shape) {
                entries.append(("\(slot).\(entry.name)", shape))
            }
        }
        guard auxiliary, let aux = rule.auxiliary else { return entries }
        for slot in aux.stateSlots {
            for entry in layout.entries where !type(of: rule).updates(shape: entry.shape) {
                entries.append(("\(slot).\(entry.name)", entry.shape))
            }
        }
        return entries
    }

    /// The state a tensorwise optimizer keeps outside the arena's slots for `layout` (Muon's momentum buffers and its
    /// auxiliary optimizer's slots, Adafactor's factored moments), named `SLOT.TENSOR`; empty for other optimizers.
    ///
    /// - Parameter layout: The model's tensors.
    /// - Returns: Names and shapes, in a fixed order (what checkpoints hold as `optimizer.SLOT.TENSOR`).
    public func tensorStateEntries(layout: TensorLayout) -> [(name: String, shape: [Int])] {
        guard let rule = configuration.rule as? any TensorwiseRule else { return [] }
        return Self.tensorStateEntries(rule, layout: layout, auxiliary: true)
    }

    /// Reads the per-tensor state of ``tensorStateEntries(layout:)`` back from the device.
    ///
    /// - Parameter arena: The arena this optimizer steps.
    /// - Returns: The values by name.
    /// - Throws: The backend's error.
    public func downloadTensorState(_ arena: ParameterArena) throws -> [String: [Float]] {
        guard let rule = configuration.rule as? any TensorwiseRule else { return [:] }
        let workspace = try tensorwiseWorkspace(arena, rule: rule)
        var values: [String: [Float]] = [:]
        let own = try arena.backend.read(workspace.state, count: workspace.stateLayout.count)
        for entry in workspace.stateLayout.entries {
            values[entry.name] = Array(own[entry.offset..<(entry.offset + entry.count)])
        }
        if let compact = workspace.auxiliaryArena {
            for slot in compact.stateSlots {
                for (outer, inner) in workspace.auxiliaryTensors {
                    values["\(slot).\(outer.name)"] = try compact.download(.state(slot), tensor: inner.name)
                }
            }
        }
        return values
    }

    /// Writes per-tensor state (a checkpoint's) to the device.
    ///
    /// - Parameters:
    ///   - values: Values by name, one for each of ``tensorStateEntries(layout:)`` with its element count.
    ///   - arena: The arena this optimizer steps.
    /// - Throws: `EtaError` `.dataError` for a missing or mis-sized tensor, or the backend's error.
    public func uploadTensorState(_ values: [String: [Float]], arena: ParameterArena) throws {
        guard let rule = configuration.rule as? any TensorwiseRule else { return }
        let workspace = try tensorwiseWorkspace(arena, rule: rule)
        func value(_ name: String, count: Int) throws -> [Float] {
            guard let v = values[name], v.count == count else {
                throw EtaError(
                    .dataError, "optimizer state '\(name)' is missing or has the wrong size (\(count) floats)")
            }
            return v
        }
        var own = [Float](repeating: 0, count: workspace.stateLayout.count)
        for entry in workspace.stateLayout.entries {
            own.replaceSubrange(
                entry.offset..<(entry.offset + entry.count), with: try value(entry.name, count: entry.count))
        }
        if !own.isEmpty { try arena.backend.write(own, to: workspace.state) }
        if let compact = workspace.auxiliaryArena {
            for slot in compact.stateSlots {
                var slotValues = [Float](repeating: 0, count: compact.layout.count)
                for (outer, inner) in workspace.auxiliaryTensors {
                    slotValues.replaceSubrange(
                        inner.offset..<(inner.offset + inner.count),
                        with: try value("\(slot).\(outer.name)", count: inner.count))
                }
                try compact.upload(slotValues, to: .state(slot))
            }
        }
    }

    /// One step of a tensorwise optimizer: its launches per tensor it updates, then the auxiliary optimizer's step
    /// over the others (its lr follows the schedule in proportion: lr · aux.lr / configured lr).
    func tensorwiseStep(_ rule: any TensorwiseRule, arena: ParameterArena, step next: Int, lr: Double) throws {
        guard groups.isEmpty else {
            throw EtaError(.usage, "parameter groups are not supported by \(configuration.name) yet")
        }
        let workspace = try tensorwiseWorkspace(arena, rule: rule)
        for entry in arena.layout.entries where type(of: rule).updates(shape: entry.shape) {
            var state: [String: DeviceSlice] = [:]
            for (slot, _) in rule.stateTensors(forShape: entry.shape) {
                state[slot] = workspace.slice(slot, entry.name)
            }
            try rule.launchStep(
                TensorwiseLaunch(
                    backend: arena.backend, shape: entry.shape,
                    parameters: DeviceSlice(arena.parameters, offset: entry.offset),
                    gradients: DeviceSlice(arena.gradients, offset: entry.offset), state: state,
                    scratch: workspace.scratch, stats: workspace.stats),
                step: next, lr: lr)
        }
        guard let auxiliary = workspace.auxiliary, let compact = workspace.auxiliaryArena else { return }
        try workspace.exchange(.parameters, toCompact: true)
        try workspace.exchange(.gradients, toCompact: true)
        try auxiliary.setStep(next - 1)
        auxiliary.hostState = Dictionary(
            uniqueKeysWithValues: hostState.filter { $0.key.hasPrefix("aux.") }.map {
                (String($0.key.dropFirst(4)), $0.value)
            })
        let ratio = auxiliary.configuration.learningRate / max(configuration.learningRate, .leastNonzeroMagnitude)
        try auxiliary.step(compact, learningRate: lr * ratio)
        for (key, value) in auxiliary.hostState { hostState["aux." + key] = value }
        try workspace.exchange(.parameters, toCompact: false)
    }
}
