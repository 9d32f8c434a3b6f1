import EtaSupport
import Foundation

/// A log file that is streamed to `FILE.partial` and renamed over `FILE` when closed, so an earlier log at
/// that path is replaced only by a complete new one, and a crash leaves what was written in `.partial`.
final class StreamingFile {
    let url: URL
    private let partial: URL
    private let file: OutputFile

    init(path: String) throws {
        url = URL(fileURLWithPath: path)
        partial = URL(fileURLWithPath: path + ".partial")
        file = try OutputFile(creating: partial.path)
    }

    /// The first write error: the file is then left as `.partial` (it lacks lines), never renamed over `FILE`.
    private(set) var failure: Error?

    func write(_ line: String) throws {
        if let failure { throw failure }
        do { try file.write(line + "\n") } catch { failure = error; throw error }
    }

    func close() throws {
        if let failure {
            try? file.close()
            throw failure
        }
        try file.close()
        guard rename(partial.path, url.path) == 0 else {
            throw EtaError(.ioError, "cannot rename \(partial.path) to \(url.path): \(OutputFile.reason(errno))")
        }
    }
}

/// The JSONL and CSV logs of a training run. JSONL is canonical (`run_start`, `step`, `epoch`, `run_end`
/// records; non-finite numbers as "NaN"/"Infinity"); CSV is a projection of it with one row per record.
public final class TrainingLog {
    private let jsonl: StreamingFile?
    private let csv: StreamingFile?
    private let start = Date()

    /// The CSV header line.
    public static let csvColumns =
        "event,step,epoch,lr,loss,grad_norm,train_loss,train_accuracy,val_loss,val_accuracy,wall_time"

    /// Opens the files (exit 74 if they cannot be created).
    ///
    /// - Parameters:
    ///   - jsonlPath: The JSONL log's path; nil: none.
    ///   - csvPath: The CSV log's path; nil: none.
    /// - Throws: `EtaError` `.ioError` when a file cannot be created.
    public init(jsonlPath: String?, csvPath: String?) throws {
        jsonl = try jsonlPath.map(StreamingFile.init(path:))
        csv = try csvPath.map(StreamingFile.init(path:))
        try csv?.write(Self.csvColumns)
    }

    private var elapsed: Double { Date().timeIntervalSince(start) }

    /// The `run_start` record: the schema, the version and the run's configuration.
    ///
    /// - Parameter configuration: The run's settings, appended to the record in order.
    /// - Throws: `EtaError` `.ioError` when the file cannot be written.
    public func runStart(configuration: [(String, JSON)]) throws {
        try jsonl?.write(
            JSON.object(
                [("event", .string("run_start")), ("schema", .int(1)), ("version", .string(EtaVersion.current))]
                    + configuration
            ).rendered)
    }

    /// A logged step (JSONL and CSV); throws `EtaError(.ioError)` when a file cannot be written.
    ///
    /// - Parameter record: The step.
    /// - Throws: `EtaError` `.ioError` when a file cannot be written.
    public func step(_ record: StepRecord) throws {
        try jsonl?.write(
            JSON.object(
                [
                    ("event", .string("step")), ("step", .int(record.step)), ("epoch", .int(record.epoch)),
                    ("lr", .double(record.learningRate)), ("loss", .float(record.loss)),
                    ("grad_norm", .float(record.gradNorm)),
                ]
                    + (record.stepSizeEstimate.map { [("d", JSON.double($0))] } ?? [])
                    + [("t", .double(elapsed))]
            ).rendered)
        try csv?.write(
            [
                "step", "\(record.step)", "\(record.epoch)", "\(record.learningRate)", csvNumber(record.loss),
                csvNumber(record.gradNorm), "", "", "", "", String(format: "%.3f", elapsed),
            ].joined(separator: ","))
    }

