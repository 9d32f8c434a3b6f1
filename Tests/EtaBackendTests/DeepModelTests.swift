import Foundation
import Testing

@testable import Eta

/// One model of `tools/make_model_fixtures.py`: PyTorch's modules in float64 with a given state, one training-mode
/// forward and backward on a batch.
struct TorchModelCase: Decodable {
    struct Named: Decodable {
        let name: String
        let shape: [Int]
        let values: [Double]
        let kind: String?
    }
    let spec: String
    let input_shape: String?
    let outputs: Int
    let batch: Int
    let state_dict: [Named]
    let input: Named
    let targets: [Double]
    let output: Named
    let loss: Double
    let grads: [Named]
    let buffers_after: [Named]?
    let eval_output: Named?

    static let loaded: [TorchModelCase] = {
        struct File: Decodable { let cases: [TorchModelCase] }
        let url = Bundle.module.url(forResource: "torch_models", withExtension: "json", subdirectory: "Fixtures")!
        return try! JSONDecoder().decode(File.self, from: Data(contentsOf: url)).cases
    }()
}

/// Whole models on the device against PyTorch: the CNN (with and without BatchNorm), the ResNet and the GPT from the
/// same state give the same logits, loss, parameter gradients, running statistics and evaluation logits.
@Suite("Deep models against PyTorch")
struct DeepModelTests {
    /// Normwise bound per tensor: float32 against PyTorch's float64, sums of at most a few hundred terms of magnitude
    /// ≤ 1 (≤ 300 · 2⁻²⁴ ≈ 2e-5), with BatchNorm's division by a batch deviation as the largest amplifier seen.
    static let tolerance = 1e-4

    static func check(_ name: String, _ actual: [Float], _ expected: [Double], _ label: String) {
        #expect(actual.count == expected.count, "\(label) \(name): \(actual.count) values, PyTorch \(expected.count)")
        let scale = max(expected.map(abs).max() ?? 0, 1e-3)
        let worst = zip(actual, expected).map { abs(Double($0) - $1) }.max() ?? 0
        #expect(worst <= tolerance * scale, "\(label) \(name): max error \(worst) at scale \(scale)")
    }

    /// A network of `model` holding `parameters` after one training step on the batch (float64 values rounded).
    static func trainingStep(
        _ model: ModelArchitecture, parameters: [TorchModelCase.Named], input values: TorchModelCase.Named,
        targets targetValues: [Double], batch: Int, backend: Backend
    ) throws -> (network: Network, input: DeviceBuffer) {
        let network = try Network(
            architecture: model, loss: .crossEntropy, optimizer: try OptimizerConfiguration(spec: "sgd"),
            maxBatch: batch, backend: backend)
        var arena = [Float](repeating: 0, count: model.layout.count)
        for tensor in parameters {
            let entry = try #require(model.layout[tensor.name], "\(tensor.name)")
            arena.replaceSubrange(entry.offset..<(entry.offset + entry.count), with: tensor.values.map { Float($0) })
        }
        try network.arena.upload(arena, to: .parameters)
        let input = try backend.makeBuffer(count: values.values.count)
        try backend.write(values.values.map { Float($0) }, to: input)
        let targets = try backend.makeBuffer(count: targetValues.count)
        try backend.write(targetValues.map { Float($0) }, to: targets)
        try network.trainingStep(input: input, inputOffset: 0, targets: targets, targetsOffset: 0, rows: batch)
        return (network, input)
    }

    @Test(
        "same state, same batch: PyTorch's logits, loss, gradients, running statistics and evaluation logits",
        arguments: Backends.names, TorchModelCase.loaded.indices)
    func matchesPyTorch(backendName: String, index: Int) throws {
        let fixture = TorchModelCase.loaded[index], backend = try Backends.named(backendName)
        let label = "\(fixture.spec) on \(backendName)"
        let spec = try ModelSpec(parsing: fixture.spec)
        let shape = try fixture.input_shape.map(Dataset.parseShape) ?? [spec.context]
        let model = try spec.architecture(inputShape: shape, outputs: fixture.outputs)
        // The same tensors, by PyTorch's names and shapes (parameters in the arena, running statistics beside it).
        let parameters = fixture.state_dict.filter { $0.kind == "parameter" }
        #expect(Set(model.layout.entries.map(\.name)) == Set(parameters.map(\.name)), "\(label)")
        for tensor in parameters {
            #expect(model.layout[tensor.name]?.shape == tensor.shape, "\(label) \(tensor.name)")
        }
        let buffers = fixture.state_dict.filter { $0.kind == "buffer" && !$0.name.hasSuffix("num_batches_tracked") }
        #expect(Set(model.buffers.entries.map(\.name)) == Set(buffers.map(\.name)), "\(label)")

        let (network, input) = try Self.trainingStep(
            model, parameters: parameters, input: fixture.input, targets: fixture.targets, batch: fixture.batch,
            backend: backend)

        Self.check("logits", try network.readOutputs(rows: fixture.batch), fixture.output.values, label)
        let loss = try network.readStats()[.batchLoss]!
        #expect(
            abs(Double(loss) - fixture.loss) <= 1e-5 * max(1, fixture.loss),
            "\(label): loss \(loss), PyTorch \(fixture.loss)")
        for gradient in fixture.grads {
            Self.check(
                gradient.name, try network.arena.download(.gradients, tensor: gradient.name), gradient.values, label)
        }
        if let after = fixture.buffers_after, let statistics = network.runningStatistics {
            let running = try backend.read(statistics)
            for buffer in after where !buffer.name.hasSuffix("num_batches_tracked") {
                let entry = model.buffers[buffer.name]!
                Self.check(
                    buffer.name, Array(running[entry.offset..<(entry.offset + entry.count)]), buffer.values, label)
            }
        }
        if let evaluation = fixture.eval_output {
            try network.forward(input: input, inputOffset: 0, rows: fixture.batch)
            Self.check("evaluation logits", try network.readOutputs(rows: fixture.batch), evaluation.values, label)
        }
    }
}
