import Foundation
import Testing

@testable import Eta
@testable import EtaCore

/// One case of `tools/make_average_fixtures.py`: a model's parameters after each step and PyTorch's EMA of them.
struct TorchAverage: Decodable {
    let decay: Double
    let steps: Int
    let parameters: [[Float]]
    let averages: [[Float]]

    static let all: [TorchAverage] = {
        struct File: Decodable { let cases: [TorchAverage] }
        let url = Bundle.module.url(forResource: "torch_averages", withExtension: "json", subdirectory: "Fixtures")!
        return try! JSONDecoder().decode(File.self, from: Data(contentsOf: url)).cases
    }()
}

/// Records the parameters after every step.
final class ParameterRecorder: TrainingObserver {
    var parameters: [[Float]] = []
    func trainer(_ trainer: Trainer, didLog step: StepRecord) {}
    func trainer(_ trainer: Trainer, didFinish epoch: EpochRecord) {}
    func trainer(_ trainer: Trainer, didStep step: Int, of totalSteps: Int, epoch: Int) {
        parameters.append(try! trainer.network.arena.download(.parameters))
    }
    var stopRequested: Bool { false }
}

@Suite("Parameter averages (--ema)")
struct ParameterAverageTests {
    @Test(
        "the average equals torch's AveragedModel with get_ema_multi_avg_fn after every step",
        arguments: Backends.names, TorchAverage.all.indices)
    func matchesTorch(backendName: String, index: Int) throws {
        let fixture = TorchAverage.all[index]
        let backend = try Backends.named(backendName)
        let count = fixture.parameters[0].count
        let average = try ParameterAverage(decay: fixture.decay, count: count, backend: backend)
        let parameters = try backend.makeBuffer(count: count)
        for (step, (values, expected)) in zip(fixture.parameters, fixture.averages).enumerated() {
            try backend.write(values, to: parameters)
            try average.update(from: parameters, on: backend)
            let actual = try average.values(on: backend)
            // torch.lerp's float32 rounding, reproduced: at most one ulp apart.
            let worst = zip(actual, expected).map { abs($0 - $1) / max(abs($1).ulp, Float.leastNormalMagnitude) }.max()
            #expect((worst ?? 0) <= 1, "decay \(fixture.decay) step \(step + 1): \(worst ?? 0) ulp")
        }
        #expect(average.updates == fixture.steps)
    }

    @Test("in training: one update per optimizer step, validated beside the raw weights", arguments: Backends.names)
    func training(backendName: String) throws {
        var configuration = TrainingConfiguration()
        configuration.epochs = 2
        configuration.emaDecay = 0.9
        let trainer = try Trainer(configuration: configuration, backend: try Backends.named(backendName))
        let recorder = ParameterRecorder()
        let result = try trainer.run(observer: recorder)
        var expected = recorder.parameters[0]
        for parameters in recorder.parameters.dropFirst() {
            expected = zip(expected, parameters).map { Reference.lerp($0, $1, Float(1 - 0.9)) }
        }
        let average = try #require(trainer.average)
        #expect(average.updates == recorder.parameters.count)
        #expect(try average.values(on: trainer.backend) == expected)
        let last = try #require(result.epochs.last)
        #expect(last.averageValidationLoss != nil && last.averageValidationLoss != last.validationLoss)
        // Validating the average puts the raw parameters back.
        #expect(try trainer.network.arena.download(.parameters) == recorder.parameters.last!)
    }

    @Test("a checkpoint holds the average; resuming continues it bit for bit")
    func resume() throws {
        var configuration = TrainingConfiguration()
        configuration.epochs = 4
        configuration.emaDecay = 0.95
        let straight = try Trainer(configuration: configuration, backend: Backends.cpu)
        _ = try straight.run()
        var half = configuration
        half.epochs = 2
        let first = try Trainer(configuration: half, backend: Backends.cpu)
        _ = try first.run()
        let checkpoint = try Checkpoint.read(bytes: [UInt8](Checkpoint.capture(first).serialized()), path: "memory")
        #expect(
            checkpoint.metadata["ema_decay"] == "0.95" && checkpoint.tensors.contains { $0.name == "ema.layer0.weight" }
        )
        let resumed = try Trainer(configuration: configuration, backend: Backends.cpu)
        try checkpoint.restore(into: resumed)
        _ = try resumed.run()
        #expect(try resumed.average!.values(on: Backends.cpu) == straight.average!.values(on: Backends.cpu))
        #expect(resumed.average!.updates == straight.average!.updates)
    }

    @Test("bad decays and Schedule-Free are refused with exit 64")
    func refusals() throws {
        var configuration = TrainingConfiguration()
        configuration.emaDecay = 1.5
        #expect(throws: EtaError.self) { _ = try Trainer(configuration: configuration, backend: Backends.cpu) }
        configuration.emaDecay = 0.99
        configuration.optimizer = try OptimizerConfiguration(spec: "schedulefree_adamw")
        do {
            _ = try Trainer(configuration: configuration, backend: Backends.cpu)
            Issue.record("Schedule-Free with --ema was accepted")
        } catch let error as EtaError {
            #expect(error.exitCode == 64 && error.message.contains("Schedule-Free"))
        }
    }
}
