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

    static let all: [TorchAverage] = file.cases
    static let swa: [TorchSWA] = file.swa

    struct File: Decodable {
        let cases: [TorchAverage]
        let swa: [TorchSWA]
    }
    static let file: File = {
        let url = Bundle.module.url(forResource: "torch_averages", withExtension: "json", subdirectory: "Fixtures")!
        return try! JSONDecoder().decode(File.self, from: Data(contentsOf: url))
    }()
}

/// One SWA case: PyTorch's documented loop (AveragedModel, SWALR after CosineAnnealingLR stepped per epoch).
struct TorchSWA: Decodable {
    let swa_start: Int
    let swa_lr: Double
    let anneal_epochs: Int
    let anneal_strategy: String
    let epochs: Int
    let lr: Double
    let lrs: [Double]
    let parameters: [[Float]]
    let averages: [[Float]?]

    /// Eta's settings for it: `--swa-start` counts the epochs before the first snapshot (PyTorch's swa_start + 1).
    var settings: StochasticWeightAveraging {
        var swa = StochasticWeightAveraging(start: swa_start + 1, learningRate: swa_lr)
        swa.annealEpochs = anneal_epochs
        swa.anneal = anneal_strategy == "linear" ? .linear : .cos
        return swa
    }
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
        let average = try ParameterAverage(.exponential(decay: fixture.decay), count: count, backend: backend)
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

    @Test("SWA's equal average equals AveragedModel's after every averaged epoch", arguments: Backends.names)
    func swaAverage(backendName: String) throws {
        let backend = try Backends.named(backendName)
        for fixture in TorchAverage.swa {
            let count = fixture.parameters[0].count
            let average = try ParameterAverage(.equal, count: count, backend: backend)
            let parameters = try backend.makeBuffer(count: count)
            for epoch in 0..<fixture.epochs where fixture.settings.averages(afterEpoch: epoch) {
                try backend.write(fixture.parameters[epoch], to: parameters)
                try average.update(from: parameters, on: backend)
                let expected = try #require(fixture.averages[epoch])
                // PyTorch averages on the CPU as avg + (p − avg) / (n + 1) and with foreach kernels (GPUs) as
                // lerp(avg, p, 1 / (n + 1)); Eta runs the lerp on both backends. The two round differently by an
                // ulp or two of the operands per update, so the bound is 4 ulps of the element's largest snapshot.
                let scale = (0...epoch).map { fixture.parameters[$0] }.reduce(
                    [Float](repeating: 0, count: count)
                ) { zip($0, $1).map { max($0, abs($1)) } }
                let worst = zip(zip(try average.values(on: backend), expected), scale).map { pair, magnitude in
                    abs(pair.0 - pair.1) / magnitude.ulp
                }.max()
                #expect((worst ?? 0) <= 4, "swa_start \(fixture.swa_start) epoch \(epoch): \(worst ?? 0) ulp")
            }
            #expect(fixture.averages.filter { $0 != nil }.count == average.updates)
        }
    }