    /// A finished epoch (JSONL and CSV); a text run's JSONL record adds `train_bpc` and `val_bpc`.
    ///
    /// - Parameter record: The epoch.
    /// - Throws: `EtaError` `.ioError` when a file cannot be written.
    public func epoch(_ record: EpochRecord) throws {
        func optional(_ value: Float?) -> JSON { value.map(JSON.float) ?? .null }
        var fields: [(String, JSON)] = [
            ("event", .string("epoch")), ("epoch", .int(record.epoch)), ("step", .int(record.step)),
            ("train_loss", .float(record.trainLoss)), ("train_accuracy", optional(record.trainAccuracy)),
            ("val_loss", optional(record.validationLoss)), ("val_accuracy", optional(record.validationAccuracy)),
        ]
        if let loss = record.emaValidationLoss {
            // --ema: the averaged parameters' validation, beside the raw ones'.
            fields += [
                ("ema_val_loss", .float(loss)), ("ema_val_accuracy", optional(record.emaValidationAccuracy)),
            ]
        }
        if let loss = record.swaValidationLoss {
            // --swa-start: the stochastic weight average's validation.
            fields += [
                ("swa_val_loss", .float(loss)), ("swa_val_accuracy", optional(record.swaValidationAccuracy)),
            ]
        }
        if record.perCharacter {
            // Text runs: the losses in bits per character as well.
            fields += [
                ("train_bpc", optional(record.trainBitsPerCharacter)),
                ("val_bpc", optional(record.validationBitsPerCharacter)),
            ]
        }
        fields.append(("seconds", .double(record.seconds)))
        if record.partial { fields.append(("partial", .bool(true))) }
        fields.append(("t", .double(elapsed)))
        try jsonl?.write(JSON.object(fields).rendered)
        try csv?.write(
            [
                "epoch", "\(record.step)", "\(record.epoch)", "", "", "", csvNumber(record.trainLoss),
                record.trainAccuracy.map(csvNumber) ?? "", record.validationLoss.map(csvNumber) ?? "",
                record.validationAccuracy.map(csvNumber) ?? "", String(format: "%.3f", elapsed),
            ].joined(separator: ","))
    }

    /// Any other event (anomalies, checkpoints), JSONL only.
    ///
    /// - Parameters:
    ///   - name: The record's `event` value, e.g. `checkpoint`.
    ///   - fields: The record's other fields, in order.
    /// - Throws: `EtaError` `.ioError` when the file cannot be written.
    public func event(_ name: String, _ fields: [(String, JSON)]) throws {
        try jsonl?.write(JSON.object([("event", .string(name))] + fields + [("t", .double(elapsed))]).rendered)
    }

    /// The `run_end` record, then both files are closed and renamed over their final names; every file is
    /// finalised even when another fails, and the first failure is thrown (the failed one stays `.partial`).
    ///
    /// - Parameters:
    ///   - status: How the run ended, e.g. `completed`.
    ///   - exitCode: The process's exit code.
    ///   - fields: More fields for the record, in order.
    /// - Throws: The first `EtaError` `.ioError` of writing, syncing or renaming a file.
    public func runEnd(status: String, exitCode: Int32, fields: [(String, JSON)] = []) throws {
        var failure: Error?
        do {
            try jsonl?.write(
                JSON.object(
                    [("event", .string("run_end")), ("status", .string(status)), ("exit_code", .int(Int(exitCode)))]
                        + fields + [("t", .double(elapsed))]
                ).rendered)
        } catch { failure = error }
        do { try Self.closeAll([jsonl, csv]) } catch { failure = failure ?? error }
        if let failure { throw failure }
    }

    /// Closes every file even when one fails (a late failure must not cost the others), then throws the first error.
    static func closeAll(_ files: [StreamingFile?]) throws {
        var firstError: Error?
        for file in files.compactMap({ $0 }) {
            do { try file.close() } catch { firstError = firstError ?? error }
        }
        if let firstError { throw firstError }
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

        /// Opens the files (exit 74 if they cannot be created) and writes the CSV header.
        ///
        /// - Parameters:
        ///   - jsonlPath: The JSONL file's path; nil: none.
        ///   - csvPath: The CSV file's path; nil: none.
        ///   - columns: The column names: the CSV header and the JSONL keys.
        /// - Throws: `EtaError` `.ioError` when a file cannot be created.
        public init(jsonlPath: String?, csvPath: String?, columns: [String]) throws {
            self.columns = columns
            jsonl = try jsonlPath.map(StreamingFile.init(path:))
            csv = try csvPath.map(StreamingFile.init(path:))
            try csv?.write(columns.joined(separator: ","))
        }

        /// One row, in `columns` order.
        ///
        /// - Parameter values: One value per column; strings are written unquoted in the CSV.
        /// - Throws: `EtaError` `.ioError` when a file cannot be written.
        public func write(_ values: [JSON]) throws {
            try jsonl?.write(JSON.object(Array(zip(columns, values))).rendered)
            try csv?.write(
                values.map { value in
                    switch value {
                    case .string(let text): return text
                    case .null: return ""
                    default:
                        let rendered = value.rendered
                        return rendered.hasPrefix("\"") ? String(rendered.dropFirst().dropLast()) : rendered
                    }
                }.joined(separator: ","))
        }

        /// Closes and renames both files (each is finalised even when the other fails).
        ///
        /// - Throws: The first `EtaError` `.ioError` of syncing or renaming a file.
        public func close() throws {
            try TrainingLog.closeAll([jsonl, csv])
        }
    }
}
