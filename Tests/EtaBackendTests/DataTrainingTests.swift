import Foundation
import Testing

@testable import Eta
@testable import EtaCore

/// A small MNIST-like IDX folder: `train` images of 4x4 whose label is the brightest quarter (0...3), and `test`
/// t10k images made the same way; `testLabelShift` adds to every t10k label (mod 4) to make the test part differ.
func writeIDX(train: Int = 48, test: Int = 12, testLabelShift: UInt8 = 0, seed: UInt64 = 1) throws -> URL {
    let folder = FileManager.default.temporaryDirectory.appendingPathComponent("eta-idx-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
    var random = SplitMix64(seed: seed)
    func header(_ magic: UInt32, _ dims: [Int]) -> [UInt8] {
        ([magic] + dims.map(UInt32.init)).flatMap { word in
            (0..<4).map { UInt8(truncatingIfNeeded: word >> (24 - 8 * $0)) }
        }
    }
    for (prefix, count, shift) in [("train", train, UInt8(0)), ("t10k", test, testLabelShift)] {
        var pixels: [UInt8] = [], labels: [UInt8] = []
        for _ in 0..<count {
            let label = UInt8(random.next() % 4)
            for index in 0..<16 {
                let quarter = (index / 8) * 2 + (index % 4) / 2
                pixels.append(UInt8(quarter == Int(label) ? 200 + random.next() % 50 : random.next() % 60))
            }
            labels.append((label + shift) % 4)
        }
        try Data(header(0x0803, [count, 4, 4]) + pixels).write(
            to: folder.appendingPathComponent("\(prefix)-images-idx3-ubyte"))
        try Data(header(0x0801, [count]) + labels).write(
            to: folder.appendingPathComponent("\(prefix)-labels-idx1-ubyte"))
    }
    return folder
}

@Suite("Official test splits, sample shapes and step counts in training")
struct DataTrainingTests {
    static func idxConfiguration(_ folder: URL) -> TrainingConfiguration {
        var configuration = TrainingConfiguration()
        configuration.dataset = "idx:" + folder.path
        configuration.epochs = 4
        configuration.batchSize = 8
        configuration.optimizer = .adam(AdamHyperparameters(lr: 1e-2))
        return configuration
    }

    @Test("idx: trains on the train files only and reports test loss and accuracy on t10k", arguments: Backends.names)
    func officialSplit(backendName: String) throws {
        let backend = try Backends.named(backendName)
        let trainer = try Trainer(configuration: Self.idxConfiguration(try writeIDX()), backend: backend)
        #expect(trainer.split.trainRows.count + trainer.split.validationRows.count == 48)
        #expect(trainer.split.testRows == Array(48..<60))
        let result = try trainer.run()
        let loss = try #require(result.testLoss), accuracy = try #require(result.testAccuracy)
        #expect(loss.isFinite && accuracy > 0.5, "an easy task: \(loss), \(accuracy)")
        // Other t10k labels change the test metrics and nothing else: the test rows are never trained on.
        let shifted = try Trainer(
            configuration: Self.idxConfiguration(try writeIDX(testLabelShift: 1)), backend: backend)
        let other = try shifted.run()
        #expect(try shifted.network.arena.download(.parameters) == trainer.network.arena.download(.parameters))
        #expect(other.epochs.last?.validationLoss == result.epochs.last?.validationLoss)
        #expect(other.testAccuracy != result.testAccuracy)
        // The test pass is the validation pass on other rows: evaluated again, the same numbers.
        let again = try #require(try trainer.data.test(trainer.network, batchSize: 5)?.first)
        #expect(abs(again.loss - loss) <= 1e-6 * max(1, loss) && again.accuracy == accuracy)
    }

    @Test("datasets without a test split report none; an interrupted run skips the test pass")
    func noTestSplit() throws {
        var configuration = TrainingConfiguration()
        configuration.epochs = 1
        let result = try Trainer(configuration: configuration, backend: Backends.cpu).run()
        #expect(result.testLoss == nil && result.testAccuracy == nil)
        let trainer = try Trainer(configuration: Self.idxConfiguration(try writeIDX()), backend: Backends.cpu)
        let stopped = try trainer.run(observer: StopAfter(step: 3))
        #expect(stopped.status == .interrupted && stopped.testLoss == nil)
    }

    @Test("inputShape reshapes the samples the trainer sees, and one that does not fit is a usage error")
    func inputShape() throws {
        var configuration = TrainingConfiguration()
        configuration.inputShape = [1, 8, 8]
        configuration.epochs = 0
        let trainer = try Trainer(configuration: configuration, backend: Backends.cpu)
        #expect(trainer.split.dataset.sampleShape == [1, 8, 8])
        configuration.inputShape = [2, 8, 8]
        do {
            _ = try Trainer(configuration: configuration, backend: Backends.cpu)
            Issue.record("expected a usage error")
        } catch let error as EtaError {
            #expect(error.exitCode == 64 && error.message.contains("2x8x8 holds 128 values"), "\(error.message)")
            #expect(error.message.contains("digits has 64 features"), "\(error.message)")
        }
    }

    @Test("steps ends the run, mid-epoch with a partial epoch record; with epochs, whichever comes first")
    func steps() throws {
        var configuration = TrainingConfiguration()
        configuration.steps = 30
        configuration.epochs = Int(Int32.max)
        let trainer = try Trainer(configuration: configuration, backend: Backends.cpu)
        #expect(trainer.stepsPerEpoch == 23 && trainer.totalSteps == 30 && trainer.plannedEpochs == 2)
        let result = try trainer.run()
        #expect(result.status == .completed && trainer.position.step == 30)
        #expect(trainer.position.epoch == 1 && trainer.position.batchInEpoch == 7)
        #expect(result.epochs.map(\.partial) == [false, true])
        let last = try #require(result.epochs.last)
        #expect(last.step == 30 && last.trainLoss.isFinite && last.validationLoss != nil)
        configuration.steps = 100
        configuration.epochs = 2
        let epochsFirst = try Trainer(configuration: configuration, backend: Backends.cpu)
        #expect(epochsFirst.totalSteps == 46 && epochsFirst.plannedEpochs == 2)
        _ = try epochsFirst.run()
        #expect(epochsFirst.position.step == 46 && epochsFirst.position.batchInEpoch == 0)
        configuration.steps = 46
        let exact = try Trainer(configuration: configuration, backend: Backends.cpu)
        #expect(try exact.run().epochs.map(\.partial) == [false, false])
    }

    /// A run cut by its step count and resumed with a larger one is the longer run, bit for bit (Schedule-Free
    /// included: its evaluation at x must not leave rounding behind in y).
    @Test(
        "a run stopped by steps resumes with more steps bit for bit", arguments: Backends.names,
        ["adamw:lr=0.01", "schedulefree_adamw:lr=0.01,warmup_steps=5", "muon:lr=0.02", "adafactor:weight_decay=0.01"])
    func stepsResume(backendName: String, spec: String) throws {
        let backend = try Backends.named(backendName)
        var configuration = TrainingConfiguration()
        configuration.dataset = "iris"
        configuration.batchSize = 16
        configuration.epochs = Int(Int32.max)
        configuration.optimizer = try OptimizerConfiguration(spec: spec)
        configuration.steps = 20
        let full = try Trainer(configuration: configuration, backend: backend)
        let fullResult = try full.run()
        configuration.steps = 9
        let first = try Trainer(configuration: configuration, backend: backend)
        _ = try first.run()
        #expect(first.position.batchInEpoch != 0, "the stop should fall mid-epoch")
        let url = FileManager.default.temporaryDirectory.appendingPathComponent(
            "eta-steps-\(UUID().uuidString).safetensors")
        try Checkpoint.capture(first).write(to: url)
        let checkpoint = try Checkpoint.read(from: url)
        #expect(checkpoint.metadata["steps"] == "9")
        configuration.steps = 20
        let second = try Trainer(configuration: configuration, backend: backend)
        try checkpoint.restore(into: second)
        let rest = try second.run()
        #expect(second.position == full.position)
        #expect(try second.network.arena.download(.parameters) == full.network.arena.download(.parameters), "\(spec)")
        for slot in second.network.arena.stateSlots {
            #expect(try second.network.arena.download(.state(slot)) == full.network.arena.download(.state(slot)))
        }
        // Muon's momentum buffers and its auxiliary AdamW's moments, Adafactor's factored moments.
        let tensorState = try second.network.optimizer.downloadTensorState(second.network.arena)
        #expect(spec.hasPrefix("muon") || spec.hasPrefix("adafactor") ? !tensorState.isEmpty : tensorState.isEmpty)
        #expect(tensorState == (try full.network.optimizer.downloadTensorState(full.network.arena)), "\(spec)")
        #expect(rest.epochs.last?.validationLoss == fullResult.epochs.last?.validationLoss)
    }

    @Test("checkpoints record the input shape, normalisation and step count, and check them on reading")
    func metadata() throws {
        var configuration = TrainingConfiguration()
        configuration.epochs = 1
        configuration.inputShape = [1, 8, 8]
        configuration.normalization = .standard
        configuration.steps = 5
        let trainer = try Trainer(configuration: configuration, backend: Backends.cpu)
        _ = try trainer.run()
        let metadata = try Checkpoint.capture(trainer).metadata
        #expect(metadata["input_shape"] == "1x8x8" && metadata["normalize"] == "standard" && metadata["steps"] == "5")
        #expect(CheckpointMetadata.problem(key: "normalize", text: "zscore", metadata: [:]) != nil)
        #expect(CheckpointMetadata.problem(key: "input_shape", text: "0x8", metadata: [:]) != nil)
        #expect(CheckpointMetadata.problem(key: "steps", text: "-1", metadata: [:]) != nil)
        #expect(CheckpointMetadata.problem(key: "normalize", text: "none", metadata: [:]) == nil)
    }
}
