/// `LayerNorm` over the last dimension of `[rows × cols]` activations (biased variance, affine γ and β).
public struct LayerNormCommand {
    /// Forward: normalise, save each row's mean and 1/√(var+eps). Backward: the input's, γ's and β's gradients.
    public var pass: LayerPass
    /// Rows (tokens) and the normalised width.
    public var rows: Int, cols: Int
    /// The forward input (backward reads it again).
    public var input: DeviceSlice
    /// Forward: the output. Backward: the input's gradient.
    public var output: DeviceSlice
    /// Backward: the output's gradient.
    public var gradOutput: DeviceSlice?
    /// γ and β.
    public var weight: DeviceSlice, bias: DeviceSlice
    /// Backward: dγ and dβ.
    public var gradWeight: DeviceSlice?, gradBias: DeviceSlice?
    /// Per row, the mean then 1/√(var+eps): `[2 × rows]` (rows means, then rows inverse deviations).
    public var saved: DeviceSlice
    /// Added to the variance (PyTorch: 1e-5).
    public var epsilon: Float
    /// Backward: add to dγ and dβ instead of overwriting them.
    public var accumulateParameters: Bool
    /// Backward: add to the input gradient instead of overwriting it.
    public var accumulateInput: Bool

    /// - Parameters:
    ///   - pass: Forward or backward.
    ///   - rows: Rows.
    ///   - cols: The normalised width.
    ///   - input: The forward input.
    ///   - output: The output (forward) or the input's gradient (backward).
    ///   - gradOutput: Backward: the output's gradient.
    ///   - weight: γ.
    ///   - bias: β.
    ///   - gradWeight: Backward: dγ.
    ///   - gradBias: Backward: dβ.
    ///   - saved: Each row's mean and 1/√(var+eps).
    ///   - epsilon: Added to the variance.
    ///   - accumulateParameters: Backward: add to dγ and dβ.
    ///   - accumulateInput: Backward: add to the input gradient.
    public init(
        pass: LayerPass, rows: Int, cols: Int, input: DeviceSlice, output: DeviceSlice, gradOutput: DeviceSlice? = nil,
        weight: DeviceSlice, bias: DeviceSlice, gradWeight: DeviceSlice? = nil, gradBias: DeviceSlice? = nil,
        saved: DeviceSlice, epsilon: Float = 1e-5, accumulateParameters: Bool = false, accumulateInput: Bool = false
    ) {
        (self.pass, self.rows, self.cols, self.input, self.output, self.gradOutput) = (
            pass, rows, cols, input, output, gradOutput
        )
        (self.weight, self.bias, self.gradWeight, self.gradBias, self.saved) = (
            weight, bias, gradWeight, gradBias, saved
        )
        (self.epsilon, self.accumulateParameters, self.accumulateInput) = (
            epsilon, accumulateParameters, accumulateInput
        )
    }
}

/// Token plus learned position embeddings: out[r] = tokens[id_r] + positions[r mod T] for `rows` = sequences × T
/// token rows (forward); the tables' gradients, summed in row order (backward).
public struct EmbeddingCommand {
    /// Forward or backward.
    public var pass: LayerPass
    /// Token ids stored as floats, one per row (ids outside 0..<vocabulary read and update nothing).
    public var ids: DeviceSlice
    /// Token rows, the sequence length T, the embedding width and the vocabulary size.
    public var rows: Int, sequenceLength: Int, width: Int, vocabulary: Int
    /// The token table `[vocabulary × width]` (forward) or its gradient (backward).
    public var tokenTable: DeviceSlice
    /// The position table `[T × width]` (forward) or its gradient (backward).
    public var positionTable: DeviceSlice
    /// The output `[rows × width]` (forward) or its gradient (backward).
    public var output: DeviceSlice
    /// Backward: add to the tables' gradients instead of overwriting them.
    public var accumulate: Bool

    /// - Parameters:
    ///   - pass: Forward or backward.
    ///   - ids: Token ids, one per row.
    ///   - rows: Token rows.
    ///   - sequenceLength: Tokens per sequence (rows of the position table used).
    ///   - width: The embedding width.
    ///   - vocabulary: Rows of the token table.
    ///   - tokenTable: The token table or its gradient.
    ///   - positionTable: The position table or its gradient.
    ///   - output: The output or its gradient.
    ///   - accumulate: Backward: add to the tables' gradients.
    public init(
        pass: LayerPass, ids: DeviceSlice, rows: Int, sequenceLength: Int, width: Int, vocabulary: Int,
        tokenTable: DeviceSlice, positionTable: DeviceSlice, output: DeviceSlice, accumulate: Bool = false
    ) {
        (self.pass, self.ids, self.rows, self.sequenceLength, self.width, self.vocabulary) = (
            pass, ids, rows, sequenceLength, width, vocabulary
        )
        (self.tokenTable, self.positionTable, self.output, self.accumulate) = (
            tokenTable, positionTable, output, accumulate
        )
    }
}

/// Between the fused layout of attention's projections, `[sequences·T × parts·E]` (part p's head h in columns
/// p·E + h·D ..< p·E + (h+1)·D), and per-head matrices `[parts × sequences·heads × T × D]` that batched GEMMs take.
public struct HeadsCommand {
    /// `.forward` splits the fused rows into heads; `.backward` merges heads back into fused rows.
    public var pass: LayerPass
    /// The fused rows.
    public var fused: DeviceSlice
    /// The per-head matrices.
    public var split: DeviceSlice
    /// Sequences, tokens per sequence, heads, the width per head and the parts (3 for q, k, v; 1 for one tensor).
    public var sequences: Int, sequenceLength: Int, heads: Int, headWidth: Int, parts: Int
    /// Merging only: add to the fused rows instead of overwriting them.
    public var accumulate: Bool

