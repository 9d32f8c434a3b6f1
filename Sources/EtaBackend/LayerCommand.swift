/// An elementwise nonlinearity, with the ids the kernels take (`ACT_*` in `Kernels/layers.cl`).
public enum Activation: Int32, CaseIterable, Sendable, Codable {
    /// The ids of `ACT_IDENTITY` … `ACT_GELU`.
    case identity = 0, relu, tanh, sigmoid, gelu

    /// The name used in model SPECs (`act=relu`).
    public var name: String { String(describing: self) }

    /// Parses a model-SPEC name.
    ///
    /// - Parameter name: `identity`, `relu`, `tanh`, `sigmoid` or `gelu`, in any case.
    /// - Throws: `EtaError` `.usage` for any other name, listing the valid ones.
    public init(name: String) throws {
        guard let match = Activation.allCases.first(where: { $0.name == name.lowercased() }) else {
            throw EtaError(
                .usage,
                "unknown activation '\(name)'; valid: \(Activation.allCases.map(\.name).joined(separator: ", "))")
        }
        self = match
    }
}

/// A row-major single-precision GEMM: C[m×n] = alpha · op(A) · op(B) + beta · C, offsets and leading
/// dimensions in elements (`cblas_sgemm` / `CLBlastSgemm` semantics).
public struct MatrixMultiply {
    /// Use Aᵀ (A stored k×m) instead of A (m×k).
    public var transposeA: Bool
    /// Use Bᵀ (B stored n×k) instead of B (k×n).
    public var transposeB: Bool
    /// C's rows (m) and columns (n), and the inner dimension (k).
    public var m: Int, n: Int, k: Int
    /// The product's scale.
    public var alpha: Float
    /// A's buffer, first element and leading dimension.
    public var a: DeviceBuffer, aOffset: Int, lda: Int
    /// B's buffer, first element and leading dimension.
    public var b: DeviceBuffer, bOffset: Int, ldb: Int
    /// C's scale before the product is added (0: C is overwritten).
    public var beta: Float
    /// C's buffer, first element and leading dimension.
    public var c: DeviceBuffer, cOffset: Int, ldc: Int
    /// Independent GEMMs in one call (an LR sweep's replicas): the i-th uses offsets + i·stride (a stride of 0
    /// shares that operand).
    public var batch = 1
    /// Elements from one batch member's A, B and C to the next.
    public var strideA = 0, strideB = 0, strideC = 0

    /// - Parameters:
    ///   - transposeA: Use Aᵀ instead of A.
    ///   - transposeB: Use Bᵀ instead of B.
    ///   - m: Rows of C.
    ///   - n: Columns of C.
    ///   - k: The inner dimension.
    ///   - alpha: The product's scale.
    ///   - a: The buffer holding A.
    ///   - aOffset: A's first element.
    ///   - lda: A's leading dimension (row stride of the stored matrix).
    ///   - b: The buffer holding B.
    ///   - bOffset: B's first element.
    ///   - ldb: B's leading dimension.
    ///   - beta: C's scale before the product is added (0: C is overwritten).
    ///   - c: The buffer holding C.
    ///   - cOffset: C's first element.
    ///   - ldc: C's leading dimension.
    ///   - batch: Independent GEMMs in the call.
    ///   - strideA: Elements from one A to the next (0: shared).
    ///   - strideB: Elements from one B to the next (0: shared).
    ///   - strideC: Elements from one C to the next.
    public init(
        transposeA: Bool = false, transposeB: Bool = false, m: Int, n: Int, k: Int, alpha: Float = 1,
        a: DeviceBuffer, aOffset: Int = 0, lda: Int, b: DeviceBuffer, bOffset: Int = 0, ldb: Int,
        beta: Float = 0, c: DeviceBuffer, cOffset: Int = 0, ldc: Int,
        batch: Int = 1, strideA: Int = 0, strideB: Int = 0, strideC: Int = 0
    ) {
        self.transposeA = transposeA
        self.transposeB = transposeB
        (self.m, self.n, self.k, self.alpha, self.beta) = (m, n, k, alpha, beta)
        (self.a, self.aOffset, self.lda) = (a, aOffset, lda)
        (self.b, self.bOffset, self.ldb) = (b, bOffset, ldb)
        (self.c, self.cOffset, self.ldc) = (c, cOffset, ldc)
        (self.batch, self.strideA, self.strideB, self.strideC) = (batch, strideA, strideB, strideC)
    }
}

