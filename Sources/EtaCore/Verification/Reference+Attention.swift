/// Batch normalisation, embeddings and causal self-attention in the plain loops of their definitions, generic over
/// Float and Double, with PyTorch's semantics (`BatchNorm2d`, `Embedding`, `scaled_dot_product_attention` with
/// `is_causal=True`).
extension Reference {
    /// What `BatchNorm2d` keeps between steps: the running mean and variance of each channel.
    public struct BatchNormRunning<T: ReferenceReal>: Equatable {
        public var mean: [T]
        public var variance: [T]

        /// Zero means and unit variances (PyTorch's initial running statistics).
        ///
        /// - Parameter channels: The normalised channels.
        public init(channels: Int) {
            (mean, variance) = ([T](repeating: 0, count: channels), [T](repeating: 1, count: channels))
        }
    }

    /// `BatchNorm2d` forward over `[batch, C, H, W]`. In training the batch's statistics normalise (biased variance)
    /// and the running ones move by `momentum` toward them (the running variance takes the unbiased variance); in
    /// evaluation the running statistics normalise.
    ///
    /// - Parameters:
    ///   - input: `[batch, C, H, W]`.
    ///   - gamma: The scale per channel (`weight`).
    ///   - beta: The shift per channel (`bias`).
    ///   - running: The running statistics, updated in training.
    ///   - batch: Images in the batch.
    ///   - channels: C.
    ///   - training: Whether to use (and update from) the batch's statistics.
    ///   - momentum: PyTorch's 0.1 by default.
    ///   - eps: Added to the variance (1e-5).
    /// - Returns: The output, and per channel the mean and 1/√(var + ε) used.
    public static func batchNorm2d<T: ReferenceReal>(
        input: [T], gamma: [T], beta: [T], running: inout BatchNormRunning<T>, batch: Int, channels: Int,
        training: Bool, momentum: T = 0.1, eps: T = 1e-5
    ) -> (output: [T], mean: [T], inverseStd: [T]) {
        let area = batch * channels == 0 ? 0 : input.count / (batch * channels), count = batch * area
        var means = [T](repeating: 0, count: channels), inverseStds = [T](repeating: 0, count: channels)
        var output = [T](repeating: 0, count: input.count)
        for c in 0..<channels {
            let members = channelMembers(c, batch: batch, channels: channels, area: area)
            var (mean, variance) = (running.mean[c], running.variance[c])
            if training {
                mean = members.reduce(0) { $0 + input[$1] } / T(count)
                let squares = members.reduce(0) { $0 + (input[$1] - mean) * (input[$1] - mean) }
                variance = squares / T(count)
                let unbiased = count > 1 ? squares / T(count - 1) : variance
                running.mean[c] = (1 - momentum) * running.mean[c] + momentum * mean
                running.variance[c] = (1 - momentum) * running.variance[c] + momentum * unbiased
            }
            let inverseStd = 1 / (variance + eps).squareRoot()
            (means[c], inverseStds[c]) = (mean, inverseStd)
            for i in members { output[i] = (input[i] - mean) * inverseStd * gamma[c] + beta[c] }
        }
        return (output, means, inverseStds)
    }

    /// `BatchNorm2d` backward in training (the batch's statistics depend on the input): per channel over its N·H·W
    /// elements, with x̂ the normalised input and g = dy · γ, dx = (g − mean(g) − x̂ · mean(g · x̂)) / √(var + ε).
    ///
    /// - Parameters:
    ///   - gradOutput: `[batch, C, H, W]`.
    ///   - input: The forward pass's input.
    ///   - gamma: The scale per channel.
    ///   - mean: The forward pass's channel means.
    ///   - inverseStd: The forward pass's 1/√(var + ε) per channel.
    ///   - batch: Images in the batch.
    ///   - channels: C.
    /// - Returns: dL/dinput, dL/dγ and dL/dβ.
    public static func batchNorm2dBackward<T: ReferenceReal>(
        gradOutput: [T], input: [T], gamma: [T], mean: [T], inverseStd: [T], batch: Int, channels: Int
    ) -> (input: [T], gamma: [T], beta: [T]) {
        let area = batch * channels == 0 ? 0 : input.count / (batch * channels), count = T(batch * area)
        var gradInput = [T](repeating: 0, count: input.count)
        var gradGamma = [T](repeating: 0, count: channels), gradBeta = [T](repeating: 0, count: channels)
        for c in 0..<channels {
            let members = channelMembers(c, batch: batch, channels: channels, area: area)
            var meanG: T = 0, meanGX: T = 0
            for i in members {
                let normalized = (input[i] - mean[c]) * inverseStd[c]
                meanG += gradOutput[i] * gamma[c]
                meanGX += gradOutput[i] * gamma[c] * normalized
                gradGamma[c] += gradOutput[i] * normalized
                gradBeta[c] += gradOutput[i]
            }
            (meanG, meanGX) = (meanG / count, meanGX / count)
            for i in members {
                let normalized = (input[i] - mean[c]) * inverseStd[c]
                gradInput[i] = (gradOutput[i] * gamma[c] - meanG - normalized * meanGX) * inverseStd[c]
            }
        }
        return (gradInput, gradGamma, gradBeta)
    }

    /// The flat indices of channel `c` in `[batch, channels, area]`: image n's plane, (n·C + c)·area + i.
    static func channelMembers(_ c: Int, batch: Int, channels: Int, area: Int) -> [Int] {
        var members: [Int] = []
        members.reserveCapacity(batch * area)
        for n in 0..<batch {
            let start = (n * channels + c) * area
            members += start..<(start + area)
        }
        return members
    }

