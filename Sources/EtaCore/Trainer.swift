import Dispatch

/// Everything that defines a training run.
public struct TrainingConfiguration: Sendable {
    /// `digits` (default), another built-in name, `csv:PATH` or `idx:DIR`.
    public var dataset = "digits"
    public var labelColumn: String?
    /// `auto`, `classification` or `regression` (CSV only).
    public var task = "auto"
    public var model = ModelSpec()
    /// Adam at 2e-3: with the defaults below it reaches 97.5–98.9% validation accuracy on digits over seeds 0–5.
    public var optimizer: OptimizerConfiguration = .adam(AdamHyperparameters(lr: 2e-3))
    /// nil: cross-entropy for classification, MSE for regression.
    public var loss: LossKind?
    public var epochs = 30
    public var batchSize = 64
    public var seed: UInt64 = 0
    public var validationFraction = 0.2
    /// Read the loss (and measure the gradient norm) every this many steps; between reads nothing syncs.
    public var logEvery = 10
    /// The learning-rate schedule (`none`: the optimizer's lr throughout).
    public var schedule: Schedule = .none
    /// A warmup run before `schedule` (SequentialLR semantics).
    public var warmup: Schedule?
    /// Advance the schedule once per optimizer step, or once per epoch (Lightning's `interval`).
    public var scheduleInterval: ScheduleInterval = .step
    /// The SPECs as given (kept for logs and checkpoints).
    public var scheduleSpec: String?
    public var warmupSpec: String?

    public init() {}
}

/// When a schedule advances.
public enum ScheduleInterval: String, Sendable, CaseIterable {
    case step, epoch
}

/// One logged step.
public struct StepRecord: Sendable {
    public let step: Int
    public let epoch: Int
    public let learningRate: Double
    public let loss: Float
    public let gradNorm: Float
}

/// One finished epoch.
public struct EpochRecord: Sendable {
    public let epoch: Int
    public let step: Int
    public let trainLoss: Float
    public let trainAccuracy: Float?
    public let validationLoss: Float?
    public let validationAccuracy: Float?
    public let seconds: Double
}

/// Where a run is: enough, with the parameters and optimizer state, to continue it bit for bit.
public struct TrainingPosition: Equatable, Sendable {
    /// Optimizer steps taken.
    public var step = 0
    /// The current epoch, 0-based (equal to the epoch count when finished).
    public var epoch = 0
    /// The next batch within the current epoch.
    public var batchInEpoch = 0
    /// The current epoch's running sums so far (restored exactly on resume).
    public var trainLossSum: Float = 0
    public var trainCorrect: Float = 0
}

/// Receives what a run does, and can ask it to stop.
public protocol TrainingObserver: AnyObject {
    func trainer(_ trainer: Trainer, didLog step: StepRecord)
    func trainer(_ trainer: Trainer, didFinish epoch: EpochRecord)
    /// Called after every step with cheap, host-side facts only.
    func trainer(_ trainer: Trainer, didStep step: Int, of totalSteps: Int, epoch: Int)
    /// Checked after every step; true ends the run cleanly (with a final checkpoint).
    var stopRequested: Bool { get }
}

/// How a run ended.
public enum TrainingStatus: String, Sendable {
    case completed, interrupted
}

/// Trains a model on a dataset on one backend: seeded shuffling, a train/validation split, mini-batches
/// (the last partial batch included), one fused optimizer launch per step, losses read every `logEvery` steps.
///
/// ```swift
/// var configuration = TrainingConfiguration()
/// configuration.epochs = 5
/// let trainer = try Trainer(configuration: configuration, backend: CPUBackend())
/// let result = try trainer.run()
/// print(result.epochs.last!.validationAccuracy!)
/// ```
public final class Trainer {
    public let configuration: TrainingConfiguration
    public let split: DataSplit
    public let network: Network
    public let backend: Backend
    public private(set) var position = TrainingPosition()
    /// The schedule, with plateau state.
    public private(set) var schedulePlan: SchedulePlan
    /// Called after every `checkpointEvery` epochs, at the end, and when stopped: the caller writes the checkpoint.
    public var checkpointHandler: ((Trainer) throws -> Void)?
    public var checkpointEvery: Int?

