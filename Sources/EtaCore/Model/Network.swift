/// A model on a backend: its parameter arena, the activations of one batch (planned once, at construction), and the
/// launch sequence of a training step (forward, fused loss and gradient, backward) emitted layer by layer from the
/// model's graph. Nothing in a step allocates, and nothing reads back to the host: losses, correct counts and the
/// squared gradient norm accumulate in `stats`.
///
/// ```swift
/// let network = try Network(
///     architecture: model, loss: .crossEntropy, optimizer: configuration, maxBatch: 64, backend: backend)
/// try network.arena.upload(model.initialParameters(seed: 0), to: .parameters)
/// try network.trainingStep(input: x, inputOffset: 0, targets: y, targetsOffset: 0, rows: 64)
/// try network.optimizer.step(network.arena)
/// ```
public final class Network {
    /// Slots of the `stats` buffer.
    public enum Stat: Int, CaseIterable {
        /// Mean loss of the last training batch.
        case batchLoss = 0
        /// Sums over the current epoch's training rows.
        case trainLossSum, trainCorrect
        /// Sums over a validation pass.
        case validationLossSum, validationCorrect
        /// ‖g‖² of the last gradient, when requested.
        case gradNormSquared
    }

    /// The layers and their parameter layout.
    public let architecture: ModelArchitecture
    /// The loss the step computes.
    public let loss: LossKind
    /// The backend everything runs on.
    public let backend: Backend
    /// The parameters, gradients and optimizer state of every replica.
    public let arena: ParameterArena
    /// The optimizer run that steps `arena`.
    public let optimizer: Optimizer
    /// The largest batch the workspace holds, in samples.
    public let maxBatch: Int
    /// Models trained side by side (an LR sweep); 1 for a normal run.
    public let replicas: Int
    /// Floats between consecutive replicas' parameters (the model's size rounded up to 16, so one
    /// vectorised work-item never spans two replicas).
    public let replicaSize: Int
    /// Device-side accumulators: stat s of replica r at s·replicas + r.
    public let stats: DeviceBuffer
    /// The non-trainable state (BatchNorm running statistics) of every replica, ``runningStride`` apart, laid out as
    /// `architecture.buffers`; nil when the model has none.
    public let runningStatistics: DeviceBuffer?
    /// Floats between consecutive replicas' running statistics.
    public let runningStride: Int
    /// Device memory the network holds (arena, activations, statistics), in bytes: the run's peak, since nothing
    /// is allocated after construction.
    public let deviceBytes: Int
    /// The seed of the dropout masks.
    public let seed: UInt64
    /// Training forward passes so far: what BatchNorm's `num_batches_tracked` counts (saved in checkpoints).
    public internal(set) var batchesTracked = 0
    /// The running statistics' update weight of training passes (PyTorch's BatchNorm momentum, 0.1); SWA's
    /// `update_bn` sets 1/k for the k-th batch (a cumulative average).
    var batchNormMomentum: Float = 0.1
    /// With sharded optimizer state, this rank's block: gradient clipping and norms then run on the block's reduced
    /// gradients, summed over the ranks.
    public internal(set) var shard: OptimizerShard?

    /// The activation buffers of each node, planned once.
    let plan: ActivationPlan
    let rowLoss: DeviceBuffer
    let rowCorrect: DeviceBuffer
    /// The dropout counter of the last training forward pass (the optimizer step and the micro-batch within it), so
    /// the backward pass applies the same masks.
    var dropoutCounter: UInt64 = 0
    private var dropoutStep = -1
    private var microBatch: UInt64 = 0

    /// Positions per sample of the output (tokens for a GPT, 1 otherwise): each is a row of the loss.
    public var outputPositions: Int { architecture.outputShape.positions }
    /// Target values per sample: per output position 1 (a class index or a 0/1 label) or the number of outputs
    /// (regression).
    public var targetWidth: Int { (loss == .mse ? architecture.outputShape.channels : 1) * outputPositions }

