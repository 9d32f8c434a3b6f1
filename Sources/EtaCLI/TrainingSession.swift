import Dispatch
import Eta
import Foundation

/// Glue between `eta train`'s options and the library: configuration (from the options and, on resume, the
/// checkpoint), logs, checkpoints, Ctrl-C, progress, plot and summary.
struct TrainingSession {
    let command: Train

    func run() throws -> Int32 {
        try command.validateRanges()
        // Every output path is checked before anything is loaded or trained: a typo costs a second, not a run.
        for (path, what) in [(command.log, "log"), (command.csv, "CSV log"), (command.plot, "plot")] {
            if let path { try OutputFile.checkWritable(path, what: what) }
        }
        if let folder = command.checkpoint { try OutputFile.checkWritableFolder(folder, what: "checkpoints in \(folder)") }
        let resumed = try command.resume.map { try Checkpoint.read(from: URL(fileURLWithPath: $0)) }
        let configuration = try makeConfiguration(resumed: resumed?.metadata ?? [:])
        let backend = try command.deviceOptions.makeBackend()
        let trainer = try Trainer(configuration: configuration, backend: backend)
        if let resumed {
            try resumed.restore(into: trainer)
            if let note = resumed.dataMismatch(with: trainer) { Console.note("eta: note: \(note)") }
            if resumed.metadata["backend"] != backend.info.kind.rawValue {
                Console.note("eta: note: the checkpoint was written on the \(resumed.metadata["backend"] ?? "?") backend; bit-identical continuation holds on the same backend only")
            }
        }
        let log = try TrainingLog(jsonlPath: command.log, csvPath: command.csv)
        let failure = OutputFailure()
        try log.runStart(configuration: [
            ("dataset", .string(configuration.dataset)), ("model", .string(configuration.model.spec)),
            ("optimizer", .string(configuration.optimizer.spec)), ("loss", .string(trainer.network.loss.rawValue)),
            ("schedule", .string(configuration.scheduleSpec ?? "none")), ("warmup", configuration.warmupSpec.map(JSON.string) ?? .null),
            ("schedule_interval", .string(configuration.scheduleInterval.rawValue)), ("epochs", .int(configuration.epochs)), ("batch_size", .int(configuration.batchSize)),
            ("seed", .int(Int(configuration.seed))), ("val_fraction", .double(configuration.validationFraction)),
            ("train_rows", .int(trainer.split.trainRows.count)), ("val_rows", .int(trainer.split.validationRows.count)),
            ("device", .string(backend.info.summary)), ("backend", .string(backend.info.kind.rawValue)),
            ("resumed_from", command.resume.map(JSON.string) ?? .null), ("start_step", .int(trainer.position.step)),
        ])
        if let folder = command.checkpoint {
            let url = URL(fileURLWithPath: folder).appendingPathComponent("checkpoint-latest.safetensors")
            trainer.checkpointEvery = command.checkpointEvery
            trainer.checkpointHandler = { trainer in
                // A failed write stops the run at the next step; the previous checkpoint stays intact (atomic rename).
                do {
                    try Checkpoint.capture(trainer).write(to: url)
                } catch {
                    failure.record(error)
                    return
                }
                failure.attempt {
                    try log.event("checkpoint", [("path", .string(url.path)), ("step", .int(trainer.position.step)),
                                                 ("epoch", .int(trainer.position.epoch))])
                }
            }
        }
        let interrupt = InterruptFlag()
        let progress = ProgressDisplay(trainer: trainer, log: log, quiet: command.quiet, interrupt: interrupt, failure: failure)
        let result = try trainer.run(observer: progress)
        progress.finish()
        // Each output is finalised even when another failed; the first failure decides the exit code (74).
        if let plot = command.plot { failure.attempt { try writePlot(result: result, trainer: trainer, path: plot) } }
        var exitCode: Int32
        switch result.status {
        case .completed: exitCode = 0
        case .interrupted: exitCode = 128 + (interrupt.signal ?? SIGINT)
        case .diverged: exitCode = 75
        }
        if failure.error != nil { exitCode = 74 }
        let status = failure.error != nil ? "output_failed" : result.status.rawValue
        failure.attempt {
            try log.runEnd(status: status, exitCode: exitCode, fields: [("steps", .int(trainer.position.step)), ("seconds", .double(result.seconds))])
        }
        failure.attempt { try printSummary(result: result, trainer: trainer) }
        if result.status == .diverged {
            Console.note("eta: training diverged at step \(progress.lastAnomaly?.step ?? trainer.position.step + 1) and was aborted (\(progress.lastAnomaly?.kind ?? "non_finite_loss"); --on-nonfinite \(trainer.configuration.divergenceGuard.policy.rawValue), --on-nonfinite-grad \(trainer.configuration.nonFiniteGradients.rawValue))\(command.checkpoint.map { "; the last good checkpoint in \($0) is kept" } ?? "")")
        }
        if result.status == .interrupted && failure.error == nil {
            Console.note("eta: \(interrupt.signalName) at step \(trainer.position.step)\(command.checkpoint.map { "; checkpoint in \($0)" } ?? "")")
        }
        if let error = failure.error { throw error }
        return exitCode
    }

