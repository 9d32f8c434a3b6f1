import Foundation
import Testing

@testable import EtaCore

/// PyTorch's outputs and autograd gradients for the convolutional and normalisation layers
/// (`tools/make_layer_fixtures.py`, float64).
struct TorchLayerFixtures: Decodable {
    struct Case: Decodable {
        let kind: String
        let batch: Int?, channels: Int?, outputs: Int?, size: Int?, kernel: Int?, stride: Int?, padding: Int?
        let rows: Int?, cols: Int?
        let runningMean: [Double]?, runningVar: [Double]?
        let vocabulary: Int?, dim: Int?, tokens: [Int]?
        let heads: Int?, length: Int?

        enum CodingKeys: String, CodingKey {
            case kind, batch, channels, outputs, size, kernel, stride, padding, rows, cols, vocabulary, dim, tokens,
                heads, length, inputs, output, upstream, grads
            case runningMean = "running_mean", runningVar = "running_var"
        }
        let inputs: [String: [Double]]
        let output: [Double]
        let upstream: [Double]
        let grads: [String: [Double]]

        var geometry: WindowGeometry {
            WindowGeometry(
                channels: channels!, height: size!, width: size!, kernel: kernel!, stride: stride!, padding: padding!)
        }
    }
    let cases: [Case]

    static let loaded: TorchLayerFixtures = {
        let url = Bundle.module.url(forResource: "torch_layers", withExtension: "json", subdirectory: "Fixtures")!
        return try! JSONDecoder().decode(TorchLayerFixtures.self, from: Data(contentsOf: url))
    }()
}

/// The Reference's layer, in Double: its output and the gradients of its inputs for an upstream gradient.
func referenceLayer(
    _ c: TorchLayerFixtures.Case, inputs: [String: [Double]], upstream: [Double]
) -> (
    output: [Double], grads: [String: [Double]]
) {
    switch c.kind {
    case "conv2d":
        let (x, w, b) = (inputs["input"]!, inputs["weight"]!, inputs["bias"])
        let y = Reference.conv2d(
            input: x, weight: w, bias: b, outputs: c.outputs!, batch: c.batch!, geometry: c.geometry)
        let g = Reference.conv2dBackward(
            gradOutput: upstream, input: x, weight: w, outputs: c.outputs!, batch: c.batch!, geometry: c.geometry)
        var grads = ["input": g.input, "weight": g.weight]
        if b != nil { grads["bias"] = g.bias }
        return (y, grads)
    case "max_pool2d":
        let (y, indices) = Reference.maxPool2d(input: inputs["input"]!, batch: c.batch!, geometry: c.geometry)
        let g = Reference.maxPool2dBackward(gradOutput: upstream, indices: indices, inputCount: inputs["input"]!.count)
        return (y, ["input": g])
    case "avg_pool2d":
        let y = Reference.avgPool2d(input: inputs["input"]!, batch: c.batch!, geometry: c.geometry)
        return (y, ["input": Reference.avgPool2dBackward(gradOutput: upstream, batch: c.batch!, geometry: c.geometry)])
    case "batch_norm2d":
        let (x, gamma, beta) = (inputs["input"]!, inputs["gamma"]!, inputs["beta"]!)
        var running = Reference.BatchNormRunning<Double>(channels: c.channels!)
        let f = Reference.batchNorm2d(
            input: x, gamma: gamma, beta: beta, running: &running, batch: c.batch!, channels: c.channels!,
            training: true)
        let g = Reference.batchNorm2dBackward(
            gradOutput: upstream, input: x, gamma: gamma, mean: f.mean, inverseStd: f.inverseStd, batch: c.batch!,
            channels: c.channels!)
        return (f.output, ["input": g.input, "gamma": g.gamma, "beta": g.beta])
    case "embedding":
        let y = Reference.embedding(tokens: c.tokens!, table: inputs["table"]!, dim: c.dim!)
        let g = Reference.embeddingBackward(
            gradOutput: upstream, tokens: c.tokens!, vocabulary: c.vocabulary!, dim: c.dim!)
        return (y, ["table": g])
    case "causal_attention":
        let (q, k, v) = (inputs["query"]!, inputs["key"]!, inputs["value"]!)
        let f = Reference.causalAttention(query: q, key: k, value: v, heads: c.heads!, length: c.length!)
        let g = Reference.causalAttentionBackward(
            gradOutput: upstream, query: q, key: k, value: v, probabilities: f.probabilities, heads: c.heads!,
            length: c.length!)
        return (f.output, ["query": g.query, "key": g.key, "value": g.value])
    default:  // layer_norm
        let (x, gamma, beta) = (inputs["input"]!, inputs["gamma"]!, inputs["beta"]!)
        let f = Reference.layerNorm(input: x, gamma: gamma, beta: beta, cols: c.cols!)
        let g = Reference.layerNormBackward(
            gradOutput: upstream, input: x, gamma: gamma, mean: f.mean, inverseStd: f.inverseStd, cols: c.cols!)
        return (f.output, ["input": g.input, "gamma": g.gamma, "beta": g.beta])
    }
}

