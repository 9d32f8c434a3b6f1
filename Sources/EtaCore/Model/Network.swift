/// A model on a backend: its parameter arena, the workspace of one batch, and the launch sequence of a
/// training step (forward, fused loss and gradient, backward). Nothing in a step allocates, and nothing
/// reads back to the host: losses, correct counts and the squared gradient norm accumulate in `stats`.
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
    /// The largest batch the workspace holds, in rows.
    public let maxBatch: Int
    /// Models trained side by side (an LR sweep); 1 for a normal run.
    public let replicas: Int
    /// Floats between consecutive replicas' parameters (the model's size rounded up to 16, so one
    /// vectorised work-item never spans two replicas).
    public let replicaSize: Int
    /// Device-side accumulators: stat s of replica r at s·replicas + r.
    public let stats: DeviceBuffer

    private let z: [DeviceBuffer]
    private let a: [DeviceBuffer]
    private let gradients: [DeviceBuffer]
    private let rowLoss: DeviceBuffer
    private let rowCorrect: DeviceBuffer

    /// Target values per row: 1 (a class index or a 0/1 label) or the number of outputs (regression).
    public var targetWidth: Int { loss == .mse ? architecture.layers.last!.outputs : 1 }

    /// - Parameters:
    ///   - architecture: The layers.
    ///   - loss: The loss; `bce` needs a model with one output.
    ///   - optimizer: The optimizer and its hyperparameters.
    ///   - maxBatch: The largest batch, in rows, at least 1.
    ///   - backend: The backend to allocate on.
    ///   - step: Steps the optimizer has already taken (a restored run).
    ///   - replicas: Models trained side by side (an LR sweep), at least 1.
    ///   - stateType: How the optimizer state is stored.
    /// - Throws: `EtaError` `.usage` for a batch size or replica count below 1, `bce` with more than one output,
    ///   16-bit state the optimizer cannot keep, or memory the device lacks; or the backend's error.
    public init(
        architecture: ModelArchitecture, loss: LossKind, optimizer: OptimizerConfiguration, maxBatch: Int,
        backend: Backend, step: Int = 0, replicas: Int = 1, stateType: StorageType = .fp32
    ) throws {
        guard maxBatch > 0 else { throw EtaError(.usage, "the batch size must be positive") }
        if loss == .bce && architecture.layers.last!.outputs != 1 {
            throw EtaError(
                .usage, "bce needs a model with one output; this one has \(architecture.layers.last!.outputs)")
        }
        self.architecture = architecture
        self.loss = loss
        self.backend = backend
        guard replicas >= 1 else { throw EtaError(.usage, "a network needs at least one replica") }
        self.maxBatch = maxBatch
        self.replicas = replicas
        replicaSize = replicas == 1 ? architecture.layout.count : (architecture.layout.count + 15) / 16 * 16
        self.optimizer = Optimizer(optimizer, step: step)
        let layout = replicas == 1 ? architecture.layout : try TensorLayout([("replicas", [replicas * replicaSize])])
        try Optimizer.checkStateType(stateType, for: optimizer)
        arena = try ParameterArena(
            layout: layout, stateSlots: optimizer.stateSlots, backend: backend, stateType: stateType)
        try self.optimizer.initializeState(arena)
        let k = replicas
        z = try architecture.layers.map { try backend.makeBuffer(count: k * maxBatch * $0.outputs) }
        a = try architecture.layers.map { try backend.makeBuffer(count: k * maxBatch * $0.outputs) }
        let widest = architecture.layers.map { max($0.inputs, $0.outputs) }.max()!
        gradients = try (0..<2).map { _ in try backend.makeBuffer(count: k * maxBatch * widest) }
        rowLoss = try backend.makeBuffer(count: k * maxBatch)
        rowCorrect = try backend.makeBuffer(count: k * maxBatch)
        stats = try backend.makeBuffer(count: Stat.allCases.count * k)
    }

    /// The forward pass of `rows` samples starting at row `inputOffset / inputs` of `input` (every replica sees
    /// the same input; replica r's activations are the r-th [rows × width] block of each workspace).
    ///
    /// - Parameters:
    ///   - input: The samples, `inputs` floats per row.
    ///   - inputOffset: The first sample's first float.
    ///   - rows: Samples in the batch, 1...``maxBatch``.
    /// - Throws: The backend's error (`EtaError`, or `CLError` on OpenCL).
    public func forward(input: DeviceBuffer, inputOffset: Int, rows: Int) throws {
        for (i, layer) in architecture.layers.enumerated() {
            let (weight, bias) = architecture.offsets(i)
            let (source, sourceOffset, sourceStride) =
                i == 0 ? (input, inputOffset, 0) : (a[i - 1], 0, rows * layer.inputs)
            try backend.run(
                .gemm(
                    MatrixMultiply(
                        transposeB: true, m: rows, n: layer.outputs, k: layer.inputs,
                        a: source, aOffset: sourceOffset, lda: layer.inputs,
                        b: arena.parameters, bOffset: weight, ldb: layer.inputs,
                        c: z[i], ldc: layer.outputs, batch: replicas, strideA: sourceStride,
                        strideB: replicaSize, strideC: rows * layer.outputs)))
            try backend.run(
                .biasActivation(
                    BiasActivationCommand(
                        pass: .forward, z: DeviceSlice(z[i]), bias: DeviceSlice(arena.parameters, offset: bias),
                        activations: DeviceSlice(a[i]), rows: rows, cols: layer.outputs,
                        activation: layer.activation, replicas: replicas, biasStride: replicaSize)))
        }
    }

    /// The loss of the last forward pass against `targets`, its gradient (into the backward workspace), and the
    /// row sums accumulated into `stats` (`lossSum`, `correct`; the batch mean into `batchLoss` when given).
    /// `microBatches` > 1 divides the gradient by it (the mean over micro-batches of gradient accumulation).
    ///
    /// - Parameters:
    ///   - targets: The targets, ``targetWidth`` floats per row.
    ///   - targetsOffset: The first row's first target.
    ///   - rows: Rows in the batch (as in the forward pass).
    ///   - lossSum: The stat the summed row losses are added to.
    ///   - correct: The stat the correct count is added to.
    ///   - batchLoss: The stat that receives the batch's mean loss; nil: none.
    ///   - accumulate: Whether to add to `lossSum` and `correct`.
    ///   - microBatches: Micro-batches whose gradients make one step, at least 1.
    /// - Throws: The backend's error.
    public func lossAndGradient(
        targets: DeviceBuffer, targetsOffset: Int, rows: Int, lossSum: Stat, correct: Stat,
        batchLoss: Stat? = nil, accumulate: Bool = true, microBatches: Int = 1
    ) throws {
        let outputs = architecture.layers.last!.outputs
        let scale = (loss == .mse ? 1 / Float(rows * outputs) : 1 / Float(rows)) / Float(microBatches)
        try backend.run(
            .loss(
                LossCommand(
                    kind: loss, input: a.last!, inputOffset: 0, targets: targets, targetsOffset: targetsOffset,
                    grad: gradients[0], rowLoss: rowLoss, rowCorrect: rowCorrect,
                    rows: rows, cols: outputs, scale: scale, replicas: replicas)))
        let lossScale: Float = loss == .mse ? 1 / Float(outputs) : 1
        if let batchLoss {
            try reduce(rowLoss, rows, into: batchLoss, scale: lossScale / Float(rows), accumulate: false)
        }
        if accumulate {
            try reduce(rowLoss, rows, into: lossSum, scale: lossScale, accumulate: true)
            try reduce(rowCorrect, rows, into: correct, scale: 1, accumulate: true)
        }
    }

    /// Adds the last batch's row losses and correct counts to the epoch's training sums (after a guard accepted it).
    ///
    /// - Parameter rows: Rows in the last batch.
    /// - Throws: The backend's error.
    public func accumulateLastBatch(rows: Int) throws {
        let lossScale: Float = loss == .mse ? 1 / Float(architecture.layers.last!.outputs) : 1
        try reduce(rowLoss, rows, into: .trainLossSum, scale: lossScale, accumulate: true)
        try reduce(rowCorrect, rows, into: .trainCorrect, scale: 1, accumulate: true)
    }

    /// Backpropagates the loss gradient of the last `lossAndGradient` into `arena.gradients` (added to what is
    /// there with `accumulateGradients`: the second and later micro-batches of gradient accumulation).
    ///
    /// - Parameters:
    ///   - input: The samples of the forward pass.
    ///   - inputOffset: The first sample's first float.
    ///   - rows: Rows in the batch.
    ///   - accumulateGradients: Whether to add to the gradient arena instead of overwriting it.
    /// - Throws: The backend's error.
    public func backward(input: DeviceBuffer, inputOffset: Int, rows: Int, accumulateGradients: Bool = false) throws {
        var current = 0
        for i in stride(from: architecture.layers.count - 1, through: 0, by: -1) {
            let layer = architecture.layers[i]
            let (weight, bias) = architecture.offsets(i)
            // dZ = dA ⊙ act'(Z) in place, and db = Σ rows dZ, in one pass.
            try backend.run(
                .biasActivation(
                    BiasActivationCommand(
                        pass: .backward, z: DeviceSlice(z[i]), bias: DeviceSlice(arena.gradients, offset: bias),
                        activations: DeviceSlice(gradients[current]), gradZ: DeviceSlice(gradients[current]),
                        rows: rows, cols: layer.outputs, activation: layer.activation, replicas: replicas,
                        biasStride: replicaSize, accumulate: accumulateGradients)))
            let (previous, previousOffset, previousStride) =
                i == 0 ? (input, inputOffset, 0) : (a[i - 1], 0, rows * layer.inputs)
            // dW = dZᵀ · A_prev, written straight into the gradient arena.
            try backend.run(
                .gemm(
                    MatrixMultiply(
                        transposeA: true, m: layer.outputs, n: layer.inputs, k: rows,
                        a: gradients[current], lda: layer.outputs,
                        b: previous, bOffset: previousOffset, ldb: layer.inputs,
                        beta: accumulateGradients ? 1 : 0,
                        c: arena.gradients, cOffset: weight, ldc: layer.inputs, batch: replicas,
                        strideA: rows * layer.outputs, strideB: previousStride, strideC: replicaSize)))
            if i > 0 {
                // dA_prev = dZ · W.
                try backend.run(
                    .gemm(
                        MatrixMultiply(
                            m: rows, n: layer.inputs, k: layer.outputs,
                            a: gradients[current], lda: layer.outputs,
                            b: arena.parameters, bOffset: weight, ldb: layer.inputs,
                            c: gradients[1 - current], ldc: layer.inputs, batch: replicas,
                            strideA: rows * layer.outputs, strideB: replicaSize, strideC: rows * layer.inputs)))
                current = 1 - current
            }
        }
    }

    /// Forward, loss and backward for one training batch; the optimizer step is the caller's.
    /// `accumulate: false` leaves the epoch sums alone until `accumulateLastBatch` (a divergence guard's check).
    /// `microBatches` and `accumulateGradients` implement gradient accumulation (see `lossAndGradient`, `backward`).
    ///
    /// - Parameters:
    ///   - input: The samples, `inputs` floats per row.
    ///   - inputOffset: The first sample's first float.
    ///   - targets: The targets, ``targetWidth`` floats per row.
    ///   - targetsOffset: The first row's first target.
    ///   - rows: Rows in the batch, 1...``maxBatch``.
    ///   - accumulate: Whether to add the batch to the epoch's training sums now.
    ///   - microBatches: Micro-batches whose gradients make one step, at least 1.
    ///   - accumulateGradients: Whether to add to the gradient arena (every micro-batch after the first).
    /// - Throws: The backend's error.
    public func trainingStep(
        input: DeviceBuffer, inputOffset: Int, targets: DeviceBuffer, targetsOffset: Int, rows: Int,
        accumulate: Bool = true, microBatches: Int = 1, accumulateGradients: Bool = false
    ) throws {
        try forward(input: input, inputOffset: inputOffset, rows: rows)
        try lossAndGradient(
            targets: targets, targetsOffset: targetsOffset, rows: rows,
            lossSum: .trainLossSum, correct: .trainCorrect, batchLoss: .batchLoss, accumulate: accumulate,
            microBatches: microBatches)
        try backward(input: input, inputOffset: inputOffset, rows: rows, accumulateGradients: accumulateGradients)
    }

    /// ‖g‖² of the gradient arena into `stats[gradNormSquared]`.
    ///
    /// - Throws: The backend's error.
    public func measureGradientNorm() throws {
        try backend.run(
            .reduce(
                ReduceCommand(
                    source: arena.gradients, sourceOffset: 0, count: replicaSize, squares: true,
                    destination: stats, index: Stat.gradNormSquared.rawValue * replicas, scale: 1,
                    accumulate: false, segments: replicas)))
    }

    /// Clips the gradient arena on the device: by value, then by global norm (`clip_grad_norm_` semantics; the
    /// pre-clip norm stays in `stats[gradNormSquared]`, squared). Nothing is read back.
    ///
    /// - Parameters:
    ///   - maxNorm: The largest global L2 norm; nil: no norm clipping.
    ///   - maxValue: The largest absolute value of any element; nil: no value clipping.
    /// - Throws: The backend's error.
    public func clipGradients(maxNorm: Float?, maxValue: Float?) throws {
        if let maxValue {
            try backend.run(.clipByValue(gradients: arena.gradients, count: arena.layout.count, clip: maxValue))
        }
        if let maxNorm {
            try measureGradientNorm()
            try backend.run(
                .clipByNorm(
                    gradients: arena.gradients, count: arena.layout.count, stats: stats,
                    normIndex: Stat.gradNormSquared.rawValue * replicas, maxNorm: maxNorm))
        }
    }

    /// Sets the given stats to zero (for every replica).
    ///
    /// - Parameter which: The stats to zero.
    /// - Throws: The backend's error.
    public func resetStats(_ which: [Stat]) throws {
        var values = try backend.read(stats)
        for stat in which { for r in 0..<replicas { values[stat.rawValue * replicas + r] = 0 } }
        try backend.write(values, to: stats)
    }

    /// Reads every stat of replica 0 (waits for the queue).
    ///
    /// - Returns: Each stat's value for replica 0.
    /// - Throws: The backend's error.
    public func readStats() throws -> [Stat: Float] {
        try readReplicaStats().mapValues { $0[0] }
    }

    /// Reads every stat of every replica (waits for the queue).
    ///
    /// - Returns: Each stat's values, one per replica.
    /// - Throws: The backend's error.
    public func readReplicaStats() throws -> [Stat: [Float]] {
        let values = try backend.read(stats)
        return Dictionary(
            uniqueKeysWithValues: Stat.allCases.map { stat in
                (stat, Array(values[(stat.rawValue * replicas)..<((stat.rawValue + 1) * replicas)]))
            })
    }

    private func reduce(_ source: DeviceBuffer, _ count: Int, into stat: Stat, scale: Float, accumulate: Bool) throws {
        try backend.run(
            .reduce(
                ReduceCommand(
                    source: source, sourceOffset: 0, count: count, squares: false,
                    destination: stats, index: stat.rawValue * replicas, scale: scale, accumulate: accumulate,
                    segments: replicas)))
    }
}
