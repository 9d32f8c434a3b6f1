import ArgumentParser
import Eta
import Foundation

struct ScheduleCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "schedule",
        abstract: "Print the learning rate each optimizer step uses under a schedule.",
        discussion: """
            SPEC: NAME[:key=value,...] with PyTorch's scheduler names and arguments:
              none
              constant (factor=1/3, total_iters=5)
              step (step_size, gamma=0.1)
              multistep (milestones=30/80, gamma=0.1)
              exponential (gamma)
              cosine (t_max, eta_min=0)
              cosine_restarts (t_0, t_mult=1, eta_min=0)
              linear (start_factor=1/3, end_factor=1, total_iters=5)
              polynomial (total_iters=5, power=1)
              cyclic (max_lr, base_lr=--lr, step_size_up=2000, step_size_down,
                mode=triangular|triangular2|exp_range, gamma=1, cycle_momentum=true,
                base_momentum=0.8, max_momentum=0.9)
              onecycle (max_lr=--lr, total_steps=--steps, pct_start=0.3,
                anneal_strategy=cos|linear, div_factor=25, final_div_factor=1e4,
                three_phase=false, cycle_momentum=true, base_momentum=0.85,
                max_momentum=0.95)
              plateau (mode=min|max, factor=0.1, patience=10, threshold=1e-4,
                threshold_mode=rel|abs, cooldown=0, min_lr=0, eps=1e-8)
            and the LLM schedules of Hugging Face transformers:
              wsd (decay, warmup=0, stable=steps-warmup-decay,
                warmup_type=linear|cosine|1-sqrt, decay_type=cosine|linear|1-sqrt,
                min_lr_ratio=0, num_cycles=0.5)   warmup-stable-decay
              inverse_sqrt (warmup=0, timescale=warmup or 10000)

            --warmup SPEC (constant, linear or polynomial; its total_iters is the warmup \
            length) runs first; the main schedule then starts at its own step 0 \
            (SequentialLR). plateau reads --metrics: one value per line, the value \
            observed after step k, and composes with a warmup.

            jsonl prints {"step": k, "lr": v} for k = 0..N-1 (plus "momentum" for \
            cyclic and onecycle with cycle_momentum).
            """)

    static let formats: [OutputFormat] = [.table, .jsonl]

    @Argument(help: ArgumentHelp("Schedule SPEC.", valueName: "spec"), transform: ScheduleArgument.parser) var spec:
        ScheduleArgument
    @Option(name: .long, parsing: .unconditional, help: "Base learning rate.") var lr: Double = 0.1
    @Option(name: .long, parsing: .unconditional, help: "Number of optimizer steps to print.") var steps: Int = 100
    @Option(name: .long, help: ArgumentHelp("Warmup SPEC.", valueName: "spec"), transform: ScheduleArgument.parser)
    var warmup: ScheduleArgument?
    @Option(name: .long, help: "Metric values for plateau, one per line.") var metrics: String?
    @Option(
        name: .long, help: OutputFormat.help(ScheduleCommand.formats),
        transform: OutputFormat.parser(ScheduleCommand.formats))
    var format: OutputFormat = .table
    @Option(name: .long, help: "SVG plot of the schedule.") var plot: String?

    func validate() throws {
        try OptionCheck.within("--steps", steps, 0...RunLimits.steps)
        try OptionCheck.finite("--lr", lr, atLeast: 0)
        try ScheduleArgument.checkWarmup(warmup)
    }

    func run() throws {
        try Distributed.requireSingleProcess("schedule")
        try Console.reportingErrors {
            var plan = try SchedulePlan(main: spec.schedule, warmup: warmup?.schedule, base: lr, totalSteps: steps)
            let values = try metrics.map(readMetrics)
            if plan.plateau != nil && values == nil {
                throw EtaError(.usage, "plateau needs --metrics FILE (one value per line)")
            }
            var rows: [(Int, Double, Double?)] = []
            for k in 0..<steps {
                rows.append((k, plan.learningRate(at: k), plan.momentum(at: k)))
                if let values, k < values.count { plan.observe(metric: values[k], afterStep: k) }
            }
            if let bad = rows.first(where: { !$0.1.isFinite }) {
                throw EtaError(
                    .usage,
                    "schedule '\(spec.spec)' gives a non-finite lr (\(bad.1)) at step \(bad.0); check its factors")
            }
            if format == .jsonl {
                // Written in 64 KB pieces: ten million steps stream instead of piling up in one string.
                var output = ""
                for (k, value, momentum) in rows {
                    var fields: [(String, JSON)] = [("step", .int(k)), ("lr", .double(value))]
                    if let momentum { fields.append(("momentum", .double(momentum))) }
                    output += JSON.object(fields).rendered + "\n"
                    if output.utf8.count >= 65_536 {
                        try OutputFile.standardOutput.write(output)
                        output = ""
                    }
                }
                try OutputFile.standardOutput.write(output)
            } else {
                try Console.out(
                    TerminalPlot.render(
                        rows.map { (Double($0.0), $0.1) }, width: 64, height: 14,
                        title: "lr of \(spec.spec)\(warmup.map { " after warmup \($0.spec)" } ?? "")"))
                let stride = max(1, steps / 10)
                for (k, value, momentum) in rows where k % stride == 0 || k == steps - 1 {
                    try Console.out(
                        right("\(k)", 8) + "  " + String(format: "%.6e", value)
                            + (momentum.map { String(format: "  momentum %.4f", $0) } ?? ""))
                }
            }
            if let plot {
                var chart = SVGChart(title: "Learning rate: \(spec.spec)", xLabel: "step", yLabel: "lr")
                chart.series.append(
                    .init(name: "lr", color: SVGChart.palette[0], points: rows.map { (Double($0.0), $0.1) }))
                var charts = [chart]
                if rows.contains(where: { $0.2 != nil }) {
                    var momentum = SVGChart(title: "Momentum / beta1", xLabel: "step", yLabel: "momentum")
                    momentum.series.append(
                        .init(
                            name: "momentum", color: SVGChart.palette[1],
                            points: rows.compactMap { r in r.2.map { (Double(r.0), $0) } }))
                    charts.append(momentum)
                }
                try OutputFile.replace(plot, with: Data(SVGChart.document(charts).utf8), what: "plot")
            }
        }
    }

    private func readMetrics(_ path: String) throws -> [Double] {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw EtaError(.missingInput, "\(path): no such metrics file")
        }
        var values: [Double] = []
        for (index, line) in String(decoding: data, as: UTF8.self).split(
            separator: "\n", omittingEmptySubsequences: false
        ).enumerated() {
            let text = line.trimmingCharacters(in: .whitespaces)
            if text.isEmpty { continue }
            guard let value = Double(text) else {
                throw EtaError(.dataError, "\(path):\(index + 1): '\(text)' is not a number")
            }
            values.append(value)
        }
        return values
    }
}

