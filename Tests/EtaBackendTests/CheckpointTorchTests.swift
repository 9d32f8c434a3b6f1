import Foundation
import Testing

@testable import Eta

/// A trained deep model's checkpoint, read back into a fresh network, gives the trained network's outputs bit for bit.
/// With `ETA_TORCH_CHECK_DIR` set, the checkpoint, the inputs and Eta's outputs are kept there, and
/// `tools/check_torch_load.py` loads each checkpoint into the equivalent PyTorch module with `load_state_dict`
/// (strict) and compares its outputs.
@Suite("Deep-model checkpoints as PyTorch state dicts")
struct CheckpointTorchTests {
    static let models = [
        "cnn:channels=3/4,kernel=3,hidden=8,batchnorm=true", "resnet:blocks=1/1,width=3",
        "gpt:layers=2,heads=2,embed=8,context=8",
    ]

    @Test(
        "reloaded checkpoints give the trained outputs; ETA_TORCH_CHECK_DIR keeps them for PyTorch",
        arguments: Backends.names, Self.models)
    func roundTrip(backendName: String, spec: String) throws {
        let backend = try Backends.named(backendName)
        var configuration = TrainingConfiguration()
        configuration.model = try ModelSpec(parsing: spec)
        configuration.optimizer = try OptimizerConfiguration(spec: "adamw:lr=3e-3")
        configuration.steps = 12
        configuration.epochs = 1
        var inputs: [Float]
        var random = SplitMix64(seed: 21)
        let batch = 3
        if configuration.model.readsTokens {
            let words = ["to", "be", "or", "not", "that", "is", "the", "question"]
            let text =
                (0..<80).map { _ in (0..<5).map { _ in words[Int(random.next() % 8)] }.joined(separator: " ") }
                .joined(separator: "\n") + "\n"
            let file = FileManager.default.temporaryDirectory.appendingPathComponent("eta-text-\(UUID().uuidString)")
            try text.write(to: file, atomically: true, encoding: .utf8)
            configuration.dataset = "text:" + file.path
            configuration.validationBatches = 2
            inputs = (0..<(batch * configuration.model.context)).map { _ in Float(random.next() % 10) }
        } else {
            configuration.inputShape = [1, 8, 8]
            inputs = (0..<(batch * 64)).map { _ in random.uniform() * 0.5 + 0.5 }
        }
        let trainer = try Trainer(configuration: configuration, backend: backend)
        _ = try trainer.run()
        let model = trainer.network.architecture
        let input = try backend.makeBuffer(count: inputs.count)
        try backend.write(inputs, to: input)
        try trainer.network.forward(input: input, inputOffset: 0, rows: batch)
        let trained = try trainer.network.readOutputs(rows: batch)

        let checkpoint = try Checkpoint.capture(trainer)
        let folder =
            ProcessInfo.processInfo.environment["ETA_TORCH_CHECK_DIR"].map { URL(fileURLWithPath: $0) }
            ?? FileManager.default.temporaryDirectory
        let name = "\(spec.prefix { $0 != ":" })-\(backendName)"
        let file = folder.appendingPathComponent("\(name).safetensors")
        try checkpoint.write(to: file)
        let fresh = try Network(
            architecture: model, loss: .crossEntropy, optimizer: try OptimizerConfiguration(spec: "sgd"),
            maxBatch: batch, backend: backend)
        try Checkpoint.read(from: file).loadModel(into: fresh)
        try fresh.forward(input: input, inputOffset: 0, rows: batch)
        #expect(try fresh.readOutputs(rows: batch) == trained, "\(name)")
        #expect(try fresh.arena.download(.parameters) == (try trainer.network.arena.download(.parameters)))

        guard ProcessInfo.processInfo.environment["ETA_TORCH_CHECK_DIR"] != nil else {
            try? FileManager.default.removeItem(at: file)
            return
        }
        let shape: [Int] = model.readsTokens ? [batch, model.inputShape.count] : [batch, 1, 8, 8]
        let record: [String: Any] = [
            "spec": spec, "checkpoint": file.lastPathComponent, "input_shape": model.readsTokens ? NSNull() : "1x8x8",
            "outputs": model.outputShape.channels, "inputs": ["shape": shape, "values": inputs.map(Double.init)],
            "eta_outputs": [
                "shape": [batch * model.outputShape.positions, model.outputShape.channels],
                "values": trained.map(Double.init),
            ],
        ]
        try JSONSerialization.data(withJSONObject: record).write(to: folder.appendingPathComponent("\(name).json"))
    }
}