    /// - Parameters:
    ///   - architecture: The layers.
    ///   - loss: The loss; `bce` needs a model with one output.
    ///   - optimizer: The optimizer and its hyperparameters.
    ///   - maxBatch: The largest batch, in samples, at least 1.
    ///   - backend: The backend to allocate on.
    ///   - step: Steps the optimizer has already taken (a restored run).
    ///   - replicas: Models trained side by side (an LR sweep), at least 1.
    ///   - stateType: How the optimizer state is stored.
    ///   - seed: The seed of the dropout masks.
    ///   - optimizerState: Whether the arena holds the optimizer state; false when a shard holds it instead
    ///     (``OptimizerShard``).
    /// - Throws: `EtaError` `.usage` for a batch size or replica count below 1, `bce` with more than one output,
    ///   16-bit state the optimizer cannot keep, replicas of a model with layers that cannot run them, or memory the
    ///   device lacks (before anything is allocated, with the numbers); or the backend's error.
    public init(
        architecture: ModelArchitecture, loss: LossKind, optimizer: OptimizerConfiguration, maxBatch: Int,
        backend: Backend, step: Int = 0, replicas: Int = 1, stateType: StorageType = .fp32, seed: UInt64 = 0,
        optimizerState: Bool = true
    ) throws {
        guard maxBatch > 0 else { throw EtaError(.usage, "the batch size must be positive") }
        let outputs = architecture.outputShape.channels
        if loss == .bce && outputs != 1 {
            throw EtaError(.usage, "bce needs a model with one output; this one has \(outputs)")
        }
        guard replicas >= 1 else { throw EtaError(.usage, "a network needs at least one replica") }
        self.architecture = architecture
        self.loss = loss
        self.backend = backend
        self.maxBatch = maxBatch
        self.replicas = replicas
        self.seed = seed
        replicaSize = replicas == 1 ? architecture.layout.count : (architecture.layout.count + 15) / 16 * 16
        runningStride = replicas == 1 ? architecture.buffers.count : (architecture.buffers.count + 15) / 16 * 16
        self.optimizer = Optimizer(optimizer, step: step)
        let plan = try ActivationPlan(architecture: architecture, maxBatch: maxBatch, replicas: replicas)
        let rows = replicas * maxBatch * architecture.outputShape.positions
        let statistics = replicas * runningStride
        let slotBytes = replicas * replicaSize * stateType.bytes
        let stateSlots = optimizerState ? optimizer.stateSlots : []
        let stateBytes = stateSlots.map { _ in slotBytes } + [optimizer.tensorwiseBytes(layout: architecture.layout)]
        let floats = plan.bufferSizes + [replicas * replicaSize, replicas * replicaSize, statistics, rows, rows]
        let bytes = floats.map { $0 * MemoryLayout<Float>.size } + stateBytes
        try MemoryBudget.check(
            what: "this model at batch \(maxBatch)\(replicas > 1 ? " with \(replicas) replicas" : "")",
            hostBytes: 0, deviceBuffers: bytes, on: backend)
        deviceBytes = MemoryBudget.sum(bytes)
        let layout = replicas == 1 ? architecture.layout : try TensorLayout([("replicas", [replicas * replicaSize])])
        try Optimizer.checkStateType(stateType, for: optimizer)
        arena = try ParameterArena(layout: layout, stateSlots: stateSlots, backend: backend, stateType: stateType)
        try self.optimizer.initializeState(arena)
        try plan.allocate(on: backend)
        self.plan = plan
        rowLoss = try backend.makeBuffer(count: rows)
        rowCorrect = try backend.makeBuffer(count: rows)
        stats = try backend.makeBuffer(count: Stat.allCases.count * replicas)
        if statistics > 0 {
            let buffer = try backend.makeBuffer(count: statistics)
            var initial = [Float](repeating: 0, count: statistics)
            for r in 0..<replicas {
                initial.replaceSubrange(
                    (r * runningStride)..<(r * runningStride + architecture.buffers.count),
                    with: architecture.initialBuffers)
            }
            try backend.write(initial, to: buffer)
            runningStatistics = buffer
        } else {
            runningStatistics = nil
        }
    }