    private let trainFeatures: DeviceBuffer
    private let trainTargets: DeviceBuffer
    private let validationFeatures: DeviceBuffer?
    private let validationTargets: DeviceBuffer?
    private var loadedEpoch = -1

    public var stepsPerEpoch: Int { (split.trainRows.count + configuration.batchSize - 1) / configuration.batchSize }
    public var totalSteps: Int { stepsPerEpoch * configuration.epochs }

    public convenience init(configuration: TrainingConfiguration, backend: Backend) throws {
        let dataset = try Dataset.load(configuration.dataset, labelColumn: configuration.labelColumn, task: configuration.task)
        try self.init(configuration: configuration, dataset: dataset, backend: backend)
    }

    public init(configuration: TrainingConfiguration, dataset: Dataset, backend: Backend) throws {
        guard configuration.epochs >= 0 else { throw EtaError(.usage, "--epochs must be >= 0") }
        guard configuration.batchSize > 0 else { throw EtaError(.usage, "--batch-size must be positive") }
        guard configuration.logEvery > 0 else { throw EtaError(.usage, "--log-every must be positive") }
        self.configuration = configuration
        self.backend = backend
        split = try DataSplit(dataset: dataset, validationFraction: configuration.validationFraction, seed: configuration.seed)
        let loss: LossKind
        let outputs: Int
        switch dataset.task {
        case .classification(let classes):
            loss = configuration.loss ?? .crossEntropy
            guard loss != .mse else { throw EtaError(.usage, "--loss mse needs a regression dataset; \(dataset.name) has class labels") }
            outputs = loss == .bce ? 1 : classes
            if loss == .bce && classes > 2 {
                throw EtaError(.usage, "--loss bce needs two classes; \(dataset.name) has \(classes)")
            }
        case .regression(let width):
            loss = configuration.loss ?? .mse
            guard loss == .mse else { throw EtaError(.usage, "--loss \(loss.rawValue) needs class labels; \(dataset.name) is a regression dataset") }
            outputs = width
        }
        let architecture = try configuration.model.architecture(inputs: dataset.featureCount, outputs: outputs)
        network = try Network(architecture: architecture, loss: loss, optimizer: configuration.optimizer,
                              maxBatch: configuration.batchSize, backend: backend)
        try network.arena.upload(architecture.initialParameters(seed: configuration.seed), to: .parameters)
        let steps = (split.trainRows.count + configuration.batchSize - 1) / configuration.batchSize
        schedulePlan = try SchedulePlan(main: configuration.schedule, warmup: configuration.warmup,
                                        base: configuration.optimizer.learningRate,
                                        totalSteps: configuration.scheduleInterval == .step ? steps * configuration.epochs : configuration.epochs)
        if schedulePlan.momentum(at: schedulePlan.warmupLength) != nil, case .sgd(let h) = configuration.optimizer, h.momentum == 0 {
            throw EtaError(.usage, "the schedule cycles momentum but the SGD optimizer has momentum=0: give sgd a momentum or set cycle_momentum=false")
        }
        trainFeatures = try backend.makeBuffer(count: split.trainRows.count * dataset.featureCount)
        trainTargets = try backend.makeBuffer(count: split.trainRows.count * dataset.targetWidth)
        if split.validationRows.isEmpty {
            (validationFeatures, validationTargets) = (nil, nil)
        } else {
            let (x, y) = split.gather(split.validationRows)
            let features = try backend.makeBuffer(count: x.count), targets = try backend.makeBuffer(count: y.count)
            try backend.write(x, to: features)
            try backend.write(y, to: targets)
            (validationFeatures, validationTargets) = (features, targets)
        }
    }

