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
    /// Mini-batches whose gradients add up before each optimizer step (gradient accumulation); 1: none.
    public var accumulationSteps = 1
    /// Average the accumulated gradients (PyTorch's `loss / k` idiom) rather than sum them.
    public var accumulationMean = true
    /// Clip the gradients' global L2 norm to this (`torch.nn.utils.clip_grad_norm_`); nil: no clipping.
    public var clipGradNorm: Double?
    /// Clamp every gradient element to ±this (`clip_grad_value_`); nil: no clamping.
    public var clipGradValue: Double?
    /// What to do when a checked loss is non-finite or spikes.
    public var divergenceGuard = DivergenceGuard()
    /// What to do when a step's gradients hold a NaN or an infinity (checked every step, on the device, from the
    /// squared norm; `maxConsecutiveSkips` of `divergenceGuard` caps skips in a row).
    public var nonFiniteGradients = NonFiniteGradientPolicy.off
    /// How optimizer state is stored (bf16/fp16 halve its memory and traffic; arithmetic stays float32).
    public var stateType = StorageType.fp32
    /// Per-tensor lr scales and weight decays (the first matching group wins), applied in the one update launch.
    public var parameterGroups: [ParameterGroup] = []
    /// The SPECs as given (kept for logs and checkpoints).
    public var scheduleSpec: String?
    public var warmupSpec: String?

    public init() {}
}

/// When a schedule advances.
public enum ScheduleInterval: String, Sendable, CaseIterable {
    case step, epoch
}

extension TrainingConfiguration {
    /// Mini-batches of `batchSize` over `rows` (the last may be partial), for any positive batch size without overflow.
    public static func batchCount(rows: Int, batchSize: Int) -> Int { rows <= 0 ? 0 : (rows - 1) / batchSize + 1 }

    /// The rows a batch buffer holds: the batch size, but never more than the larger split has (a batch size of
    /// ten million on 150 rows allocates for 150).
    public func bufferRows(_ split: DataSplit) -> Int {
        max(1, min(batchSize, max(split.trainRows.count, split.validationRows.count)))
    }
}
