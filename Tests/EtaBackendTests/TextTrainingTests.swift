import Foundation
import Testing

@testable import Eta
@testable import EtaCore

/// A small text file of words on lines (every character appears early), and its path.
func writeText(seed: UInt64 = 5, lines: Int = 80, uppercase: Bool = false) throws -> String {
    var random = SplitMix64(seed: seed)
    let words = ["the", "king", "queen", "and", "fool", "speak", "not", "so", "well", "ay", "my", "lord"]
    let text =
        (0..<lines).map { _ in (0..<5).map { _ in words[Int(random.next() % 12)] }.joined(separator: " ") }
        .joined(separator: "\n") + "\n"
    let url = FileManager.default.temporaryDirectory.appendingPathComponent("eta-text-\(UUID().uuidString).txt")
    try (uppercase ? text.uppercased() : text).write(to: url, atomically: true, encoding: .utf8)
    return url.path
}

@Suite("Text datasets in training: a GPT on characters")
struct TextTrainingTests {
    static func configuration(_ path: String, steps: Int = 12) throws -> TrainingConfiguration {
        var configuration = TrainingConfiguration()
        configuration.dataset = "text:" + path
        configuration.model = try ModelSpec(parsing: "gpt:layers=1,heads=2,embed=16,context=8")
        configuration.optimizer = try OptimizerConfiguration(spec: "adamw:lr=3e-3")
        configuration.batchSize = 8
        configuration.validationBatches = 3
        configuration.epochs = Int(Int32.max)
        configuration.steps = steps
        configuration.logEvery = 1
        return configuration
    }

