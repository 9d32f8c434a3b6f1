import Dispatch

/// Trains a model on a dataset on one backend: seeded shuffling, a train/validation split, mini-batches
/// (the last partial batch included), one fused optimizer launch per step, losses read every `logEvery` steps; at
/// the end of a completed run, the loss and accuracy on the dataset's official test rows, if it has them.
///
/// ```swift
/// var configuration = TrainingConfiguration()
/// configuration.epochs = 5
/// let trainer = try Trainer(configuration: configuration, backend: CPUBackend())
/// let result = try trainer.run()
/// print(result.epochs.last!.validationAccuracy!)
/// ```
public final class Trainer {
    /// What the run trains, and how.
    public let configuration: TrainingConfiguration
    /// The dataset's train/validation split.
    public let split: DataSplit
    /// The model, its parameter arena and its optimizer.
    public let network: Network
    /// The backend everything runs on.
    public let backend: Backend
    /// The ranks training together (data-parallel); a ``SingleProcess`` outside `mpirun`.
    public let processGroup: ProcessGroup
    /// Sums the ranks' gradients each step; nil on one process.
    public let exchange: GradientExchange?
    /// The exponential moving average of the parameters (`emaDecay`); nil without one.
    public let average: ParameterAverage?
    /// The stochastic weight average (`swa`); nil without one.
    public let stochasticAverage: ParameterAverage?
    /// After every step, check that every rank holds the same parameters (``checkRanksAgree(step:)``).
    public var checksRanksEveryStep = false
    /// Where the run is: steps, epoch, batch in the epoch.
    public internal(set) var position = TrainingPosition()
    /// The schedule, with plateau state.
    public private(set) var schedulePlan: SchedulePlan
    /// Called after every `checkpointEvery` epochs, at the end, and when stopped: the caller writes the checkpoint.
    public var checkpointHandler: ((Trainer) throws -> Void)?
    /// Epochs between checkpoints; nil or 0: only at the end and when stopped.
    public var checkpointEvery: Int?
    /// Called after a full epoch whose ``bestTracker`` metric improved: the caller writes the best checkpoint.
    public var bestCheckpointHandler: ((Trainer, EpochRecord) throws -> Void)?
    /// Early stopping's state (configuration's ``TrainingConfiguration/earlyStopping``), saved in checkpoints.
    public var earlyStopping: EarlyStopping?
    /// The best checkpoint's tracker (never stops the run), saved in checkpoints.
    public var bestTracker: EarlyStopping

    /// The split on the device: the current epoch's shuffled training rows and the validation rows.
    let data: SplitBuffers
    private var loadedEpoch = -1
    // Divergence-guard state (see Trainer+Guard.swift).
    var runningLoss: Double?
    var goodSnapshot: TrainerSnapshot?
    var rollbacks = 0
    var consecutiveSkips = 0
    var consecutiveGradientSkips = 0
    // Data-parallel state (see Trainer+Distributed.swift).
    var agreedStop = false
    var initialStateShared = false

    /// Mini-batches per epoch (the last may be partial).
    public var batchesPerEpoch: Int {
        TrainingConfiguration.batchCount(rows: split.trainRows.count, batchSize: globalBatchSize)
    }
    /// Optimizer steps per epoch: one per `accumulationSteps` mini-batches (the last may gather fewer).
    public var stepsPerEpoch: Int {
        TrainingConfiguration.batchCount(rows: batchesPerEpoch, batchSize: configuration.accumulationSteps)
    }
    /// Device memory the run holds, in bytes: the network (parameters, gradients, optimizer state, activations,
    /// statistics) and the data split. Nothing is allocated after construction, so this is the peak.
    public var deviceMemoryBytes: Int {
        network.deviceBytes + data.deviceBytes + (network.shard?.deviceBytes ?? 0)
            + (average?.deviceBytes ?? 0) + (stochasticAverage?.deviceBytes ?? 0)
    }
    /// Optimizer steps of the whole run: every epoch's, or `configuration.steps` when that ends the run first.
    public var totalSteps: Int { Self.runLength(stepsPerEpoch: stepsPerEpoch, configuration).steps }
    /// Epochs the run starts: `configuration.epochs`, or fewer when `configuration.steps` ends the run first (the
    /// last may then stop part-way).
    public var plannedEpochs: Int { Self.runLength(stepsPerEpoch: stepsPerEpoch, configuration).epochs }

