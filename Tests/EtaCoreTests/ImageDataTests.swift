import Foundation
import Testing

@testable import EtaCore

@Suite("CIFAR-10 binary batches")
struct CIFARTests {
    /// One record: the label byte, then 3,072 pixel bytes (red plane, green plane, blue plane, each row-major), here
    /// `seed + channel * 7 + index` so every position is recognisable.
    static func record(label: UInt8, seed: Int) -> [UInt8] {
        [label] + (0..<3072).map { UInt8(truncatingIfNeeded: seed + ($0 / 1024) * 7 + $0 % 1024) }
    }

    /// Writes `data_batch_N.bin` for each N in `batches` (`records` each) and `test_batch.bin` (2 records).
    static func write(folder: URL, batches: [Int] = [1, 2], records: Int = 3, test: Bool = true) throws {
        for n in batches {
            let bytes = (0..<records).flatMap { record(label: UInt8((n * 3 + $0) % 10), seed: n * 100 + $0) }
            try Data(bytes).write(to: folder.appendingPathComponent("data_batch_\(n).bin"))
        }
        if test {
            let bytes = record(label: 9, seed: 1) + record(label: 0, seed: 2)
            try Data(bytes).write(to: folder.appendingPathComponent("test_batch.bin"))
        }
    }

    @Test("training batches in numeric order, the test batch as the test split, [3, 32, 32] samples in CHW order")
    func load() throws {
        let folder = scratchFolder()
        try Self.write(folder: folder, batches: [2, 10, 1])
        let dataset = try Dataset.load("cifar:" + folder.path)
        #expect(dataset.rows == 11 && dataset.testRowCount == 2 && dataset.trainingRowCount == 9)
        #expect(dataset.sampleShape == [3, 32, 32] && dataset.featureCount == 3072)
        #expect(dataset.task == .classification(classes: 10) && dataset.normalization == .pixels)
        // data_batch_1, _2, _10, then test_batch.
        #expect(dataset.targets == [3, 4, 5, 6, 7, 8, 0, 1, 2, 9, 0])
        // Row 1 (data_batch_1, record 1): seed 101; green plane (channel 1), pixel (row 2, column 5).
        let green = 1 * 1024 + 2 * 32 + 5
        #expect(dataset.features[3072 + green] == Float(UInt8(truncatingIfNeeded: 101 + 7 + 2 * 32 + 5)))
        let split = try DataSplit(dataset: dataset, validationFraction: 0.2, seed: 1)
        #expect(split.testRows == [9, 10] && split.validationRows.count == 2 && split.trainRows.count == 7)
        #expect(split.features[3072 + green] == Float(UInt8(truncatingIfNeeded: 101 + 7 + 2 * 32 + 5)) / 255)
    }

    @Test("the extracted archive's cifar-10-batches-bin folder is found inside DIR")
    func nested() throws {
        let folder = scratchFolder()
        let inner = folder.appendingPathComponent("cifar-10-batches-bin")
        try FileManager.default.createDirectory(at: inner, withIntermediateDirectories: true)
        try Self.write(folder: inner, batches: [1], records: 2)
        let dataset = try Dataset.load("cifar:" + folder.path)
        #expect(dataset.rows == 4 && dataset.testRowCount == 2)
    }

    @Test("malformed batches exit 65 with the file and byte offset; missing ones 66, naming what is missing")
    func errors() throws {
        let truncated = scratchFolder()
        try Self.write(folder: truncated)
        let path = truncated.appendingPathComponent("data_batch_2.bin")
        try Data(try Data(contentsOf: path).dropLast(100)).write(to: path)
        expectFailure(65, ["data_batch_2.bin", "truncated at byte offset 6146", "2973 of 3073 bytes"]) {
            _ = try Dataset.load("cifar:" + truncated.path)
        }

        let badLabel = scratchFolder()
        try Self.write(folder: badLabel)
        try Data(Self.record(label: 3, seed: 0) + Self.record(label: 11, seed: 0)).write(
            to: badLabel.appendingPathComponent("test_batch.bin"))
        expectFailure(65, ["test_batch.bin", "byte offset 3073", "label 11 of record 1 is out of range 0...9"]) {
            _ = try Dataset.load("cifar:" + badLabel.path)
        }

        let empty = scratchFolder()
        try Self.write(folder: empty)
        try Data().write(to: empty.appendingPathComponent("data_batch_1.bin"))
        expectFailure(65, ["data_batch_1.bin", "byte offset 0", "empty"]) {
            _ = try Dataset.load("cifar:" + empty.path)
        }

        let noTest = scratchFolder()
        try Self.write(folder: noTest, test: false)
        expectFailure(66, ["missing test_batch.bin", "CIFAR-10 binary version"]) {
            _ = try Dataset.load("cifar:" + noTest.path)
        }
        let noTrain = scratchFolder()
        try Self.write(folder: noTrain, batches: [])
        expectFailure(66, ["missing data_batch_1.bin ... data_batch_5.bin (at least one)"]) {
            _ = try Dataset.load("cifar:" + noTrain.path)
        }
        let nothing = scratchFolder()
        expectFailure(66, ["data_batch_1.bin", "and test_batch.bin"]) { _ = try Dataset.load("cifar:" + nothing.path) }
        expectFailure(66, ["no such folder"]) { _ = try Dataset.load("cifar:/nonexistent/cifar") }
    }
}

