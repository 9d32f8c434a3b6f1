import Foundation
import Testing

@testable import EtaCore

func scratchFolder() -> URL {
    let url = FileManager.default.temporaryDirectory.appendingPathComponent("eta-data-\(UUID().uuidString)")
    try? FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    return url
}

/// Expects `body` to throw an `EtaError` with `code` whose message contains every fragment.
func expectFailure(_ code: Int32, _ fragments: [String], _ body: () throws -> Void) {
    do {
        try body()
        Issue.record("expected exit \(code) mentioning \(fragments)")
    } catch let error as EtaError {
        #expect(error.exitCode == code, "\(error.message)")
        for fragment in fragments {
            #expect(error.message.contains(fragment), "'\(fragment)' not in: \(error.message)")
        }
    } catch {
        Issue.record("unexpected \(error)")
    }
}

@Suite("Datasets")
struct DatasetTests {
    @Test(
        "built-in datasets load with their shapes and tasks",
        arguments: [
            ("digits", 1797, 64, LearningTask.classification(classes: 10)),
            ("iris", 150, 4, .classification(classes: 3)),
            ("breast_cancer", 569, 30, .classification(classes: 2)), ("wine", 178, 13, .classification(classes: 3)),
            ("diabetes", 442, 10, .regression(outputs: 1)),
        ])
    func builtIn(name: String, rows: Int, features: Int, task: LearningTask) throws {
        let dataset = try Dataset.load(name)
        #expect(dataset.rows == rows)
        #expect(dataset.featureCount == features)
        #expect(dataset.task == task)
        #expect(dataset.features.count == rows * features)
        #expect(dataset.targets.count == rows)
    }

    @Test("unknown dataset names are usage errors")
    func unknown() {
        expectFailure(64, ["unknown dataset 'mnist'", "digits, iris"]) { _ = try Dataset.load("mnist") }
    }

    @Test("CSV: header detected, label by name or index, task inferred")
    func csv() throws {
        let folder = scratchFolder()
        let path = folder.appendingPathComponent("points.csv").path
        try "a,b,kind\n1,2,0\n3,4,1\n5,6,1\n7,8,0\n1,1,2\n".write(toFile: path, atomically: true, encoding: .utf8)
        let byDefault = try Dataset.load("csv:" + path)
        #expect(byDefault.rows == 5 && byDefault.featureCount == 2)
        #expect(byDefault.task == .classification(classes: 3))
        #expect(byDefault.features == [1, 2, 3, 4, 5, 6, 7, 8, 1, 1])
        let byName = try Dataset.load("csv:" + path, labelColumn: "a", task: "regression")
        #expect(byName.task == .regression(outputs: 1))
        #expect(byName.targets == [1, 3, 5, 7, 1])
        #expect(try Dataset.load("csv:" + path, labelColumn: "1", task: "regression").targets == byName.targets)
        expectFailure(64, ["no such column", "a, b, kind"]) { _ = try Dataset.load("csv:" + path, labelColumn: "z") }
        expectFailure(64, ["columns 1..3"]) { _ = try Dataset.load("csv:" + path, labelColumn: "9") }
    }

    @Test(
        "CSV errors name the file and line",
        arguments: [
            ("x,y\n1,2\n3\n", 65, ":3:", "ragged row"),
            ("x,y\n1,2\n3,abc\n", 65, ":3: column 2", "'abc' is not a finite number"),
            ("1,2\n3,nan\n", 65, ":2: column 2", "not a finite number"),
            ("x,y\n", 65, ": no data rows", "no data"),
            ("x,y\n1,0\n2,-1\n", 65, ":3:", "out of range"),
        ])
    func csvErrors(text: String, code: Int32, location: String, what: String) throws {
        let path = scratchFolder().appendingPathComponent("bad.csv").path
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        expectFailure(code, [path + location, what]) { _ = try Dataset.load("csv:" + path, task: "classification") }
    }

    @Test("a missing CSV is exit 66")
    func csvMissing() {
        expectFailure(66, ["/nonexistent/x.csv", "no such file"]) { _ = try Dataset.load("csv:/nonexistent/x.csv") }
    }
}