    /// `Embedding` forward: row `tokens[i]` of the `[vocabulary, dim]` table for each token.
    ///
    /// - Parameters:
    ///   - tokens: Token ids, each in 0..<vocabulary.
    ///   - table: `[vocabulary, dim]`.
    ///   - dim: The embedding width.
    /// - Returns: `[tokens.count, dim]`.
    public static func embedding<T: ReferenceReal>(tokens: [Int], table: [T], dim: Int) -> [T] {
        tokens.flatMap { table[($0 * dim)..<(($0 + 1) * dim)] }
    }

    /// `Embedding` backward: each token's gradient row added into its table row (a repeated token accumulates).
    ///
    /// - Parameters:
    ///   - gradOutput: `[tokens.count, dim]`.
    ///   - tokens: The forward pass's tokens.
    ///   - vocabulary: Rows of the table.
    ///   - dim: The embedding width.
    /// - Returns: dL/dtable `[vocabulary, dim]`.
    public static func embeddingBackward<T: ReferenceReal>(
        gradOutput: [T], tokens: [Int], vocabulary: Int, dim: Int
    ) -> [T] {
        var gradTable = [T](repeating: 0, count: vocabulary * dim)
        for (i, token) in tokens.enumerated() {
            for d in 0..<dim { gradTable[token * dim + d] += gradOutput[i * dim + d] }
        }
        return gradTable
    }

    /// Causal scaled dot-product attention over `heads` independent `[T, D]` slices (batch × heads of them):
    /// P = softmax(Q Kᵀ / √D) with key j > query i masked out (a stable softmax: the row's maximum subtracted),
    /// O = P V.
    ///
    /// - Parameters:
    ///   - query: `[heads, T, D]`.
    ///   - key: `[heads, T, D]`.
    ///   - value: `[heads, T, D]`.
    ///   - heads: Slices (batch × attention heads).
    ///   - length: T, the sequence length.
    /// - Returns: O `[heads, T, D]` and P `[heads, T, T]` (zero above the diagonal), which the backward pass reuses.
    public static func causalAttention<T: ReferenceReal>(
        query: [T], key: [T], value: [T], heads: Int, length: Int
    ) -> (
        output: [T], probabilities: [T]
    ) {
        let dim = heads * length == 0 ? 0 : query.count / (heads * length)
        let scale = 1 / T(dim).squareRoot()
        var output = [T](repeating: 0, count: query.count)
        var probabilities = [T](repeating: 0, count: heads * length * length)
        for h in 0..<heads {
            let base = h * length * dim
            for i in 0..<length {
                var scores = [T](repeating: 0, count: i + 1)
                for j in 0...i {
                    var dot: T = 0
                    for d in 0..<dim { dot += query[base + i * dim + d] * key[base + j * dim + d] }
                    scores[j] = dot * scale
                }
                let maximum = scores.max()!
                let exponentials = scores.map { T.exponential($0 - maximum) }
                let sum = exponentials.reduce(0, +)
                for j in 0...i {
                    let p = exponentials[j] / sum
                    probabilities[(h * length + i) * length + j] = p
                    for d in 0..<dim { output[base + i * dim + d] += p * value[base + j * dim + d] }
                }
            }
        }
        return (output, probabilities)
    }

    /// Causal attention backward: dV = Pᵀ dO; dP = dO Vᵀ; dS = P ⊙ (dP − Σ_j dP ⊙ P) (the softmax's Jacobian);
    /// dQ = dS K / √D; dK = dSᵀ Q / √D.
    ///
    /// - Parameters:
    ///   - gradOutput: dL/dO `[heads, T, D]`.
    ///   - query: The forward pass's Q.
    ///   - key: The forward pass's K.
    ///   - value: The forward pass's V.
    ///   - probabilities: The forward pass's P.
    ///   - heads: Slices.
    ///   - length: T.
    /// - Returns: dL/dQ, dL/dK and dL/dV.
    public static func causalAttentionBackward<T: ReferenceReal>(
        gradOutput: [T], query: [T], key: [T], value: [T], probabilities: [T], heads: Int, length: Int
    ) -> (query: [T], key: [T], value: [T]) {
        let dim = heads * length == 0 ? 0 : query.count / (heads * length)
        let scale = 1 / T(dim).squareRoot()
        var (gradQuery, gradKey, gradValue) = (
            [T](repeating: 0, count: query.count), [T](repeating: 0, count: key.count),
            [T](repeating: 0, count: value.count)
        )
        for h in 0..<heads {
            let base = h * length * dim
            for i in 0..<length {
                let p = (0...i).map { probabilities[(h * length + i) * length + $0] }
                let gradP = (0...i).map { j in
                    (0..<dim).reduce(T(0)) { $0 + gradOutput[base + i * dim + $1] * value[base + j * dim + $1] }
                }
                let weighted = zip(gradP, p).reduce(T(0)) { $0 + $1.0 * $1.1 }
                for j in 0...i {
                    let gradScore = p[j] * (gradP[j] - weighted) * scale
                    for d in 0..<dim {
                        gradValue[base + j * dim + d] += p[j] * gradOutput[base + i * dim + d]
                        gradQuery[base + i * dim + d] += gradScore * key[base + j * dim + d]
                        gradKey[base + j * dim + d] += gradScore * query[base + i * dim + d]
                    }
                }
            }
        }
        return (gradQuery, gradKey, gradValue)
    }
}
