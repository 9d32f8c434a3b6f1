import Dispatch
import Eta
import Foundation

/// Glue between `eta train`'s options and the library: configuration (from the options and, on resume, the
/// checkpoint), logs, checkpoints, Ctrl-C, progress, plot and summary.
struct TrainingSession {
    let command: TrainCommand

    /// The job's ranks; only rank 0 (the primary) writes logs, plots, checkpoints and the summary.
    let group = Distributed.group

    func run() throws -> Int32 {
        // Every output path is checked before anything is loaded or trained: a typo costs a second, not a run.
        let outputs = [(command.log, "--log"), (command.csv, "--csv"), (command.plot, "--plot")].compactMap {
            path, option in path.map { ($0, option) }
        }
        for (path, option) in outputs where group.isPrimary {
            try OutputFile.checkWritable(path, what: option)
            if let other = outputs.first(where: {
                $0.1 != option && URL(fileURLWithPath: $0.0).standardized == URL(fileURLWithPath: path).standardized
            }) {
                throw EtaError(
                    .usage, "\(option) and \(other.1) name the same file \(path): give each output its own path")
            }
        }
        if let folder = command.checkpoint, group.isPrimary {
            try OutputFile.checkWritableFolder(folder, what: "checkpoints in \(folder)")
        }
        let resumed = try command.resume.map { try Distributed.readCheckpoint($0) }
        let configuration = try makeConfiguration(resumed: resumed?.metadata ?? [:])
        let backend = try command.deviceOptions.makeBackend()
        let trainer = try Trainer(configuration: configuration, backend: backend, processGroup: group)
        trainer.checksRanksEveryStep = command.checkRanks
        let note: (String) -> Void = { text in if group.isPrimary { Console.note(text) } }
        if let resumed {
            try resumed.restore(into: trainer)
            if let text = resumed.dataMismatch(with: trainer) { note("eta: note: \(text)") }
            if resumed.metadata["backend"] != backend.info.kind.rawValue {
                note(
                    "eta: note: the checkpoint was written on the \(resumed.metadata["backend"] ?? "?") backend; "
                        + "bit-identical continuation holds on the same backend only"
                )
            }
        }
        let log =
            try group.isPrimary
            ? TrainingLog(jsonlPath: command.log, csvPath: command.csv)
            : TrainingLog(jsonlPath: nil, csvPath: nil)
        let failure = OutputFailure()
        // Text runs: the vocabulary, the parts' lengths and the validation batches.
        let text: [(String, JSON)] =
            trainer.split.dataset.text.map { corpus in
                [
                    ("vocabulary_size", .int(corpus.vocabulary.count)),
                    ("train_characters", .int(corpus.trainingIDs.count)),
                    ("val_characters", .int(corpus.validationIDs.count)),
                    ("val_batches", .int(configuration.validationBatches)),
                ]
            } ?? []
        try log.runStart(
            configuration: [
                ("dataset", .string(configuration.dataset)), ("model", .string(configuration.model.spec)),
                ("optimizer", .string(configuration.optimizer.spec)), ("loss", .string(trainer.network.loss.rawValue)),
                ("schedule", .string(configuration.scheduleSpec ?? "none")),
                ("warmup", configuration.warmupSpec.map(JSON.string) ?? .null),
                ("schedule_interval", .string(configuration.scheduleInterval.rawValue)),
                ("epochs", .int(trainer.plannedEpochs)), ("steps", configuration.steps.map(JSON.int) ?? .null),
                ("batch_size", .int(configuration.batchSize)),
                ("seed", .int(Int(configuration.seed))),
                // Text datasets validate on their last 10% of characters, not a fraction of rows.
                ("val_fraction", trainer.split.dataset.text == nil ? .double(configuration.validationFraction) : .null),
                ("train_rows", .int(trainer.split.trainRows.count)),
                ("val_rows", .int(trainer.split.validationRows.count)),
                ("test_rows", .int(trainer.split.testRows.count)),
                ("sample_shape", .array(trainer.split.dataset.sampleShape.map(JSON.int))),
                ("normalize", .string(trainer.split.normalization.rawValue)),
                ("device", .string(backend.info.summary)), ("backend", .string(backend.info.kind.rawValue)),
                ("resumed_from", command.resume.map(JSON.string) ?? .null), ("start_step", .int(trainer.position.step)),
                ("world_size", .int(group.size)), ("global_batch_size", .int(trainer.globalBatchSize)),
            ] + text)
        if let folder = command.checkpoint {
            let latest = URL(fileURLWithPath: folder).appendingPathComponent("checkpoint-latest.safetensors")
            let best = URL(fileURLWithPath: folder).appendingPathComponent("checkpoint-best.safetensors")
            /// Captures on every rank (sharded state and BatchNorm statistics are gathered), writes on rank 0, then logs
            /// `event`. A failed write stops the run at the next step; the previous file stays intact (atomic rename).
            func save(_ trainer: Trainer, to url: URL, event: String, _ fields: [(String, JSON)]) {
                do {
                    let checkpoint = try Checkpoint.capture(trainer)
                    guard group.isPrimary else { return }
                    try checkpoint.write(to: url)
                } catch {
                    failure.record(error)
                    return
                }
                failure.attempt { try log.event(event, [("path", .string(url.path))] + fields) }
            }
            trainer.checkpointEvery = command.checkpointEvery
            trainer.checkpointHandler = { trainer in
                save(
                    trainer, to: latest, event: "checkpoint",
                    [("step", .int(trainer.position.step)), ("epoch", .int(trainer.position.epoch))])
            }
            trainer.bestCheckpointHandler = { trainer, record in
                let metric = trainer.bestTracker.metric
                save(
                    trainer, to: best, event: "best_checkpoint",
                    [
                        ("epoch", .int(record.epoch)), ("metric", .string(metric.rawValue)),
                        ("value", metric.value(in: record).map(JSON.float) ?? .null),
                    ])
            }
        }
        let interrupt = InterruptFlag()
        let progress = ProgressDisplay(
            trainer: trainer, log: log, quiet: command.quiet || !group.isPrimary, interrupt: interrupt,
            failure: failure)
        let result: TrainingResult
        let startStep = trainer.position.step
        do {
            let board = try command.tensorboard.flatMap {
                group.isPrimary ? try TensorBoardWriter(directory: $0) : nil
            }
            let observer: TrainingObserver =
                board.map {
                    TensorBoardObserver(
                        inner: progress, writer: $0, histogramEvery: command.histogramEvery, failure: failure)
                } ?? progress
            result = try trainer.run(observer: observer)
            if let board { failure.attempt { try board.close() } }
        } catch {
            // A failure inside the run (a device error): the log still ends, naming it, rather than stay .partial.
            progress.finish()
            try? log.runEnd(
                status: "error", exitCode: (error as? EtaError)?.exitCode ?? 70,
                fields: [("steps", .int(trainer.position.step)), ("error", .string("\(error)"))])
            throw error
        }
        progress.finish()
        if !group.isPrimary { return exitCode(result.status, interrupt: interrupt, failure: failure) }
        // Each output is finalised even when another failed; the first failure decides the exit code (74).
        if let plot = command.plot { failure.attempt { try writePlot(result: result, trainer: trainer, path: plot) } }
        // The summary before run_end, so the log records the exit code the process returns. After a signal a
        // failing stdout (SIGHUP: the terminal is gone) does not replace the signal's exit code.
        do { try printSummary(result: result, trainer: trainer, startStep: startStep) } catch {
            if interrupt.isRaised { Console.note("eta: note: \(error)") } else { failure.record(error) }
        }
        let exitCode = exitCode(result.status, interrupt: interrupt, failure: failure)
        let status = failure.error != nil ? "output_failed" : result.status.rawValue
        var endFields: [(String, JSON)] = [
            ("steps", .int(trainer.position.step)), ("seconds", .double(result.seconds)),
        ]
        if let loss = result.testLoss {
            endFields += [("test_loss", .float(loss)), ("test_accuracy", result.testAccuracy.map(JSON.float) ?? .null)]
        }
        failure.attempt { try log.runEnd(status: status, exitCode: exitCode, fields: endFields) }
        if result.status == .diverged {
            let keptCheckpoint = command.checkpoint.map {
                URL(fileURLWithPath: $0).appendingPathComponent("checkpoint-latest.safetensors").path
            }
            .flatMap { FileManager.default.fileExists(atPath: $0) ? $0 : nil }
            Console.note(
                "eta: training diverged at step \(progress.lastAnomaly?.step ?? trainer.position.step + 1) "
                    + "and was aborted (\(progress.lastAnomaly?.kind ?? "non_finite_loss"); "
                    + "--on-nonfinite \(trainer.configuration.divergenceGuard.policy.rawValue), "
                    + "--on-nonfinite-grad \(trainer.configuration.nonFiniteGradients.rawValue))"
                    + "\(keptCheckpoint.map { "; the last good checkpoint, \($0), is kept" } ?? "")"
            )
        }
        if result.status == .interrupted && failure.error == nil {
            Console.note(
                "eta: \(interrupt.signalName) at step "
                    + "\(trainer.position.step)\(command.checkpoint.map { "; checkpoint in \($0)" } ?? "")"
            )
        }
        if let error = failure.error { throw error }
        return exitCode
    }

