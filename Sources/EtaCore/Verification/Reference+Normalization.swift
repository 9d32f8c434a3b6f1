/// Layer normalisation in the plain loops of its definition, generic over Float and Double (`torch.nn.LayerNorm`
/// over the last dimension: biased variance, ε inside the square root, elementwise affine).
extension Reference {
    /// `LayerNorm` forward over each row of `[rows, cols]`: y = (x − mean) / √(var + ε) · γ + β.
    ///
    /// - Parameters:
    ///   - input: `[rows, cols]`.
    ///   - gamma: The scale, `[cols]` (`weight` in PyTorch).
    ///   - beta: The shift, `[cols]` (`bias` in PyTorch).
    ///   - cols: The normalised width.
    ///   - eps: Added to the variance (PyTorch's default 1e-5).
    /// - Returns: The output and, per row, the mean and 1/√(var + ε) the backward pass needs.
    public static func layerNorm<T: ReferenceReal>(
        input: [T], gamma: [T], beta: [T], cols: Int, eps: T = 1e-5
    ) -> (
        output: [T], mean: [T], inverseStd: [T]
    ) {
        let rows = cols == 0 ? 0 : input.count / cols
        var output = [T](repeating: 0, count: input.count)
        var means = [T](repeating: 0, count: rows), inverseStds = [T](repeating: 0, count: rows)
        for r in 0..<rows {
            let row = input[(r * cols)..<((r + 1) * cols)]
            let mean = row.reduce(0, +) / T(cols)
            let variance = row.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / T(cols)
            let inverseStd = 1 / (variance + eps).squareRoot()
            (means[r], inverseStds[r]) = (mean, inverseStd)
            for c in 0..<cols { output[r * cols + c] = (input[r * cols + c] - mean) * inverseStd * gamma[c] + beta[c] }
        }
        return (output, means, inverseStds)
    }

    /// `LayerNorm` backward: with x̂ the normalised input and g = dy · γ,
    /// dx = (g − mean(g) − x̂ · mean(g · x̂)) / √(var + ε), dγ = Σ_rows dy · x̂, dβ = Σ_rows dy.
    ///
    /// - Parameters:
    ///   - gradOutput: `[rows, cols]`.
    ///   - input: The forward pass's input.
    ///   - gamma: The forward pass's scale.
    ///   - mean: The forward pass's row means.
    ///   - inverseStd: The forward pass's 1/√(var + ε) per row.
    ///   - cols: The normalised width.
    /// - Returns: dL/dinput `[rows, cols]`, dL/dγ and dL/dβ `[cols]`.
    public static func layerNormBackward<T: ReferenceReal>(
        gradOutput: [T], input: [T], gamma: [T], mean: [T], inverseStd: [T], cols: Int
    ) -> (input: [T], gamma: [T], beta: [T]) {
        var gradInput = [T](repeating: 0, count: input.count)
        var gradGamma = [T](repeating: 0, count: cols), gradBeta = [T](repeating: 0, count: cols)
        for r in 0..<mean.count {
            var meanG: T = 0, meanGX: T = 0
            for c in 0..<cols {
                let i = r * cols + c
                let normalized = (input[i] - mean[r]) * inverseStd[r]
                let g = gradOutput[i] * gamma[c]
                meanG += g
                meanGX += g * normalized
                gradGamma[c] += gradOutput[i] * normalized
                gradBeta[c] += gradOutput[i]
            }
            (meanG, meanGX) = (meanG / T(cols), meanGX / T(cols))
            for c in 0..<cols {
                let i = r * cols + c
                let normalized = (input[i] - mean[r]) * inverseStd[r]
                gradInput[i] = (gradOutput[i] * gamma[c] - meanG - normalized * meanGX) * inverseStd[r]
            }
        }
        return (gradInput, gradGamma, gradBeta)
    }
}
