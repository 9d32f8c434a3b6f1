import ArgumentParser
import Eta
import Foundation

struct SweepCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sweep",
        abstract: "Train K replicas with K learning rates at once and compare them.",
        discussion: """
            --lrs a,b,c or --log-range lo:hi:n. The replicas start from the same weights and see the same data in the \
            same order; every kernel launch of a step covers all of them, and one optimizer launch updates them all \
            with per-replica learning rates held on the device. A --schedule/--warmup applies to each replica's lr. \
            Reports per lr the final and best training and validation loss and the step where it diverged, if it did, \
            and which rule fired: a non-finite loss, a logged batch loss or epoch mean above 4 times the replica's \
            first logged loss, or (with --spike-factor K) a batch loss above K times its running average; \
            recommends the lr with the lowest final validation loss among those that did not diverge.
            """)

    static let formats: [OutputFormat] = [.table, .json]

    @OptionGroup var data: ModelDataOptions
    @Option(
        name: .long, help: ArgumentHelp("Comma-separated learning rates.", valueName: "a,b,c"),
        transform: { try LearningRates.parse(list: $0) })
    var lrs: LearningRates?
    @Option(
        name: .long,
        help: ArgumentHelp("Learning rates evenly spaced in log10 from lo to hi, n of them.", valueName: "lo:hi:n"),
        transform: { try LearningRates.parse(logRange: $0) })
    var logRange: LearningRates?
    @Option(
        name: .long,
        help: ArgumentHelp(
            "Run the sweep at each width (the model's first hidden width, first channels or embedding; the other "
                + "widths scale with it) and compare the best learning rates: with --parametrization mup:base_width=W "
                + "they transfer.", valueName: "a,b,c"),
        transform: { try Widths.parse($0) })
    var widths: Widths?
    @Option(name: .long, parsing: .unconditional, help: "Epochs (default: 10, or as many as --steps takes).")
    var epochs: Int?
    @Option(
        name: .long, parsing: .unconditional,
        help: "Stop after N optimizer steps (the last epoch part-way; text models train in steps).")
    var steps: Int?
    @Option(
        name: .long, help: ArgumentHelp("Schedule SPEC applied to each replica's lr.", valueName: "spec"),
        transform: ScheduleArgument.parser)
    var schedule: ScheduleArgument?
    @Option(
        name: .long, help: ArgumentHelp("Warmup SPEC (constant, linear or polynomial).", valueName: "spec"),
        transform: ScheduleArgument.parser)
    var warmup: ScheduleArgument?
    @Option(name: .long, parsing: .unconditional, help: "Read the replicas' losses every N steps.") var logEvery: Int =
        10
    @Option(
        name: .long, parsing: .unconditional,
        help: ArgumentHelp(
            "A replica whose logged loss exceeds K times its running average has diverged (as train's guard).",
            valueName: "K"))
    var spikeFactor: Double?
    @Option(name: .long, help: "Per-lr results as JSONL.") var log: String?
    @Option(name: .long, help: "Per-lr results as CSV.") var csv: String?
    @Option(name: .long, help: "SVG: loss curves per lr, and final loss against lr.") var plot: String?
    @Option(
        name: .long,
        help: ArgumentHelp(
            "Write TensorBoard event files, one run per replica (DIR/lr_LR, with --widths DIR/width_W_lr_LR): "
                + "train/loss per logged step, epoch/train_loss and epoch/val_loss per epoch.", valueName: "dir"))
    var tensorboard: String?
    @Option(
        name: .long, help: OutputFormat.help(SweepCommand.formats), transform: OutputFormat.parser(SweepCommand.formats)
    )
    var format: OutputFormat = .table
    @OptionGroup var deviceOptions: DeviceOptions

    func validate() throws {
        try OptionCheck.require(lrs != nil || logRange != nil, "give --lrs a,b,c or --log-range lo:hi:n")
        try OptionCheck.require(lrs == nil || logRange == nil, "give either --lrs or --log-range, not both")
        try OptionCheck.atLeast("--epochs", epochs, 1)
        try OptionCheck.atLeast("--steps", steps, 1)
        try OptionCheck.atLeast("--log-every", logEvery, 1)
        try OptionCheck.finite("--spike-factor", spikeFactor, above: 1)
        try ScheduleArgument.checkWarmup(warmup)
    }

    func run() throws {
        try Console.reportingErrors {
            let allRates = (lrs ?? logRange)?.values ?? []
            // Under mpirun each rank trains a slice of the rates; rank 0 gathers the runs and writes the outputs.
            let group = Distributed.group
            let rates = Array(try Sweep.slice(allRates, rank: group.rank, size: group.size))
            var configuration = try data.configuration()
            configuration.epochs = epochs ?? (steps != nil ? Int(Int32.max) : 10)
            configuration.steps = steps
            configuration.logEvery = logEvery
            if let spikeFactor { configuration.divergenceGuard.spikeFactor = spikeFactor }
            if let schedule { configuration.schedule = schedule.schedule }
            if let warmup { configuration.warmup = warmup.schedule }
            // Outputs written at the end are checked now, before any training.
            if let plot, group.isPrimary { try OutputFile.checkWritable(plot, what: "plot") }
            let backend = try deviceOptions.makeBackend()
            if let widths {
                return try runWidths(widths.values, configuration: configuration, rates: rates, backend: backend)
            }
            let results = try TrainingLog.Curve(
                jsonlPath: group.isPrimary ? log : nil, csvPath: group.isPrimary ? csv : nil,
                columns: [
                    "lr", "final_train_loss", "best_train_loss", "final_val_loss", "best_val_loss",
                    "final_val_accuracy", "diverged_at_step", "divergence_reason",
                ])
            let result = try Sweep.gather(
                try Sweep.train(configuration: configuration, learningRates: rates, backend: backend), group: group)
            guard group.isPrimary else { return }
            func number(_ value: Float?) -> JSON { value.map(JSON.float) ?? .null }
            for run in result.runs {
                try results.write([
                    .double(run.learningRate), .float(run.finalTrainLoss), .float(run.bestTrainLoss),
                    number(run.finalValidationLoss),
                    number(run.bestValidationLoss), number(run.finalValidationAccuracy),
                    run.divergedAtStep.map(JSON.int) ?? .null, run.divergenceReason.map(JSON.string) ?? .null,
                ])
            }
            try results.close()
            if let plot { try writePlot(result, path: plot) }
            if let tensorboard { try Self.writeTensorBoard(result, directory: tensorboard, prefix: "") }
            let recommended = result.recommended.map { result.runs[$0].learningRate }
            if format == .json {
                try Console.out(
                    JSON.object([
                        (
                            "runs",
                            .array(
                                result.runs.map { run in
                                    .object([
                                        ("lr", .double(run.learningRate)),
                                        ("final_train_loss", .float(run.finalTrainLoss)),
                                        ("best_train_loss", .float(run.bestTrainLoss)),
                                        ("final_val_loss", number(run.finalValidationLoss)),
                                        ("best_val_loss", number(run.bestValidationLoss)),
                                        ("final_val_accuracy", number(run.finalValidationAccuracy)),
                                        ("diverged_at_step", run.divergedAtStep.map(JSON.int) ?? .null),
                                        ("divergence_reason", run.divergenceReason.map(JSON.string) ?? .null),
                                        ("test_loss", number(run.testLoss)),
                                        ("test_accuracy", number(run.testAccuracy)),
                                    ])
                                })
                        ),
                        ("recommended_lr", recommended.map(JSON.double) ?? .null),
                        ("epochs", .int(configuration.epochs)),
                        ("optimizer", .string(configuration.optimizer.name)),
                        ("dataset", .string(configuration.dataset)),
                        ("wall_seconds", .double(result.seconds)), ("device", .string(backend.info.summary)),
                        ("world_size", .int(group.size)),
                        ("version", .string(EtaVersion.current)),
                    ]).pretty())
            } else {
                func cell(_ value: Float?) -> String {
                    value.map { $0.isFinite ? String(format: "%.4f", $0) : "\($0)" } ?? "-"
                }
                let tested = result.runs.contains { $0.testLoss != nil }
                try Console.out(
                    "        lr   final train    best train     final val      best val   val acc   diverged"
                        + (tested ? "     test loss  test acc" : ""))
                for (index, run) in result.runs.enumerated() {
                    try Console.out(
                        String(format: "%10.3e", run.learningRate) + right(cell(run.finalTrainLoss), 14)
                            + right(cell(run.bestTrainLoss), 14)
                            + right(cell(run.finalValidationLoss), 14) + right(cell(run.bestValidationLoss), 14)
                            + right(run.finalValidationAccuracy.map { String(format: "%.2f%%", 100 * $0) } ?? "-", 10)
                            + right(run.divergedAtStep.map { "step \($0)" } ?? "-", 11)
                            + (tested
                                ? right(cell(run.testLoss), 14)
                                    + right(run.testAccuracy.map { String(format: "%.2f%%", 100 * $0) } ?? "-", 10)
                                : "")
                            + (index == result.recommended ? "  <- recommended" : ""))
                }
                for run in result.runs {
                    guard let step = run.divergedAtStep, let reason = run.divergenceReason else { continue }
                    try Console.out(String(format: "lr %.3e diverged at step %d: ", run.learningRate, step) + reason)
                }
                try Console.out(
                    recommended.map { String(format: "recommended lr %.3e", $0) }
                        ?? "no recommendation: every learning rate diverged")
                try Console.out(
                    String(
                        format: "%d replicas x %@ in %.2f s on %@%@", allRates.count,
                        steps.map { "\($0) steps" } ?? "\(configuration.epochs) epochs", result.seconds,
                        backend.info.kind.rawValue, group.size > 1 ? " over \(group.size) ranks" : ""))
            }
        }
    }

    private func writePlot(_ result: Sweep.Result, path: String) throws {
        var curves = SVGChart(title: "Training loss per learning rate", xLabel: "step", yLabel: "loss", logY: true)
        for (index, run) in result.runs.enumerated() {
            curves.series.append(
                .init(
                    name: String(format: "lr %.1e", run.learningRate),
                    color: SVGChart.palette[index % SVGChart.palette.count],
                    points: run.stepLosses.map { (Double($0.step), Double($0.loss)) }))
        }
        var final = SVGChart(
            title: "Final loss against learning rate", xLabel: "learning rate (log)", yLabel: "loss", logX: true,
            logY: true)
        final.series.append(
            .init(
                name: "train", color: SVGChart.palette[0],
                points: result.runs.map { ($0.learningRate, Double($0.finalTrainLoss)) }, dots: true))
        if result.runs.contains(where: { $0.finalValidationLoss != nil }) {
            final.series.append(
                .init(
                    name: "validation", color: SVGChart.palette[1],
                    points: result.runs.compactMap { run in
                        run.finalValidationLoss.map { (run.learningRate, Double($0)) }
                    }, dots: true))
        }
        if let index = result.recommended {
            final.markers.append(
                .init(x: result.runs[index].learningRate, label: "recommended", color: SVGChart.palette[2]))
        }
        try OutputFile.replace(path, with: Data(SVGChart.document([curves, final]).utf8), what: "plot")
    }

    /// One TensorBoard run per replica: its logged batch losses, and its epochs' training and validation losses at the
    /// epochs' last steps.
    static func writeTensorBoard(_ result: Sweep.Result, directory: String, prefix: String) throws {
        for run in result.runs {
            let writer = try TensorBoardWriter(
                directory: directory + "/" + prefix + "lr_" + String(format: "%.3g", run.learningRate))
            for (step, loss) in run.stepLosses { try writer.scalars([("train/loss", Double(loss))], step: step) }
            for (index, (loss, step)) in zip(run.epochLosses, run.epochEndSteps).enumerated() {
                var values: [(tag: String, value: Double)] = [("epoch/train_loss", Double(loss))]
                if index == run.epochLosses.count - 1, let validation = run.finalValidationLoss {
                    values.append(("epoch/val_loss", Double(validation)))
                }
                try writer.scalars(values, step: step)
            }
            try writer.close()
        }
    }
}
