import Foundation
import Testing

@testable import Eta
@testable import EtaCore

/// Stops a run after a given step, as Ctrl-C does.
final class StopAfter: TrainingObserver {
    let step: Int
    var logged: [StepRecord] = []
    init(step: Int) { self.step = step }
    private var current = 0
    func trainer(_ trainer: Trainer, didLog step: StepRecord) { logged.append(step) }
    func trainer(_ trainer: Trainer, didFinish epoch: EpochRecord) {}
    func trainer(_ trainer: Trainer, didStep step: Int, of totalSteps: Int, epoch: Int) { current = step }
    var stopRequested: Bool { current >= step }
}

@Suite("Training on the backends")
struct TrainingTests {
    /// Backend gradients (float32, OpenBLAS/CLBlast summation order) against the float64 Reference: each
    /// element within 1e-4 of the gradient's largest magnitude (float32 accumulation over ≤ 64 terms).
    @Test("a training step's gradients match the Reference", arguments: Backends.names, Activation.allCases)
    func gradients(backendName: String, activation: Activation) throws {
        let backend = try Backends.named(backendName)
        for loss in LossKind.allCases {
            let outputs = loss == .bce ? 1 : 4
            let model = try ModelSpec(kind: "mlp", hidden: [9, 6], activation: activation).architecture(
                inputs: 5, outputs: outputs)
            let rows = 13
            var random = SplitMix64(seed: 3)
            let x = random.uniforms(rows * 5)
            let y: [Float] =
                loss == .mse
                ? random.uniforms(rows * outputs) : (0..<rows).map { Float($0 % (loss == .bce ? 2 : outputs)) }
            let network = try Network(
                architecture: model, loss: loss, optimizer: .sgd(SGDHyperparameters()), maxBatch: 16, backend: backend)
            let parameters = model.initialParameters(seed: 11)
            try network.arena.upload(parameters, to: .parameters)
            let input = try backend.makeBuffer(count: x.count), targets = try backend.makeBuffer(count: y.count)
            try backend.write(x, to: input)
            try backend.write(y, to: targets)
            try network.trainingStep(input: input, inputOffset: 0, targets: targets, targetsOffset: 0, rows: rows)
            let actual = try network.arena.download(.gradients)
            let expected = Reference.lossAndGradient(
                architecture: model, parameters: parameters.map(Double.init), loss: loss,
                inputs: x.map(Double.init), targets: y.map(Double.init), rows: rows)
            let scale = expected.gradient.map(abs).max()!
            let worst = zip(actual, expected.gradient).map { abs(Double($0) - $1) }.max()!
            #expect(worst <= 1e-4 * scale + 1e-7, "\(backendName) \(activation) \(loss): \(worst) of \(scale)")
            let loss = try network.readStats()[.batchLoss]!
            #expect(abs(Double(loss) - expected.loss) <= 1e-5 * max(1, abs(expected.loss)))
        }
    }

    @Test("default eta train reaches 97% validation accuracy on digits", arguments: Backends.names)
    func defaultAccuracy(backendName: String) throws {
        let trainer = try Trainer(configuration: TrainingConfiguration(), backend: try Backends.named(backendName))
        let result = try trainer.run()
        let accuracy = try #require(result.epochs.last?.validationAccuracy)
        #expect(accuracy >= 0.97, "\(backendName): \(accuracy)")
        #expect(result.epochs.count == 30)
        #expect(trainer.position.step == 30 * trainer.stepsPerEpoch)
    }

    @Test("CPU and OpenCL losses agree within 1e-3 relative over the first 100 steps", .enabled(if: Backends.runOpenCL))
    func backendsAgree() throws {
        var configuration = TrainingConfiguration()
        configuration.epochs = 5
        configuration.logEvery = 1
        func losses(_ backend: Backend) throws -> [Float] {
            try Trainer(configuration: configuration, backend: backend).run().steps.prefix(100).map(\.loss)
        }
        let cpu = try losses(Backends.cpu), opencl = try losses(try Backends.opencl.get())
        #expect(cpu.count == 100 && opencl.count == 100)
        let worst = zip(cpu, opencl).map { abs($0 - $1) / abs($0) }.max()!
        #expect(worst <= 1e-3, "max relative difference \(worst)")
    }