    /// The process's exit code for a run that ended with `status`.
    private func exitCode(_ status: TrainingStatus, interrupt: InterruptFlag, failure: OutputFailure) -> Int32 {
        if failure.error != nil { return 74 }
        switch status {
        case .completed, .earlyStopped: return 0
        // Under mpirun a rank may have stopped because another was signalled: SIGTERM is what mpirun forwards.
        case .interrupted: return 128 + (interrupt.signal ?? (group.size > 1 ? SIGTERM : SIGINT))
        case .diverged: return 75
        }
    }

    /// Options override the checkpoint's configuration, which overrides the defaults. The options' ranges were
    /// checked when they were parsed (`TrainCommand.validate`), the checkpoint's when it was read.
    private func makeConfiguration(resumed metadata: [String: String]) throws -> TrainingConfiguration {
        var c = try command.data.configuration(metadata: metadata)
        // A job resumed on another number of ranks keeps the checkpoint's global batch unless --batch-size is given.
        if command.data.batchSize == nil, let saved = metadata["world_size"].flatMap(Int.init), saved != group.size {
            let global = c.batchSize * saved
            guard global % group.size == 0 else {
                throw EtaError(
                    .usage,
                    "the checkpoint was written by \(saved) ranks with a global batch of \(global), which \(group.size) "
                        + "ranks cannot split evenly: give --batch-size (per rank)"
                )
            }
            c.batchSize = global / group.size
            if group.isPrimary {
                Console.note(
                    "eta: note: the checkpoint's global batch of \(global) on \(group.size) ranks: --batch-size "
                        + "\(c.batchSize) per rank")
            }
        }
        if let schedule = try command.schedule ?? metadata["schedule"].map(ScheduleArgument.parse) {
            c.schedule = schedule.schedule
            c.scheduleSpec = schedule.spec
        }
        if let warmup = try command.warmup ?? metadata["warmup"].map(ScheduleArgument.parse) {
            c.warmup = warmup.schedule
            c.warmupSpec = warmup.spec
        }
        c.scheduleInterval =
            try command.scheduleInterval ?? metadata["schedule_interval"].map {
                try savedChoice($0, key: "schedule_interval")
            }
            ?? c.scheduleInterval
        c.steps = command.steps ?? metadata["steps"].flatMap(Int.init)
        // --steps without --epochs counts in steps alone, on a resume too.
        c.epochs =
            command.epochs ?? (command.steps != nil ? Int(Int32.max) : metadata["epochs"].flatMap(Int.init))
            ?? c.epochs
        c.divergenceGuard.policy = command.onNonfinite
        c.nonFiniteGradients = command.onNonfiniteGrad
        c.divergenceGuard.maxConsecutiveSkips = command.maxSkips
        c.stateType =
            try command.stateDtype ?? metadata["state_dtype"].map { try savedChoice($0, key: "state_dtype") }
            ?? c.stateType
        if c.stateType == .fp16,
            c.optimizer.stateSlots.contains(where: ["exp_avg_sq", "square_avg", "sum", "acc_delta"].contains)
        {
            // fp16's smallest subnormal is 6e-8: squared gradients below it are stored as 0 and the steps blow up.
            Console.note(
                "eta: note: fp16 state flushes squared-gradient averages below 6e-8 to zero (\(c.optimizer.name) keeps "
                    + "one); bf16 has float32's range"
            )
        }
        c.parameterGroups = command.step.parameterGroups
        if c.parameterGroups.isEmpty, let saved = metadata["param_groups"] {
            // A resumed run keeps its checkpoint's groups unless the command line gives new ones.
            c.parameterGroups = try saved.split(separator: ";").map { try ParameterGroup(spec: String($0)) }
        }
        c.accumulationSteps = command.step.accumulate ?? metadata["accumulate"].flatMap(Int.init) ?? c.accumulationSteps
        let mode: AccumulationMode? =
            try command.step.accumulateMode
            ?? metadata["accumulate_mode"].map { try savedChoice($0, key: "accumulate_mode") }
        c.accumulationMean = (mode ?? .mean) == .mean
        c.emaDecay = command.ema ?? metadata["ema_decay"].flatMap(Double.init)
        c.earlyStopping = try command.earlyStop?.value ?? metadata["early_stop"].map { try EarlyStopping(spec: $0) }
        c.bestMetric = command.bestMetric?.value ?? metadata["best_metric"].flatMap(EpochMetric.init(rawValue:))
        c.swa = try command.swa ?? metadata["swa"].map { try StochasticWeightAveraging(spec: $0) }
        c.clipGradNorm = command.step.clipGradNorm
        c.clipGradValue = command.step.clipGradValue
        if let factor = command.spikeFactor { c.divergenceGuard.spikeFactor = factor }
        c.divergenceGuard.backoff = command.backoff
        c.divergenceGuard.maxRollbacks = command.maxRollbacks
        c.logEvery = command.logEvery ?? metadata["log_every"].flatMap(Int.init) ?? c.logEvery
        c.shardOptimizerState = command.shardOptimizerState
        return c
    }

