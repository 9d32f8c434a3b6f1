import Foundation
import Testing

@testable import Eta
@testable import EtaCore

@Suite("LR sweep")
struct SweepTests {
    /// A sweep replica does what a separate run does; only the order of float32 sums inside reductions and
    /// batched GEMMs may differ, so losses agree to well within 1e-4 relative.
    @Test("8 learning rates at once give the losses of 8 separate runs", arguments: Backends.names)
    func matchesSeparateRuns(backendName: String) throws {
        let backend = try Backends.named(backendName)
        var configuration = TrainingConfiguration()
        configuration.epochs = 3
        configuration.optimizer = try OptimizerConfiguration(spec: "adamw:lr=1e-3,weight_decay=0.05")
        let rates = try Sweep.learningRates(list: nil, logRange: "1e-4:1e-1:8")
        let sweep = try Sweep(configuration: configuration, learningRates: rates, backend: backend).run()
        for (index, lr) in rates.enumerated() {
            var single = configuration
            single.optimizer = .adamw(AdamHyperparameters(lr: lr, weightDecay: 0.05, decoupledWeightDecay: true))
            let run = try Trainer(configuration: single, backend: backend).run()
            let separate = run.epochs.last!
            let replica = sweep.runs[index]
            #expect(
                abs(replica.finalTrainLoss - separate.trainLoss) <= 1e-4 * separate.trainLoss,
                "lr \(lr) train: \(replica.finalTrainLoss) vs \(separate.trainLoss)")
            #expect(
                abs(replica.finalValidationLoss! - separate.validationLoss!) <= 1e-4 * separate.validationLoss!,
                "lr \(lr) val")
            #expect(replica.finalValidationAccuracy == separate.validationAccuracy)
        }
    }

    @Test(
        "family optimizers sweep too: each replica matches its separate run", arguments: Backends.names,
        [
            "rmsprop:lr=1e-3,momentum=0.5,weight_decay=0.01", "lion:lr=1e-4,weight_decay=0.1",
            "schedulefree_adamw:lr=1e-3,warmup_steps=10",
            "nadam:lr=1e-3",
        ])
    func family(backendName: String, spec: String) throws {
        let backend = try Backends.named(backendName)
        var configuration = TrainingConfiguration()
        configuration.epochs = 2
        configuration.optimizer = try OptimizerConfiguration(spec: spec)
        let rates = [3e-4, 1e-3, 3e-3]
        let sweep = try Sweep(configuration: configuration, learningRates: rates, backend: backend).run()
        for (index, lr) in rates.enumerated() {
            var single = configuration
            single.optimizer = configuration.optimizer.withLearningRate(lr)
            let separate = try Trainer(configuration: single, backend: backend).run().epochs.last!
            let replica = sweep.runs[index]
            #expect(
                abs(replica.finalTrainLoss - separate.trainLoss) <= 1e-4 * separate.trainLoss,
                "\(spec) lr \(lr) train: \(replica.finalTrainLoss) vs \(separate.trainLoss)")
            #expect(
                abs(replica.finalValidationLoss! - separate.validationLoss!) <= 1e-4 * separate.validationLoss!,
                "\(spec) lr \(lr) val")
        }
    }

    @Test(
        "μP in a sweep: each replica takes its tensors' lr factors and matches its separate run",
        arguments: Backends.names, ["adamw:lr=1e-3,weight_decay=0.1", "sgd:lr=0.01,momentum=0.9"])
    func maximalUpdate(backendName: String, spec: String) throws {
        let backend = try Backends.named(backendName)
        var configuration = TrainingConfiguration()
        configuration.epochs = 2
        configuration.model = try ModelSpec(parsing: "mlp:hidden=64/64")
        configuration.model.parametrization = .maximalUpdate(baseWidth: 16)
        configuration.optimizer = try OptimizerConfiguration(spec: spec)
        let rates = [3e-4, 3e-3, 3e-2]
        let sweep = try Sweep(configuration: configuration, learningRates: rates, backend: backend).run()
        for (index, lr) in rates.enumerated() {
            var single = configuration
            single.optimizer = configuration.optimizer.withLearningRate(lr)
            let separate = try Trainer(configuration: single, backend: backend).run().epochs.last!
            let replica = sweep.runs[index]
            #expect(
                abs(replica.finalTrainLoss - separate.trainLoss) <= 1e-4 * separate.trainLoss,
                "\(spec) lr \(lr) train: \(replica.finalTrainLoss) vs \(separate.trainLoss)")
        }
    }

    @Test("a diverging learning rate is reported with its step and never recommended")
    func divergence() throws {
        var configuration = TrainingConfiguration()
        configuration.dataset = "diabetes"
        configuration.epochs = 3
        configuration.logEvery = 1
        configuration.optimizer = try OptimizerConfiguration(spec: "sgd")
        let result = try Sweep(configuration: configuration, learningRates: [1e-4, 1e-3, 10], backend: Backends.cpu)
            .run()
        #expect(result.runs[2].divergedAtStep != nil)
        #expect(result.runs[0].divergedAtStep == nil && result.runs[1].divergedAtStep == nil)
        #expect(result.recommended != nil && result.recommended != 2)
    }

    @Test("a replica whose loss stays finite but climbs past 4x its start is diverged, and the rule is named")
    func finiteDivergence() throws {
        var configuration = TrainingConfiguration()
        configuration.epochs = 5
        configuration.optimizer = try OptimizerConfiguration(spec: "adam")
        let result = try Sweep(configuration: configuration, learningRates: [1e-3, 3], backend: Backends.cpu).run()
        let high = result.runs[1]
        #expect(high.finalTrainLoss.isFinite, "the rule under test is the finite one")
        #expect(high.divergedAtStep != nil && high.divergenceReason?.contains("× its start") == true)
        #expect(result.runs[0].divergedAtStep == nil && result.runs[0].divergenceReason == nil)
        #expect(result.recommended == 0)
    }

    @Test("--lrs and --log-range parsing")
    func parsing() throws {
        #expect(try Sweep.learningRates(list: "0.1, 0.01", logRange: nil) == [0.1, 0.01])
        let range = try Sweep.learningRates(list: nil, logRange: "1e-3:1e-1:3")
        #expect(abs(range[1] - 1e-2) < 1e-12 && range.count == 3)
        for (list, range) in [
            ("0,1", nil), ("a", nil), (nil, "1:0.1:3"), (nil, "1e-3:1:1"), (nil, "1e-3:1"), ("1", "1e-3:1:3"),
            (nil, nil),
        ] as [(String?, String?)] {
            #expect(throws: EtaError.self) { _ = try Sweep.learningRates(list: list, logRange: range) }
        }
    }
}
