import Eta
import Foundation
import Testing

/// The README's Swift API example, compiled and run here. Keep the lines between the markers identical to
/// the README's `swift` block (a test below checks that).
func readmeExample() throws -> [Float] {
    // README-EXAMPLE-BEGIN
    let backend = try DeviceSelection.resolve("auto").makeBackend()
    let layout = try TensorLayout([("weight", [4, 3]), ("bias", [4])])
    let optimizer = Optimizer(try OptimizerConfiguration(spec: "adamw:lr=1e-3,weight_decay=0.01"))
    let arena = try ParameterArena(layout: layout, stateSlots: optimizer.configuration.stateSlots, backend: backend)
    try arena.upload([Float](repeating: 0.5, count: layout.count), to: .parameters)
    try arena.upload([Float](repeating: 0.1, count: layout.count), to: .gradients)
    try optimizer.step(arena)  // one fused launch updates every tensor
    try optimizer.step(arena, learningRate: 5e-4)  // a schedule passes the lr per step
    let bias = try arena.download(.parameters, tensor: "bias")
    print(backend.info.summary, bias)
    // README-EXAMPLE-END
    return bias
}

/// The README's training example.
func readmeTrainingExample() throws -> Float? {
    // README-TRAINING-BEGIN
    var configuration = TrainingConfiguration()
    configuration.dataset = "iris"
    configuration.model = try ModelSpec(parsing: "mlp:hidden=16,act=tanh")
    configuration.optimizer = try OptimizerConfiguration(spec: "adamw:lr=0.01")
    configuration.epochs = 50
    let trainer = try Trainer(configuration: configuration, backend: CPUBackend())
    let result = try trainer.run()
    print(result.epochs.last!.validationAccuracy!, result.samplesPerSecond)
    try Checkpoint.capture(trainer).write(to: URL(fileURLWithPath: NSTemporaryDirectory() + "iris.safetensors"))
    // README-TRAINING-END
    return result.epochs.last!.validationAccuracy
}

/// The README's example of the learning-rate-free optimizers, parameter groups and 16-bit state.
func readmeAdaptiveExample() throws -> (d: Double, accuracy: Float?) {
    // README-ADAPTIVE-BEGIN
    var configuration = TrainingConfiguration()
    configuration.dataset = "iris"
    configuration.optimizer = try OptimizerConfiguration(spec: "prodigy")  // estimates its own step size d
    let prodigy = try Trainer(configuration: configuration, backend: CPUBackend())
    _ = try prodigy.run()
    let d = prodigy.network.optimizer.stepSizeEstimate!  // the effective lr is d x lr
    configuration.optimizer = try OptimizerConfiguration(spec: "adamw:lr=0.01")
    let noDecay = try ParameterGroup(spec: "*.bias:weight_decay=0")
    let slowFirstLayer = try ParameterGroup(spec: "layer0.*:lr_scale=0.5")
    configuration.parameterGroups = [noDecay, slowFirstLayer]
    configuration.stateType = .bf16  // exp_avg and exp_avg_sq in bfloat16
    let adamw = try Trainer(configuration: configuration, backend: CPUBackend())
    let accuracy = try adamw.run().epochs.last!.validationAccuracy
    print("prodigy d \(d), adamw accuracy \(accuracy!)")
    // README-ADAPTIVE-END
    return (d, accuracy)
}

/// The README's example of an image dataset with a test set, on a small IDX folder in MNIST's format.
func readmeDataExample(mnistFolder: String) throws -> (steps: Int, test: Float?) {
    // README-DATA-BEGIN
    let mnist = try Dataset.load("idx:" + mnistFolder)  // e.g. ~/.cache/eta/mnist, from `eta data fetch mnist`
    print(mnist.sampleShape, mnist.testRowCount)  // [1, 28, 28] 10000: the t10k images, never trained on
    var configuration = TrainingConfiguration()
    configuration.optimizer = try OptimizerConfiguration(spec: "adamw:lr=1e-3")
    configuration.epochs = Int(Int32.max)
    configuration.steps = 500  // count in optimizer steps
    let trainer = try Trainer(configuration: configuration, dataset: mnist, backend: CPUBackend())
    let result = try trainer.run()
    print(result.epochs.last!.validationAccuracy!, result.testLoss!, result.testAccuracy!)
    // README-DATA-END
    return (trainer.position.step, result.testAccuracy)
}