    /// Options override the checkpoint's configuration, which overrides the defaults.
    private func makeConfiguration(resumed metadata: [String: String]) throws -> TrainingConfiguration {
        var c = try command.data.configuration(metadata: metadata)
        if let schedule = command.schedule ?? metadata["schedule"] {
            c.schedule = try Schedule(spec: schedule)
            c.scheduleSpec = schedule
        }
        if let warmup = command.warmup ?? metadata["warmup"] {
            c.warmup = try Schedule(spec: warmup)
            c.warmupSpec = warmup
        }
        if let interval = command.scheduleInterval ?? metadata["schedule_interval"] {
            guard let value = ScheduleInterval(rawValue: interval) else {
                throw EtaError(.usage, "--schedule-interval '\(interval)': valid values are step, epoch")
            }
            c.scheduleInterval = value
        }
        c.epochs = command.epochs ?? metadata["epochs"].flatMap(Int.init) ?? c.epochs
        guard let policy = DivergenceGuard.Policy(rawValue: command.onNonfinite) else {
            throw EtaError(.usage, "--on-nonfinite '\(command.onNonfinite)': valid values are abort, skip, rollback")
        }
        c.divergenceGuard.policy = policy
        guard let gradients = NonFiniteGradientPolicy(rawValue: command.onNonfiniteGrad) else {
            throw EtaError(.usage, "--on-nonfinite-grad '\(command.onNonfiniteGrad)': valid values are off, skip, abort")
        }
        c.nonFiniteGradients = gradients
        guard command.maxSkips >= 0 else { throw EtaError(.usage, "--max-skips must be >= 0 (got \(command.maxSkips))") }
        c.divergenceGuard.maxConsecutiveSkips = command.maxSkips
        let dtype = command.stateDtype ?? metadata["state_dtype"] ?? "fp32"
        guard let stateType = StorageType(rawValue: dtype) else {
            throw EtaError(.usage, "--state-dtype '\(dtype)': valid values are fp32, bf16, fp16")
        }
        c.stateType = stateType
        if stateType == .fp16, c.optimizer.stateSlots.contains(where: ["exp_avg_sq", "square_avg", "sum", "acc_delta"].contains) {
            // fp16's smallest subnormal is 6e-8: squared gradients below it are stored as 0 and the steps blow up.
            Console.note("eta: note: fp16 state flushes squared-gradient averages below 6e-8 to zero (\(c.optimizer.name) keeps one); bf16 has float32's range")
        }
        c.parameterGroups = try command.paramGroup.map(ParameterGroup.init(spec:)) + command.noDecay.map { ParameterGroup(pattern: $0, weightDecay: 0) }
        if c.parameterGroups.isEmpty, let saved = metadata["param_groups"] {
            // A resumed run keeps its checkpoint's groups unless the command line gives new ones.
            c.parameterGroups = try saved.split(separator: ";").map { try ParameterGroup(spec: String($0)) }
        }
        for (name, value) in [("--clip-grad-norm", command.clipGradNorm), ("--clip-grad-value", command.clipGradValue)] {
            if let value, !(value > 0 && value.isFinite) { throw EtaError(.usage, "\(name) must be a finite number > 0 (got \(value))") }
        }
        c.accumulationSteps = command.accumulate ?? metadata["accumulate"].flatMap(Int.init) ?? 1
        guard c.accumulationSteps >= 1 else { throw EtaError(.usage, "--accumulate must be >= 1 (got \(c.accumulationSteps))") }
        switch command.accumulateMode ?? metadata["accumulate_mode"] ?? "mean" {
        case "mean": c.accumulationMean = true
        case "sum": c.accumulationMean = false
        case let other: throw EtaError(.usage, "--accumulate-mode '\(other)': valid values are mean, sum")
        }
        c.clipGradNorm = command.clipGradNorm
        c.clipGradValue = command.clipGradValue
        if let factor = command.spikeFactor {
            guard factor > 1, factor.isFinite else { throw EtaError(.usage, "--spike-factor must be a finite number > 1 (got \(factor))") }
            c.divergenceGuard.spikeFactor = factor
        }
        guard command.backoff > 0 && command.backoff < 1 else { throw EtaError(.usage, "--backoff must be in (0, 1) (got \(command.backoff))") }
        guard command.maxRollbacks >= 0 else { throw EtaError(.usage, "--max-rollbacks must be >= 0") }
        c.divergenceGuard.backoff = command.backoff
        c.divergenceGuard.maxRollbacks = command.maxRollbacks
        c.logEvery = metadata["log_every"].flatMap(Int.init).map { command.logEvery == 10 ? $0 : command.logEvery } ?? command.logEvery
        return c
    }