    /// - Parameters:
    ///   - pass: Split (forward) or merge (backward).
    ///   - fused: The fused rows.
    ///   - split: The per-head matrices.
    ///   - sequences: Sequences.
    ///   - sequenceLength: Tokens per sequence.
    ///   - heads: Heads.
    ///   - headWidth: Width per head.
    ///   - parts: Tensors side by side in a fused row.
    ///   - accumulate: Merging only: add to the fused rows.
    public init(
        pass: LayerPass, fused: DeviceSlice, split: DeviceSlice, sequences: Int, sequenceLength: Int, heads: Int,
        headWidth: Int, parts: Int, accumulate: Bool = false
    ) {
        (self.pass, self.fused, self.split, self.sequences, self.sequenceLength) = (
            pass, fused, split, sequences, sequenceLength
        )
        (self.heads, self.headWidth, self.parts, self.accumulate) = (heads, headWidth, parts, accumulate)
    }
}

/// The causal softmax of attention scores, per row of `[rows × T]` matrices (row r is query r mod T): forward,
/// P = softmax(scale · S) over keys up to the query (later keys 0), in place; backward, dS = scale · P ⊙ (dP − Σ P·dP),
/// in place in dP.
public struct CausalSoftmaxCommand {
    /// Forward or backward.
    public var pass: LayerPass
    /// The scores, turned into probabilities (forward); the probabilities (backward).
    public var scores: DeviceSlice
    /// Backward: dP, turned into dS.
    public var gradients: DeviceSlice?
    /// Score rows (sequences · heads · T) and T.
    public var rows: Int, sequenceLength: Int
    /// The scores' factor (1/√D).
    public var scale: Float

    /// - Parameters:
    ///   - pass: Forward or backward.
    ///   - scores: The scores or probabilities.
    ///   - gradients: Backward: dP.
    ///   - rows: Score rows.
    ///   - sequenceLength: T.
    ///   - scale: The scores' factor.
    public init(
        pass: LayerPass, scores: DeviceSlice, gradients: DeviceSlice? = nil, rows: Int, sequenceLength: Int,
        scale: Float
    ) {
        (self.pass, self.scores, self.gradients, self.rows, self.sequenceLength, self.scale) = (
            pass, scores, gradients, rows, sequenceLength, scale
        )
    }
}

/// Inverted dropout with a counter-based mask: element i is kept when a hash of (seed, stream, step, i) falls below
/// `threshold` (the same bits on every backend, thread count and resume; see `Reference.dropoutDraw`), and kept
/// elements are scaled by 1/(1−p). The backward pass applies the same mask to the gradient.
public struct DropoutCommand {
    /// What is read (the input, or the output's gradient).
    public var source: DeviceSlice
    /// What is written (the output, or the input's gradient).
    public var destination: DeviceSlice
    /// Elements.
    public var count: Int
    /// Keep when the 24-bit draw is below this (`Reference.dropoutThreshold(p:)`).
    public var threshold: UInt32
    /// The factor of kept elements, 1/(1−p).
    public var scale: Float
    /// The run's seed, the layer's stream and the step: the mask's counter.
    public var seed: UInt64, stream: UInt64, step: UInt64
    /// Add to the destination instead of overwriting it.
    public var accumulate: Bool

    /// - Parameters:
    ///   - source: The input or the output's gradient.
    ///   - destination: The output or the input's gradient.
    ///   - count: Elements.
    ///   - threshold: The keep threshold of the 24-bit draw.
    ///   - scale: 1/(1−p).
    ///   - seed: The run's seed.
    ///   - stream: The layer's stream.
    ///   - step: The step (a new mask every step).
    ///   - accumulate: Add to the destination.
    public init(
        source: DeviceSlice, destination: DeviceSlice, count: Int, threshold: UInt32, scale: Float, seed: UInt64,
        stream: UInt64, step: UInt64, accumulate: Bool = false
    ) {
        (self.source, self.destination, self.count, self.threshold, self.scale) = (
            source, destination, count, threshold, scale
        )
        (self.seed, self.stream, self.step, self.accumulate) = (seed, stream, step, accumulate)
    }
}

/// destination = a + b, or destination = a when `b` is nil; with `accumulate`, added to the destination (residual
/// connections forward, and the gradient fan-out of a tensor read twice).
public struct AddCommand {
    /// The first operand.
    public var a: DeviceSlice
    /// The second operand, or nil.
    public var b: DeviceSlice?
    /// The result.
    public var destination: DeviceSlice
    /// Elements.
    public var count: Int
    /// Add the result to the destination instead of overwriting it.
    public var accumulate: Bool

    /// - Parameters:
    ///   - a: The first operand.
    ///   - b: The second operand, or nil.
    ///   - destination: The result.
    ///   - count: Elements.
    ///   - accumulate: Add to the destination.
    public init(a: DeviceSlice, b: DeviceSlice? = nil, destination: DeviceSlice, count: Int, accumulate: Bool = false) {
        (self.a, self.b, self.destination, self.count, self.accumulate) = (a, b, destination, count, accumulate)
    }
}