    static func expectDataError(_ body: () throws -> Void, mentioning fragments: [String]) {
        do {
            try body()
            Issue.record("expected exit 65 mentioning \(fragments)")
        } catch let error as EtaError {
            #expect(error.exitCode == 65, "\(error.message)")
            for fragment in fragments { #expect(error.message.contains(fragment), "\(fragment): \(error.message)") }
        } catch {
            Issue.record("\(error)")
        }
    }

    @Test("a gpt trains on windows of the text; epoch records carry bits per character", arguments: Backends.names)
    func trains(backendName: String) throws {
        let trainer = try Trainer(
            configuration: try Self.configuration(try writeText()), backend: try Backends.named(backendName))
        let corpus = try #require(trainer.split.dataset.text)
        #expect(trainer.split.trainRows.count == corpus.trainingIDs.count / 8)
        #expect(trainer.split.validationRows.count == 3 * 8)
        #expect(trainer.network.outputPositions == 8 && trainer.network.targetWidth == 8)
        let result = try trainer.run()
        #expect(result.status == .completed && trainer.position.step == 12)
        let last = try #require(result.epochs.last)
        let loss = try #require(last.validationLoss), bits = try #require(last.validationBitsPerCharacter)
        #expect(last.perCharacter && loss.isFinite)
        // bpc = nats / ln 2, computed in double and rounded once: within one float32 ulp.
        #expect(abs(bits - Float(Double(loss) / log(2.0))) <= bits.ulp)
        #expect(abs(try #require(last.trainBitsPerCharacter) - Float(Double(last.trainLoss) / log(2.0))) <= bits.ulp)
        // The first epoch's loss starts near ln(vocabulary): the output is nearly uniform at initialisation.
        let first = try #require(result.epochs.first)
        #expect(first.trainLoss < Float(log(Double(corpus.vocabulary.count))) * 1.3)
    }

    @Test("resuming a text run mid-epoch continues bit for bit: the windows are the seed's and the epoch's")
    func resume() throws {
        let path = try writeText()
        let configuration = try Self.configuration(path, steps: 40)
        let uninterrupted = try Trainer(configuration: configuration, backend: Backends.cpu)
        #expect(uninterrupted.stepsPerEpoch < 40, "the run crosses epochs")
        let full = try uninterrupted.run()
        let first = try Trainer(configuration: configuration, backend: Backends.cpu)
        _ = try first.run(observer: StopAfter(step: 7))
        #expect(first.position.batchInEpoch != 0, "the stop should fall mid-epoch")
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("eta-text-\(UUID().uuidString).st")
        try Checkpoint.capture(first).write(to: url)
        let second = try Trainer(configuration: configuration, backend: Backends.cpu)
        try Checkpoint.read(from: url).restore(into: second)
        let rest = try second.run()
        #expect(try second.network.arena.download(.parameters) == uninterrupted.network.arena.download(.parameters))
        #expect(rest.epochs.last?.validationLoss == full.epochs.last?.validationLoss)
        #expect(rest.epochs.last?.validationBitsPerCharacter == full.epochs.last?.validationBitsPerCharacter)
    }

    @Test("checkpoints carry the vocabulary; a resume on other text or on a table is exit 65 naming both")
    func vocabulary() throws {
        let path = try writeText()
        let configuration = try Self.configuration(path, steps: 2)
        let trainer = try Trainer(configuration: configuration, backend: Backends.cpu)
        _ = try trainer.run()
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("eta-text-\(UUID().uuidString).st")
        try Checkpoint.capture(trainer).write(to: url)
        let checkpoint = try Checkpoint.read(from: url)
        let vocabulary = try #require(checkpoint.vocabulary)
        #expect(vocabulary == trainer.split.dataset.text?.vocabulary)
        #expect(
            vocabulary.characters == [
                "\n", " ", "a", "d", "e", "f", "g", "h", "i", "k", "l", "m", "n", "o", "p",
                "q", "r", "s", "t", "u", "w", "y",
            ])
        #expect(checkpoint.metadata["val_batches"] == "3")
        // The same text again resumes; upper-case text has other characters.
        try checkpoint.restore(into: try Trainer(configuration: configuration, backend: Backends.cpu))
        let other = try Self.configuration(try writeText(uppercase: true), steps: 2)
        Self.expectDataError(
            { try checkpoint.restore(into: try Trainer(configuration: other, backend: Backends.cpu)) },
            mentioning: [
                "checkpoint check 'vocabulary'", "22 characters \"\\n adefghiklmnopqrstuwy\"",
                "22 characters \"\\n ADEFGHIKLMNOPQRSTUWY\"", "missing here", "new here",
            ])
        // A table run's checkpoint has no vocabulary: it cannot resume a text run, nor a text one a table run.
        var digits = TrainingConfiguration()
        digits.epochs = 1
        digits.optimizer = configuration.optimizer  // the optimizer check comes first
        let table = try Trainer(configuration: digits, backend: Backends.cpu)
        let tableCheckpoint = try Checkpoint.read(
            from: try { () throws -> URL in
                let file = FileManager.default.temporaryDirectory.appendingPathComponent("eta-\(UUID().uuidString).st")
                try Checkpoint.capture(table).write(to: file)
                return file
            }())
        #expect(tableCheckpoint.vocabulary == nil && tableCheckpoint.metadata["val_batches"] == nil)
        Self.expectDataError(
            { try tableCheckpoint.restore(into: try Trainer(configuration: configuration, backend: Backends.cpu)) },
            mentioning: ["checkpoint check 'vocabulary'", "none (not a text dataset)", "22 characters"])
        Self.expectDataError(
            { try checkpoint.restore(into: table) }, mentioning: ["22 characters", "none (not a text dataset)"])
    }

    @Test("a text dataset needs a gpt model with its context: exit 64")
    func usage() throws {
        let path = try writeText()
        var mlp = try Self.configuration(path)
        mlp.model = ModelSpec()
        for body in [
            { _ = try Trainer(configuration: mlp, backend: Backends.cpu) },
            {
                let dataset = try Dataset.load("text:" + path, context: 8)
                _ = try Trainer(configuration: mlp, dataset: dataset, backend: Backends.cpu)
            },
        ] as [() throws -> Void] {
            do {
                try body()
                Issue.record("expected exit 64")
            } catch let error as EtaError {
                #expect(error.exitCode == 64 && error.message.contains("text datasets need a gpt model"), "\(error)")
            }
        }
        let wider = try Dataset.load("text:" + path, context: 16)
        do {
            _ = try Trainer(configuration: try Self.configuration(path), dataset: wider, backend: Backends.cpu)
            Issue.record("expected exit 64")
        } catch let error as EtaError {
            #expect(error.exitCode == 64 && error.message.contains("context of 16"), "\(error)")
        }
    }
}
