import Foundation
import Testing

@testable import Eta

/// The LR tools and training features with the deep models, on small shapes (digits read as 1x8x8 images).
@Suite("Deep models in training")
struct DeepTrainingTests {
    static func configuration(_ model: String) throws -> TrainingConfiguration {
        var configuration = TrainingConfiguration()
        configuration.model = try ModelSpec(parsing: model)
        configuration.inputShape = [1, 8, 8]
        configuration.epochs = 2
        configuration.optimizer = try OptimizerConfiguration(spec: "adamw:lr=3e-3")
        return configuration
    }

    @Test(
        "a CNN sweep (BatchNorm, dropout) gives each replica the losses of its separate run",
        arguments: Backends.names)
    func cnnSweep(backendName: String) throws {
        let backend = try Backends.named(backendName)
        let configuration = try Self.configuration("cnn:channels=4/8,hidden=16,batchnorm=true,dropout=0.1")
        let rates = [1e-3, 3e-3, 1e-2]
        let sweep = try Sweep(configuration: configuration, learningRates: rates, backend: backend).run()
        for (index, lr) in rates.enumerated() {
            var single = configuration
            single.optimizer = try OptimizerConfiguration(spec: "adamw:lr=\(lr)")
            let separate = try Trainer(configuration: single, backend: backend).run().epochs.last!
            let replica = sweep.runs[index]
            #expect(
                abs(replica.finalTrainLoss - separate.trainLoss) <= 1e-4 * separate.trainLoss,
                "lr \(lr): \(replica.finalTrainLoss) vs \(separate.trainLoss)")
            #expect(
                abs(replica.finalValidationLoss! - separate.validationLoss!) <= 1e-4 * separate.validationLoss!,
                "lr \(lr) validation")
        }
    }

    @Test("a GPT cannot run sweep replicas: a usage error that says so")
    func gptReplicas() throws {
        let model = try ModelSpec(parsing: "gpt:layers=1,heads=2,embed=8,context=4").architecture(
            inputShape: [4], outputs: 5)
        #expect {
            _ = try Network(
                architecture: model, loss: .crossEntropy, optimizer: try OptimizerConfiguration(spec: "adamw"),
                maxBatch: 2, backend: Backends.cpu, replicas: 2)
        } throws: { error in
            let error = error as! EtaError
            return error.kind == .usage && error.message.contains("cannot train several replicas")
        }
    }

    @Test(
        "a ResNet resumes from a mid-run checkpoint bit for bit (running statistics included)",
        arguments: Backends.names)
    func resnetResume(backendName: String) throws {
        let backend = try Backends.named(backendName)
        var configuration = try Self.configuration("resnet:blocks=1/1,width=4")
        configuration.epochs = 2
        let full = try Trainer(configuration: configuration, backend: backend)
        let straight = try full.run()
        var first = configuration
        first.epochs = 1
        let half = try Trainer(configuration: first, backend: backend)
        _ = try half.run()
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("eta-resnet-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: file) }
        try Checkpoint.capture(half).write(to: file)
        let resumed = try Trainer(configuration: configuration, backend: backend)
        try Checkpoint.read(from: file).restore(into: resumed)
        let result = try resumed.run()
        #expect(result.epochs.last!.trainLoss == straight.epochs.last!.trainLoss)
        #expect(result.epochs.last!.validationLoss == straight.epochs.last!.validationLoss)
        #expect(
            try backend.read(resumed.network.runningStatistics!) == (try backend.read(full.network.runningStatistics!)))
        #expect(resumed.network.batchesTracked == full.network.batchesTracked)
    }

    @Test("a model that does not fit fails before allocating, naming the request and the limit")
    func tooLarge() throws {
        let model = try ModelSpec(parsing: "cnn:channels=4096/4096,hidden=128").architecture(
            inputShape: [3, 512, 512], outputs: 10)
        #expect {
            _ = try Network(
                architecture: model, loss: .crossEntropy, optimizer: try OptimizerConfiguration(spec: "sgd"),
                maxBatch: 256, backend: Backends.cpu)
        } throws: { error in
            let error = error as! EtaError
            return error.kind == .usage && error.message.contains("this model at batch 256 needs")
        }
    }

    @Test(
        "a CNN trains with accumulation, clipping, bf16 state, groups and the gradient check; lr-find suggests",
        arguments: Backends.names)
    func stepOptions(backendName: String) throws {
        let backend = try Backends.named(backendName)
        var configuration = try Self.configuration("cnn:channels=4/8,hidden=16,batchnorm=true")
        configuration.epochs = 4
        configuration.accumulationSteps = 2
        configuration.clipGradNorm = 1
        configuration.stateType = .bf16
        configuration.parameterGroups = [
            ParameterGroup(pattern: "*.bias", weightDecay: 0), ParameterGroup(pattern: "bn*", weightDecay: 0),
        ]
        configuration.nonFiniteGradients = .skip
        let result = try Trainer(configuration: configuration, backend: backend).run()
        #expect(result.status == .completed)
        #expect(result.epochs.last!.trainLoss < result.epochs.first!.trainLoss, "\(result.epochs.map(\.trainLoss))")
        let finder = LRFinder(iterations: 40)
        let curve = try finder.run(
            try Trainer(configuration: try Self.configuration("cnn:channels=4/8,hidden=16"), backend: backend))
        #expect(curve.points.count > 10 && curve.suggestions.count == 3)
    }
}
