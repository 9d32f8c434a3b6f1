import Foundation
import Testing

@testable import EtaCore

/// Writes `bytes` to a fresh file and returns its path.
func textFile(_ bytes: [UInt8], name: String = "corpus.txt") throws -> String {
    let url = scratchFolder().appendingPathComponent(name)
    try Data(bytes).write(to: url)
    return url.path
}

func textFile(_ text: String, name: String = "corpus.txt") throws -> String {
    try textFile(Array(text.utf8), name: name)
}

/// A text of `lines` lines of words, every character it uses appearing in its first 90%.
func sampleText(lines: Int = 60, seed: UInt64 = 3) -> String {
    var random = SplitMix64(seed: seed)
    let words = ["to", "be", "or", "not", "that", "is", "the", "question", "whether", "nobler", "mind", "suffer"]
    return (0..<lines).map { _ in (0..<6).map { _ in words[Int(random.next() % 12)] }.joined(separator: " ") }
        .joined(separator: "\n") + "\n"
}

@Suite("Text datasets: vocabulary, split, windows")
struct TextDatasetTests {
    @Test("the training part is the first floor(0.9 n) characters, as Python's int(0.9 * n)")
    func trainingLength() {
        for n in Array(0...2_000) + [999_999, 1_036_349, 123_456_789, 1 << 40] {
            #expect(TextCorpus.trainingLength(characters: n) == Int(0.9 * Double(n)), "n = \(n)")
        }
    }

    @Test("the vocabulary is the training part's sorted code points; ids and parts follow the text")
    func vocabularyAndSplit() throws {
        // 20 characters: the training part is the first 18; "é" and the astral "𝄞" count as one character each.
        let text = "bca𝄞é\nabcabcabcabc" + "ca"
        let corpus = try TextCorpus.load(path: try textFile(text))
        #expect(corpus.characterCount == 20)
        #expect(corpus.trainingIDs.count == 18 && corpus.validationIDs.count == 2)
        #expect(corpus.vocabulary.characters == ["\n", "a", "b", "c", "é", "𝄞"])
        #expect(corpus.vocabulary.scalars.map(\.value) == [0x0A, 0x61, 0x62, 0x63, 0xE9, 0x1D11E])
        let all = (corpus.trainingIDs + corpus.validationIDs).map(Int.init)
        #expect(corpus.vocabulary.decode(all) == text)
        #expect(try corpus.vocabulary.encode(text) == all)
        #expect(corpus.name == "corpus")
    }

    @Test("text is read as Python's utf-8-sig text mode reads it: BOM skipped, CRLF and CR become LF")
    func pythonTextMode() throws {
        let bytes: [UInt8] = [0xEF, 0xBB, 0xBF] + Array("a\r\nb\rc\n\r\na".utf8)
        let corpus = try TextCorpus.load(path: try textFile(bytes))
        #expect(corpus.vocabulary.decode((corpus.trainingIDs + corpus.validationIDs).map(Int.init)) == "a\nb\nc\n\na")
        #expect(corpus.characterCount == 8)
    }

    @Test("a text dataset: samples of context ids, targets the next context ids, classes the vocabulary")
    func dataset() throws {
        let text = sampleText()
        let dataset = try Dataset.load("text:" + (try textFile(text)), context: 8)
        let corpus = try #require(dataset.text)
        #expect(dataset.sampleShape == [8] && dataset.featureCount == 8 && dataset.targetWidth == 8)
        #expect(dataset.task == .classification(classes: corpus.vocabulary.count))
        #expect(dataset.normalization == .raw && dataset.testRowCount == 0)
        #expect(dataset.rows == corpus.trainingIDs.count / 8)
        #expect(corpus.vocabulary == TextVocabulary(of: String(text.unicodeScalars.prefix(corpus.trainingIDs.count))))
    }