    private func writePlot(result: TrainingResult, trainer: Trainer, path: String) throws {
        var loss = SVGChart(title: "Loss (\(trainer.configuration.dataset), \(trainer.configuration.model.spec), \(trainer.configuration.optimizer.name))",
                            xLabel: "step", yLabel: "loss", logY: true)
        loss.series.append(.init(name: "train (batch)", color: SVGChart.palette[0], points: result.steps.map { (Double($0.step), Double($0.loss)) }))
        loss.series.append(.init(name: "train (epoch)", color: SVGChart.palette[2], points: result.epochs.map { (Double($0.step), Double($0.trainLoss)) }, dots: true))
        if result.epochs.contains(where: { $0.validationLoss != nil }) {
            loss.series.append(.init(name: "validation", color: SVGChart.palette[1],
                                     points: result.epochs.compactMap { e in e.validationLoss.map { (Double(e.step), Double($0)) } }, dots: true))
        }
        var lr = SVGChart(title: "Learning rate", xLabel: "step", yLabel: "lr")
        lr.series.append(.init(name: "lr", color: SVGChart.palette[3], points: result.steps.map { (Double($0.step), $0.learningRate) }))
        try OutputFile.replace(path, with: Data(SVGChart.document([loss, lr]).utf8), what: "plot")
    }

    private func printSummary(result: TrainingResult, trainer: Trainer) throws {
        let last = result.epochs.last
        let device = trainer.backend.info.summary
        switch command.format {
        case .json:
            func number(_ value: Float?) -> JSON { value.map(JSON.float) ?? .null }
            try Console.out(JSON.object([
                ("status", .string(result.status.rawValue)), ("dataset", .string(trainer.configuration.dataset)),
                ("model", .string(trainer.configuration.model.spec)), ("optimizer", .string(trainer.configuration.optimizer.spec)),
                ("epochs", .int(trainer.position.epoch)), ("steps", .int(trainer.position.step)),
                ("train_loss", number(last?.trainLoss)), ("train_accuracy", number(last?.trainAccuracy)),
                ("val_loss", number(last?.validationLoss)), ("val_accuracy", number(last?.validationAccuracy)),
                ("wall_seconds", .double(result.seconds)), ("samples_per_second", .double(result.samplesPerSecond)),
                ("device", .string(device)), ("backend", .string(trainer.backend.info.kind.rawValue)),
                ("version", .string(EtaVersion.current)),
            ]).pretty())
        case .table:
            func percent(_ value: Float?) -> String { value.map { String(format: "%.2f%%", 100 * $0) } ?? "-" }
            func number(_ value: Float?) -> String { value.map { String(format: "%.4f", $0) } ?? "-" }
            try Console.out("dataset      \(trainer.configuration.dataset) (\(trainer.split.trainRows.count) train, \(trainer.split.validationRows.count) validation rows)")
            try Console.out("model        \(trainer.configuration.model.spec), loss \(trainer.network.loss.rawValue)")
            try Console.out("optimizer    \(trainer.configuration.optimizer.spec)")
            let layout = trainer.network.arena.layout
            let assignment = ParameterGroup.assignment(trainer.configuration.parameterGroups, layout: layout)
            for (index, group) in trainer.configuration.parameterGroups.enumerated() {
                let tensors = zip(layout.entries, assignment).filter { $0.1 == index + 1 }.map(\.0.name)
                try Console.out("  group      \(group.pattern): lr x\(group.lrScale), weight_decay \(group.weightDecay.map { "\($0)" } ?? "as optimizer") (\(tensors.joined(separator: ", ")))")
            }
            if let d = trainer.network.optimizer.stepSizeEstimate {
                try Console.out("estimate     d = \(scientific(d)) (effective lr d x lr)")
            }
            try Console.out("device       \(device)")
            try Console.out("status       \(result.status.rawValue) after \(trainer.position.epoch) epochs, \(trainer.position.step) steps")
            try Console.out("train        loss \(number(last?.trainLoss))   accuracy \(percent(last?.trainAccuracy))")
            try Console.out("validation   loss \(number(last?.validationLoss))   accuracy \(percent(last?.validationAccuracy))")
            try Console.out(String(format: "time         %.2f s, %.0f samples/s", result.seconds, result.samplesPerSecond))
        }
    }
}

