import ArgumentParser
import Eta
import Foundation

struct LRFindCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "lr-find",
        abstract: "The LR range test: grow the learning rate over mini-batches and suggest one.",
        discussion: """
            Exponential (default) or linear growth from --start-lr to --end-lr over --num-iter mini-batches of the \
            training data (up to --max-epochs passes), bias-corrected EMA smoothing (--beta 0.98), stopping on a \
            non-finite loss or when the smoothed loss exceeds the best by (--diverge − 1)·|best| (4× the best for \
            positive losses; the relative form also works for losses that reach zero or go negative). Suggestions, \
            from the smoothed curve with the first 10% and last 5 points trimmed: valley (fastai's default), steep \
            (steepest descent against log lr) and minimum/10. The model and optimizer state are restored exactly \
            afterwards. Exit 0, or 1 with --require-suggestion when no suggestion is possible (the reason is printed).
            """)

    static let formats: [OutputFormat] = [.table, .json]

    @OptionGroup var data: ModelDataOptions
    @OptionGroup var step: StepOptions
    @Option(name: .long, parsing: .unconditional, help: "First learning rate.") var startLR: Double = 1e-7
    @Option(name: .long, parsing: .unconditional, help: "Last learning rate.") var endLR: Double = 10
    @Option(name: .long, parsing: .unconditional, help: "Mini-batches (and learning rates) to try.") var numIter: Int =
        100
    @Option(
        name: .long,
        help: ArgumentHelp("\(GrowthMode.choices) (exp for short; default: exponential).", valueName: "mode"),
        transform: GrowthMode.parser)
    var mode: GrowthMode = .exponential
    @Option(name: .long, parsing: .unconditional, help: "EMA factor of the smoothing.") var beta: Double = 0.98
    @Option(name: .long, parsing: .unconditional, help: "Divergence factor.") var diverge: Double = 4
    @Option(name: .long, parsing: .unconditional, help: "Passes over the training data at most.") var maxEpochs: Int =
        10
    @Option(
        name: .long,
        help: ArgumentHelp(
            "The suggestion printed first and used by the table's headline: \(SuggestionName.choices) "
                + "(default: valley).",
            valueName: "name"), transform: SuggestionName.parser)
    var suggestion: SuggestionName = .valley
    @Option(name: .long, help: "The curve as JSONL.") var log: String?
    @Option(name: .long, help: "The curve as CSV.") var csv: String?
    @Option(
        name: .long,
        help: ArgumentHelp(
            "Write a TensorBoard event file to this folder: lr_find/loss, lr_find/smoothed_loss and lr_find/lr per "
                + "iteration.", valueName: "dir"))
    var tensorboard: String?
    @Option(name: .long, help: "SVG plot: loss against lr (log axis) with the suggestions marked.") var plot: String?
    @Option(
        name: .long, help: OutputFormat.help(LRFindCommand.formats),
        transform: OutputFormat.parser(LRFindCommand.formats))
    var format: OutputFormat = .table
    @Flag(name: .long, help: "Exit 1 when no suggestion is possible.") var requireSuggestion = false
    @OptionGroup var deviceOptions: DeviceOptions

    func validate() throws {
        try OptionCheck.require(
            startLR > 0 && endLR > startLR && startLR.isFinite && endLR.isFinite,
            "the lr range needs 0 < --start-lr < --end-lr, both finite (got \(startLR), \(endLR))")
        try OptionCheck.within("--num-iter", numIter, 2...RunLimits.steps)
        try OptionCheck.fraction("--beta", beta)
        try OptionCheck.require(diverge > 1, "--diverge must be > 1 (got \(diverge))")
        try OptionCheck.atLeast("--max-epochs", maxEpochs, 1)
    }

    func run() throws {
        var exitCode: Int32 = 0
        try Console.reportingErrors {
            let finder = LRFinder(
                startLR: startLR, endLR: endLR, iterations: numIter, growth: mode.growth, beta: beta,
                divergeFactor: diverge, maxEpochs: maxEpochs)
            try finder.validate()
            var configuration = try data.configuration()
            step.apply(to: &configuration)
            // Under mpirun every rank computes its slice of each global batch and the gradients are summed, so the
            // curve is the one-process curve of the global batch; rank 0 writes the outputs.
            let group = Distributed.group
            // Outputs written at the end are checked now, before any training.
            if let plot, group.isPrimary { try OutputFile.checkWritable(plot, what: "plot") }
            let backend = try deviceOptions.makeBackend()
            let trainer = try Trainer(configuration: configuration, backend: backend, processGroup: group)
            let curve = try TrainingLog.Curve(
                jsonlPath: group.isPrimary ? log : nil, csvPath: group.isPrimary ? csv : nil,
                columns: ["iteration", "lr", "loss", "smoothed"])
            let board = try tensorboard.flatMap { group.isPrimary ? try TensorBoardWriter(directory: $0) : nil }
            let result = try finder.run(trainer) { point in
                try curve.write([
                    .int(point.iteration), .double(point.learningRate), .double(point.loss), .double(point.smoothed),
                ])
                try board?.scalars(
                    [
                        ("lr_find/loss", Double(point.loss)), ("lr_find/smoothed_loss", Double(point.smoothed)),
                        ("lr_find/lr", point.learningRate),
                    ], step: point.iteration)
            }
            try board?.close()
            if let last = result.points.last, !last.loss.isFinite {
                try curve.write([
                    .int(last.iteration), .double(last.learningRate), .double(last.loss), .double(last.smoothed),
                ])
            }
            try curve.close()
            guard group.isPrimary else { return }
            if let plot { try writePlot(result, path: plot) }
            let ordered = result.suggestions.sorted { a, _ in a.name == suggestion.rawValue }
            if format == .json {
                try Console.out(
                    JSON.object([
                        ("stop_reason", .string(result.stopReason.rawValue)), ("iterations", .int(result.points.count)),
                        (
                            "suggestions",
                            .object(
                                ordered.map { s in
                                    (
                                        s.name,
                                        .object([
                                            ("lr", s.learningRate.map(JSON.double) ?? .null),
                                            ("reason", s.reason.map(JSON.string) ?? .null),
                                        ])
                                    )
                                })
                        ),
                        ("optimizer", .string(configuration.optimizer.spec)),
                        ("dataset", .string(configuration.dataset)),
                        ("device", .string(backend.info.summary)), ("version", .string(EtaVersion.current)),
                        ("world_size", .int(group.size)),
                    ]).pretty())
            } else {
                try Console.out(
                    "stopped     \(result.stopReason.rawValue) after \(result.points.count) of \(numIter) iterations")
                for s in ordered {
                    let label = s.name == "minimum" ? "minimum/10" : s.name
                    if let lr = s.learningRate {
                        try Console.out(left(label, 12) + String(format: "%.3e", lr))
                    } else {
                        try Console.out(left(label, 12) + "no suggestion: \(s.reason ?? "")")
                    }
                }
            }
            if requireSuggestion && ordered.first?.learningRate == nil { exitCode = 1 }
        }
        if exitCode != 0 { throw ExitCode(exitCode) }
    }

    private func writePlot(_ result: LRFinder.Result, path: String) throws {
        var chart = SVGChart(
            title: "LR range test (\(result.stopReason.rawValue))", xLabel: "learning rate (log)", yLabel: "loss",
            logX: true)
        let smoothed = result.points.map(\.smoothed).filter(\.isFinite)
        if let low = (smoothed + result.points.map(\.loss).filter(\.isFinite)).min(), let first = smoothed.first {
            // Show the descent, not the divergence tail: up to 1.5x the starting loss.
            let high = max(first, low) + 0.5 * abs(max(first, low))
            chart.yRange = (low - 0.05 * abs(high - low))...(high > low ? high : low + 1)
        }
        chart.series.append(
            .init(name: "loss", color: "#aaaaaa", points: result.points.map { ($0.learningRate, $0.loss) }))
        chart.series.append(
            .init(
                name: "smoothed", color: SVGChart.palette[0],
                points: result.points.map { ($0.learningRate, $0.smoothed) }))
        for (index, s) in result.suggestions.enumerated() {
            guard let lr = s.learningRate else { continue }
            chart.markers.append(
                .init(
                    x: lr, label: "\(s.name == "minimum" ? "min/10" : s.name) \(String(format: "%.1e", lr))",
                    color: SVGChart.palette[index + 1]))
        }
        try OutputFile.replace(path, with: Data(SVGChart.document([chart]).utf8), what: "plot")
    }
}