    /// The schedule index of step `step` (1-based): the step itself, or the epoch with `--schedule-interval epoch`.
    private func scheduleIndex(step: Int) -> Int {
        configuration.scheduleInterval == .step ? step - 1 : position.epoch
    }

    /// The learning rate of step `step` (1-based).
    public func learningRate(step: Int) -> Double { schedulePlan.learningRate(at: scheduleIndex(step: step)) }

    /// The cycled momentum / beta1 of step `step`, if the schedule cycles it.
    public func momentum(step: Int) -> Double? { schedulePlan.momentum(at: scheduleIndex(step: step)) }

    /// One mini-batch of the epoch-ordered training data on the device.
    public struct Batch {
        public let epoch: Int
        public let first: Int
        public let rows: Int
    }

    /// The training batches of up to `epochs` passes, in each epoch's shuffled order (loading each epoch's
    /// rows to the device as it starts). For the LR range test and sweeps.
    public func batches(epochs: Int) -> AnySequence<Batch> {
        AnySequence { () -> AnyIterator<Batch> in
            var epoch = 0, batch = 0
            return AnyIterator {
                if batch == self.stepsPerEpoch { epoch += 1; batch = 0 }
                guard epoch < epochs else { return nil }
                let first = batch * self.configuration.batchSize
                batch += 1
                return Batch(epoch: epoch, first: first, rows: min(self.configuration.batchSize, self.split.trainRows.count - first))
            }
        }
    }

    /// Forward, backward and one optimizer step on `batch` at `learningRate`; returns the batch's mean loss (a
    /// read-back: this is for the LR range test, not the training loop).
    public func trainStep(_ batch: Batch, learningRate: Double) throws -> Float {
        if loadedEpoch != batch.epoch { try loadEpoch(batch.epoch) }
        let d = split.dataset.featureCount, t = split.dataset.targetWidth
        try network.trainingStep(input: trainFeatures, inputOffset: batch.first * d, targets: trainTargets,
                                 targetsOffset: batch.first * t, rows: batch.rows)
        try network.optimizer.step(network.arena, learningRate: learningRate)
        return try network.readStats()[.batchLoss]!
    }

    /// Restores plateau state from a checkpoint.
    public func restore(plateau: PlateauState?) { schedulePlan.restore(plateau: plateau) }

    /// Continues from a saved position (parameters and optimizer state already restored by `Checkpoint`).
    public func restore(position: TrainingPosition) throws {
        self.position = position
        loadedEpoch = -1
        try network.optimizer.setStep(position.step)
    }

