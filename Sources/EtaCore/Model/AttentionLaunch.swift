/// Causal multi-head scaled-dot-product attention as the device runs it (`Network` and `eta verify` alike): the fused
/// `[q | k | v]` rows split into per-head matrices, S = Q Kᵀ and O = P V as GEMMs batched over sequences × heads, and
/// the causal softmax between them (PyTorch's `scaled_dot_product_attention(is_causal=True)`, no dropout on P).
///
/// The backward pass is dV = Pᵀ dO, dP = dO Vᵀ, dS = scale · P ⊙ (dP − Σ P·dP), dQ = dS K, dK = dSᵀ Q.
public struct AttentionLaunch {
    /// Sequences, tokens per sequence, heads and the width per head.
    public var sequences: Int, sequenceLength: Int, heads: Int, headWidth: Int
    /// The fused projection `[sequences·T × 3E]`.
    public var qkv: DeviceSlice
    /// The output `[sequences·T × E]`, heads side by side.
    public var output: DeviceSlice
    /// Kept from the forward pass for the backward one: Q, K, V per head (``splitFloats``) then P
    /// (``probabilityFloats``).
    public var saved: DeviceSlice
    /// Scratch for one pass (shared by the layers): ``scratchFloats(sequences:sequenceLength:heads:headWidth:)``.
    public var scratch: DeviceSlice

    /// - Parameters:
    ///   - sequences: Sequences.
    ///   - sequenceLength: Tokens per sequence.
    ///   - heads: Heads.
    ///   - headWidth: Width per head.
    ///   - qkv: The fused projection.
    ///   - output: The output.
    ///   - saved: What the backward pass needs from the forward pass.
    ///   - scratch: Scratch.
    public init(
        sequences: Int, sequenceLength: Int, heads: Int, headWidth: Int, qkv: DeviceSlice, output: DeviceSlice,
        saved: DeviceSlice, scratch: DeviceSlice
    ) {
        (self.sequences, self.sequenceLength, self.heads, self.headWidth) = (
            sequences, sequenceLength, heads, headWidth
        )
        (self.qkv, self.output, self.saved, self.scratch) = (qkv, output, saved, scratch)
    }

    /// Floats of one of the token tensors (B·T·E).
    private var tokenFloats: Int { sequences * sequenceLength * heads * headWidth }
    /// Floats of Q, K and V per head.
    public var splitFloats: Int { 3 * tokenFloats }
    /// Floats of the probabilities (B·H·T·T).
    public var probabilityFloats: Int { sequences * heads * sequenceLength * sequenceLength }

    /// Floats ``saved`` must hold.
    public static func savedFloats(sequences: Int, sequenceLength: Int, heads: Int, headWidth: Int) -> Int {
        sequences * sequenceLength * (3 * heads * headWidth + heads * sequenceLength)
    }

    /// Floats ``scratch`` must hold: a per-head token tensor, dP, and dQ, dK, dV per head.
    public static func scratchFloats(sequences: Int, sequenceLength: Int, heads: Int, headWidth: Int) -> Int {
        sequences * sequenceLength * (4 * heads * headWidth + heads * sequenceLength)
    }

    /// The score scale when not 1/√d (μP's); nil: 1/√d.
    public var scoreScale: Float?
    private var scale: Float { scoreScale ?? 1 / Float(headWidth).squareRoot() }
    private func part(_ base: DeviceSlice, _ index: Int) -> DeviceSlice {
        DeviceSlice(base.buffer, offset: base.offset + index * tokenFloats)
    }
    private var probabilities: DeviceSlice { part(saved, 3) }
    private var headTokens: DeviceSlice { scratch }
    private var scoreGradients: DeviceSlice { part(scratch, 1) }
    private var splitGradients: DeviceSlice {
        DeviceSlice(scratch.buffer, offset: scratch.offset + tokenFloats + probabilityFloats)
    }