    @Test("SWA in training: the lr of every epoch is SWALR's after the main schedule's, as PyTorch's loop gives it")
    func swaLearningRates() throws {
        for fixture in TorchAverage.swa {
            var configuration = TrainingConfiguration()
            configuration.epochs = fixture.epochs
            configuration.logEvery = 1
            configuration.optimizer = try OptimizerConfiguration(spec: "sgd:lr=\(fixture.lr),momentum=0.9")
            configuration.schedule = try Schedule(spec: "cosine:t_max=\(fixture.epochs)")
            configuration.scheduleInterval = .epoch
            configuration.swa = fixture.settings
            let trainer = try Trainer(configuration: configuration, backend: Backends.cpu)
            let recorder = StopAfter(step: .max)
            let result = try trainer.run(observer: recorder)
            for epoch in 1...fixture.epochs {
                let steps = recorder.logged.filter { $0.epoch == epoch }
                #expect(!steps.isEmpty)
                for step in steps {
                    let expected = fixture.lrs[epoch - 1]
                    #expect(
                        abs(step.learningRate - expected) <= 1e-6 * expected,
                        "swa_start \(fixture.swa_start) epoch \(epoch): \(step.learningRate) vs torch \(expected)")
                }
            }
            let averaged = fixture.averages.filter { $0 != nil }.count
            #expect(trainer.stochasticAverage?.updates == averaged)
            #expect(result.epochs.filter { $0.swaValidationLoss != nil }.count == averaged)
        }
    }

    @Test(
        "update_bn: BatchNorm statistics recomputed for the SWA weights as a cumulative average over the batches",
        arguments: Backends.names)
    func updateBatchNorm(backendName: String) throws {
        // Two equal batches (1,438 training rows, batch 719): the cumulative running mean (momentum 1, then 1/2) is
        // the mean of the two batch means, which is the mean over all rows in one batch.
        var configuration = TrainingConfiguration()
        configuration.inputShape = [1, 8, 8]
        configuration.model = try ModelSpec(parsing: "cnn:channels=4,kernel=3,hidden=16,batchnorm=true")
        configuration.epochs = 3
        configuration.batchSize = 719
        configuration.swa = StochasticWeightAveraging(start: 1, learningRate: 1e-3)
        let backend = try Backends.named(backendName)
        let trainer = try Trainer(configuration: configuration, backend: backend)
        _ = try trainer.run()
        let average = try #require(trainer.stochasticAverage)
        let statistics = try #require(average.runningStatistics)
        #expect(statistics != (try backend.read(trainer.network.runningStatistics!)), "the raw model's are kept apart")
        // The whole training split as one batch through a model holding the SWA weights, from fresh statistics.
        var whole = configuration
        whole.batchSize = 1438
        whole.swa = nil
        let check = try Trainer(configuration: whole, backend: backend)
        try check.network.arena.upload(try average.values(on: backend), to: .parameters)
        let buffers = check.network.architecture.buffers
        try backend.write(
            buffers.entries.flatMap { [Float](repeating: $0.name.hasSuffix("running_var") ? 1 : 0, count: $0.count) },
            to: check.network.runningStatistics!)
        try check.data.load(epoch: configuration.epochs - 1)
        check.network.batchNormMomentum = 1
        try check.network.forward(input: check.data.trainFeatures, inputOffset: 0, rows: 1438, training: true)
        let expected = try backend.read(check.network.runningStatistics!)
        for entry in buffers.entries where entry.name.hasSuffix("running_mean") {
            for i in entry.offset..<(entry.offset + entry.count) {
                // Two float32 means of 719 rows averaged against one of 1,438: a few ulps of the values summed.
                #expect(abs(statistics[i] - expected[i]) <= 1e-4 * max(1, abs(expected[i])), "\(entry.name)[\(i)]")
            }
        }
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
        #expect(last.emaValidationLoss != nil && last.emaValidationLoss != last.validationLoss)
        // Validating the average puts the raw parameters back.
        #expect(try trainer.network.arena.download(.parameters) == recorder.parameters.last!)
    }

    @Test("a checkpoint holds the averages; resuming continues them (and SWALR's lr) bit for bit")
    func resume() throws {
        var configuration = TrainingConfiguration()
        configuration.epochs = 4
        configuration.emaDecay = 0.95
        configuration.swa = StochasticWeightAveraging(start: 1, learningRate: 1e-3)
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
        #expect(
            try resumed.stochasticAverage!.values(on: Backends.cpu)
                == straight.stochasticAverage!.values(on: Backends.cpu))
        #expect(resumed.stochasticAverage!.updates == 3)
        #expect(try resumed.network.arena.download(.parameters) == straight.network.arena.download(.parameters))
    }

    @Test("inference loads the model's weights or an average from a checkpoint")
    func loadAverages() throws {
        var configuration = TrainingConfiguration()
        configuration.epochs = 3
        configuration.emaDecay = 0.9
        configuration.swa = StochasticWeightAveraging(start: 1, learningRate: 1e-3)
        let trainer = try Trainer(configuration: configuration, backend: Backends.cpu)
        _ = try trainer.run()
        let checkpoint = try Checkpoint.capture(trainer)
        let network = trainer.network
        for (weights, expected) in [
            (Checkpoint.Weights.model, try network.arena.download(.parameters)),
            (.ema, try trainer.average!.values(on: Backends.cpu)),
            (.swa, try trainer.stochasticAverage!.values(on: Backends.cpu)),
        ] {
            try network.arena.upload([Float](repeating: 0, count: network.arena.layout.count), to: .parameters)
            try checkpoint.loadModel(into: network, weights: weights)
            #expect(try network.arena.download(.parameters) == expected, "\(weights)")
        }
        var plain = TrainingConfiguration()
        plain.epochs = 1
        let other = try Trainer(configuration: plain, backend: Backends.cpu)
        _ = try other.run()
        #expect(throws: EtaError.self) { try Checkpoint.capture(other).loadModel(into: other.network, weights: .ema) }
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
