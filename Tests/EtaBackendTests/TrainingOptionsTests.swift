import Foundation
import Testing

@testable import Eta
@testable import EtaCore

@Suite("Family optimizers in training")
struct FamilyTrainingTests {
    /// NAdam keeps host state (mu_product) and Adagrad a non-zero initial accumulator: both must survive a
    /// checkpoint for the continuation to be bit for bit.
    @Test(
        "resume is bit-identical for every family optimizer", arguments: Backends.names,
        [
            "rmsprop:lr=0.01,centered=true,momentum=0.5", "adagrad:lr=0.1,initial_accumulator_value=0.1,lr_decay=0.01",
            "adadelta", "adamax:lr=0.01", "nadam:lr=0.01", "radam:lr=0.01,decoupled_weight_decay=true,weight_decay=0.1",
            "lion:lr=0.001,weight_decay=0.1", "schedulefree_adamw:lr=0.01,warmup_steps=5",
            "schedulefree_sgd:lr=0.1,weight_decay=0.01", "lamb:lr=0.01,weight_decay=0.01",
            "prodigy:weight_decay=0.01,use_bias_correction=true", "prodigy:beta1=0,decouple=false,weight_decay=0.01",
            "dadapt_adam:decouple=true,weight_decay=0.01",
        ])
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
        let url = FileManager.default.temporaryDirectory.appendingPathComponent(
            "eta-family-\(UUID().uuidString).safetensors")
        try Checkpoint.capture(first).write(to: url)
        let second = try Trainer(configuration: configuration, backend: backend)
        try Checkpoint.read(from: url).restore(into: second)
        _ = try second.run()
        #expect(try second.network.arena.download(.parameters) == full.network.arena.download(.parameters), "\(spec)")
        for slot in second.network.arena.stateSlots {
            #expect(
                try second.network.arena.download(.state(slot)) == full.network.arena.download(.state(slot)),
                "\(spec) \(slot)")
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
        let checkpoint = try Checkpoint.read(
            from: {
                let url = FileManager.default.temporaryDirectory.appendingPathComponent(
                    "eta-state-\(UUID().uuidString).safetensors")
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

    @Test(
        "a Schedule-Free checkpoint holds x as the model and y to continue from",
        arguments: ["schedulefree_adamw:lr=0.01", "schedulefree_sgd:lr=0.1"])
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
            #expect(
                tensors[entry.name] == Array(x[entry.offset..<(entry.offset + entry.count)]), "\(entry.name) is not x")
            #expect(
                tensors["optimizer.y.\(entry.name)"] == Array(y[entry.offset..<(entry.offset + entry.count)]),
                "\(entry.name): y")
        }
    }

    @Test(
        "loading one optimizer's checkpoint into another is refused",
        arguments: ["rmsprop", "lion", "prodigy", "schedulefree_adamw"])
    func refused(spec: String) throws {
        let trainer = try Self.trainedOnIris(spec)
        let configuration = trainer.configuration
        let checkpoint = try Checkpoint.read(
            from: {
                let url = FileManager.default.temporaryDirectory.appendingPathComponent(
                    "eta-family-\(UUID().uuidString).safetensors")
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
    @Test(
        "clip_grad_norm_ semantics: the update is bounded, the logged norm is the pre-clip one",
        arguments: Backends.names)
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
        let initial = try Trainer(configuration: TrainingConfiguration(), backend: backend).network.arena.download(
            .parameters)
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
        let arena = try ParameterArena(
            layout: try TensorLayout([("w", [33])]), stateSlots: configuration.stateSlots, backend: backend)
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
        for i in y.indices {
            #expect(abs(x[i] - (y[i] + Float(1 - 1 / 0.9) * (z[i] - y[i]))) <= 4 * abs(x[i]).ulp + 1e-7)
        }
        try optimizer.evaluationMode(arena)  // idempotent
        #expect(try arena.download(.parameters) == x)
        try optimizer.trainingMode(arena)
        let back = try arena.download(.parameters)
        for i in y.indices { #expect(abs(back[i] - y[i]) <= 8 * abs(y[i]).ulp + 1e-7) }
    }
}