/// Set by SIGINT (Ctrl-C), SIGTERM (`kill`, `timeout`, job schedulers) or SIGHUP (a closed terminal): the training
/// loop checks it after every step and stops cleanly, with a final checkpoint and finished logs, exiting 128 + the
/// signal's number. A second signal exits at once, leaving the previous checkpoint intact.
final class InterruptFlag: @unchecked Sendable {
    private let lock = NSLock()
    private var received: Int32?
    private var sources: [DispatchSourceSignal] = []

    static let handled: [(signal: Int32, name: String)] = [(SIGINT, "SIGINT"), (SIGTERM, "SIGTERM"), (SIGHUP, "SIGHUP")]

    init() {
        for (number, name) in Self.handled {
            Glibc.signal(number, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: number, queue: .global())
            source.setEventHandler { [unowned self] in
                self.lock.lock()
                let first = self.received
                if first == nil { self.received = number }
                self.lock.unlock()
                if let first {
                    Console.note("\neta: \(name) again: stopping now (the last checkpoint written is intact)")
                    exit(128 + first)
                }
                Console.note("\neta: \(name): stopping after this step (send it again to quit at once)")
            }
            source.resume()
            sources.append(source)
        }
    }

    /// The first signal received.
    var signal: Int32? {
        lock.lock()
        defer { lock.unlock() }
        return received
    }

    var isRaised: Bool { signal != nil }

    var signalName: String {
        let number = signal
        return Self.handled.first { $0.signal == number }?.name ?? "interrupted"
    }
}

/// The first output failure of a run (a log line, a checkpoint, the plot): recorded where it happens so the run stops
/// at the next step and every other output is still finalised; the CLI exits 74 with it.
final class OutputFailure {
    private(set) var error: Error?

    func record(_ error: Error) {
        if self.error == nil { self.error = error }
    }

    /// Runs `body`, recording its error instead of throwing it.
    func attempt(_ body: () throws -> Void) {
        do { try body() } catch { record(error) }
    }
}

/// Progress on stderr (a bar redrawn at most 10 times a second on a terminal, a line per epoch when piped)
/// and the log records.
final class ProgressDisplay: TrainingObserver {
    private let trainer: Trainer
    private let log: TrainingLog
    private let quiet: Bool
    private let interrupt: InterruptFlag
    private let failure: OutputFailure
    /// The last anomaly the guard reported (for the closing message).
    private(set) var lastAnomaly: AnomalyRecord?
    private let terminal = isatty(STDERR_FILENO) == 1
    private let start = DispatchTime.now().uptimeNanoseconds
    private var lastDraw: UInt64 = 0
    private var lastLoss: Float?
    private var lastRate = 0.0
    private var startStep: Int
    private var drewBar = false

    init(trainer: Trainer, log: TrainingLog, quiet: Bool, interrupt: InterruptFlag, failure: OutputFailure) {
        self.trainer = trainer
        self.failure = failure
        self.log = log
        self.quiet = quiet
        self.interrupt = interrupt
        startStep = trainer.position.step
    }

