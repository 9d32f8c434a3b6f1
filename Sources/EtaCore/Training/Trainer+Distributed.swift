/// Data-parallel training over a ``ProcessGroup`` (PyTorch DDP's semantics): `batchSize` is per rank and a global
/// batch is `size` times it, drawn from the same shuffled order a one-process run with the global batch uses. Rank r
/// trains on the r-th of `size` near-equal slices of every global batch; each rank's gradient is its rows' sum
/// divided by the global batch's rows, so the summed gradient is the global batch's mean even when the last batch of
/// an epoch does not split evenly. Every rank then takes the same optimizer step, so parameters stay identical.
///
/// Every rank also computes what the decisions of the run depend on from reduced values (the batch loss the guard
/// checks, the epoch's training sums, the stop flag), so all ranks take the same branch at the same step.
extension Trainer {
    /// Rows of one optimizer step's micro-batch across all ranks: `batchSize` times the world size.
    public var globalBatchSize: Int { configuration.batchSize * processGroup.size }

    /// This rank's slice of a global batch of `rows` rows starting at `first`.
    func localSlice(first: Int, rows: Int) -> (first: Int, rows: Int) {
        let (r, n) = (processGroup.rank, processGroup.size)
        let start = rows * r / n, end = rows * (r + 1) / n
        return (first + start, end - start)
    }

    /// Forward and backward of this rank's slices of `count` global micro-batches from global batch `batchIndex` of
    /// the loaded epoch; the gradient arena then holds this rank's share of the step's gradient. Returns this rank's
    /// rows in the last micro-batch and the global rows of all of them.
    func computeGradients(
        batchIndex: Int, count: Int, addToSums: (Int) -> Bool
    ) throws -> (lastLocalRows: Int, lastGlobalRows: Int, globalRows: Int) {
        let d = split.dataset.featureCount, t = split.dataset.targetWidth
        let distributed = processGroup.size > 1
        var (lastLocal, lastGlobal, total) = (0, 0, 0)
        var wroteGradient = false
        for index in 0..<count {
            let globalFirst = (batchIndex + index) * globalBatchSize
            let globalRows = min(globalBatchSize, split.trainRows.count - globalFirst)
            let (first, rows) = localSlice(first: globalFirst, rows: globalRows)
            (lastLocal, lastGlobal) = (rows, globalRows)
            total += globalRows
            guard rows > 0 else { continue }
            try network.trainingStep(
                input: data.trainFeatures, inputOffset: first * d, targets: data.trainTargets,
                targetsOffset: first * t, rows: rows, accumulate: addToSums(index),
                microBatches: configuration.accumulationMean ? count : 1, accumulateGradients: wroteGradient,
                gradientRows: distributed ? globalRows : nil)
            wroteGradient = true
        }
        // A rank whose slices were all empty (a last batch smaller than the world) adds nothing to the sum.
        if !wroteGradient { try backend.fill(network.arena.gradients, with: 0) }
        return (lastLocal, lastGlobal, total)
    }

    /// Sums the ranks' gradients (a no-op on one process) and makes the batch loss the global batch's: its mean over
    /// the last micro-batch's rows of every rank. Also agrees on stopping: the run stops when any rank asked to.
    /// With sharded optimizer state the gradients are reduce-scattered instead: each rank receives its block's sum.
    func exchangeGradients(lastLocalRows: Int, lastGlobalRows: Int, stopRequested: Bool) throws {
        let shard = network.shard
        guard exchange != nil || shard != nil else { return }
        let lossIndex = Network.Stat.batchLoss.rawValue * network.replicas
        let localLoss = lastLocalRows > 0 ? try backend.read(network.stats, offset: lossIndex, count: 1)[0] : 0
        let weight = Float(lastLocalRows) / Float(max(lastGlobalRows, 1))
        let scalars = [localLoss * weight, stopRequested ? 1 : 0]
        var reduced = scalars
        if let shard {
            try shard.reduceScatter(network.arena.gradients, on: backend)
            try processGroup.allreduce(&reduced, .sum)
        } else if let exchange {
            reduced = try exchange.sum(network.arena.gradients, on: backend, scalars: scalars)
        }
        try backend.write([reduced[0]], to: network.stats, offset: lossIndex)
        agreedStop = reduced[1] > 0
    }

    /// One optimizer update: of the arena, or with sharded state of this rank's block, whose parameters every rank
    /// then gathers.
    func applyUpdate(learningRate: Double, momentum: Double?) throws {
        guard let shard = network.shard else {
            return try network.optimizer.step(network.arena, learningRate: learningRate, momentum: momentum)
        }
        try network.optimizer.step(shard.arena, learningRate: learningRate, momentum: momentum)
        try shard.allgatherParameters(into: network.arena.parameters, on: backend)
    }

    /// Seconds this rank spent exchanging gradients and parameters with the others.
    public var communicationSeconds: Double { (exchange?.seconds ?? 0) + (network.shard?.seconds ?? 0) }