    @Test("each epoch: floor(train / context) seeded windows; input row = ids, target row = the next ids")
    func windows() throws {
        let context = 8
        let dataset = try Dataset.load("text:" + (try textFile(sampleText())), context: context)
        let corpus = try #require(dataset.text)
        let split = try DataSplit(dataset: dataset, validationFraction: 0, seed: 7, validationWindows: 24)
        #expect(split.trainRows.count == corpus.trainingIDs.count / context)
        #expect(split.validationRows.count == 24 && split.testRows.isEmpty)
        let starts = split.trainingWindowStarts(epoch: 0)
        #expect(starts.count == split.trainRows.count)
        #expect(starts.allSatisfy { (0..<(corpus.trainingIDs.count - context)).contains($0) })
        #expect(Set(starts).count > starts.count / 2, "random starts, not one repeated")
        let (inputs, targets) = split.trainingSamples(epoch: 0)
        #expect(inputs.count == starts.count * context && targets.count == inputs.count)
        for (row, start) in starts.enumerated() {
            let window = corpus.trainingIDs[start...(start + context)].map(Float.init)
            #expect(Array(inputs[(row * context)..<((row + 1) * context)]) == Array(window.dropLast()))
            #expect(Array(targets[(row * context)..<((row + 1) * context)]) == Array(window.dropFirst()))
        }
        // Validation: fixed windows from the validation part.
        let (validationInputs, validationTargets) = split.validationSamples()
        #expect(split.validationWindowStarts.count == 24)
        for (row, start) in split.validationWindowStarts.enumerated() {
            let window = corpus.validationIDs[start...(start + context)].map(Float.init)
            #expect(Array(validationInputs[(row * context)..<((row + 1) * context)]) == Array(window.dropLast()))
            #expect(Array(validationTargets[(row * context)..<((row + 1) * context)]) == Array(window.dropFirst()))
        }
        #expect(split.testSamples().features.isEmpty)
    }