    /// Trains until the configured epoch count, or until the observer asks to stop.
    public func run(observer: TrainingObserver? = nil) throws -> TrainingResult {
        let start = DispatchTime.now().uptimeNanoseconds
        var steps: [StepRecord] = []
        var epochs: [EpochRecord] = []
        var samples = 0
        let batch = configuration.batchSize
        let d = split.dataset.featureCount, t = split.dataset.targetWidth
        var status = TrainingStatus.completed
        var epochStart = DispatchTime.now().uptimeNanoseconds
        training: while position.epoch < configuration.epochs {
            if loadedEpoch != position.epoch { try loadEpoch(position.epoch) }
            while position.batchInEpoch < stepsPerEpoch {
                let first = position.batchInEpoch * batch
                let rows = min(batch, split.trainRows.count - first)
                try network.trainingStep(input: trainFeatures, inputOffset: first * d, targets: trainTargets,
                                         targetsOffset: first * t, rows: rows)
                let stepNumber = position.step + 1
                let lr = learningRate(step: stepNumber)
                let logging = stepNumber % configuration.logEvery == 0 || stepNumber == 1
                if logging { try network.measureGradientNorm() }
                try network.optimizer.step(network.arena, learningRate: lr, momentum: momentum(step: stepNumber))
                position.step = stepNumber
                position.batchInEpoch += 1
                samples += rows
                if logging {
                    let stats = try network.readStats()
                    let record = StepRecord(step: stepNumber, epoch: position.epoch + 1, learningRate: lr,
                                            loss: stats[.batchLoss]!, gradNorm: stats[.gradNormSquared]!.squareRoot())
                    steps.append(record)
                    observer?.trainer(self, didLog: record)
                }
                observer?.trainer(self, didStep: stepNumber, of: totalSteps, epoch: position.epoch + 1)
                if observer?.stopRequested == true && position.batchInEpoch < stepsPerEpoch {
                    let stats = try network.readStats()
                    position.trainLossSum = stats[.trainLossSum]!
                    position.trainCorrect = stats[.trainCorrect]!
                    status = .interrupted
                    break training
                }
            }
            let record = try finishEpoch(seconds: Double(DispatchTime.now().uptimeNanoseconds - epochStart) * 1e-9)
            epochStart = DispatchTime.now().uptimeNanoseconds
            epochs.append(record)
            observer?.trainer(self, didFinish: record)
            if let every = checkpointEvery, position.epoch % every == 0, position.epoch < configuration.epochs {
                try checkpointHandler?(self)
            }
            if observer?.stopRequested == true && position.epoch < configuration.epochs {
                status = .interrupted
                break
            }
        }
        try backend.synchronize()
        try checkpointHandler?(self)
        let seconds = Double(DispatchTime.now().uptimeNanoseconds - start) * 1e-9
        return TrainingResult(status: status, steps: steps, epochs: epochs, seconds: seconds,
                              samplesPerSecond: seconds > 0 ? Double(samples) / seconds : 0)
    }

    /// Writes the epoch's shuffled rows to the device once (not per step) and restores its running sums.
    private func loadEpoch(_ epoch: Int) throws {
        let (x, y) = split.gather(split.epochOrder(epoch: epoch))
        try backend.write(x, to: trainFeatures)
        try backend.write(y, to: trainTargets)
        var values = try backend.read(network.stats)
        values[Network.Stat.trainLossSum.rawValue] = position.trainLossSum
        values[Network.Stat.trainCorrect.rawValue] = position.trainCorrect
        try backend.write(values, to: network.stats)
        loadedEpoch = epoch
    }

    private func finishEpoch(seconds: Double) throws -> EpochRecord {
        var validationLoss: Float?, validationAccuracy: Float?
        if let validationFeatures, let validationTargets {
            try network.resetStats([.validationLossSum, .validationCorrect])
            let rows = split.validationRows.count, d = split.dataset.featureCount, t = split.dataset.targetWidth
            var first = 0
            while first < rows {
                let count = min(configuration.batchSize, rows - first)
                try network.forward(input: validationFeatures, inputOffset: first * d, rows: count)
                try network.lossAndGradient(targets: validationTargets, targetsOffset: first * t, rows: count,
                                            lossSum: .validationLossSum, correct: .validationCorrect)
                first += count
            }
        }
        let stats = try network.readStats()
        let n = Float(split.trainRows.count)
        let classification = network.loss != .mse
        if validationFeatures != nil {
            let v = Float(split.validationRows.count)
            validationLoss = stats[.validationLossSum]! / v
            validationAccuracy = classification ? stats[.validationCorrect]! / v : nil
        }
        let record = EpochRecord(epoch: position.epoch + 1, step: position.step, trainLoss: stats[.trainLossSum]! / n,
                                 trainAccuracy: classification ? stats[.trainCorrect]! / n : nil,
                                 validationLoss: validationLoss, validationAccuracy: validationAccuracy, seconds: seconds)
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

/// What a run produced.
public struct TrainingResult: Sendable {
    public let status: TrainingStatus
    public let steps: [StepRecord]
    public let epochs: [EpochRecord]
    public let seconds: Double
    public let samplesPerSecond: Double
}
