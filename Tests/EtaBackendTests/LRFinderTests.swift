import Foundation
import Testing

@testable import Eta
@testable import EtaCore

@Suite("LR range test")
struct LRFinderTests {
    static func points(_ losses: [Double]) -> [LRFinder.Point] {
        losses.enumerated().map {
            LRFinder.Point(
                iteration: $0.offset, learningRate: pow(10, -6 + Double($0.offset) * 0.1), loss: $0.element,
                smoothed: $0.element)
        }
    }

    @Test("parameters, optimizer state and position are restored bit for bit", arguments: Backends.names)
    func restores(backendName: String) throws {
        let trainer = try Trainer(configuration: TrainingConfiguration(), backend: try Backends.named(backendName))
        _ = try trainer.run(observer: StopAfter(step: 7))  // some optimizer state to restore
        let before = try TrainerSnapshot(trainer)
        _ = try LRFinder(startLR: 1e-5, endLR: 1, iterations: 40).run(trainer)
        let after = try TrainerSnapshot(trainer)
        #expect(after.parameters == before.parameters)
        #expect(after.state == before.state)
        #expect(after.position == before.position)
        #expect(trainer.network.optimizer.step == before.position.step)
    }

    @Test("with parameter groups every group is swept together at its lr_scale; the lr reported is the base lr")
    func parameterGroups() throws {
        // Plain SGD: one step at lr L moves each parameter by -L·scale·grad, so the groups' ratio is visible.
        func firstStepChange(groups: [ParameterGroup]) throws -> (change: [Float], layout: TensorLayout) {
            var configuration = TrainingConfiguration()
            configuration.optimizer = try OptimizerConfiguration(spec: "sgd:lr=0.1")
            configuration.parameterGroups = groups
            let trainer = try Trainer(configuration: configuration, backend: Backends.cpu)
            let before = try trainer.network.arena.download(.parameters)
            let batch = try #require(trainer.batches(epochs: 1).makeIterator().next())
            _ = try trainer.trainStep(batch, learningRate: 0.05)
            let after = try trainer.network.arena.download(.parameters)
            return (zip(after, before).map { $0 - $1 }, trainer.network.arena.layout)
        }
        let (plain, layout) = try firstStepChange(groups: [])
        let (grouped, _) = try firstStepChange(groups: [try ParameterGroup(spec: "layer0.*:lr_scale=0.1")])
        var checked = 0
        for entry in layout.entries {
            let scale: Float = entry.name.hasPrefix("layer0.") ? 0.1 : 1
            for i in entry.offset..<(entry.offset + entry.count) where plain[i] != 0 {
                // Each change is (p − lr·scale·g) − p in float32: exact to about an ulp of the parameter (|p| < 1:
                // 6e-8), far below the 0.9·|change| a wrong ratio would leave.
                #expect(abs(grouped[i] - scale * plain[i]) <= 1e-4 * abs(plain[i]) + 2.5e-7, "\(entry.name)[\(i)]")
                checked += 1
            }
        }
        #expect(checked > 100)
        #expect(zip(plain, grouped).contains { abs($0) > 1e-5 && abs($1) < 0.2 * abs($0) }, "no tensor was scaled")
        // The finder reports its own lrs (the base lr), not the scaled ones.
        var configuration = TrainingConfiguration()
        configuration.parameterGroups = [try ParameterGroup(spec: "layer0.*:lr_scale=0.1")]
        let trainer = try Trainer(configuration: configuration, backend: Backends.cpu)
        let result = try LRFinder(startLR: 1e-5, endLR: 1, iterations: 30).run(trainer)
        #expect(result.points.first?.learningRate == 1e-5)
    }

    @Test(
        "with gradient accumulation each point is one optimizer step over its mini-batches", arguments: Backends.names)
    func accumulation(backendName: String) throws {
        // 4 mini-batches of 16 averaged (the default) are one step over 64 rows: the same curve as batch 64.
        func curve(batchSize: Int, accumulation: Int) throws -> LRFinder.Result {
            var configuration = TrainingConfiguration()
            configuration.batchSize = batchSize
            configuration.accumulationSteps = accumulation
            let trainer = try Trainer(configuration: configuration, backend: try Backends.named(backendName))
            #expect(trainer.batches(epochs: 1).map(\.rows).prefix(2) == [64, 64])
            return try LRFinder(startLR: 1e-5, endLR: 1, iterations: 20).run(trainer)
        }
        let accumulated = try curve(batchSize: 16, accumulation: 4)
        let whole = try curve(batchSize: 64, accumulation: 1)
        #expect(accumulated.points.count == 20 && whole.points.count == 20)
        for (a, b) in zip(accumulated.points, whole.points) {
            // The same rows and updates; only the order of float32 sums differs (micro-batch means added, then / 4).
            #expect(abs(a.loss - b.loss) <= 1e-4 * abs(b.loss), "point \(a.iteration): \(a.loss) vs \(b.loss)")
        }
    }