    @Test("windows are a pure function of the seed and the epoch; validation windows of the seed alone")
    func determinism() throws {
        let dataset = try Dataset.load("text:" + (try textFile(sampleText())), context: 8)
        func split(_ seed: UInt64) throws -> DataSplit {
            try DataSplit(dataset: dataset, validationFraction: 0, seed: seed, validationWindows: 16)
        }
        let a = try split(1), b = try split(1), c = try split(2)
        #expect(a.trainingWindowStarts(epoch: 3) == b.trainingWindowStarts(epoch: 3))
        #expect(a.trainingSamples(epoch: 3).features == b.trainingSamples(epoch: 3).features)
        #expect(a.trainingWindowStarts(epoch: 0) != a.trainingWindowStarts(epoch: 1))
        #expect(a.trainingWindowStarts(epoch: 0) != c.trainingWindowStarts(epoch: 0))
        #expect(a.validationWindowStarts == b.validationWindowStarts)
        #expect(a.validationWindowStarts != c.validationWindowStarts)
        // Asking for epoch 5 first changes nothing: no state carries between epochs.
        let fresh = try split(1)
        #expect(fresh.trainingWindowStarts(epoch: 5) == a.trainingWindowStarts(epoch: 5))
        // No validation windows: no validation.
        #expect(
            try DataSplit(dataset: dataset, validationFraction: 0, seed: 1, validationWindows: 0)
                .validationRows.isEmpty)
    }

    @Test("errors: missing file 66, empty or short text 65 with the numbers, non-UTF-8 65 with the offset")
    func errors() throws {
        expectFailure(66, ["/no/such/file.txt", "no such file"]) {
            _ = try Dataset.load("text:/no/such/file.txt", context: 8)
        }
        expectFailure(66, ["is a folder"]) { _ = try Dataset.load("text:" + scratchFolder().path, context: 8) }
        expectFailure(65, ["empty", "0 characters"]) { _ = try Dataset.load("text:" + (try textFile("")), context: 8) }
        // 40 characters: 36 train and 4 validate, and context 8 needs 10 in each part.
        expectFailure(65, ["40 characters", "training part", "has 36", "validation part", "4", "context + 2 = 10"]) {
            _ = try Dataset.load("text:" + (try textFile(String(repeating: "abcd", count: 10))), context: 8)
        }
        expectFailure(65, ["not UTF-8", "0xFF", "byte offset 3", "line 1"]) {
            _ = try Dataset.load("text:" + (try textFile([0x61, 0x62, 0x63, 0xFF, 0x64])), context: 1)
        }
        // Latin-1 "é", an overlong "/", a UTF-16 surrogate, a truncated sequence: each not UTF-8.
        for (bytes, offset) in [
            ([0x61, 0x0A, 0x62, 0xE9, 0x62], 3), ([0x61, 0xC0, 0xAF], 1), ([0xED, 0xA0, 0x80], 0),
            ([0x61, 0xE2, 0x82], 1),
        ] as [([UInt8], Int)] {
            expectFailure(65, ["not UTF-8", "byte offset \(offset)"]) {
                _ = try TextCorpus.load(path: try textFile(bytes))
            }
        }
    }

    @Test("a validation character absent from the training part is exit 65 naming it and its position")
    func unknownValidationCharacter() throws {
        // 30 characters: the last 3 validate, and "Z" is only there, on line 2, column 2.
        let text = String(repeating: "ab", count: 13) + "\na" + "Zb"
        expectFailure(65, ["'Z' (U+005A)", "line 2, column 2", "character 28 of 30", "validation part"]) {
            _ = try TextCorpus.load(path: try textFile(text))
        }
    }

    @Test("text needs a context (a gpt model): exit 64; --normalize and --input-shape do not apply")
    func usage() throws {
        let path = try textFile(sampleText())
        expectFailure(64, ["text datasets need a gpt model", "--model gpt:"]) { _ = try Dataset.load("text:" + path) }
        expectFailure(64, ["text datasets need a gpt model"]) { _ = try Dataset.load("shakespeare") }
        expectFailure(64, ["input shape 2x4", "context of 8"]) {
            _ = try Dataset.load("text:" + path, inputShape: [2, 4], context: 8)
        }
        let dataset = try Dataset.load("text:" + path, context: 8)
        #expect(try dataset.reshaped(to: [8]).text != nil)
        expectFailure(64, ["--normalize standard", "token ids"]) {
            _ = try DataSplit(dataset: dataset, validationFraction: 0, seed: 0, normalization: .standard)
        }
        expectFailure(64, ["label column"]) { _ = try Dataset.load("text:" + path, labelColumn: "1", context: 8) }
    }

    @Test("the vocabulary's stored form round-trips any characters, and rejects disorder")
    func vocabulary() throws {
        let vocabulary = TextVocabulary(of: "\u{0}\t\n \"\\zé—✓𝄞\u{10FFFF}")
        #expect(try TextVocabulary(serialized: vocabulary.serialized) == vocabulary)
        #expect(vocabulary.count == 12 && vocabulary.id(of: "z") == 6 && vocabulary.id(of: "Z") == nil)
        #expect(vocabulary.id(of: "\u{10FFFF}") == 11 && vocabulary.id(of: "\u{0}") == 0)
        #expect(vocabulary.decode([6, 99, -1]) == "z\u{FFFD}\u{FFFD}")
        expectFailure(64, ["'Q' (U+0051)", "offset 2", "not in the vocabulary of 12"]) {
            _ = try vocabulary.encode("zzQ")
        }
        expectFailure(65, ["at least one"]) { _ = try TextVocabulary(serialized: "") }
        expectFailure(65, ["increasing"]) { _ = try TextVocabulary(serialized: "ba") }
        expectFailure(65, ["increasing"]) { _ = try TextVocabulary(serialized: "aab") }
    }

    @Test("the content digest covers the characters: the same text agrees, another differs")
    func digest() throws {
        let text = sampleText()
        let a = try Dataset.load("text:" + (try textFile(text)), context: 8)
        let b = try Dataset.load("text:" + (try textFile(text)), context: 16)
        let c = try Dataset.load("text:" + (try textFile(sampleText(seed: 4))), context: 8)
        #expect(a.contentDigest() == b.contentDigest())
        #expect(a.contentDigest() != c.contentDigest())
    }

    @Test("the built-in shakespeare: 1,036,349 characters, 76 in the vocabulary, every validation one among them")
    func shakespeare() throws {
        #expect(Dataset.builtIn.contains { $0.name == "shakespeare" })
        let dataset = try Dataset.load("shakespeare", context: 128)
        let corpus = try #require(dataset.text)
        #expect(corpus.characterCount == 1_036_349)
        #expect(corpus.trainingIDs.count == 932_714 && corpus.validationIDs.count == 103_635)
        #expect(corpus.vocabulary.count == 76)
        #expect(dataset.rows == 932_714 / 128 && dataset.name == "shakespeare")
        let opening = corpus.vocabulary.decode(corpus.trainingIDs.prefix(16).map(Int.init))
        #expect(opening == "ROMEO AND JULIET")
        let text = corpus.vocabulary.decode((corpus.trainingIDs + corpus.validationIDs).map(Int.init))
        #expect(!text.localizedCaseInsensitiveContains("gutenberg"), "the licence boilerplate is gone")
    }
}