    /// The run's steps and the epochs they touch, whichever of `epochs` and `steps` ends it first.
    static func runLength(stepsPerEpoch: Int, _ configuration: TrainingConfiguration) -> (steps: Int, epochs: Int) {
        let all = stepsPerEpoch.multipliedReportingOverflow(by: configuration.epochs).partialValue
        guard let limit = configuration.steps, limit < all else { return (all, configuration.epochs) }
        return (limit, TrainingConfiguration.batchCount(rows: limit, batchSize: stepsPerEpoch))
    }

    /// Loads the configured dataset, then builds the trainer as ``init(configuration:dataset:backend:)`` does.
    ///
    /// - Parameters:
    ///   - configuration: The run.
    ///   - backend: The backend to train on.
    ///   - processGroup: The ranks training together; one process by default.
    /// - Throws: `EtaError` from loading the dataset (`.usage`, `.missingInput`, `.dataError`) or building the trainer.
    public convenience init(
        configuration: TrainingConfiguration, backend: Backend, processGroup: ProcessGroup = SingleProcess()
    ) throws {
        let dataset = try Dataset.load(
            configuration.dataset, labelColumn: configuration.labelColumn, task: configuration.task,
            inputShape: configuration.inputShape,
            context: configuration.model.readsTokens ? configuration.model.context : nil)
        try self.init(configuration: configuration, dataset: dataset, backend: backend, processGroup: processGroup)
    }

