import Foundation
import Testing

@testable import Eta
@testable import EtaCore

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
            try! trainer.backend.write(
                [Float.nan], to: trainer.data.trainFeatures, offset: row * trainer.split.dataset.featureCount)
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
        let trainer = try Trainer(
            configuration: try Self.configuration(.skip), backend: try Backends.named(backendName))
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
        let trainer = try Trainer(
            configuration: try Self.configuration(.abort), backend: try Backends.named(backendName))
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
        // the parameters overflow: every gradient after is non-finite
        configuration.optimizer = try OptimizerConfiguration(spec: "sgd:lr=1e30")
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
    static func configuration(
        lr: Double, policy: DivergenceGuard.Policy, spike: Double? = nil
    ) throws -> TrainingConfiguration {
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
        let trainer = try Trainer(
            configuration: try Self.configuration(lr: 5, policy: .abort), backend: try Backends.named(backendName))
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
        let trainer = try Trainer(
            configuration: try Self.configuration(lr: 0.005, policy: .rollback, spike: 3), backend: Backends.cpu)
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
