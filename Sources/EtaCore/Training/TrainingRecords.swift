/// One logged step.
public struct StepRecord: Sendable {
    /// The step, from 1.
    public let step: Int
    /// The epoch, from 1.
    public let epoch: Int
    /// The step's learning rate.
    public let learningRate: Double
    /// The batch's mean loss.
    public let loss: Float
    /// The gradient's global L2 norm (before clipping).
    public let gradNorm: Float
    /// Prodigy's or D-Adaptation's d when the step was logged (its effective lr is d·lr); nil for other optimizers.
    public var stepSizeEstimate: Double? = nil
}

/// One finished epoch.
public struct EpochRecord: Sendable {
    /// The epoch, from 1.
    public let epoch: Int
    /// Steps taken by its end.
    public let step: Int
    /// The mean training loss over the epoch.
    public let trainLoss: Float
    /// The training accuracy; nil for regression.
    public let trainAccuracy: Float?
    /// The mean validation loss; nil without a validation split.
    public let validationLoss: Float?
    /// The validation accuracy; nil for regression or without a validation split.
    public let validationAccuracy: Float?
    /// Wall time of the epoch, validation included.
    public let seconds: Double
    /// Whether the epoch was cut short by the run's step count (`TrainingConfiguration.steps`): its training loss and
    /// accuracy are then means over the rows it trained on.
    public var partial = false
    /// Whether the losses are per character (a text dataset): ``trainBitsPerCharacter`` and
    /// ``validationBitsPerCharacter`` are then set.
    public var perCharacter = false
    /// The validation loss of the parameters' moving average (`--ema`); nil without one or without validation.
    public var emaValidationLoss: Float?
    /// The validation accuracy of the parameters' moving average; nil for regression, without one or validation.
    public var emaValidationAccuracy: Float?
    /// The validation loss of the stochastic weight average (`--swa-start`), once it holds a snapshot.
    public var swaValidationLoss: Float?
    /// The validation accuracy of the stochastic weight average; nil for regression, before it or without validation.
    public var swaValidationAccuracy: Float?

    /// A text run's training loss in bits per character (the loss in nats / ln 2); nil for other datasets.
    public var trainBitsPerCharacter: Float? { perCharacter ? Self.bits(trainLoss) : nil }
    /// A text run's validation loss in bits per character; nil for other datasets or without validation.
    public var validationBitsPerCharacter: Float? { perCharacter ? validationLoss.map(Self.bits) : nil }

    /// Nats to bits: `loss / ln 2`.
    ///
    /// - Parameter nats: A cross-entropy in nats.
    /// - Returns: The same in bits.
    public static func bits(_ nats: Float) -> Float { Float(Double(nats) / 0.693_147_180_559_945_3) }
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
    /// The current epoch's count of correctly predicted rows so far.
    public var trainCorrect: Float = 0
    /// Steps whose update the guard dropped (the optimizer's own step count is `step − skippedSteps`).
    public var skippedSteps = 0
    /// The guard's lr multiplier after rollbacks.
    public var learningRateScale = 1.0
}

/// How a run ended.
public enum TrainingStatus: String, Sendable {
    case completed, interrupted
    /// Early stopping ended it: its metric had not improved for `patience` epochs.
    case earlyStopped = "early_stopped"
    /// The divergence guard aborted it.
    case diverged
}

/// What a run produced.
public struct TrainingResult: Sendable {
    /// How the run ended.
    public let status: TrainingStatus
    /// The logged steps.
    public let steps: [StepRecord]
    /// The finished epochs.
    public let epochs: [EpochRecord]
    /// Wall time of the run.
    public let seconds: Double
    /// Training rows processed per second.
    public let samplesPerSecond: Double
    /// The mean loss on the dataset's official test rows after a completed run; nil without a test split (or when
    /// the run did not complete).
    public var testLoss: Float?
    /// The accuracy on the official test rows after a completed run; nil for regression or without a test split.
    public var testAccuracy: Float?
}