@Suite("IDX files")
struct IDXTests {
    static func header(_ magic: UInt32, _ dims: [UInt32]) -> [UInt8] {
        ([magic] + dims).flatMap { word in (0..<4).map { UInt8(truncatingIfNeeded: word >> (24 - 8 * UInt32($0))) } }
    }

    /// Writes a 3-image 2x2 set; `labels`/`images` override the file bytes.
    static func write(
        folder: URL, images: [UInt8]? = nil, labels: [UInt8]? = nil, gzip: Bool = false, prefix: String = "train",
        dotted: Bool = false
    ) throws {
        let imageBytes = images ?? header(0x0803, [3, 2, 2]) + (0..<12).map { UInt8($0 * 20) }
        let labelBytes = labels ?? header(0x0801, [3]) + [7, 0, 9]
        for (name, bytes) in [("\(prefix)-images-idx3-ubyte", imageBytes), ("\(prefix)-labels-idx1-ubyte", labelBytes)]
        {
            let url = folder.appendingPathComponent(dotted ? name.replacingOccurrences(of: "-idx", with: ".idx") : name)
            try Data(bytes).write(to: url)
            if gzip {
                let process = Process()
                process.executableURL = URL(fileURLWithPath: "/bin/gzip")
                process.arguments = ["-f", url.path]
                try process.run()
                process.waitUntilExit()
            }
        }
    }

    @Test(
        "raw and gzipped files load with the official split: t10k is the test part, pixels scaled to [0, 1]",
        arguments: [false, true])
    func load(gzip: Bool) throws {
        let folder = scratchFolder()
        try Self.write(folder: folder, gzip: gzip)
        try Self.write(
            folder: folder, labels: Self.header(0x0801, [3]) + [1, 2, 3], gzip: gzip, prefix: "t10k")
        let dataset = try Dataset.load("idx:" + folder.path)
        #expect(dataset.rows == 6 && dataset.featureCount == 4 && dataset.sampleShape == [1, 2, 2])
        #expect(dataset.testRowCount == 3 && dataset.trainingRowCount == 3)
        #expect(dataset.targets == [7, 0, 9, 1, 2, 3])
        #expect(dataset.features[1] == 20, "stored as loaded; the split scales")
        #expect(dataset.normalization == .pixels)
        #expect(dataset.task == .classification(classes: 10))
        let split = try DataSplit(dataset: dataset, validationFraction: 1.0 / 3, seed: 0)
        #expect(split.testRows == [3, 4, 5])
        #expect(Set(split.trainRows + split.validationRows) == [0, 1, 2], "the t10k rows are never trained on")
        #expect(split.validationRows.count == 1)
        #expect(split.features[1] == Float(20) / 255)
        #expect(split.gather(split.testRows).targets == [1, 2, 3])
    }

    @Test("without t10k files there is no test split")
    func trainOnly() throws {
        let folder = scratchFolder()
        try Self.write(folder: folder)
        let dataset = try Dataset.load("idx:" + folder.path)
        #expect(dataset.rows == 3 && dataset.testRowCount == 0)
        #expect(try DataSplit(dataset: dataset, validationFraction: 0, seed: 0).testRows.isEmpty)
    }

    @Test(
        "both file namings load: train-images-idx3-ubyte and train-images.idx3-ubyte (raw or gzipped)",
        arguments: [false, true])
    func dottedNames(gzip: Bool) throws {
        let folder = scratchFolder()
        try Self.write(folder: folder, gzip: gzip, dotted: true)
        try Self.write(folder: folder, gzip: gzip, prefix: "t10k", dotted: true)
        let dataset = try Dataset.load("idx:" + folder.path)
        #expect(dataset.rows == 6 && dataset.targets == [7, 0, 9, 7, 0, 9] && dataset.testRowCount == 3)
    }

