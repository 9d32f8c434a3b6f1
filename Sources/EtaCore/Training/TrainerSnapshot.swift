/// Parameters, optimizer state, step count, stats and data position of a trainer, held on the host so
/// they can be put back bit for bit.
struct TrainerSnapshot {
    let parameters: [Float]
    let state: [String: [Float]]
    /// A tensorwise optimizer's per-tensor state (Muon, Adafactor).
    let tensorState: [String: [Float]]
    let stats: [Float]
    let position: TrainingPosition
    let hostState: [String: Double]
    /// BatchNorm's running statistics and the count of batches they have seen.
    let running: [Float]?
    let batchesTracked: Int
    /// The parameters' moving average and its update count (`--ema`).
    let average: (values: [Float], updates: Int)?
    let stochasticAverage: (values: [Float], updates: Int)?

    init(_ trainer: Trainer) throws {
        hostState = trainer.network.optimizer.hostState
        running = try trainer.network.runningStatistics.map { try trainer.backend.read($0) }
        batchesTracked = trainer.network.batchesTracked
        average = try trainer.average.map { (try $0.values(on: trainer.backend), $0.updates) }
        stochasticAverage = try trainer.stochasticAverage.map { (try $0.values(on: trainer.backend), $0.updates) }
        let arena = trainer.network.arena
        parameters = try arena.download(.parameters)
        state = Dictionary(uniqueKeysWithValues: try arena.stateSlots.map { ($0, try arena.download(.state($0))) })
        tensorState = try trainer.network.optimizer.downloadTensorState(arena)
        stats = try trainer.backend.read(trainer.network.stats)
        var position = trainer.position
        // The epoch's running sums live on the device; keep them with the position so reloading the epoch restores
        // them.
        position.trainLossSum = stats[Network.Stat.trainLossSum.rawValue]
        position.trainCorrect = stats[Network.Stat.trainCorrect.rawValue]
        self.position = position
    }

    func restore(into trainer: Trainer) throws {
        let arena = trainer.network.arena
        try arena.upload(parameters, to: .parameters)
        for (slot, values) in state { try arena.upload(values, to: .state(slot)) }
        if !tensorState.isEmpty { try trainer.network.optimizer.uploadTensorState(tensorState, arena: arena) }
        try trainer.backend.write(stats, to: trainer.network.stats)
        try trainer.restore(position: position)
        trainer.network.optimizer.hostState = hostState
        if let running, let buffer = trainer.network.runningStatistics {
            try trainer.backend.write(running, to: buffer)
        }
        trainer.network.batchesTracked = batchesTracked
        if let average { try trainer.average?.load(average.values, updates: average.updates, on: trainer.backend) }
        if let stochasticAverage {
            try trainer.stochasticAverage?.load(
                stochasticAverage.values, updates: stochasticAverage.updates, on: trainer.backend)
        }
    }
}