    @Test("resuming from a mid-epoch checkpoint continues bit for bit", arguments: Backends.names)
    func resume(backendName: String) throws {
        let backend = try Backends.named(backendName)
        var configuration = TrainingConfiguration()
        configuration.dataset = "iris"
        configuration.epochs = 6
        configuration.batchSize = 16
        configuration.optimizer = try OptimizerConfiguration(spec: "adamw:lr=0.01,amsgrad=true")
        let uninterrupted = try Trainer(configuration: configuration, backend: backend)
        let full = try uninterrupted.run()
        let first = try Trainer(configuration: configuration, backend: backend)
        let partial = try first.run(observer: StopAfter(step: 17))
        #expect(partial.status == .interrupted)
        #expect(first.position.batchInEpoch != 0, "the stop should fall mid-epoch")
        let data = try Checkpoint.capture(first).serialized()
        let url = FileManager.default.temporaryDirectory.appendingPathComponent(
            "eta-resume-\(UUID().uuidString).safetensors")
        try AtomicFile.write(data, to: url)
        let second = try Trainer(configuration: configuration, backend: backend)
        try Checkpoint.read(from: url).restore(into: second)
        let rest = try second.run()
        #expect(try second.network.arena.download(.parameters) == uninterrupted.network.arena.download(.parameters))
        for slot in second.network.arena.stateSlots {
            #expect(
                try second.network.arena.download(.state(slot)) == uninterrupted.network.arena.download(.state(slot)))
        }
        #expect(rest.epochs.last?.validationLoss == full.epochs.last?.validationLoss)
        #expect(rest.epochs.last?.trainLoss == full.epochs.last?.trainLoss)
    }

    @Test("the last partial batch is trained on, not dropped")
    func partialBatch() throws {
        var configuration = TrainingConfiguration()
        configuration.dataset = "iris"  // 120 training rows
        configuration.batchSize = 50
        configuration.epochs = 1
        let trainer = try Trainer(configuration: configuration, backend: Backends.cpu)
        #expect(trainer.split.trainRows.count == 120)
        #expect(trainer.stepsPerEpoch == 3)
        _ = try trainer.run()
        #expect(trainer.position.step == 3)
    }
}

@Suite("Checkpoint files")
struct CheckpointTests {
    static func sample() throws -> (Trainer, URL) {
        var configuration = TrainingConfiguration()
        configuration.dataset = "iris"
        configuration.epochs = 1
        let trainer = try Trainer(configuration: configuration, backend: Backends.cpu)
        _ = try trainer.run()
        let url = FileManager.default.temporaryDirectory.appendingPathComponent(
            "eta-ck-\(UUID().uuidString).safetensors")
        try Checkpoint.capture(trainer).write(to: url)
        return (trainer, url)
    }

    static func expectDataError(_ body: () throws -> Void, mentioning check: String) {
        do {
            try body()
            Issue.record("a damaged checkpoint was accepted (\(check))")
        } catch let error as EtaError {
            #expect(error.exitCode == 65, "\(error)")
            #expect(error.message.contains(check), "\(error.message)")
        } catch {
            Issue.record("unexpected \(error)")
        }
    }

    @Test("round trip: every tensor and the metadata")
    func roundTrip() throws {
        let (trainer, url) = try Self.sample()
        let checkpoint = try Checkpoint.read(from: url)
        #expect(checkpoint.tensors.count == trainer.network.arena.layout.entries.count * 3)
        #expect(checkpoint.metadata["optimizer_kind"] == "adam")
        #expect(try checkpoint.position() == trainer.position)
        let restored = try Trainer(configuration: trainer.configuration, backend: Backends.cpu)
        try checkpoint.restore(into: restored)
        #expect(try restored.network.arena.download(.parameters) == trainer.network.arena.download(.parameters))
    }

    @Test(
        "damaged files are refused with exit 65 and the failed check",
        arguments: ["truncate", "flip-data", "flip-header", "empty", "garbage"])
    func damaged(damage: String) throws {
        let (_, url) = try Self.sample()
        var bytes = [UInt8](try Data(contentsOf: url))
        let check: String
        switch damage {
        case "truncate": bytes.removeLast(100); check = "checksum"
        case "flip-data": bytes[bytes.count - 7] ^= 0x10; check = "checksum"
        case "flip-header": bytes[9] = UInt8(ascii: "["); check = "checksum"
        case "empty": bytes = []; check = "format"
        default: bytes = Array("not a checkpoint at all, just text".utf8); check = "format"
        }
        try Data(bytes).write(to: url)
        Self.expectDataError({ _ = try Checkpoint.read(from: url) }, mentioning: check)
    }