    private func writePlot(result: TrainingResult, trainer: Trainer, path: String) throws {
        var loss = SVGChart(
            title:
                "Loss (\(trainer.configuration.dataset), \(trainer.configuration.model.spec), "
                + "\(trainer.configuration.optimizer.name))",
            xLabel: "step", yLabel: "loss", logY: true)
        loss.series.append(
            .init(
                name: "train (batch)", color: SVGChart.palette[0],
                points: result.steps.map { (Double($0.step), Double($0.loss)) }))
        loss.series.append(
            .init(
                name: "train (epoch)", color: SVGChart.palette[2],
                points: result.epochs.map { (Double($0.step), Double($0.trainLoss)) }, dots: true))
        if result.epochs.contains(where: { $0.validationLoss != nil }) {
            loss.series.append(
                .init(
                    name: "validation", color: SVGChart.palette[1],
                    points: result.epochs.compactMap { e in e.validationLoss.map { (Double(e.step), Double($0)) } },
                    dots: true))
        }
        var lr = SVGChart(title: "Learning rate", xLabel: "step", yLabel: "lr")
        lr.series.append(
            .init(
                name: "lr", color: SVGChart.palette[3], points: result.steps.map { (Double($0.step), $0.learningRate) })
        )
        try OutputFile.replace(path, with: Data(SVGChart.document([loss, lr]).utf8), what: "plot")
    }