    /// The optimizer's state slot `slot` over the whole arena (with sharded state, every rank's block joined; every
    /// rank must call it).
    public func optimizerState(_ slot: String) throws -> [Float] {
        try network.shard?.gatherState(slot) ?? network.arena.download(.state(slot))
    }

    /// Loads the optimizer's state slot `slot` from values over the whole arena.
    public func loadOptimizerState(_ values: [Float], slot: String) throws {
        if let shard = network.shard { return try shard.scatterState(values, slot: slot) }
        try network.arena.upload(values, to: .state(slot))
    }

    /// Sharded state needs an optimizer whose step works on any block: LAMB's trust ratios need whole tensors, and
    /// Schedule-Free's evaluation point needs the whole z.
    static func checkShardable(_ configuration: TrainingConfiguration) throws {
        let optimizer = configuration.optimizer
        if optimizer.rule.twoPassShape?.perTensor == true || optimizer.averagingBeta != nil
            || optimizer.rule is any TensorwiseRule
        {
            let why =
                optimizer.averagingBeta != nil
                ? "its evaluation point interpolates the whole z state"
                : optimizer.rule is any TensorwiseRule
                    ? "its step works on whole matrices" : "its per-tensor trust ratios need whole tensors"
            throw EtaError(
                .usage,
                "--shard-optimizer-state does not support \(optimizer.name) (\(why)); run it without sharding")
        }
        if configuration.divergenceGuard.policy == .rollback {
            throw EtaError(
                .usage, "--shard-optimizer-state does not support --on-nonfinite rollback; use abort or skip")
        }
    }

    /// Whether the run stops after this step: the observer's request on one process, the ranks' agreement otherwise.
    func stopRequested(_ observer: TrainingObserver?) -> Bool {
        processGroup.size > 1 ? agreedStop : observer?.stopRequested == true
    }

    /// The epoch's training loss sum and correct count over every rank's rows.
    func reducedTrainingSums() throws -> (lossSum: Float, correct: Float) {
        let stats = try network.readStats()
        var sums = [Double(stats[.trainLossSum]!), Double(stats[.trainCorrect]!)]
        try processGroup.allreduce(&sums, .sum)
        return (Float(sums[0]), Float(sums[1]))
    }

    /// Before the first step: every rank takes rank 0's parameters (and BatchNorm statistics), as DDP broadcasts its
    /// module's state at construction.
    func synchronizeInitialState() throws {
        guard !initialStateShared else { return }
        if processGroup.size > 1 {
            var parameters = try network.arena.download(.parameters)
            try parameters.withUnsafeMutableBufferPointer { try processGroup.broadcast($0, root: 0) }
            try network.arena.upload(parameters, to: .parameters)
            if let running = network.runningStatistics {
                var values = try backend.read(running)
                try values.withUnsafeMutableBufferPointer { try processGroup.broadcast($0, root: 0) }
                try backend.write(values, to: running)
            }
        }
        try network.shard?.loadParameters(from: network.arena.parameters, on: backend)
        initialStateShared = true
    }

    /// BatchNorm's running statistics averaged over the ranks (each rank's come from its own slices), before an
    /// evaluation or a checkpoint; a no-op on one process and for models without BatchNorm.
    func averageRunningStatistics() throws {
        guard processGroup.size > 1, let running = network.runningStatistics else { return }
        var values = try backend.read(running)
        try values.withUnsafeMutableBufferPointer { try processGroup.allreduce($0, .sum) }
        let scale = 1 / Float(processGroup.size)
        try backend.write(values.map { $0 * scale }, to: running)
    }

    /// Checks that every rank holds the same parameters (bit for bit): a 64-bit hash of the parameter bits, compared
    /// through its largest and smallest value over the ranks.
    ///
    /// - Parameter step: The step just taken, for the message.
    /// - Throws: `EtaError` `.software` naming the step when the ranks differ.
    public func checkRanksAgree(step: Int) throws {
        guard processGroup.size > 1 else { return }
        let hash = Self.parameterHash(try network.arena.download(.parameters))
        // Two 32-bit halves are exact in a Double.
        var high = [Double(hash >> 32), Double(hash & 0xffff_ffff)], low = high
        try processGroup.allreduce(&high, .max)
        try processGroup.allreduce(&low, .min)
        guard high == low else {
            throw EtaError(
                .software,
                "the ranks' parameters differ after step \(step) (rank \(processGroup.rank) hash "
                    + "\(String(hash, radix: 16))): data-parallel replicas must stay identical"
            )
        }
    }

    /// FNV-1a over the parameters' bit patterns.
    public static func parameterHash(_ values: [Float]) -> UInt64 {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for value in values {
            hash = (hash ^ UInt64(value.bitPattern)) &* 0x100_0000_01b3
        }
        return hash
    }
}