    /// Splits the data, builds the model and optimizer on the device, and uploads the seeded initial parameters.
    ///
    /// - Parameters:
    ///   - configuration: The run.
    ///   - dataset: The data, already loaded (`configuration.inputShape`, when set, reshapes its samples).
    ///   - backend: The backend to train on.
    ///   - processGroup: The ranks training together; one process by default.
    /// - Throws: `EtaError` `.usage` for an invalid setting (a count below its minimum, a loss the task does not
    ///   allow, an input shape that does not fit the data, parameter groups the optimizer cannot take or that match
    ///   no tensor, a momentum cycle the optimizer cannot follow, an invalid schedule or memory the device lacks), or
    ///   the backend's error.
    public init(
        configuration: TrainingConfiguration, dataset: Dataset, backend: Backend,
        processGroup: ProcessGroup = SingleProcess()
    ) throws {
        guard configuration.epochs >= 0 else {
            throw EtaError(.usage, "epochs must be >= 0 (got \(configuration.epochs))")
        }
        guard configuration.batchSize > 0 else {
            throw EtaError(.usage, "the batch size must be >= 1 (got \(configuration.batchSize))")
        }
        guard configuration.logEvery > 0 else {
            throw EtaError(.usage, "the log interval must be >= 1 step (got \(configuration.logEvery))")
        }
        guard configuration.accumulationSteps >= 1 else {
            throw EtaError(.usage, "accumulation steps must be >= 1 (got \(configuration.accumulationSteps))")
        }
        if let steps = configuration.steps, steps < 0 {
            throw EtaError(.usage, "steps must be >= 0 (got \(steps))")
        }
        self.configuration = configuration
        earlyStopping = configuration.earlyStopping
        bestTracker = EarlyStopping(metric: configuration.bestMetric ?? configuration.earlyStopping?.metric ?? .valLoss)
        self.backend = backend
        self.processGroup = processGroup
        let dataset =
            try configuration.inputShape.map { $0 == dataset.sampleShape ? dataset : try dataset.reshaped(to: $0) }
            ?? dataset
        split = try DataSplit(
            dataset: dataset, validationFraction: configuration.validationFraction, seed: configuration.seed,
            normalization: configuration.normalization,
            validationWindows: try configuration.validationWindows(dataset, ranks: processGroup.size))
        let loss: LossKind
        let outputs: Int
        switch dataset.task {
        case .classification(let classes):
            loss = configuration.loss ?? .crossEntropy
            guard loss != .mse else {
                throw EtaError(.usage, "the mse loss needs a regression dataset; \(dataset.name) has class labels")
            }
            outputs = loss == .bce ? 1 : classes
            if loss == .bce && classes != 2 {
                throw EtaError(.usage, "the bce loss needs two classes; \(dataset.name) has \(classes)")
            }
            guard classes >= 2 else {
                throw EtaError(
                    .usage, "\(dataset.name) has labels of one class only: classification needs at least two")
            }
        case .regression(let width):
            loss = configuration.loss ?? .mse
            guard loss == .mse else {
                throw EtaError(
                    .usage, "the \(loss.rawValue) loss needs class labels; \(dataset.name) is a regression dataset")
            }
            outputs = width
        }
        let architecture = try configuration.model.architecture(inputShape: split.dataset.sampleShape, outputs: outputs)
        let (globalBatch, overflow) = configuration.batchSize.multipliedReportingOverflow(by: processGroup.size)
        guard !overflow else {
            throw EtaError(.usage, "a batch of \(configuration.batchSize) on \(processGroup.size) ranks overflows")
        }
        let steps = TrainingConfiguration.batchCount(
            rows: TrainingConfiguration.batchCount(rows: split.trainRows.count, batchSize: globalBatch),
            batchSize: configuration.accumulationSteps)
        guard !steps.multipliedReportingOverflow(by: configuration.epochs).overflow else {
            throw EtaError(.usage, "\(configuration.epochs) epochs x \(steps) steps per epoch overflows the step count")
        }
        network = try Network(
            architecture: architecture, loss: loss, optimizer: configuration.optimizer,
            maxBatch: configuration.bufferRows(split), backend: backend, stateType: configuration.stateType,
            seed: configuration.seed, optimizerState: !configuration.shardOptimizerState)
        if configuration.shardOptimizerState {
            try Self.checkShardable(configuration)
            let shard = try OptimizerShard(
                layout: network.arena.layout, group: processGroup, stateSlots: configuration.optimizer.stateSlots,
                backend: backend, stateType: configuration.stateType)
            try network.optimizer.initializeState(shard.arena)
            network.shard = shard
            network.optimizer.reduceSums = { try shard.sumAcrossRanks($0) }
        }
        try network.arena.upload(architecture.initialParameters(seed: configuration.seed), to: .parameters)
        if !configuration.parameterGroups.isEmpty {
            if !configuration.optimizer.capabilities.parameterGroups {
                throw EtaError(
                    .usage,
                    "parameter groups are not supported by \(configuration.optimizer.name) yet ("
                        + (configuration.optimizer.rule is any TensorwiseRule
                            ? "its step works tensor by tensor)" : "its step depends on sums over all parameters)")
                )
            }
            let names = architecture.layout.entries.map(\.name)
            for group in configuration.parameterGroups where !names.contains(where: group.matches) {
                throw EtaError(
                    .usage,
                    "parameter group pattern '\(group.pattern)' matches no tensor; this model's tensors: "
                        + "\(names.joined(separator: ", "))"
                )
            }
            network.optimizer.groups = configuration.parameterGroups
        }
        if let maximalUpdate = architecture.maximalUpdate {
            network.optimizer.groups = try maximalUpdate.parameterGroups(
                user: configuration.parameterGroups, layout: architecture.layout, optimizer: configuration.optimizer)
        }
        let length = Self.runLength(stepsPerEpoch: steps, configuration)
        schedulePlan = try SchedulePlan(
            main: configuration.schedule, warmup: configuration.warmup,
            base: configuration.optimizer.learningRate,
            totalSteps: configuration.scheduleInterval == .step ? length.steps : length.epochs)
        if schedulePlan.momentum(at: schedulePlan.warmupLength) != nil {
            let optimizer = configuration.optimizer
            let cycled = try optimizer.cycled(momentum: 0.5)
            // SGD and RMSprop keep a momentum buffer only when momentum > 0: cycling cannot start one mid-run.
            if cycled.stateSlots != optimizer.stateSlots {
                throw EtaError(
                    .usage,
                    "the schedule cycles momentum but \(optimizer.name) has momentum=0: give \(optimizer.name) a "
                        + "momentum or set cycle_momentum=false"
                )
            }
        }
        if configuration.emaDecay != nil || configuration.swa != nil, configuration.optimizer.averagingBeta != nil {
            throw EtaError(
                .usage,
                "--ema and --swa-start with \(configuration.optimizer.name): Schedule-Free already averages its "
                    + "iterates (its parameters while training are y, not the model to average)")
        }
        try configuration.swa?.validate()
        let parameterCount = network.arena.layout.count
        average = try configuration.emaDecay.map {
            try ParameterAverage(.exponential(decay: $0), count: parameterCount, backend: backend)
        }
        stochasticAverage = try configuration.swa.map { _ in
            try ParameterAverage(.equal, count: parameterCount, backend: backend)
        }
        data = try SplitBuffers(split: split, backend: backend)
        // The gradients plus two scalars: the batch loss and the stop flag.
        exchange =
            processGroup.size > 1
            ? GradientExchange(group: processGroup, count: network.arena.layout.count, extras: 2) : nil
    }