@Suite("Reference convolution, pooling and layer norm")
struct LayerReferenceTests {
    static let cases = TorchLayerFixtures.loaded.cases.indices.map { $0 }

    /// The largest |a − b| over both arrays.
    static func deviation(_ a: [Double], _ b: [Double]) -> Double {
        precondition(a.count == b.count, "lengths \(a.count) and \(b.count) differ")
        return zip(a, b).map { abs($0 - $1) }.max() ?? 0
    }

    // Float64 against float64: the sums run in another order than PyTorch's, so agreement is to a few ULPs of the
    // largest partial sums (|values| <= ~50 here): 1e-12 absolute.
    @Test("outputs and gradients match PyTorch (float64, 1e-12)", arguments: cases)
    func matchesTorch(index: Int) {
        let c = TorchLayerFixtures.loaded.cases[index]
        let (output, grads) = referenceLayer(c, inputs: c.inputs, upstream: c.upstream)
        #expect(Self.deviation(output, c.output) <= 1e-12, "\(c.kind) #\(index) output")
        #expect(Set(grads.keys) == Set(c.grads.keys))
        for (name, expected) in c.grads {
            #expect(Self.deviation(grads[name]!, expected) <= 1e-12, "\(c.kind) #\(index) d\(name)")
        }
    }

    // Central differences with h = 1e-6 on L = Σ upstream · output: truncation O(h²·|f'''|) ~ 1e-12 and rounding
    // ~ 1e-16·|L|/h ~ 1e-9, so 1e-6 absolute separates a right gradient from a wrong one (off by O(1)).
    // Max pooling is piecewise linear: the random inputs have no ties within h, so its derivative exists.
    @Test("gradients match float64 central finite differences", arguments: cases)
    func finiteDifferences(index: Int) {
        let c = TorchLayerFixtures.loaded.cases[index]
        let (_, grads) = referenceLayer(c, inputs: c.inputs, upstream: c.upstream)
        func loss(_ inputs: [String: [Double]]) -> Double {
            zip(referenceLayer(c, inputs: inputs, upstream: c.upstream).output, c.upstream).reduce(0) {
                $0 + $1.0 * $1.1
            }
        }
        let h = 1e-6
        for (name, values) in c.inputs {
            // Every element of small tensors, a stride through larger ones.
            for i in stride(from: 0, to: values.count, by: max(1, values.count / 40)) {
                var plus = c.inputs, minus = c.inputs
                plus[name]![i] += h
                minus[name]![i] -= h
                let numeric = (loss(plus) - loss(minus)) / (2 * h)
                #expect(
                    abs(numeric - grads[name]![i]) <= 1e-6,
                    "\(c.kind) #\(index) d\(name)[\(i)]: \(numeric) vs \(grads[name]![i])")
            }
        }
    }

    @Test("BatchNorm2d's running statistics move as PyTorch's (momentum 0.1, unbiased variance); evaluation uses them")
    func runningStatistics() {
        for c in TorchLayerFixtures.loaded.cases where c.kind == "batch_norm2d" {
            var running = Reference.BatchNormRunning<Double>(channels: c.channels!)
            let (x, gamma, beta) = (c.inputs["input"]!, c.inputs["gamma"]!, c.inputs["beta"]!)
            _ = Reference.batchNorm2d(
                input: x, gamma: gamma, beta: beta, running: &running, batch: c.batch!, channels: c.channels!,
                training: true)
            #expect(Self.deviation(running.mean, c.runningMean!) <= 1e-14)
            #expect(Self.deviation(running.variance, c.runningVar!) <= 1e-14)
            // Evaluation: the running statistics normalise, and nothing moves.
            let frozen = running
            let evaluated = Reference.batchNorm2d(
                input: x, gamma: gamma, beta: beta, running: &running, batch: c.batch!, channels: c.channels!,
                training: false)
            #expect(running == frozen)
            #expect(abs(evaluated.mean[0] - running.mean[0]) == 0)
        }
    }

    @Test("window geometry follows PyTorch's output-size formula")
    func geometry() {
        let g = WindowGeometry(channels: 1, height: 28, width: 28, kernel: 3, stride: 1, padding: 1)
        #expect(g.outputHeight == 28 && g.outputWidth == 28)
        let pool = WindowGeometry(channels: 32, height: 28, width: 28, kernel: 2, stride: 2)
        #expect(pool.outputHeight == 14)
        #expect(WindowGeometry(channels: 1, height: 7, width: 7, kernel: 3, stride: 2, padding: 1).outputHeight == 4)
    }

    @Test("the float32 Reference agrees with the float64 one (single-precision accumulation, 1e-5)")
    func float32() {
        for c in TorchLayerFixtures.loaded.cases where c.kind == "conv2d" {
            let x = c.inputs["input"]!.map(Float.init), w = c.inputs["weight"]!.map(Float.init)
            let b = c.inputs["bias"].map { $0.map(Float.init) }
            let y = Reference.conv2d(
                input: x, weight: w, bias: b, outputs: c.outputs!, batch: c.batch!, geometry: c.geometry)
            // At most C·k² = 36 products of magnitude <= 1 summed in float32: |error| <= 36 · 2⁻²⁴ · 36 < 1e-4;
            // observed far less. 1e-5 is a bound the inputs here (uniform in [-1, 1]) respect with margin.
            #expect(Self.deviation(y.map(Double.init), c.output) <= 1e-5)
        }
    }
}