/// Which loss a `LossCommand` computes.
public enum LossKind: String, CaseIterable, Sendable, Codable {
    /// Softmax cross-entropy over `cols` classes; targets are class indices.
    case crossEntropy = "cross_entropy"
    /// Binary cross-entropy with logits; one output per row, targets 0 or 1.
    case bce
    /// Mean squared error over all outputs (torch.nn.MSELoss, reduction "mean").
    case mse
}

/// A loss fused with its gradient: per-row loss and correctness, and d(mean loss)/d(input) into `grad`.
public struct LossCommand {
    /// The loss.
    public var kind: LossKind
    /// The predictions (logits for cross-entropy and BCE), [rows × cols] from `inputOffset`.
    public var input: DeviceBuffer, inputOffset: Int
    /// The targets from `targetsOffset`: per row a class index (cross-entropy), a 0/1 label (BCE) or `cols` values.
    public var targets: DeviceBuffer, targetsOffset: Int
    /// [rows × cols] from offset 0.
    public var grad: DeviceBuffer
    /// [rows] from offset 0: each row's loss (sum over outputs for MSE).
    public var rowLoss: DeviceBuffer
    /// [rows] from offset 0: 1 where the prediction matched the label, else 0.
    public var rowCorrect: DeviceBuffer
    /// The batch's rows and the outputs per row.
    public var rows: Int, cols: Int
    /// The gradient's factor: 1/rows, or 1/(rows·cols) for MSE.
    public var scale: Float
    /// K replicas' inputs (K blocks of [rows × cols]) against the same targets; outputs are K blocks too.
    public var replicas = 1

    /// - Parameters:
    ///   - kind: The loss.
    ///   - input: The predictions, [rows × cols].
    ///   - inputOffset: The predictions' first element.
    ///   - targets: The targets (class indices, 0/1 labels or values).
    ///   - targetsOffset: The targets' first element.
    ///   - grad: Receives d(mean loss)/d(input), [rows × cols].
    ///   - rowLoss: Receives each row's loss, [rows].
    ///   - rowCorrect: Receives 1 per correctly predicted row, else 0, [rows].
    ///   - rows: Rows of the batch.
    ///   - cols: Outputs per row.
    ///   - scale: The gradient's factor: 1/rows, or 1/(rows·cols) for MSE.
    ///   - replicas: Sweep replicas whose inputs are stacked against the same targets.
    public init(
        kind: LossKind, input: DeviceBuffer, inputOffset: Int, targets: DeviceBuffer, targetsOffset: Int,
        grad: DeviceBuffer, rowLoss: DeviceBuffer, rowCorrect: DeviceBuffer, rows: Int, cols: Int, scale: Float,
        replicas: Int = 1
    ) {
        (self.kind, self.input, self.inputOffset, self.targets, self.targetsOffset) = (
            kind, input, inputOffset, targets, targetsOffset
        )
        (self.grad, self.rowLoss, self.rowCorrect, self.rows, self.cols) = (grad, rowLoss, rowCorrect, rows, cols)
        (self.scale, self.replicas) = (scale, replicas)
    }
}

