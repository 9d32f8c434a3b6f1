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
            let model = try ModelSpec(kind: "mlp", hidden: [9, 6], activation: activation).architecture(inputs: 5, outputs: outputs)
            let rows = 13
            var random = SplitMix64(seed: 3)
            let x = random.uniforms(rows * 5)
            let y: [Float] = loss == .mse ? random.uniforms(rows * outputs) : (0..<rows).map { Float($0 % (loss == .bce ? 2 : outputs)) }
            let network = try Network(architecture: model, loss: loss, optimizer: .sgd(SGDHyperparameters()), maxBatch: 16, backend: backend)
            let parameters = model.initialParameters(seed: 11)
            try network.arena.upload(parameters, to: .parameters)
            let input = try backend.makeBuffer(count: x.count), targets = try backend.makeBuffer(count: y.count)
            try backend.write(x, to: input)
            try backend.write(y, to: targets)
            try network.trainingStep(input: input, inputOffset: 0, targets: targets, targetsOffset: 0, rows: rows)
            let actual = try network.arena.download(.gradients)
            let expected = Reference.lossAndGradient(architecture: model, parameters: parameters.map(Double.init), loss: loss,
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
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("eta-resume-\(UUID().uuidString).safetensors")
        try AtomicFile.write(data, to: url)
        let second = try Trainer(configuration: configuration, backend: backend)
        try Checkpoint.read(from: url).restore(into: second)
        let rest = try second.run()
        #expect(try second.network.arena.download(.parameters) == uninterrupted.network.arena.download(.parameters))
        for slot in second.network.arena.stateSlots {
            #expect(try second.network.arena.download(.state(slot)) == uninterrupted.network.arena.download(.state(slot)))
        }
        #expect(rest.epochs.last?.validationLoss == full.epochs.last?.validationLoss)
        #expect(rest.epochs.last?.trainLoss == full.epochs.last?.trainLoss)
    }

    @Test("the last partial batch is trained on, not dropped")
    func partialBatch() throws {
        var configuration = TrainingConfiguration()
        configuration.dataset = "iris"   // 120 training rows
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
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("eta-ck-\(UUID().uuidString).safetensors")
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

    @Test("damaged files are refused with exit 65 and the failed check", arguments: ["truncate", "flip-data", "flip-header", "empty", "garbage"])
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
        do { _ = try Checkpoint.read(from: URL(fileURLWithPath: "/nonexistent/eta.safetensors")); Issue.record("read a missing file") }
        catch let error as EtaError { #expect(error.exitCode == 66) } catch { Issue.record("\(error)") }
    }

    @Test("another optimizer's state or another model's shapes are refused")
    func mismatch() throws {
        let (trainer, url) = try Self.sample()
        let checkpoint = try Checkpoint.read(from: url)
        var sgd = trainer.configuration
        sgd.optimizer = try OptimizerConfiguration(spec: "sgd:momentum=0.9")
        Self.expectDataError({ try checkpoint.restore(into: try Trainer(configuration: sgd, backend: Backends.cpu)) }, mentioning: "optimizer")
        var wider = trainer.configuration
        wider.model = try ModelSpec(parsing: "mlp:hidden=64")
        Self.expectDataError({ try checkpoint.restore(into: try Trainer(configuration: wider, backend: Backends.cpu)) }, mentioning: "shape")
        var deeper = trainer.configuration
        deeper.model = try ModelSpec(parsing: "mlp:hidden=128/32")
        Self.expectDataError({ try checkpoint.restore(into: try Trainer(configuration: deeper, backend: Backends.cpu)) }, mentioning: "tensor names")
        var amsgrad = trainer.configuration
        amsgrad.optimizer = try OptimizerConfiguration(spec: "adam:amsgrad=true")
        Self.expectDataError({ try checkpoint.restore(into: try Trainer(configuration: amsgrad, backend: Backends.cpu)) }, mentioning: "tensor names")
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
        let plan = try SchedulePlan(main: configuration.schedule, warmup: configuration.warmup, base: 0.05, totalSteps: trainer.totalSteps)
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
        let checkpoint = try Checkpoint.read(from: {
            let url = FileManager.default.temporaryDirectory.appendingPathComponent("eta-plateau-\(UUID().uuidString).safetensors")
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

/// Records the guard's actions.
final class AnomalyRecorder: TrainingObserver {
    var anomalies: [AnomalyRecord] = []
    func trainer(_ trainer: Trainer, didLog step: StepRecord) {}
    func trainer(_ trainer: Trainer, didFinish epoch: EpochRecord) {}
    func trainer(_ trainer: Trainer, didStep step: Int, of totalSteps: Int, epoch: Int) {}
    func trainer(_ trainer: Trainer, didDetect anomaly: AnomalyRecord) { anomalies.append(anomaly) }
    var stopRequested: Bool { false }
}

/// Puts a NaN into the next batch's first feature after step `after`, and checks that the step that follows
/// leaves parameters and optimizer state exactly as they were.
final class NaNInjector: TrainingObserver {
    let after: Int
    var anomalies: [AnomalyRecord] = []
    var snapshot: [[Float]] = []
    var unchanged: Bool?
    init(after: Int) { self.after = after }

    func state(_ trainer: Trainer) throws -> [[Float]] {
        let arena = trainer.network.arena
        return try [arena.download(.parameters)] + arena.stateSlots.map { try arena.download(.state($0)) }
    }
    func trainer(_ trainer: Trainer, didLog step: StepRecord) {}
    func trainer(_ trainer: Trainer, didFinish epoch: EpochRecord) {}
    func trainer(_ trainer: Trainer, didStep step: Int, of totalSteps: Int, epoch: Int) {
        if step == after {
            snapshot = try! state(trainer)
            let row = trainer.position.batchInEpoch * trainer.configuration.batchSize
            try! trainer.backend.write([Float.nan], to: trainer.data.trainFeatures, offset: row * trainer.split.dataset.featureCount)
        } else if step == after + 1 {
            unchanged = try! state(trainer) == snapshot
        }
    }
    func trainer(_ trainer: Trainer, didDetect anomaly: AnomalyRecord) { anomalies.append(anomaly) }
    var stopRequested: Bool { false }
}

@Suite("Non-finite gradients")
struct NonFiniteGradientTests {
    static func configuration(_ policy: NonFiniteGradientPolicy) throws -> TrainingConfiguration {
        var c = TrainingConfiguration()
        c.epochs = 2
        c.optimizer = try OptimizerConfiguration(spec: "adamw:lr=0.002")
        c.nonFiniteGradients = policy
        return c
    }

    @Test("skip: the step changes nothing, is counted as skipped, and training goes on", arguments: Backends.names)
    func skip(backendName: String) throws {
        let injector = NaNInjector(after: 5)
        let trainer = try Trainer(configuration: try Self.configuration(.skip), backend: try Backends.named(backendName))
        let result = try trainer.run(observer: injector)
        #expect(result.status == .completed)
        #expect(injector.unchanged == true, "the skipped step changed parameters or state")
        #expect(injector.anomalies.count == 1)
        let anomaly = try #require(injector.anomalies.first)
        #expect(anomaly.kind == "non_finite_gradient" && anomaly.action == "skip" && anomaly.step == 6)
        #expect(trainer.position.skippedSteps == 1 && trainer.network.optimizer.step == trainer.position.step - 1)
        #expect(try trainer.network.arena.download(.parameters).allSatisfy(\.isFinite))
    }

    @Test("abort: the run ends as diverged, naming the step and the tensor", arguments: Backends.names)
    func abort(backendName: String) throws {
        let injector = NaNInjector(after: 3)
        let trainer = try Trainer(configuration: try Self.configuration(.abort), backend: try Backends.named(backendName))
        let result = try trainer.run(observer: injector)
        #expect(result.status == .diverged)
        let anomaly = try #require(injector.anomalies.first)
        #expect(anomaly.action == "abort" && anomaly.step == 4)
        #expect(anomaly.tensor == trainer.network.arena.layout.entries.first?.name, "\(anomaly.tensor ?? "nil")")
    }

    @Test("consecutive skips are capped, then the run aborts")
    func capped() throws {
        var configuration = try Self.configuration(.skip)
        configuration.divergenceGuard.maxConsecutiveSkips = 3
        configuration.optimizer = try OptimizerConfiguration(spec: "sgd:lr=1e30")   // the parameters overflow: every gradient after is non-finite
        let recorder = AnomalyRecorder()
        let trainer = try Trainer(configuration: configuration, backend: Backends.cpu)
        let result = try trainer.run(observer: recorder)
        #expect(result.status == .diverged)
        #expect(recorder.anomalies.map(\.action) == ["skip", "skip", "skip", "abort"])
    }
}

@Suite("Divergence guard")
struct DivergenceGuardTests {
    /// Diabetes (unscaled targets, MSE) with plain SGD: lr 5 blows up within an epoch, lr 0.005 overshoots
    /// slowly until the loss spikes.
    static func configuration(lr: Double, policy: DivergenceGuard.Policy, spike: Double? = nil) throws -> TrainingConfiguration {
        var c = TrainingConfiguration()
        c.dataset = "diabetes"
        c.epochs = 20
        c.logEvery = 1
        c.optimizer = try OptimizerConfiguration(spec: "sgd:lr=\(lr)")
        c.divergenceGuard.policy = policy
        c.divergenceGuard.spikeFactor = spike
        return c
    }

    @Test("abort ends the run as diverged at the first non-finite loss", arguments: Backends.names)
    func abort(backendName: String) throws {
        let recorder = AnomalyRecorder()
        let trainer = try Trainer(configuration: try Self.configuration(lr: 5, policy: .abort), backend: try Backends.named(backendName))
        let result = try trainer.run(observer: recorder)
        #expect(result.status == .diverged)
        #expect(recorder.anomalies.count == 1)
        #expect(recorder.anomalies.first?.kind == "non_finite_loss" && recorder.anomalies.first?.action == "abort")
    }

    @Test("skip drops non-finite updates: parameters stay finite, the optimizer's step count excludes them")
    func skip() throws {
        let recorder = AnomalyRecorder()
        let trainer = try Trainer(configuration: try Self.configuration(lr: 0.3, policy: .skip), backend: Backends.cpu)
        let result = try trainer.run(observer: recorder)
        #expect(recorder.anomalies.filter { $0.action == "skip" }.count == 10)
        #expect(result.status == .diverged, "ten skips in a row abort")
        #expect(try trainer.network.arena.download(.parameters).allSatisfy(\.isFinite))
        #expect(trainer.network.optimizer.step == trainer.position.step - trainer.position.skippedSteps)
    }

    @Test("rollback on a loss spike restores the last good state, halves the lr, and the run completes")
    func rollback() throws {
        let recorder = AnomalyRecorder()
        let trainer = try Trainer(configuration: try Self.configuration(lr: 0.005, policy: .rollback, spike: 3), backend: Backends.cpu)
        let result = try trainer.run(observer: recorder)
        #expect(result.status == .completed)
        let anomaly = try #require(recorder.anomalies.first)
        #expect(anomaly.kind == "loss_spike" && anomaly.action == "rollback")
        #expect(anomaly.restoredStep! < anomaly.step)
        #expect(trainer.position.learningRateScale == 0.5)
        #expect(result.steps.last!.learningRate == 0.0025)
        #expect(result.epochs.last!.validationLoss!.isFinite)
    }

    @Test("rollbacks are capped, then the run aborts")
    func rollbackCap() throws {
        var c = try Self.configuration(lr: 0.5, policy: .rollback)
        c.divergenceGuard.maxRollbacks = 2
        let recorder = AnomalyRecorder()
        let result = try Trainer(configuration: c, backend: Backends.cpu).run(observer: recorder)
        #expect(result.status == .diverged)
        #expect(recorder.anomalies.map(\.action) == ["rollback", "rollback", "abort"])
    }
}

@Suite("Family optimizers in training")
struct FamilyTrainingTests {
    /// NAdam keeps host state (mu_product) and Adagrad a non-zero initial accumulator: both must survive a
    /// checkpoint for the continuation to be bit for bit.
    @Test("resume is bit-identical for every family optimizer", arguments: Backends.names, ["rmsprop:lr=0.01,centered=true,momentum=0.5", "adagrad:lr=0.1,initial_accumulator_value=0.1,lr_decay=0.01",
                      "adadelta", "adamax:lr=0.01", "nadam:lr=0.01", "radam:lr=0.01,decoupled_weight_decay=true,weight_decay=0.1",
                      "lion:lr=0.001,weight_decay=0.1", "schedulefree_adamw:lr=0.01,warmup_steps=5",
                      "schedulefree_sgd:lr=0.1,weight_decay=0.01", "lamb:lr=0.01,weight_decay=0.01",
                      "prodigy:weight_decay=0.01,use_bias_correction=true", "prodigy:beta1=0,decouple=false,weight_decay=0.01",
                      "dadapt_adam:decouple=true,weight_decay=0.01"])
    func familyResume(backendName: String, spec: String) throws {
        let backend = try Backends.named(backendName)
        var configuration = TrainingConfiguration()
        configuration.dataset = "iris"
        configuration.epochs = 4
        configuration.batchSize = 16
        configuration.optimizer = try OptimizerConfiguration(spec: spec)
        let full = try Trainer(configuration: configuration, backend: backend)
        _ = try full.run()
        let first = try Trainer(configuration: configuration, backend: backend)
        _ = try first.run(observer: StopAfter(step: 11))
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("eta-family-\(UUID().uuidString).safetensors")
        try Checkpoint.capture(first).write(to: url)
        let second = try Trainer(configuration: configuration, backend: backend)
        try Checkpoint.read(from: url).restore(into: second)
        _ = try second.run()
        #expect(try second.network.arena.download(.parameters) == full.network.arena.download(.parameters), "\(spec)")
        for slot in second.network.arena.stateSlots {
            #expect(try second.network.arena.download(.state(slot)) == full.network.arena.download(.state(slot)), "\(spec) \(slot)")
        }
    }

    @Test("resume is bit-identical with bf16 and fp16 state", arguments: Backends.names, [StorageType.bf16, .fp16])
    func resumeStateStorage(backendName: String, type: StorageType) throws {
        let backend = try Backends.named(backendName)
        var configuration = TrainingConfiguration()
        configuration.dataset = "iris"
        configuration.epochs = 4
        configuration.batchSize = 16
        configuration.stateType = type
        configuration.optimizer = try OptimizerConfiguration(spec: "adamw:lr=0.01,eps=1e-3")
        let full = try Trainer(configuration: configuration, backend: backend)
        _ = try full.run()
        let first = try Trainer(configuration: configuration, backend: backend)
        _ = try first.run(observer: StopAfter(step: 11))
        let checkpoint = try Checkpoint.read(from: {
            let url = FileManager.default.temporaryDirectory.appendingPathComponent("eta-state-\(UUID().uuidString).safetensors")
            try Checkpoint.capture(first).write(to: url)
            return url
        }())
        #expect(checkpoint.metadata["state_dtype"] == type.rawValue)
        let second = try Trainer(configuration: configuration, backend: backend)
        try checkpoint.restore(into: second)
        _ = try second.run()
        #expect(try second.network.arena.download(.parameters) == full.network.arena.download(.parameters))
        for slot in second.network.arena.stateSlots {
            let state = try second.network.arena.download(.state(slot))
            #expect(state == (try full.network.arena.download(.state(slot))), "\(slot)")
            #expect(state.allSatisfy { type.rounded($0) == $0 }, "\(slot) holds values the storage cannot")
        }
    }

    /// A one-epoch iris run with `spec`.
    static func trainedOnIris(_ spec: String) throws -> Trainer {
        var configuration = TrainingConfiguration()
        configuration.dataset = "iris"
        configuration.epochs = 1
        configuration.optimizer = try OptimizerConfiguration(spec: spec)
        let trainer = try Trainer(configuration: configuration, backend: Backends.cpu)
        _ = try trainer.run()
        return trainer
    }

    @Test("a Schedule-Free checkpoint holds x as the model and y to continue from", arguments: ["schedulefree_adamw:lr=0.01", "schedulefree_sgd:lr=0.1"])
    func scheduleFreeCheckpoint(spec: String) throws {
        let trainer = try Self.trainedOnIris(spec)
        let checkpoint = try Checkpoint.capture(trainer)
        let arena = trainer.network.arena
        let y = try arena.download(.parameters)
        try trainer.network.optimizer.evaluationMode(arena)
        let x = try arena.download(.parameters)
        try trainer.network.optimizer.trainingMode(arena)
        #expect(x != y)
        let tensors = Dictionary(uniqueKeysWithValues: checkpoint.tensors.map { ($0.name, $0.values) })
        for entry in arena.layout.entries {
            #expect(tensors[entry.name] == Array(x[entry.offset..<(entry.offset + entry.count)]), "\(entry.name) is not x")
            #expect(tensors["optimizer.y.\(entry.name)"] == Array(y[entry.offset..<(entry.offset + entry.count)]), "\(entry.name): y")
        }
    }

    @Test("loading one optimizer's checkpoint into another is refused", arguments: ["rmsprop", "lion", "prodigy", "schedulefree_adamw"])
    func refused(spec: String) throws {
        let trainer = try Self.trainedOnIris(spec)
        let configuration = trainer.configuration
        let checkpoint = try Checkpoint.read(from: {
            let url = FileManager.default.temporaryDirectory.appendingPathComponent("eta-family-\(UUID().uuidString).safetensors")
            try Checkpoint.capture(trainer).write(to: url)
            return url
        }())
        var other = configuration
        other.optimizer = try OptimizerConfiguration(spec: "adam")
        do {
            try checkpoint.restore(into: try Trainer(configuration: other, backend: Backends.cpu))
            Issue.record("\(spec) state loaded into adam")
        } catch let error as EtaError {
            #expect(error.exitCode == 65 && error.message.contains("'optimizer'"))
        }
    }
}

@Suite("Gradient clipping")
struct ClippingTests {
    @Test("clip_grad_norm_ semantics: the update is bounded, the logged norm is the pre-clip one", arguments: Backends.names)
    func norm(backendName: String) throws {
        var configuration = TrainingConfiguration()
        configuration.epochs = 1
        configuration.logEvery = 1
        configuration.optimizer = try OptimizerConfiguration(spec: "sgd:lr=0.1")
        configuration.clipGradNorm = 0.01
        let trainer = try Trainer(configuration: configuration, backend: try Backends.named(backendName))
        let before = try trainer.network.arena.download(.parameters)
        let result = try trainer.run(observer: StopAfter(step: 1))
        let after = try trainer.network.arena.download(.parameters)
        let moved = zip(before, after).reduce(0.0) { $0 + Double($1.0 - $1.1) * Double($1.0 - $1.1) }.squareRoot()
        #expect(moved <= 0.1 * 0.01 * 1.001, "moved \(moved)")
        #expect(moved >= 0.1 * 0.01 * 0.99, "a clipped step still moves lr × max_norm")
        #expect(result.steps[0].gradNorm > 0.01, "the logged norm is the pre-clip one")
    }

    @Test("clipping by value trains, and both backends agree")
    func value() throws {
        var configuration = TrainingConfiguration()
        configuration.epochs = 2
        configuration.logEvery = 1
        configuration.clipGradValue = 0.001
        let cpu = try Trainer(configuration: configuration, backend: Backends.cpu).run()
        #expect(cpu.epochs.last!.validationLoss! < cpu.epochs.first!.trainLoss * 2)
        guard Backends.runOpenCL else { return }
        let opencl = try Trainer(configuration: configuration, backend: try Backends.opencl.get()).run()
        for (a, b) in zip(cpu.steps, opencl.steps) { #expect(abs(a.loss - b.loss) <= 1e-3 * abs(a.loss)) }
    }
}

@Suite("Gradient accumulation")
struct AccumulationTests {
    static func firstStep(batch: Int, accumulate: Int, mean: Bool, backend: Backend) throws -> [Float] {
        var configuration = TrainingConfiguration()
        configuration.batchSize = batch
        configuration.accumulationSteps = accumulate
        configuration.accumulationMean = mean
        configuration.optimizer = try OptimizerConfiguration(spec: "sgd:lr=0.1")
        let trainer = try Trainer(configuration: configuration, backend: backend)
        _ = try trainer.run(observer: StopAfter(step: 1))
        #expect(trainer.position.batchInEpoch == 64 / batch)
        return try trainer.network.arena.download(.parameters)
    }

    /// Four micro-batches of 16 averaged are one batch of 64 (the same rows): equal up to float32 summation
    /// order in the GEMMs and bias sums.
    @Test("mean of 4 x 16 equals one batch of 64; sum is 4 times the mean step", arguments: Backends.names)
    func equivalence(backendName: String) throws {
        let backend = try Backends.named(backendName)
        let initial = try Trainer(configuration: TrainingConfiguration(), backend: backend).network.arena.download(.parameters)
        let whole = try Self.firstStep(batch: 64, accumulate: 1, mean: true, backend: backend)
        let mean = try Self.firstStep(batch: 16, accumulate: 4, mean: true, backend: backend)
        let sum = try Self.firstStep(batch: 16, accumulate: 4, mean: false, backend: backend)
        // Float32 sums of 64 products cancel: errors scale with the largest step, not each element's own.
        let scale = initial.indices.map { abs(whole[$0] - initial[$0]) }.max()!
        for i in initial.indices {
            let stepMean = mean[i] - initial[i], stepSum = sum[i] - initial[i]
            // Besides the step's own error, each parameter rounds once when the step is added: 2 ulps of it.
            let rounding = 2 * whole[i].ulp
            #expect(abs(mean[i] - whole[i]) <= 1e-5 * scale + rounding, "parameter \(i)")
            #expect(abs(stepSum - 4 * stepMean) <= 4e-5 * scale + 4 * rounding, "parameter \(i)")
        }
    }
}

@Suite("Schedule-Free train/eval switch")
struct ScheduleFreeModeTests {
    /// x = lerp(y, z, 1 − 1/β) for evaluation, then y = lerp(x, z, 1 − β) back: y is recovered up to one
    /// rounding per switch, as in the reference implementation.
    @Test("evaluation mode holds x, training mode returns to y", arguments: Backends.names)
    func modes(backendName: String) throws {
        let backend = try Backends.named(backendName)
        let configuration = try OptimizerConfiguration(spec: "schedulefree_adamw:lr=0.05")
        let arena = try ParameterArena(layout: try TensorLayout([("w", [33])]), stateSlots: configuration.stateSlots, backend: backend)
        let optimizer = Optimizer(configuration)
        var random = SplitMix64(seed: 9)
        try arena.upload(random.uniforms(33), to: .parameters)
        for _ in 0..<5 {
            try arena.upload(random.uniforms(33), to: .gradients)
            try optimizer.step(arena)
        }
        let y = try arena.download(.parameters), z = try arena.download(.state("z"))
        try optimizer.evaluationMode(arena)
        let x = try arena.download(.parameters)
        for i in y.indices { #expect(abs(x[i] - (y[i] + Float(1 - 1 / 0.9) * (z[i] - y[i]))) <= 4 * abs(x[i]).ulp + 1e-7) }
        try optimizer.evaluationMode(arena)   // idempotent
        #expect(try arena.download(.parameters) == x)
        try optimizer.trainingMode(arena)
        let back = try arena.download(.parameters)
        for i in y.indices { #expect(abs(back[i] - y[i]) <= 8 * abs(y[i]).ulp + 1e-7) }
    }
}