    private func heads(
        _ pass: LayerPass, _ fused: DeviceSlice, _ split: DeviceSlice, parts: Int, accumulate: Bool = false
    )
        -> LayerCommand
    {
        .heads(
            HeadsCommand(
                pass: pass, fused: fused, split: split, sequences: sequences, sequenceLength: sequenceLength,
                heads: heads, headWidth: headWidth, parts: parts, accumulate: accumulate))
    }

    /// C = op(A) op(B) per sequence and head, over `[T × D]` token matrices and `[T × T]` score matrices.
    private func product(
        _ a: DeviceSlice, transposeA: Bool = false, aScores: Bool, _ b: DeviceSlice, transposeB: Bool = false,
        bScores: Bool = false, into c: DeviceSlice, cScores: Bool
    ) -> LayerCommand {
        let (t, d) = (sequenceLength, headWidth)
        let width = { (scores: Bool) in scores ? t : d }
        let stride = { (scores: Bool) in scores ? t * t : t * d }
        return .gemm(
            MatrixMultiply(
                transposeA: transposeA, transposeB: transposeB, m: t, n: width(cScores),
                k: transposeA ? t : width(aScores), a: a.buffer, aOffset: a.offset, lda: width(aScores), b: b.buffer,
                bOffset: b.offset, ldb: width(bScores), c: c.buffer, cOffset: c.offset, ldc: width(cScores),
                batch: sequences * heads, strideA: stride(aScores), strideB: stride(bScores), strideC: stride(cScores)))
    }

    /// The forward pass: `output` from `qkv`, keeping Q, K, V and P in `saved`.
    ///
    /// - Parameter backend: The backend to run on.
    /// - Throws: The backend's error.
    public func forward(on backend: Backend) throws {
        let (q, k, v) = (part(saved, 0), part(saved, 1), part(saved, 2))
        try backend.run(heads(.forward, qkv, saved, parts: 3))
        try backend.run(product(q, aScores: false, k, transposeB: true, into: probabilities, cScores: true))
        try backend.run(
            .causalSoftmax(
                CausalSoftmaxCommand(
                    pass: .forward, scores: probabilities, rows: sequences * heads * sequenceLength,
                    sequenceLength: sequenceLength, scale: scale)))
        try backend.run(product(probabilities, aScores: true, v, into: headTokens, cScores: false))
        try backend.run(heads(.backward, output, headTokens, parts: 1))
    }

    /// The backward pass: the projection's gradient from the output's (after ``forward(on:)`` of the same batch).
    ///
    /// - Parameters:
    ///   - gradOutput: dL/doutput, `[sequences·T × E]`.
    ///   - gradQKV: Receives dL/dqkv, `[sequences·T × 3E]`.
    ///   - accumulate: Add to `gradQKV` instead of overwriting it.
    ///   - backend: The backend to run on.
    /// - Throws: The backend's error.
    public func backward(gradOutput: DeviceSlice, gradQKV: DeviceSlice, accumulate: Bool, on backend: Backend) throws {
        let (q, k, v) = (part(saved, 0), part(saved, 1), part(saved, 2))
        let (dq, dk, dv) = (part(splitGradients, 0), part(splitGradients, 1), part(splitGradients, 2))
        try backend.run(heads(.forward, gradOutput, headTokens, parts: 1))
        try backend.run(
            product(probabilities, transposeA: true, aScores: true, headTokens, into: dv, cScores: false))
        try backend.run(product(headTokens, aScores: false, v, transposeB: true, into: scoreGradients, cScores: true))
        try backend.run(
            .causalSoftmax(
                CausalSoftmaxCommand(
                    pass: .backward, scores: probabilities, gradients: scoreGradients,
                    rows: sequences * heads * sequenceLength, sequenceLength: sequenceLength, scale: scale)))
        try backend.run(product(scoreGradients, aScores: true, k, into: dq, cScores: false))
        try backend.run(product(scoreGradients, transposeA: true, aScores: true, q, into: dk, cScores: false))
        try backend.run(heads(.backward, gradQKV, splitGradients, parts: 3, accumulate: accumulate))
    }
}