    @Test("a missing file is exit 66")
    func missing() {
        do {
            _ = try Checkpoint.read(from: URL(fileURLWithPath: "/nonexistent/eta.safetensors"));
            Issue.record("read a missing file")
        } catch let error as EtaError { #expect(error.exitCode == 66) } catch { Issue.record("\(error)") }
    }

    @Test("another optimizer's state or another model's shapes are refused")
    func mismatch() throws {
        let (trainer, url) = try Self.sample()
        let checkpoint = try Checkpoint.read(from: url)
        var sgd = trainer.configuration
        sgd.optimizer = try OptimizerConfiguration(spec: "sgd:momentum=0.9")
        Self.expectDataError(
            { try checkpoint.restore(into: try Trainer(configuration: sgd, backend: Backends.cpu)) },
            mentioning: "optimizer")
        var wider = trainer.configuration
        wider.model = try ModelSpec(parsing: "mlp:hidden=64")
        Self.expectDataError(
            { try checkpoint.restore(into: try Trainer(configuration: wider, backend: Backends.cpu)) },
            mentioning: "shape")
        var deeper = trainer.configuration
        deeper.model = try ModelSpec(parsing: "mlp:hidden=128/32")
        Self.expectDataError(
            { try checkpoint.restore(into: try Trainer(configuration: deeper, backend: Backends.cpu)) },
            mentioning: "tensor names")
        var amsgrad = trainer.configuration
        amsgrad.optimizer = try OptimizerConfiguration(spec: "adam:amsgrad=true")
        Self.expectDataError(
            { try checkpoint.restore(into: try Trainer(configuration: amsgrad, backend: Backends.cpu)) },
            mentioning: "tensor names")
    }
}

@Suite("Schedules in training")
struct ScheduledTrainingTests {
    @Test("each step uses the schedule's lr and momentum (per step or per epoch)")
    func perStep() throws {
        var configuration = TrainingConfiguration()
        configuration.dataset = "iris"
        configuration.epochs = 4
        configuration.batchSize = 16
        configuration.logEvery = 1
        configuration.optimizer = try OptimizerConfiguration(spec: "sgd:lr=0.05,momentum=0.9")
        configuration.warmup = try Schedule(spec: "linear:start_factor=0.2,total_iters=5")
        configuration.schedule = try Schedule(spec: "onecycle")
        let trainer = try Trainer(configuration: configuration, backend: Backends.cpu)
        let result = try trainer.run()
        let plan = try SchedulePlan(
            main: configuration.schedule, warmup: configuration.warmup, base: 0.05, totalSteps: trainer.totalSteps)
        #expect(result.steps.count == trainer.totalSteps)
        for record in result.steps { #expect(record.learningRate == plan.learningRate(at: record.step - 1)) }
        #expect(Set(result.steps.map(\.learningRate)).count > 10)

        configuration.scheduleInterval = .epoch
        configuration.warmup = nil
        configuration.schedule = try Schedule(spec: "step:step_size=1,gamma=0.5")
        let perEpoch = try Trainer(configuration: configuration, backend: Backends.cpu).run()
        for record in perEpoch.steps { #expect(record.learningRate == 0.05 * pow(0.5, Double(record.epoch - 1))) }
    }

    @Test("plateau lowers the lr on a stalled validation loss, and its state survives a checkpoint")
    func plateau() throws {
        var configuration = TrainingConfiguration()
        configuration.dataset = "iris"
        configuration.epochs = 12
        configuration.logEvery = 1
        configuration.optimizer = try OptimizerConfiguration(spec: "sgd:lr=0.5")
        configuration.schedule = try Schedule(spec: "plateau:patience=0,threshold=0.5,factor=0.5")
        let full = try Trainer(configuration: configuration, backend: Backends.cpu)
        let result = try full.run()
        #expect(Set(result.steps.map(\.learningRate)).count > 2, "plateau never reduced the lr")
        let first = try Trainer(configuration: configuration, backend: Backends.cpu)
        _ = try first.run(observer: StopAfter(step: 20))
        let checkpoint = try Checkpoint.read(
            from: {
                let url = FileManager.default.temporaryDirectory.appendingPathComponent(
                    "eta-plateau-\(UUID().uuidString).safetensors")
                try Checkpoint.capture(first).write(to: url)
                return url
            }())
        #expect(checkpoint.metadata["plateau_state"] != nil)
        let second = try Trainer(configuration: configuration, backend: Backends.cpu)
        try checkpoint.restore(into: second)
        #expect(second.schedulePlan.plateau == first.schedulePlan.plateau)
        _ = try second.run()
        #expect(try second.network.arena.download(.parameters) == full.network.arena.download(.parameters))
    }
}
