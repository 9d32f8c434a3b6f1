import EtaSupport
import Foundation

/// A log file that is streamed to `FILE.partial` and renamed over `FILE` when closed, so an earlier log at
/// that path is replaced only by a complete new one, and a crash leaves what was written in `.partial`.
final class StreamingFile {
    let url: URL
    private let partial: URL
    private let handle: FileHandle

    init(path: String) throws {
        url = URL(fileURLWithPath: path)
        partial = URL(fileURLWithPath: path + ".partial")
        do {
            try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
        } catch {
            throw EtaError(.ioError, "cannot create the folder of \(path): \(error.localizedDescription)")
        }
        guard FileManager.default.createFile(atPath: partial.path, contents: nil), let handle = FileHandle(forWritingAtPath: partial.path) else {
            throw EtaError(.ioError, "cannot write \(partial.path)")
        }
        self.handle = handle
    }

    func write(_ line: String) {
        handle.write(Data((line + "\n").utf8))
    }

    func close() throws {
        try? handle.synchronize()
        try? handle.close()
        guard rename(partial.path, url.path) == 0 else { throw EtaError(.ioError, "cannot rename \(partial.path) to \(url.path)") }
    }
}

/// The JSONL and CSV logs of a training run. JSONL is canonical (`run_start`, `step`, `epoch`, `run_end`
/// records; non-finite numbers as "NaN"/"Infinity"); CSV is a projection of it with one row per record.
public final class TrainingLog {
    private let jsonl: StreamingFile?
    private let csv: StreamingFile?
    private let start = Date()

    public static let csvColumns = "event,step,epoch,lr,loss,grad_norm,train_loss,train_accuracy,val_loss,val_accuracy,wall_time"

    /// Opens the files (exit 74 if they cannot be created).
    public init(jsonlPath: String?, csvPath: String?) throws {
        jsonl = try jsonlPath.map(StreamingFile.init(path:))
        csv = try csvPath.map(StreamingFile.init(path:))
        csv?.write(Self.csvColumns)
    }

    private var elapsed: Double { Date().timeIntervalSince(start) }

    public func runStart(configuration: [(String, JSON)]) {
        jsonl?.write(JSON.object([("event", .string("run_start")), ("schema", .int(1)), ("version", .string(EtaVersion.current))]
            + configuration).rendered)
    }

    public func step(_ record: StepRecord) {
        jsonl?.write(JSON.object([("event", .string("step")), ("step", .int(record.step)), ("epoch", .int(record.epoch)),
                                  ("lr", .double(record.learningRate)), ("loss", .float(record.loss)),
                                  ("grad_norm", .float(record.gradNorm))]
                                 + (record.stepSizeEstimate.map { [("d", JSON.double($0))] } ?? [])
                                 + [("t", .double(elapsed))]).rendered)
        csv?.write(["step", "\(record.step)", "\(record.epoch)", "\(record.learningRate)", csvNumber(record.loss),
                    csvNumber(record.gradNorm), "", "", "", "", String(format: "%.3f", elapsed)].joined(separator: ","))
    }

    public func epoch(_ record: EpochRecord) {
        func optional(_ value: Float?) -> JSON { value.map(JSON.float) ?? .null }
        jsonl?.write(JSON.object([("event", .string("epoch")), ("epoch", .int(record.epoch)), ("step", .int(record.step)),
                                  ("train_loss", .float(record.trainLoss)), ("train_accuracy", optional(record.trainAccuracy)),
                                  ("val_loss", optional(record.validationLoss)), ("val_accuracy", optional(record.validationAccuracy)),
                                  ("seconds", .double(record.seconds)), ("t", .double(elapsed))]).rendered)
        csv?.write(["epoch", "\(record.step)", "\(record.epoch)", "", "", "", csvNumber(record.trainLoss),
                    record.trainAccuracy.map(csvNumber) ?? "", record.validationLoss.map(csvNumber) ?? "",
                    record.validationAccuracy.map(csvNumber) ?? "", String(format: "%.3f", elapsed)].joined(separator: ","))
    }

    /// Any other event (anomalies, checkpoints), JSONL only.
    public func event(_ name: String, _ fields: [(String, JSON)]) {
        jsonl?.write(JSON.object([("event", .string(name))] + fields + [("t", .double(elapsed))]).rendered)
    }

    public func runEnd(status: String, exitCode: Int32, fields: [(String, JSON)] = []) throws {
        jsonl?.write(JSON.object([("event", .string("run_end")), ("status", .string(status)), ("exit_code", .int(Int(exitCode)))]
            + fields + [("t", .double(elapsed))]).rendered)
        try jsonl?.close()
        try csv?.close()
    }

    private func csvNumber(_ value: Float) -> String {
        value.isNaN ? "NaN" : value.isInfinite ? (value > 0 ? "Infinity" : "-Infinity") : "\(value)"
    }
}

extension TrainingLog {
    /// A table of numbers streamed to JSONL and/or CSV (an LR range test's curve, a sweep's results).
    public final class Curve {
        private let jsonl: StreamingFile?
        private let csv: StreamingFile?
        private let columns: [String]

        public init(jsonlPath: String?, csvPath: String?, columns: [String]) throws {
            self.columns = columns
            jsonl = try jsonlPath.map(StreamingFile.init(path:))
            csv = try csvPath.map(StreamingFile.init(path:))
            csv?.write(columns.joined(separator: ","))
        }

        public func write(_ values: [JSON]) {
            jsonl?.write(JSON.object(Array(zip(columns, values))).rendered)
            csv?.write(values.map { value in
                switch value {
                case .string(let text): return text
                case .null: return ""
                default:
                    let rendered = value.rendered
                    return rendered.hasPrefix("\"") ? String(rendered.dropFirst().dropLast()) : rendered
                }
            }.joined(separator: ","))
        }

        public func close() throws {
            try jsonl?.close()
            try csv?.close()
        }
    }
}