/// A small line plot drawn with characters, for `table` output.
enum TerminalPlot {
    static func render(_ points: [(Double, Double)], width: Int, height: Int, title: String) -> String {
        let finite = points.filter { $0.1.isFinite }
        guard let low = finite.map(\.1).min(), let high = finite.map(\.1).max(), let first = finite.first?.0,
            let last = finite.last?.0
        else {
            return title + "\n(no finite values)"
        }
        var grid = [[Character]](repeating: [Character](repeating: " ", count: width), count: height)
        let span = high > low ? high - low : 1
        for (x, y) in finite {
            let column = last > first ? Int(((x - first) / (last - first) * Double(width - 1)).rounded()) : 0
            let row = height - 1 - Int(((y - low) / span * Double(height - 1)).rounded())
            grid[row][column] = "*"
        }
        var lines = [title]
        for (index, row) in grid.enumerated() {
            let label =
                index == 0
                ? String(format: "%10.3e", high)
                : index == height - 1 ? String(format: "%10.3e", low) : String(repeating: " ", count: 10)
            lines.append(label + " |" + String(row))
        }
        lines.append(String(repeating: " ", count: 11) + "+" + String(repeating: "-", count: width))
        lines.append(
            String(repeating: " ", count: 12) + "step \(Int(first))" + String(repeating: " ", count: max(1, width - 16))
                + "\(Int(last))")
        return lines.joined(separator: "\n")
    }
}