@Suite("Reference dropout (counter-based mask)")
struct DropoutReferenceTests {
    @Test(
        "keeps 1 − p of the elements (within 5 standard deviations) and scales them by 1/(1 − p)",
        arguments: [0.1, 0.5, 0.9])
    func keepFraction(p: Double) {
        let n = 200_000
        let (output, mask) = Reference.dropout(
            input: [Double](repeating: 1, count: n), p: p, seed: 42, stream: 0, step: 1)
        let kept = Double(mask.filter { $0 }.count)
        let sigma = (Double(n) * p * (1 - p)).squareRoot()
        #expect(abs(kept - Double(n) * (1 - p)) <= 5 * sigma, "kept \(kept) of \(n) at p = \(p)")
        #expect(zip(output, mask).allSatisfy { $1 ? abs($0 - 1 / (1 - p)) < 1e-12 : $0 == 0 })
    }

    @Test("p = 0 keeps everything unscaled; p = 1 drops everything")
    func edges() {
        let input: [Double] = [1, -2, 3, 0.5]
        #expect(Reference.dropout(input: input, p: 0, seed: 1, stream: 0, step: 1).output == input)
        #expect(Reference.dropout(input: input, p: 1, seed: 1, stream: 0, step: 1).output == [0, 0, 0, 0])
    }

    @Test("the mask depends on the seed, the stream and the step, and on nothing else")
    func determinism() {
        let input = [Float](repeating: 1, count: 4096)
        let a = Reference.dropout(input: input, p: 0.5, seed: 7, stream: 2, step: 3).mask
        #expect(a == Reference.dropout(input: input, p: 0.5, seed: 7, stream: 2, step: 3).mask)
        #expect(a == Reference.dropout(input: input.map(Double.init), p: 0.5, seed: 7, stream: 2, step: 3).mask)
        for other in [(8, 2, 3), (7, 3, 3), (7, 2, 4)] {
            let b = Reference.dropout(
                input: input, p: 0.5, seed: UInt64(other.0), stream: UInt64(other.1), step: UInt64(other.2)
            ).mask
            // Independent masks agree on about half the elements; equal ones on all.
            let agree = zip(a, b).filter { $0 == $1 }.count
            #expect(agree < 2300 && agree > 1800, "\(other): \(agree) of 4096 agree")
        }
        // A prefix of a longer layer draws the same mask: element i's draw depends on i alone.
        let long = Reference.dropout(input: [Float](repeating: 1, count: 8192), p: 0.5, seed: 7, stream: 2, step: 3)
            .mask
        #expect(Array(long.prefix(4096)) == a)
    }

    @Test("backward applies the forward mask and scale (the exact gradient of a linear map)")
    func backward() {
        let input: [Double] = (0..<64).map { Double($0) / 10 - 3 }
        let (_, mask) = Reference.dropout(input: input, p: 0.3, seed: 5, stream: 1, step: 9)
        let upstream: [Double] = (0..<64).map { sin(Double($0)) }
        let grad = Reference.dropoutBackward(gradOutput: upstream, mask: mask, p: 0.3)
        for i in input.indices {
            // PyTorch multiplies by scale = 1/(1 − p) (native_dropout: input · mask · scale).
            #expect(grad[i] == (mask[i] ? upstream[i] * (1 / 0.7) : 0))
        }
    }
}