/// destination[index] = scale · Σ source[offset ..< offset+count] (of squares when `squares`), plus the old
/// value when `accumulate`. Deterministic for a given count.
public struct ReduceCommand {
    /// The values summed: `count` floats from `sourceOffset` (per segment).
    public var source: DeviceBuffer, sourceOffset: Int, count: Int
    /// Whether to sum the squares of the values.
    public var squares: Bool
    /// Where the sum goes: `destination[index]`.
    public var destination: DeviceBuffer, index: Int
    /// The factor applied to the sum.
    public var scale: Float
    /// Whether to add to the destination's old value instead of replacing it.
    public var accumulate: Bool
    /// Sums `segments` consecutive runs of `count` values into destination[index + s·destinationStride].
    public var segments = 1
    /// Elements between consecutive segments' results in `destination`.
    public var destinationStride = 1

    /// - Parameters:
    ///   - source: The buffer of values.
    ///   - sourceOffset: The first value.
    ///   - count: Values per segment.
    ///   - squares: Whether to sum squares.
    ///   - destination: The buffer of results.
    ///   - index: The first result's element.
    ///   - scale: The factor applied to each sum.
    ///   - accumulate: Whether to add to the old results.
    ///   - segments: Consecutive runs of `count` values, each summed on its own.
    ///   - destinationStride: Elements between consecutive results.
    public init(
        source: DeviceBuffer, sourceOffset: Int, count: Int, squares: Bool, destination: DeviceBuffer, index: Int,
        scale: Float, accumulate: Bool, segments: Int = 1, destinationStride: Int = 1
    ) {
        (self.source, self.sourceOffset, self.count, self.squares) = (source, sourceOffset, count, squares)
        (self.destination, self.index, self.scale, self.accumulate) = (destination, index, scale, accumulate)
        (self.segments, self.destinationStride) = (segments, destinationStride)
    }
}

/// Z += bias (broadcast over rows), A = act(Z) (forward); dZ = dA · act'(Z) and dbias = Σ_rows dZ (backward), for each
/// of `replicas` consecutive `[rows × cols]` blocks, replica r's bias `biasStride`·r further on.
public struct BiasActivationCommand {
    /// Forward or backward.
    public var pass: LayerPass
    /// Forward: Z, the bias added in place. Backward: Z as the forward pass left it.
    public var z: DeviceSlice
    /// The bias (forward) or its gradient (backward); nil for an activation without a bias.
    public var bias: DeviceSlice?
    /// Forward: A, written. Backward: dA, read.
    public var activations: DeviceSlice
    /// Backward: dZ, written (may be `activations`: each element is read, then written, by one work-item).
    public var gradZ: DeviceSlice?
    /// Rows and columns of one replica's block.
    public var rows: Int, cols: Int
    /// The nonlinearity.
    public var activation: Activation
    /// Consecutive blocks, each with its own bias.
    public var replicas: Int
    /// Elements between consecutive replicas' biases.
    public var biasStride: Int
    /// Backward: add to the bias gradient (gradient accumulation) instead of overwriting it.
    public var accumulate: Bool

    /// - Parameters:
    ///   - pass: Forward or backward.
    ///   - z: Z (the pre-activation).
    ///   - bias: The bias or its gradient; nil for none.
    ///   - activations: A (forward) or dA (backward).
    ///   - gradZ: Backward: dZ.
    ///   - rows: Rows per replica.
    ///   - cols: Columns.
    ///   - activation: The nonlinearity.
    ///   - replicas: Blocks with their own bias.
    ///   - biasStride: Elements between replicas' biases.
    ///   - accumulate: Backward: add to the bias gradient.
    public init(
        pass: LayerPass, z: DeviceSlice, bias: DeviceSlice?, activations: DeviceSlice, gradZ: DeviceSlice? = nil,
        rows: Int, cols: Int, activation: Activation, replicas: Int = 1, biasStride: Int = 0, accumulate: Bool = false
    ) {
        (self.pass, self.z, self.bias, self.activations, self.gradZ) = (pass, z, bias, activations, gradZ)
        (self.rows, self.cols, self.activation, self.replicas, self.biasStride, self.accumulate) = (
            rows, cols, activation, replicas, biasStride, accumulate
        )
    }
}