    private func printSummary(result: TrainingResult, trainer: Trainer, startStep: Int) throws {
        let last = result.epochs.last
        let device = trainer.backend.info.summary
        let perCharacter = trainer.split.dataset.text != nil
        if command.format == .json {
            func number(_ value: Float?) -> JSON { value.map(JSON.float) ?? .null }
            // Text runs add the losses in bits per character after today's keys.
            let bits: [(String, JSON)] =
                perCharacter
                ? [
                    ("train_bpc", number(last?.trainBitsPerCharacter)),
                    ("val_bpc", number(last?.validationBitsPerCharacter)),
                ] : []
            var watch: [(String, JSON)] = []
            if let stopping = trainer.earlyStopping {
                watch += [
                    ("early_stop_metric", .string(stopping.metric.rawValue)),
                    ("early_stop_best", number(stopping.best?.value)),
                    ("early_stop_best_epoch", stopping.best.map { .int($0.epoch) } ?? .null),
                ]
            }
            if trainer.bestCheckpointHandler != nil {
                watch += [
                    ("best_metric", .string(trainer.bestTracker.metric.rawValue)),
                    ("best_value", number(trainer.bestTracker.best?.value)),
                    ("best_epoch", trainer.bestTracker.best.map { .int($0.epoch) } ?? .null),
                ]
            }
            try Console.out(
                JSON.object(
                    [
                        ("status", .string(result.status.rawValue)),
                        ("dataset", .string(trainer.configuration.dataset)),
                        ("model", .string(trainer.configuration.model.spec)),
                        ("optimizer", .string(trainer.configuration.optimizer.spec)),
                        ("epochs", .int(trainer.position.epoch)), ("steps", .int(trainer.position.step)),
                        ("train_loss", number(last?.trainLoss)), ("train_accuracy", number(last?.trainAccuracy)),
                        ("val_loss", number(last?.validationLoss)), ("val_accuracy", number(last?.validationAccuracy)),
                        ("ema_val_loss", number(last?.emaValidationLoss)),
                        ("ema_val_accuracy", number(last?.emaValidationAccuracy)),
                        ("swa_val_loss", number(last?.swaValidationLoss)),
                        ("swa_val_accuracy", number(last?.swaValidationAccuracy)),
                        ("test_loss", number(result.testLoss)), ("test_accuracy", number(result.testAccuracy)),
                        ("wall_seconds", .double(result.seconds)),
                        ("samples_per_second", .double(result.samplesPerSecond)),
                        ("device_memory_bytes", .int(trainer.deviceMemoryBytes)),
                        ("world_size", .int(group.size)), ("global_batch_size", .int(trainer.globalBatchSize)),
                        ("communication_seconds", .double(trainer.communicationSeconds)),
                        ("device", .string(device)), ("backend", .string(trainer.backend.info.kind.rawValue)),
                        ("version", .string(EtaVersion.current)),
                    ] + bits + watch
                ).pretty())
        } else {
            func percent(_ value: Float?) -> String { value.map { String(format: "%.2f%%", 100 * $0) } ?? "-" }
            func number(_ value: Float?) -> String { value.map { String(format: "%.4f", $0) } ?? "-" }
            let testRows = trainer.split.testRows.count
            if let corpus = trainer.split.dataset.text {
                try Console.out(
                    "dataset      \(trainer.configuration.dataset) (\(corpus.trainingIDs.count) train, "
                        + "\(corpus.validationIDs.count) validation characters, vocabulary \(corpus.vocabulary.count); "
                        + "\(trainer.split.trainRows.count) windows per epoch, \(trainer.split.validationRows.count) "
                        + "validation windows)")
            } else {
                try Console.out(
                    "dataset      \(trainer.configuration.dataset) (\(trainer.split.trainRows.count) train, "
                        + "\(trainer.split.validationRows.count) validation\(testRows > 0 ? ", \(testRows) test" : "") "
                        + "rows)")
            }
            try Console.out("model        \(trainer.configuration.model.spec), loss \(trainer.network.loss.rawValue)")
            try Console.out("optimizer    \(trainer.configuration.optimizer.spec)")
            let layout = trainer.network.arena.layout
            let assignment = ParameterGroup.assignment(trainer.configuration.parameterGroups, layout: layout)
            for (index, group) in trainer.configuration.parameterGroups.enumerated() {
                let tensors = zip(layout.entries, assignment).filter { $0.1 == index + 1 }.map(\.0.name)
                try Console.out(
                    "  group      \(group.pattern): lr x\(group.lrScale), weight_decay "
                        + "\(group.weightDecay.map { "\($0)" } ?? "as optimizer") (\(tensors.joined(separator: ", ")))"
                )
            }
            if let d = trainer.network.optimizer.stepSizeEstimate {
                try Console.out("estimate     d = \(scientific(d)) (effective lr d x lr)")
            }
            try Console.out("device       \(device)")
            try Console.out(
                String(
                    format: "memory       %.1f MB on the device (parameters, optimizer state, activations, data)"
                        + (group.size > 1 ? " per rank" : ""),
                    Double(trainer.deviceMemoryBytes) / 1e6))
            if group.size > 1 || trainer.configuration.shardOptimizerState {
                let steps = max(1, trainer.position.step - startStep)
                try Console.out(
                    String(
                        format: "ranks        %d x batch %d = global batch %d; communication %.2f s (%.2f ms/step, "
                            + "%.1f%% of the run)%@", group.size, trainer.configuration.batchSize,
                        trainer.globalBatchSize, trainer.communicationSeconds,
                        1e3 * trainer.communicationSeconds / Double(steps),
                        100 * trainer.communicationSeconds / max(result.seconds, 1e-9),
                        trainer.configuration.shardOptimizerState ? "; optimizer state sharded 1/\(group.size)" : ""))
            }
            try Console.out(
                "status       \(result.status.rawValue) after \(trainer.position.epoch) epochs, "
                    + "\(trainer.position.step) steps"
            )
            if let stopping = trainer.earlyStopping, let best = stopping.best {
                try Console.out(
                    "early stop   \(stopping.metric.rawValue) best \(number(best.value)) at epoch \(best.epoch); "
                        + "\(stopping.wait) epochs without improvement (patience \(stopping.patience ?? 0))")
            }
            if trainer.bestCheckpointHandler != nil, let best = trainer.bestTracker.best {
                try Console.out(
                    "best         checkpoint-best.safetensors: epoch \(best.epoch), \(trainer.bestTracker.metric.rawValue) "
                        + number(best.value))
            }
            // Text: the loss in nats and in bits per character (nats / ln 2).
            func bits(_ value: Float?) -> String { perCharacter ? "   bpc \(number(value))" : "" }
            try Console.out(
                "train        loss \(number(last?.trainLoss))   accuracy \(percent(last?.trainAccuracy))"
                    + bits(last?.trainBitsPerCharacter))
            try Console.out(
                "validation   loss \(number(last?.validationLoss))   accuracy \(percent(last?.validationAccuracy))"
                    + bits(last?.validationBitsPerCharacter))
            if last?.emaValidationLoss != nil {
                try Console.out(
                    "ema          loss \(number(last?.emaValidationLoss))   accuracy \(percent(last?.emaValidationAccuracy))"
                        + "   (validation, moving average, decay \(trainer.average?.decay ?? 0))")
            }
            if last?.swaValidationLoss != nil {
                try Console.out(
                    "swa          loss \(number(last?.swaValidationLoss))   accuracy \(percent(last?.swaValidationAccuracy))"
                        + "   (validation, average of \(trainer.stochasticAverage?.updates ?? 0) epochs' weights)")
            }
            if testRows > 0 {
                try Console.out(
                    "test         loss \(number(result.testLoss))   accuracy \(percent(result.testAccuracy))")
            }
            try Console.out(
                String(format: "time         %.2f s, %.0f samples/s", result.seconds, result.samplesPerSecond))
        }
    }
}