    @Test("on digits it suggests a learning rate with which the default training run converges")
    func suggestionConverges() throws {
        let trainer = try Trainer(configuration: TrainingConfiguration(), backend: Backends.cpu)
        let result = try LRFinder(startLR: 1e-7, endLR: 10).run(trainer)
        #expect(result.stopReason == .diverged)
        let valley = try #require(result.suggestions.first { $0.name == "valley" }?.learningRate)
        var configuration = TrainingConfiguration()
        configuration.optimizer = .adam(AdamHyperparameters(lr: valley))
        let accuracy = try #require(
            try Trainer(configuration: configuration, backend: Backends.cpu).run().epochs.last?.validationAccuracy)
        #expect(accuracy >= 0.97, "valley \(valley) reached \(accuracy)")
    }

    @Test("a NaN loss stops the test with non_finite")
    func nonFinite() throws {
        var configuration = TrainingConfiguration()
        configuration.dataset = "diabetes"
        configuration.optimizer = try OptimizerConfiguration(spec: "sgd")
        let trainer = try Trainer(configuration: configuration, backend: Backends.cpu)
        let result = try LRFinder(startLR: 1e-3, endLR: 1e12, iterations: 60, divergeFactor: 1e30).run(trainer)
        #expect(result.stopReason == .nonFinite)
        #expect(!(result.points.last!.loss.isFinite))
        #expect(
            try trainer.network.arena.download(.parameters).allSatisfy(\.isFinite),
            "restored parameters must be the finite originals")
    }

    @Test("data running out stops with data_exhausted")
    func exhausted() throws {
        var configuration = TrainingConfiguration()
        configuration.dataset = "iris"  // 120 rows: 2 batches of 64 per epoch
        let trainer = try Trainer(configuration: configuration, backend: Backends.cpu)
        let result = try LRFinder(startLR: 1e-6, endLR: 1e-5, iterations: 100, maxEpochs: 2).run(trainer)
        #expect(result.stopReason == .dataExhausted)
        #expect(result.points.count == 4)
        #expect(result.suggestions.allSatisfy { $0.learningRate == nil && $0.reason!.contains("too few points") })
    }

    @Test("negative and zero losses: divergence is relative to |best|")
    func negativeLosses() {
        #expect(!LRFinder.diverged(smoothed: -5, best: -8, factor: 4))  // 3 above a best of -8: fine
        #expect(LRFinder.diverged(smoothed: 30, best: -8, factor: 4))  // 38 above: diverged
        #expect(!LRFinder.diverged(smoothed: 3.9, best: 1, factor: 4))
        #expect(LRFinder.diverged(smoothed: 4.1, best: 1, factor: 4))
        #expect(!LRFinder.diverged(smoothed: 0, best: 0, factor: 4))
        var losses: [Double] = []
        for i in 0..<40 {
            let descent = -Double(i)
            let rise = i > 30 ? 3 * Double(i - 30) : 0
            losses.append(descent + rise)
        }
        let suggestions = LRFinder.suggest(Self.points(losses))
        #expect(suggestions.allSatisfy { $0.learningRate != nil })
    }

    @Test("too few points or a loss that never falls: no suggestion, and why")
    func noSuggestion() {
        let few = LRFinder.suggest(Self.points([3, 2, 1]))
        #expect(few.allSatisfy { $0.learningRate == nil && ($0.reason ?? "").contains("too few points") })
        let rising = LRFinder.suggest(Self.points((0..<30).map { Double($0) }))
        #expect(rising.first { $0.name == "valley" }?.reason == "the smoothed loss never decreased over the range")
        #expect(rising.first { $0.name == "steep" }?.learningRate == nil)
        #expect(rising.first { $0.name == "minimum" }?.learningRate != nil)
    }

    @Test("valley lands halfway down the longest descent")
    func valley() {
        var losses: [Double] = []
        for i in 0..<40 {
            if i < 10 {
                losses.append(5)
            } else if i < 30 {
                losses.append(5 - Double(i - 10) * 0.2)
            } else {
                losses.append(1 + Double(i - 30))
            }
        }
        let suggestion = LRFinder.suggest(Self.points(losses)).first { $0.name == "valley" }!
        let index = try! #require(suggestion.index)
        #expect((10...22).contains(index), "valley index \(index)")
    }
}