    /// The schedule index of step `step` (1-based): the step itself, or the epoch with `ScheduleInterval.epoch`.
    private func scheduleIndex(step: Int) -> Int {
        configuration.scheduleInterval == .step ? step - 1 : position.epoch
    }

    /// The learning rate of step `step` (1-based).
    ///
    /// - Parameter step: The step, from 1.
    /// - Returns: The schedule's lr times the divergence guard's scale.
    public func learningRate(step: Int) -> Double {
        if let swa = configuration.swa {
            // SWALR anneals from the lr of the last step of the first averaged epoch.
            let last = (swa.start + 1) * stepsPerEpoch
            let initial = schedulePlan.learningRate(at: configuration.scheduleInterval == .step ? last - 1 : swa.start)
            if let lr = swa.learningRate(epoch: position.epoch, initial: initial) {
                return lr * position.learningRateScale
            }
        }
        return schedulePlan.learningRate(at: scheduleIndex(step: step)) * position.learningRateScale
    }

    /// The cycled momentum / beta1 of step `step`, if the schedule cycles it.
    ///
    /// - Parameter step: The step, from 1.
    /// - Returns: The momentum or beta1, or nil when the schedule does not cycle it.
    public func momentum(step: Int) -> Double? { schedulePlan.momentum(at: scheduleIndex(step: step)) }

    /// The data of one optimizer step in the epoch-ordered training data on the device: `microBatches` consecutive
    /// global mini-batches (one without gradient accumulation; the last step of an epoch may gather fewer).
    public struct Batch {
        /// The epoch, from 0.
        public let epoch: Int
        /// The step's first row in the epoch's order.
        public let first: Int
        /// Rows in the step, over all its mini-batches (the last of an epoch may be short).
        public let rows: Int
        /// Mini-batches whose gradients add up before the update (`accumulationSteps`, fewer at an epoch's end).
        public var microBatches = 1
    }

    /// The optimizer steps' data of up to `epochs` passes, in each epoch's shuffled order (loading each epoch's rows
    /// to the device as it starts): with gradient accumulation each holds `accumulationSteps` mini-batches, as a
    /// training step does. For the LR range test.
    ///
    /// - Parameter epochs: How many passes over the training rows.
    /// - Returns: A lazy sequence of steps; iterating it does not touch the device.
    public func batches(epochs: Int) -> AnySequence<Batch> {
        AnySequence { () -> AnyIterator<Batch> in
            var epoch = 0, batch = 0
            return AnyIterator {
                if batch == self.batchesPerEpoch { epoch += 1; batch = 0 }
                guard epoch < epochs else { return nil }
                let micro = min(self.configuration.accumulationSteps, self.batchesPerEpoch - batch)
                let first = batch * self.globalBatchSize
                batch += micro
                return Batch(
                    epoch: epoch, first: first,
                    rows: min(micro * self.globalBatchSize, self.split.trainRows.count - first), microBatches: micro)
            }
        }
    }

