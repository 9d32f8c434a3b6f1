import EtaCL
import EtaCore
import Foundation

/// One parser of untrusted input under fuzzing. Given any bytes it must return or throw `EtaError` (which the
/// CLI maps to a documented exit code); a trap, a sanitizer report or any other error is a failure.
enum FuzzTarget: String, CaseIterable {
    case optimizerSpec = "optimizer-spec"
    case scheduleSpec = "schedule-spec"
    case modelSpec = "model-spec"
    case parameterGroupSpec = "param-group-spec"
    case csv
    case idx
    case cifar
    case text
    case checkpoint
    case programCache = "program-cache"

    /// The cache key the program-cache corpus entries are written for: SHA-256 of "eta-fuzz".
    static let programCacheKey = "3ef3e396a1eda38398e669935c74fd12ace222bd2f659cd52bb83d10922c0f0e"

    /// Runs one input. Files go in `scratch`, overwritten by the next input.
    func run(_ bytes: [UInt8], scratch: URL) {
        do {
            switch self {
            case .optimizerSpec: _ = try OptimizerConfiguration(spec: Self.text(bytes))
            case .scheduleSpec:
                // Parsing is half of it: evaluating a parsed schedule far out must not trap either.
                let plan = try SchedulePlan(main: try Schedule(spec: Self.text(bytes)), base: 0.1, totalSteps: 1_000)
                for step in [0, 1, 7, 999, 1_000, 1 << 20, RunLimits.steps] {
                    _ = (plan.learningRate(at: step), plan.momentum(at: step))
                }
            case .modelSpec: _ = try ModelSpec(parsing: Self.text(bytes))
            case .parameterGroupSpec: _ = try ParameterGroup(spec: Self.text(bytes))
            case .csv:
                // The first byte picks the task, so the classification and regression paths both run.
                let task = ["auto", "classification", "regression"][Int(bytes.first ?? 0) % 3]
                let file = try Self.write(bytes.dropFirst(), to: scratch.appendingPathComponent("input.csv"))
                _ = try Dataset.load("csv:" + file.path, task: task)
            case .idx:
                try runIDX(bytes, scratch: scratch)
            case .cifar:
                // The input is data_batch_1.bin; the test batch is one valid record.
                let folder = scratch.appendingPathComponent("cifar")
                try? FileManager.default.removeItem(at: folder)
                try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
                _ = try Self.write(bytes[...], to: folder.appendingPathComponent("data_batch_1.bin"))
                _ = try Self.write(
                    ArraySlice([3] + [UInt8](repeating: 128, count: 3072)),
                    to: folder.appendingPathComponent("test_batch.bin"))
                _ = try Dataset.load("cifar:" + folder.path)
            case .text:
                // The first byte is the context (1...32); the text's windows are cut as training would.
                let file = try Self.write(bytes.dropFirst(), to: scratch.appendingPathComponent("input.txt"))
                let dataset = try Dataset.load("text:" + file.path, context: Int(bytes.first ?? 0) % 32 + 1)
                let split = try DataSplit(dataset: dataset, validationFraction: 0, seed: 1, validationWindows: 4)
                _ = (split.trainingSamples(epoch: 0), split.validationSamples())
            case .checkpoint:
                _ = try Checkpoint.read(
                    from: try Self.write(bytes[...], to: scratch.appendingPathComponent("input.safetensors")))
            case .programCache:
                let file = try Self.write(bytes[...], to: scratch.appendingPathComponent("entry.bin"))
                _ = ProgramCache(directory: nil).validatedEntry(at: file, key: Self.programCacheKey)
            }
        } catch is EtaError {
        } catch {
            fatalError("\(rawValue): threw \(type(of: error)), not EtaError: \(error)")
        }
    }

    /// Input layout: a flags byte (bit 0: the images file is gzipped; bit 1: the same pair is the t10k test split
    /// too), a 16-bit big-endian length L, L bytes of the labels file, then the images file.
    private func runIDX(_ bytes: [UInt8], scratch: URL) throws {
        let folder = scratch.appendingPathComponent("idx")
        try? FileManager.default.removeItem(at: folder)
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        guard bytes.count >= 3 else { return }
        let gzipped = bytes[0] & 1 == 1
        let labelCount = min(Int(bytes[1]) << 8 | Int(bytes[2]), bytes.count - 3)
        for prefix in bytes[0] & 2 == 2 ? ["train", "t10k"] : ["train"] {
            _ = try Self.write(
                bytes[3..<(3 + labelCount)], to: folder.appendingPathComponent("\(prefix)-labels-idx1-ubyte"))
            _ = try Self.write(
                bytes[(3 + labelCount)...],
                to: folder.appendingPathComponent("\(prefix)-images-idx3-ubyte" + (gzipped ? ".gz" : "")))
        }
        _ = try Dataset.load("idx:" + folder.path)
    }

    private static func text(_ bytes: [UInt8]) -> String { String(decoding: bytes, as: UTF8.self) }

    private static func write(_ bytes: ArraySlice<UInt8>, to url: URL) throws -> URL {
        try Data(bytes).write(to: url)
        return url
    }
}