/// The operations of a training step besides the optimizer update.
public enum LayerCommand {
    /// A matrix multiply (CLBlast on OpenCL).
    case gemm(MatrixMultiply)
    /// A bias and a nonlinearity, fused.
    case biasActivation(BiasActivationCommand)
    /// im2col or its adjoint.
    case patches(PatchCommand)
    /// Max or average pooling.
    case pool(PoolCommand)
    /// Batched matrix transposition (flatten).
    case transpose(TransposeCommand)
    /// Batch normalisation.
    case batchNorm(BatchNormCommand)
    /// Layer normalisation.
    case layerNorm(LayerNormCommand)
    /// Token and position embeddings.
    case embedding(EmbeddingCommand)
    /// Attention's projections between fused rows and per-head matrices.
    case heads(HeadsCommand)
    /// Attention's causal softmax.
    case causalSoftmax(CausalSoftmaxCommand)
    /// Seeded inverted dropout.
    case dropout(DropoutCommand)
    /// Elementwise sum or copy.
    case add(AddCommand)
    /// A loss fused with its gradient.
    case loss(LossCommand)
    /// A deterministic sum.
    case reduce(ReduceCommand)
    /// g ×= min(1, maxNorm / (√stats[normIndex] + 1e-6)) over `count` floats (`clip_grad_norm_`).
    case clipByNorm(gradients: DeviceBuffer, count: Int, stats: DeviceBuffer, normIndex: Int, maxNorm: Float)
    /// g = clamp(g, −clip, clip) (`clip_grad_value_`).
    case clipByValue(gradients: DeviceBuffer, count: Int, clip: Float)
    /// target = lerp(target, toward, weight) (Schedule-Free's switch between y and x).
    case lerpToward(target: DeviceBuffer, toward: DeviceBuffer, count: Int, weight: Float)
    /// A per-tensor piece of a matrix optimizer's step (Muon, Adafactor).
    case tensorUpdate(TensorUpdateCommand)
}

extension LayerCommand {
    /// The kernel's name in traces.
    public var kernelName: String {
        switch self {
        case .gemm(let g):
            return
                "gemm \(g.m)x\(g.n)x\(g.k)\(g.transposeA ? "T" : "N")\(g.transposeB ? "T" : "N")"
                + "\(g.batch > 1 ? " x\(g.batch)" : "")"
        case .biasActivation(let c):
            return "bias_activation_\(c.pass == .forward ? "forward" : "backward") \(c.activation.name)"
        case .patches(let c): return c.pass == .forward ? "im2col" : "col2im"
        case .pool(let c):
            return "\(c.kind == .max ? "max" : "avg")_pool_\(c.pass == .forward ? "forward" : "backward")"
        case .transpose: return "transpose"
        case .batchNorm(let c):
            return c.mode == .backward ? "batch_norm_backward" : "batch_norm_forward"
        case .layerNorm(let c): return c.pass == .forward ? "layer_norm_forward" : "layer_norm_backward"
        case .embedding(let c): return c.pass == .forward ? "embedding_forward" : "embedding_backward"
        case .heads(let c): return c.pass == .forward ? "heads_split" : "heads_merge"
        case .causalSoftmax(let c): return c.pass == .forward ? "causal_softmax_forward" : "causal_softmax_backward"
        case .dropout: return "dropout"
        case .add: return "add"
        case .loss(let l):
            return l.kind == .crossEntropy ? "softmax_cross_entropy" : l.kind == .bce ? "bce_with_logits" : "mse"
        case .reduce(let r): return r.segments > 1 ? "reduce_segments" : "reduce"
        case .clipByNorm: return "clip_by_norm"
        case .clipByValue: return "clip_by_value"
        case .lerpToward: return "lerp_toward"
        case .tensorUpdate(let c): return c.kernelName
        }
    }
}

extension BandwidthCommand {
    /// The kernel's name in traces.
    public var kernelName: String {
        switch self {
        case .copy: return "copy"
        case .stream28: return "stream28"
        }
    }
}