    @Test("bad IDX files exit 65 with the file and byte offset")
    func errors() throws {
        let badMagic = scratchFolder()
        try Self.write(folder: badMagic, images: Self.header(0x0801, [3, 2, 2]) + [UInt8](repeating: 0, count: 12))
        expectFailure(65, ["train-images-idx3-ubyte", "byte offset 0", "wrong IDX magic 0x801", "expected 0x803"]) {
            _ = try Dataset.load("idx:" + badMagic.path)
        }

        let truncated = scratchFolder()
        try Self.write(folder: truncated, images: Self.header(0x0803, [3, 2, 2]) + [1, 2, 3])
        expectFailure(65, ["truncated at byte offset 19"]) { _ = try Dataset.load("idx:" + truncated.path) }

        let counts = scratchFolder()
        try Self.write(folder: counts, labels: Self.header(0x0801, [2]) + [1, 2])
        expectFailure(65, ["3 images", "2 labels"]) { _ = try Dataset.load("idx:" + counts.path) }

        let range = scratchFolder()
        try Self.write(folder: range, labels: Self.header(0x0801, [3]) + [1, 12, 2])
        expectFailure(65, ["byte offset 9", "label 12 is out of range"]) { _ = try Dataset.load("idx:" + range.path) }

        let corrupt = scratchFolder()
        try Self.write(folder: corrupt, gzip: true)
        let gz = corrupt.appendingPathComponent("train-images-idx3-ubyte.gz")
        var bytes = [UInt8](try Data(contentsOf: gz))
        bytes.removeLast(bytes.count / 2)
        try Data(bytes).write(to: gz)
        expectFailure(65, ["gzip"]) { _ = try Dataset.load("idx:" + corrupt.path) }

        let otherSize = scratchFolder()
        try Self.write(folder: otherSize)
        try Self.write(
            folder: otherSize, images: Self.header(0x0803, [3, 1, 4]) + [UInt8](repeating: 0, count: 12),
            prefix: "t10k")
        expectFailure(65, ["t10k-images-idx3-ubyte", "images are 1x4, unlike the training images (2x2)"]) {
            _ = try Dataset.load("idx:" + otherSize.path)
        }

        let testRange = scratchFolder()
        try Self.write(folder: testRange)
        try Self.write(folder: testRange, labels: Self.header(0x0801, [3]) + [1, 2, 10], prefix: "t10k")
        expectFailure(65, ["t10k-labels-idx1-ubyte", "byte offset 10", "label 10 is out of range"]) {
            _ = try Dataset.load("idx:" + testRange.path)
        }

        let noLabels = scratchFolder()
        try Self.write(folder: noLabels)
        try FileManager.default.removeItem(at: noLabels.appendingPathComponent("train-labels-idx1-ubyte"))
        expectFailure(66, ["train-labels-idx1-ubyte"]) { _ = try Dataset.load("idx:" + noLabels.path) }
        expectFailure(66, ["no such folder"]) { _ = try Dataset.load("idx:/nonexistent/mnist") }
    }
}

@Suite("Train/validation split")
struct SplitTests {
    @Test("seeded, disjoint, complete; standardised with training rows only")
    func split() throws {
        let dataset = try Dataset.load("wine")
        let a = try DataSplit(dataset: dataset, validationFraction: 0.2, seed: 4)
        let b = try DataSplit(dataset: dataset, validationFraction: 0.2, seed: 4)
        #expect(a.trainRows == b.trainRows && a.epochOrder(epoch: 2) == b.epochOrder(epoch: 2))
        #expect(a.epochOrder(epoch: 1) != a.epochOrder(epoch: 2))
        #expect(Set(a.trainRows).isDisjoint(with: a.validationRows))
        #expect(Set(a.trainRows + a.validationRows) == Set(0..<dataset.rows))
        #expect(a.validationRows.count == 36)
        let d = dataset.featureCount
        for j in 0..<d {
            let mean = a.trainRows.reduce(0.0) { $0 + Double(a.features[$1 * d + j]) } / Double(a.trainRows.count)
            #expect(abs(mean) < 1e-4, "feature \(j) train mean \(mean)")
        }
        let c = try DataSplit(dataset: dataset, validationFraction: 0.2, seed: 5)
        #expect(c.trainRows != a.trainRows)
        expectFailure(64, ["validation fraction"]) {
            _ = try DataSplit(dataset: dataset, validationFraction: 1.0, seed: 0)
        }
    }
}