    var stopRequested: Bool { interrupt.isRaised || failure.error != nil }

    func trainer(_ trainer: Trainer, didLog step: StepRecord) {
        failure.attempt { try log.step(step) }
        lastLoss = step.loss
        lastRate = step.learningRate
    }

    func trainer(_ trainer: Trainer, didDetect anomaly: AnomalyRecord) {
        var fields: [(String, JSON)] = [("step", .int(anomaly.step)), ("epoch", .int(anomaly.epoch)), ("kind", .string(anomaly.kind)),
                                        ("loss", .float(anomaly.loss)), ("action", .string(anomaly.action)),
                                        ("lr_scale", .double(anomaly.learningRateScale))]
        if let average = anomaly.runningAverage { fields.append(("running_average", .double(average))) }
        if let restored = anomaly.restoredStep { fields.append(("restored_step", .int(restored))) }
        if let tensor = anomaly.tensor { fields.append(("tensor", .string(tensor))) }
        lastAnomaly = anomaly
        failure.attempt { try log.event("anomaly", fields) }
        if terminal && drewBar { Console.err("\r\u{1B}[2K") }
        let detail = anomaly.kind == "non_finite_gradient" ? anomaly.tensor.map { "in tensor \($0)" } ?? "gradient norm not finite"
                                                           : "loss \(anomaly.loss)"
        Console.note("eta: anomaly at step \(anomaly.step): \(anomaly.kind) (\(detail)); action \(anomaly.action)"
                     + (anomaly.restoredStep.map { ", back to step \($0), lr x\(anomaly.learningRateScale)" } ?? ""))
    }

    func trainer(_ trainer: Trainer, didFinish epoch: EpochRecord) {
        failure.attempt { try log.epoch(epoch) }
        guard !quiet else { return }
        var line = "epoch \(epoch.epoch)/\(trainer.configuration.epochs): train loss \(String(format: "%.4f", epoch.trainLoss))"
        if let accuracy = epoch.trainAccuracy { line += String(format: " acc %.2f%%", 100 * accuracy) }
        if let loss = epoch.validationLoss { line += String(format: ", val loss %.4f", loss) }
        if let accuracy = epoch.validationAccuracy { line += String(format: " acc %.2f%%", 100 * accuracy) }
        line += String(format: " (%.2f s)", epoch.seconds)
        if terminal && drewBar { Console.err("\r\u{1B}[2K") }
        if !terminal || epoch.epoch == trainer.configuration.epochs || epoch.epoch % max(1, trainer.configuration.epochs / 20) == 0 {
            Console.note(line)
        }
    }

    func trainer(_ trainer: Trainer, didStep step: Int, of totalSteps: Int, epoch: Int) {
        guard terminal && !quiet else { return }
        let now = DispatchTime.now().uptimeNanoseconds
        guard now - lastDraw >= 100_000_000 || step == totalSteps else { return }
        lastDraw = now
        let elapsed = Double(now - start) * 1e-9
        let done = step - startStep
        let samplesPerSecond = elapsed > 0 ? Double(done) * Double(trainer.configuration.bufferRows(trainer.split)) / elapsed : 0
        let remaining = done > 0 ? elapsed / Double(done) * Double(totalSteps - step) : 0
        let width = 24
        let filled = totalSteps > 0 ? width * step / totalSteps : width
        let bar = String(repeating: "#", count: filled) + String(repeating: ".", count: width - filled)
        let loss = lastLoss.map { String(format: "%.4f", $0) } ?? "-"
        let text = "\r\u{1B}[2Kepoch \(epoch)/\(trainer.configuration.epochs) [\(bar)] \(step)/\(totalSteps) loss \(loss) lr "
            + String(format: "%.2e %.0f samples/s ", lastRate, samplesPerSecond) + clock(elapsed) + "<" + clock(remaining)
        Console.err(text)
        drewBar = true
    }

    func finish() {
        if terminal && drewBar && !quiet { Console.err("\r\u{1B}[2K") }
    }

    private func clock(_ seconds: Double) -> String {
        let s = Int(seconds.rounded())
        return String(format: "%02d:%02d", s / 60, s % 60)
    }
}