    /// Forward and backward of `batch`'s mini-batches, gradient clipping as configured, and one optimizer step at
    /// `learningRate`: what a training step does, without the guard. Returns the step's mean loss (a read-back:
    /// this is for the LR range test, not the training loop); with several mini-batches, their rows' mean. The
    /// epoch's running loss sums are not kept (the LR range test restores them afterwards).
    ///
    /// - Parameters:
    ///   - batch: A step from ``batches(epochs:)``.
    ///   - learningRate: The step's learning rate (parameter groups scale it by their `lr_scale`).
    /// - Returns: The step's mean loss before the update.
    /// - Throws: `EtaError` `.usage` for an invalid learning rate, or the backend's error.
    public func trainStep(_ batch: Batch, learningRate: Double) throws -> Float {
        try synchronizeInitialState()
        if loadedEpoch != batch.epoch { try loadEpoch(batch.epoch) }
        let accumulating = batch.microBatches > 1
        if accumulating { try network.resetStats([.trainLossSum, .trainCorrect]) }
        let computed = try computeGradients(batchIndex: batch.first / globalBatchSize, count: batch.microBatches) {
            _ in true
        }
        try exchangeGradients(
            lastLocalRows: computed.lastLocalRows, lastGlobalRows: computed.lastGlobalRows, stopRequested: false)
        try network.clipGradients(
            maxNorm: configuration.clipGradNorm.map(Float.init), maxValue: configuration.clipGradValue.map(Float.init))
        try applyUpdate(learningRate: learningRate, momentum: nil)
        if accumulating { return try reducedTrainingSums().lossSum / Float(max(computed.globalRows, 1)) }
        return try network.readStats()[.batchLoss]!
    }

    /// Restores plateau state from a checkpoint.
    ///
    /// - Parameter plateau: The saved plateau state; nil clears it.
    public func restore(plateau: PlateauState?) { schedulePlan.restore(plateau: plateau) }

    /// Continues from a saved position (parameters and optimizer state already restored by `Checkpoint`).
    ///
    /// - Parameter position: The saved position.
    /// - Throws: `EtaError` `.dataError` when the position's step count is negative after skipped steps.
    public func restore(position: TrainingPosition) throws {
        self.position = position
        loadedEpoch = -1
        try network.optimizer.setStep(position.step - position.skippedSteps)
    }

    /// Trains until the configured epoch count or step count, whichever comes first, or until the observer asks to
    /// stop; a completed run then evaluates the official test rows, if the dataset has them.
    ///
    /// A step count that ends the run part-way through an epoch ends it with that epoch's partial record (the mean
    /// training loss over the rows seen, and a validation pass) and keeps the position within the epoch, so a
    /// checkpoint resumed with a larger step count continues exactly as a longer run would.
    ///
    /// - Parameter observer: Receives logged steps, epochs and anomalies, and can ask the run to stop; nil: none.
    /// - Returns: How the run ended, its logged steps and epochs, its test loss and accuracy, and its speed.
    /// - Throws: The backend's error, the checkpoint handler's error (e.g. `EtaError` `.ioError`), or `EtaError` from
    ///   an optimizer step.
    public func run(observer: TrainingObserver? = nil) throws -> TrainingResult {
        try synchronizeInitialState()
        let start = DispatchTime.now().uptimeNanoseconds
        var steps: [StepRecord] = []
        var epochs: [EpochRecord] = []
        var samples = 0
        var status = TrainingStatus.completed
        var epochStart = DispatchTime.now().uptimeNanoseconds
        if configuration.divergenceGuard.policy == .rollback { goodSnapshot = try TrainerSnapshot(self) }
        let (stepLimit, epochLimit) = (totalSteps, plannedEpochs)
        training: while position.epoch < epochLimit {
            if loadedEpoch != position.epoch { try loadEpoch(position.epoch) }
            while position.batchInEpoch < batchesPerEpoch {
                if position.step >= stepLimit {
                    // The step count ends the run within this epoch.
                    if let record = try finishPartialEpoch(seconds: Self.seconds(since: epochStart)) {
                        epochs.append(record)
                        observer?.trainer(self, didFinish: record)
                    }
                    break training
                }
                let stepNumber = position.step + 1
                switch try step(observer: observer, steps: &steps, samples: &samples) {
                case .diverged: status = .diverged; break training
                case .rolledBack: continue training  // reloads the restored epoch's data
                case .continued: break
                }
                if checksRanksEveryStep { try checkRanksAgree(step: stepNumber) }
                observer?.trainer(self, didStep: stepNumber, of: totalSteps, epoch: position.epoch + 1)
                if stopRequested(observer) && position.batchInEpoch < batchesPerEpoch {
                    (position.trainLossSum, position.trainCorrect) = try reducedTrainingSums()
                    status = .interrupted
                    break training
                }
            }
            let record = try finishEpoch(seconds: Self.seconds(since: epochStart))
            epochStart = DispatchTime.now().uptimeNanoseconds
            epochs.append(record)
            observer?.trainer(self, didFinish: record)
            // The guard samples every logEvery steps and can miss the step that went bad: a non-finite training loss
            // means damaged parameters under any policy; a non-finite validation loss ends the run under abort (the
            // default), while skip and rollback keep their own budget and the run's end is checked below.
            if let loss = nonFiniteEpochLoss(record),
                configuration.divergenceGuard.policy == .abort || !record.trainLoss.isFinite
            {
                reportNonFiniteEpoch(record, loss: loss, observer: observer)
                status = .diverged
                break
            }
            if try watchEpoch(record), position.epoch < epochLimit {
                status = .earlyStopped
                break
            }
            if let every = checkpointEvery, every > 0, position.epoch % every == 0, position.epoch < epochLimit {
                try checkpointHandler?(self)
            }
            if stopRequested(observer) && position.epoch < epochLimit {
                status = .interrupted
                break
            }
        }
        // A run whose last epoch's loss is not finite is never a success.
        if status == .completed, let last = epochs.last, let loss = nonFiniteEpochLoss(last) {
            reportNonFiniteEpoch(last, loss: loss, observer: observer)
            status = .diverged
        }
        try backend.synchronize()
        // A diverged run keeps its last checkpoint: the state it stopped in may hold NaNs.
        if status != .diverged { try checkpointHandler?(self) }
        let seconds = Self.seconds(since: start)
        var result = TrainingResult(
            status: status, steps: steps, epochs: epochs, seconds: seconds,
            samplesPerSecond: seconds > 0 ? Double(samples) / seconds : 0)
        // The test rows are seen once, after training and its timing, by the model as it ends.
        if status == .completed || status == .earlyStopped,
            let test = try data.test(network, batchSize: configuration.batchSize)?.first
        {
            (result.testLoss, result.testAccuracy) = (test.loss, test.accuracy)
        }
        return result
    }

