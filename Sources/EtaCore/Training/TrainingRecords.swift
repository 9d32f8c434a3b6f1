/// One logged step.
public struct StepRecord: Sendable {
    public let step: Int
    public let epoch: Int
    public let learningRate: Double
    public let loss: Float
    public let gradNorm: Float
    /// Prodigy's or D-Adaptation's d when the step was logged (its effective lr is d·lr); nil for other optimizers.
    public var stepSizeEstimate: Double? = nil
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
    /// Steps whose update the guard dropped (the optimizer's own step count is `step − skippedSteps`).
    public var skippedSteps = 0
    /// The guard's lr multiplier after rollbacks.
    public var learningRateScale = 1.0
}

/// How a run ended.
public enum TrainingStatus: String, Sendable {
    case completed, interrupted
    /// The divergence guard aborted it.
    case diverged
}

/// What a run produced.
public struct TrainingResult: Sendable {
    public let status: TrainingStatus
    public let steps: [StepRecord]
    public let epochs: [EpochRecord]
    public let seconds: Double
    public let samplesPerSecond: Double
}