    /// The forward pass of `rows` samples starting at float `inputOffset` of `input` (every replica sees the same
    /// input; replica r's activations are the r-th block of each workspace). `training` selects batch statistics in
    /// BatchNorm (updating the running ones) and active dropout; otherwise the evaluation behaviour.
    ///
    /// - Parameters:
    ///   - input: The samples (features, channels-first images or token ids), one after another.
    ///   - inputOffset: The first sample's first float.
    ///   - rows: Samples in the batch, 1...``maxBatch``.
    ///   - training: Whether this is a training pass.
    /// - Throws: The backend's error (`EtaError`, or `CLError` on OpenCL).
    public func forward(input: DeviceBuffer, inputOffset: Int, rows: Int, training: Bool = false) throws {
        if training {
            batchesTracked += 1
            if optimizer.step != dropoutStep {
                (dropoutStep, microBatch) = (optimizer.step, 0)
            } else {
                microBatch += 1
            }
            dropoutCounter = UInt64(optimizer.step + 1) << 16 | microBatch
        }
        let context = PassContext(input: DeviceSlice(input, offset: inputOffset), batch: rows, training: training)
        for index in architecture.nodes.indices { try forward(node: index, context) }
    }

    /// The loss of the last forward pass against `targets`, its gradient (into the backward workspace), and the
    /// sample sums accumulated into `stats` (`lossSum`, `correct`; the batch mean into `batchLoss` when given). A
    /// model with several output positions (a GPT) averages over them: the stats hold per-sample means of the
    /// per-position loss and accuracy. `microBatches` > 1 divides the gradient by it (gradient accumulation).
    ///
    /// - Parameters:
    ///   - targets: The targets, ``targetWidth`` floats per sample.
    ///   - targetsOffset: The first sample's first target.
    ///   - rows: Samples in the batch (as in the forward pass).
    ///   - lossSum: The stat the summed sample losses are added to.
    ///   - correct: The stat the correct count is added to.
    ///   - batchLoss: The stat that receives the batch's mean loss; nil: none.
    ///   - accumulate: Whether to add to `lossSum` and `correct`.
    ///   - microBatches: Micro-batches whose gradients make one step, at least 1.
    ///   - gradientRows: The rows the gradient is a mean over (a data-parallel global batch); nil: `rows`.
    /// - Throws: The backend's error.
    public func lossAndGradient(
        targets: DeviceBuffer, targetsOffset: Int, rows: Int, lossSum: Stat, correct: Stat,
        batchLoss: Stat? = nil, accumulate: Bool = true, microBatches: Int = 1, gradientRows: Int? = nil
    ) throws {
        let outputs = architecture.outputShape.channels, lossRows = rows * outputPositions
        let meanRows = (gradientRows ?? rows) * outputPositions
        let scale = (loss == .mse ? 1 / Float(meanRows * outputs) : 1 / Float(meanRows)) / Float(microBatches)
        let last = plan.nodes.count - 1
        try backend.run(
            .loss(
                LossCommand(
                    kind: loss, input: plan.nodes[last].value!, inputOffset: 0, targets: targets,
                    targetsOffset: targetsOffset, grad: plan.nodes[last].gradient!, rowLoss: rowLoss,
                    rowCorrect: rowCorrect, rows: lossRows, cols: outputs, scale: scale, replicas: replicas)))
        if let batchLoss {
            try reduce(rowLoss, lossRows, into: batchLoss, scale: lossScale / Float(rows), accumulate: false)
        }
        if accumulate {
            try reduce(rowLoss, lossRows, into: lossSum, scale: lossScale, accumulate: true)
            try reduce(rowCorrect, lossRows, into: correct, scale: 1 / Float(outputPositions), accumulate: true)
        }
    }

