import Testing

@testable import EtaCore

/// Central finite differences in float64 against the Reference's analytic backward pass, for every layer
/// activation and every loss. In float64 with h = 1e-6 the truncation error is O(h²) ≈ 1e-12 and rounding
/// O(ε/h) ≈ 1e-10, so a 1e-6 relative tolerance fails any wrong term and passes any right one.
@Suite("Gradient checks (float64 finite differences)")
struct GradientCheckTests {
    static func check(
        activation: Activation, loss: LossKind, inputs: Int = 5, hidden: [Int] = [4, 3], outputs: Int = 3,
        rows: Int = 4
    ) throws -> Double {
        let outputCount = loss == .bce ? 1 : outputs
        let model = try ModelSpec(kind: "mlp", hidden: hidden, activation: activation).architecture(
            inputs: inputs, outputs: outputCount)
        var random = SplitMix64(seed: 42)
        // Biases away from zero keep relu's kink out of the differencing window.
        let parameters = model.initialParameters(seed: 7).enumerated().map {
            Double($0.element) + 0.05 * Double(random.uniform()) + ($0.offset % 7 == 0 ? 0.3 : 0)
        }
        let x = (0..<(rows * inputs)).map { _ in Double(random.uniform()) }
        let y: [Double]
        switch loss {
        case .crossEntropy: y = (0..<rows).map { Double($0 % outputCount) }
        case .bce: y = (0..<rows).map { Double($0 % 2) }
        case .mse: y = (0..<(rows * outputCount)).map { _ in Double(random.uniform()) }
        }
        let analytic = Reference.lossAndGradient(
            architecture: model, parameters: parameters, loss: loss, inputs: x, targets: y, rows: rows
        ).gradient
        var worst = 0.0
        let h = 1e-6
        for i in parameters.indices {
            var plus = parameters, minus = parameters
            plus[i] += h
            minus[i] -= h
            let numeric =
                (Reference.lossAndGradient(
                    architecture: model, parameters: plus, loss: loss, inputs: x, targets: y, rows: rows
                ).loss
                    - Reference.lossAndGradient(
                        architecture: model, parameters: minus, loss: loss, inputs: x, targets: y, rows: rows
                    ).loss) / (2 * h)
            worst = max(worst, abs(analytic[i] - numeric) / max(1e-3, abs(numeric)))
        }
        return worst
    }

    @Test("every activation through a two-hidden-layer MLP", arguments: Activation.allCases)
    func activations(activation: Activation) throws {
        let error = try Self.check(activation: activation, loss: .crossEntropy)
        #expect(error < 1e-6, "\(activation): relative error \(error)")
    }

    @Test("every loss", arguments: LossKind.allCases)
    func losses(loss: LossKind) throws {
        let error = try Self.check(activation: .tanh, loss: loss)
        #expect(error < 1e-6, "\(loss): relative error \(error)")
    }

    @Test("a single linear layer (softmax regression)")
    func single() throws {
        let error = try Self.check(activation: .identity, loss: .crossEntropy, hidden: [])
        #expect(error < 1e-6)
    }
}