    /// Writes the epoch's shuffled rows to the device once (not per step) and restores its running sums.
    private func loadEpoch(_ epoch: Int) throws {
        try data.load(epoch: epoch)
        var values = try backend.read(network.stats)
        values[Network.Stat.trainLossSum.rawValue] = position.trainLossSum
        values[Network.Stat.trainCorrect.rawValue] = position.trainCorrect
        try backend.write(values, to: network.stats)
        loadedEpoch = epoch
    }

    private func finishEpoch(seconds: Double) throws -> EpochRecord {
        try averageRunningStatistics()
        let validation = try data.validate(network, batchSize: configuration.batchSize)?.first
        let (validationLoss, validationAccuracy) = (validation?.loss, validation?.accuracy)
        let sums = try reducedTrainingSums()
        let n = Float(split.trainRows.count)
        let classification = network.loss != .mse
        var record = EpochRecord(
            epoch: position.epoch + 1, step: position.step, trainLoss: sums.lossSum / n,
            trainAccuracy: classification ? sums.correct / n : nil,
            validationLoss: validationLoss, validationAccuracy: validationAccuracy, seconds: seconds)
        record.perCharacter = split.dataset.text != nil
        if let swa = configuration.swa, let stochasticAverage, swa.averages(afterEpoch: position.epoch) {
            try stochasticAverage.update(from: network.arena.parameters, on: backend)
            // update_bn once, after the last epoch's snapshot, as PyTorch's recipe does.
            if position.epoch + 1 == plannedEpochs { try updateBatchNorm(for: stochasticAverage) }
        }
        try validateAverages(into: &record)
        // plateau watches the validation loss (the training loss without a validation split) once per epoch.
        let afterIndex = configuration.scheduleInterval == .step ? position.step - 1 : position.epoch
        schedulePlan.observe(metric: Double(validationLoss ?? record.trainLoss), afterStep: afterIndex)
        position.epoch += 1
        position.batchInEpoch = 0
        position.trainLossSum = 0
        position.trainCorrect = 0
        try network.resetStats([.trainLossSum, .trainCorrect])
        return record
    }
}