/// The README's text example, on a small text file.
func readmeTextExample(textFile: String) throws -> (loss: Float, bits: Float, vocabulary: TextVocabulary) {
    // README-TEXT-BEGIN
    var configuration = TrainingConfiguration()
    configuration.dataset = "text:" + textFile  // or "shakespeare", the built-in plays
    configuration.model = try ModelSpec(parsing: "gpt:layers=1,heads=2,embed=32,context=32")  // 32 characters a window
    configuration.optimizer = try OptimizerConfiguration(spec: "adamw:lr=3e-3")
    configuration.batchSize = 16
    configuration.validationBatches = 4  // fixed windows from the last 10% of the text
    configuration.epochs = Int(Int32.max)
    configuration.steps = 60
    let trainer = try Trainer(configuration: configuration, backend: CPUBackend())
    let last = try trainer.run().epochs.last!
    print(last.validationLoss!, last.validationBitsPerCharacter!)  // nats, and bits per character (nats / ln 2)
    let url = URL(fileURLWithPath: NSTemporaryDirectory() + "text.safetensors")
    try Checkpoint.capture(trainer).write(to: url)
    let vocabulary = try Checkpoint.read(from: url).vocabulary!  // the characters, saved with the model
    print(vocabulary.count, try vocabulary.encode("the king"), vocabulary.decode([2, 3, 4]))
    // README-TEXT-END
    return (last.validationLoss!, last.validationBitsPerCharacter!, vocabulary)
}

@Suite("README")
struct ReadmeTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()

    @Test("the Swift API example runs and agrees with the Reference")
    func example() throws {
        let bias = try readmeExample()
        var p = [Float](repeating: 0.5, count: 4), m = [Float](repeating: 0, count: 4), v = m, none: [Float] = []
        let h = AdamHyperparameters(lr: 1e-3, weightDecay: 0.01, decoupledWeightDecay: true)
        Reference.adam(
            param: &p, grad: [0.1, 0.1, 0.1, 0.1], expAvg: &m, expAvgSq: &v, maxExpAvgSq: &none, hyper: h, step: 1,
            lr: 1e-3)
        Reference.adam(
            param: &p, grad: [0.1, 0.1, 0.1, 0.1], expAvg: &m, expAvgSq: &v, maxExpAvgSq: &none, hyper: h, step: 2,
            lr: 5e-4)
        #expect(bias == p)
    }

    @Test("the training example trains iris")
    func training() throws {
        let accuracy = try #require(try readmeTrainingExample())
        #expect(accuracy >= 0.9)
    }

    @Test("the adaptive example estimates d and trains with groups and bf16 state")
    func adaptive() throws {
        let (d, accuracy) = try readmeAdaptiveExample()
        #expect(d > 1e-6, "d never grew from d0")
        #expect(try #require(accuracy) >= 0.9)
    }

    @Test("the data example trains for its steps and reports test accuracy")
    func data() throws {
        let (steps, accuracy) = try readmeDataExample(mnistFolder: try writeIDX().path)
        let testAccuracy = try #require(accuracy)
        #expect(steps == 500 && testAccuracy > 0.5)
    }

    @Test("the text example trains a gpt below the uniform loss and reads the vocabulary back")
    func text() throws {
        let (loss, bits, vocabulary) = try readmeTextExample(textFile: try writeText(lines: 200))
        #expect(vocabulary.count == 22)
        // Uniform guessing costs ln 22 = 3.09 nats; 60 steps learn at least the letter frequencies.
        #expect(loss < 2.9 && abs(bits - EpochRecord.bits(loss)) == 0, "\(loss), \(bits)")
    }

    @Test(
        "the README shows exactly the examples this file compiles",
        arguments: ["EXAMPLE", "TRAINING", "ADAPTIVE", "DATA", "TEXT"])
    func readmeMatches(marker: String) throws {
        let readme = try String(contentsOf: Self.root.appendingPathComponent("README.md"), encoding: .utf8)
        let source = try String(contentsOf: URL(fileURLWithPath: #filePath), encoding: .utf8)
        let lines = source.components(separatedBy: "\n")
        let begin = try #require(lines.firstIndex { $0.contains("README-" + marker + "-BEGIN") })
        let end = try #require(lines.firstIndex { $0.contains("README-" + marker + "-END") })
        let example = lines[(begin + 1)..<end].map { $0.trimmingCharacters(in: .whitespaces) }.joined(separator: "\n")
        #expect(readme.contains(example), "README.md's \(marker) example differs from ReadmeExampleTests.swift")
    }
}