@Suite("Sample shapes and normalisation")
struct SampleShapeTests {
    @Test("tables are [featureCount]; --input-shape reads rows as images, or exits 64 naming both sizes")
    func shapes() throws {
        let digits = try Dataset.load("digits")
        #expect(digits.sampleShape == [64])
        let images = try Dataset.load("digits", inputShape: [1, 8, 8])
        #expect(images.sampleShape == [1, 8, 8] && images.features == digits.features)
        let folder = scratchFolder()
        let path = folder.appendingPathComponent("pixels.csv").path
        try "a,b,c,d,e,f,label\n1,2,3,4,5,6,0\n6,5,4,3,2,1,1\n".write(toFile: path, atomically: true, encoding: .utf8)
        #expect(try Dataset.load("csv:" + path).sampleShape == [6])
        #expect(try Dataset.load("csv:" + path, inputShape: [1, 2, 3]).sampleShape == [1, 2, 3])
        expectFailure(64, ["input shape 1x28x28 holds 784 values per sample", "pixels has 6 features per row"]) {
            _ = try Dataset.load("csv:" + path, inputShape: [1, 28, 28])
        }
        #expect(try Dataset.parseShape("3x32x32") == [3, 32, 32])
        #expect(try Dataset.parseShape("784") == [784])
        for bad in ["", "1x", "0x28x28", "ax2", "1x2x3x4", "-1x4"] {
            expectFailure(64, ["input shape '\(bad)'", "CxHxW"]) { _ = try Dataset.parseShape(bad) }
        }
    }

    @Test("standard uses training rows only and scales test rows with them; pixels divides by 255; none keeps values")
    func normalization() throws {
        // Rows 0...3 train or validate, rows 4 and 5 are the test split.
        let dataset = Dataset(
            name: "t", rows: 6, featureCount: 1, features: [0, 10, 20, 30, 255, 1000], targets: [0, 1, 0, 1, 0, 1],
            task: .classification(classes: 2), normalization: .pixels, testRowCount: 2)
        let pixels = try DataSplit(dataset: dataset, validationFraction: 0, seed: 0)
        #expect(pixels.normalization == .pixels && pixels.features == dataset.features.map { $0 / 255 })
        let raw = try DataSplit(dataset: dataset, validationFraction: 0, seed: 0, normalization: .raw)
        #expect(raw.features == dataset.features)
        let standard = try DataSplit(dataset: dataset, validationFraction: 0, seed: 0, normalization: .standard)
        // Mean 15 and deviation sqrt(125) from rows 0...3 only, applied to every row.
        let deviation = Float(125.0.squareRoot())
        #expect(standard.mean == [15] && abs(standard.standardDeviation[0] - deviation) < 1e-5)
        #expect(abs(standard.features[5] - (1000 - 15) / deviation) < 1e-3)
        #expect(Normalization(rawValue: "none") == .raw)
    }

    @Test("datasets without a test split split exactly as before (same rows, same standardised values)")
    func unchangedWithoutTest() throws {
        let wine = try Dataset.load("wine")
        #expect(wine.normalization == .standard && wine.testRowCount == 0)
        #expect(try Dataset.load("digits").normalization == .raw)
        let split = try DataSplit(dataset: wine, validationFraction: 0.2, seed: 4)
        #expect(split.testRows.isEmpty && split.normalization == .standard)
        let legacy = Dataset(
            name: wine.name, rows: wine.rows, featureCount: wine.featureCount, features: wine.features,
            targets: wine.targets, task: wine.task, standardize: true)
        #expect(try DataSplit(dataset: legacy, validationFraction: 0.2, seed: 4).features == split.features)
    }
}