    /// Per loss row, the factor that makes the row sums per-sample means (MSE also averages over outputs).
    private var lossScale: Float {
        (loss == .mse ? 1 / Float(architecture.outputShape.channels) : 1) / Float(outputPositions)
    }

    /// Adds the last batch's row losses and correct counts to the epoch's training sums (after a guard accepted it).
    ///
    /// - Parameter rows: Samples in the last batch.
    /// - Throws: The backend's error.
    public func accumulateLastBatch(rows: Int) throws {
        try reduce(rowLoss, rows * outputPositions, into: .trainLossSum, scale: lossScale, accumulate: true)
        try reduce(
            rowCorrect, rows * outputPositions, into: .trainCorrect, scale: 1 / Float(outputPositions),
            accumulate: true)
    }

    /// Backpropagates the loss gradient of the last `lossAndGradient` into `arena.gradients` (added to what is
    /// there with `accumulateGradients`: the second and later micro-batches of gradient accumulation).
    ///
    /// - Parameters:
    ///   - input: The samples of the forward pass.
    ///   - inputOffset: The first sample's first float.
    ///   - rows: Samples in the batch.
    ///   - accumulateGradients: Whether to add to the gradient arena instead of overwriting it.
    /// - Throws: The backend's error.
    public func backward(input: DeviceBuffer, inputOffset: Int, rows: Int, accumulateGradients: Bool = false) throws {
        let context = PassContext(
            input: DeviceSlice(input, offset: inputOffset), batch: rows, training: true,
            accumulateGradients: accumulateGradients)
        for index in architecture.nodes.indices.reversed() { try backward(node: index, context) }
    }

    /// Forward, loss and backward for one training batch; the optimizer step is the caller's.
    /// `accumulate: false` leaves the epoch sums alone until `accumulateLastBatch` (a divergence guard's check).
    /// `microBatches` and `accumulateGradients` implement gradient accumulation (see `lossAndGradient`, `backward`).
    ///
    /// - Parameters:
    ///   - input: The samples.
    ///   - inputOffset: The first sample's first float.
    ///   - targets: The targets, ``targetWidth`` floats per sample.
    ///   - targetsOffset: The first sample's first target.
    ///   - rows: Samples in the batch, 1...``maxBatch``.
    ///   - accumulate: Whether to add the batch to the epoch's training sums now.
    ///   - microBatches: Micro-batches whose gradients make one step, at least 1.
    ///   - accumulateGradients: Whether to add to the gradient arena (every micro-batch after the first).
    ///   - gradientRows: The rows the gradient is a mean over (a data-parallel global batch); nil: `rows`.
    /// - Throws: The backend's error.
    public func trainingStep(
        input: DeviceBuffer, inputOffset: Int, targets: DeviceBuffer, targetsOffset: Int, rows: Int,
        accumulate: Bool = true, microBatches: Int = 1, accumulateGradients: Bool = false, gradientRows: Int? = nil
    ) throws {
        try forward(input: input, inputOffset: inputOffset, rows: rows, training: true)
        try lossAndGradient(
            targets: targets, targetsOffset: targetsOffset, rows: rows,
            lossSum: .trainLossSum, correct: .trainCorrect, batchLoss: .batchLoss, accumulate: accumulate,
            microBatches: microBatches, gradientRows: gradientRows)
        try backward(input: input, inputOffset: inputOffset, rows: rows, accumulateGradients: accumulateGradients)
    }

    func reduce(_ source: DeviceBuffer, _ count: Int, into stat: Stat, scale: Float, accumulate: Bool) throws {
        try backend.run(
            .reduce(
                ReduceCommand(
                    source: source, sourceOffset: 0, count: count, squares: false,
                    destination: stats, index: stat.rawValue * replicas, scale: scale, accumulate: accumulate,
                    segments: replicas)))
    }
}
