import ArgumentParser
import Eta
import Foundation

/// `--widths a,b,c`: positive integers, at most 16 of them.
struct Widths {
    let values: [Int]

    static func parse(_ text: String) throws -> Widths {
        let values = text.split(separator: ",").map { Int($0.trimmingCharacters(in: .whitespaces)) }
        guard !values.isEmpty, values.count <= 16, values.allSatisfy({ ($0 ?? 0) >= 1 }) else {
            throw ValidationError("expected 1 to 16 comma-separated widths >= 1, e.g. 64,256,1024 (got '\(text)')")
        }
        return Widths(values: values.map { $0! })
    }
}

/// The sweep at several widths: the same learning rates at each, the best one per width, and final loss against lr
/// with one curve per width (the picture of whether a learning rate transfers).
extension SweepCommand {
    func runWidths(_ widths: [Int], configuration: TrainingConfiguration, rates: [Double], backend: Backend) throws {
        let group = Distributed.group
        var results: [(width: Int, result: Sweep.Result)] = []
        let table = try TrainingLog.Curve(
            jsonlPath: group.isPrimary ? log : nil, csvPath: group.isPrimary ? csv : nil,
            columns: [
                "width", "lr", "final_train_loss", "best_train_loss", "final_val_loss", "final_val_accuracy",
                "diverged_at_step", "divergence_reason",
            ])
        func number(_ value: Float?) -> JSON { value.map(JSON.float) ?? .null }
        for width in widths {
            var atWidth = configuration
            atWidth.model = try configuration.model.scaled(toWidth: width)
            atWidth.model.parametrization = configuration.model.parametrization
            let result = try Sweep.gather(
                try Sweep.train(configuration: atWidth, learningRates: rates, backend: backend), group: group)
            results.append((width, result))
            guard group.isPrimary else { continue }
            if let tensorboard { try Self.writeTensorBoard(result, directory: tensorboard, prefix: "width_\(width)_") }
            for run in result.runs {
                try table.write([
                    .int(width), .double(run.learningRate), .float(run.finalTrainLoss), .float(run.bestTrainLoss),
                    number(run.finalValidationLoss), number(run.finalValidationAccuracy),
                    run.divergedAtStep.map(JSON.int) ?? .null, run.divergenceReason.map(JSON.string) ?? .null,
                ])
            }
        }
        try table.close()
        guard group.isPrimary else { return }
        if let plot { try writeWidthPlot(results, path: plot) }
        /// The lr of the lowest final training loss among the runs that did not diverge (what transfer compares).
        func best(_ result: Sweep.Result) -> Double? {
            result.runs.filter { $0.divergedAtStep == nil && $0.finalTrainLoss.isFinite }
                .min { $0.finalTrainLoss < $1.finalTrainLoss }?.learningRate
        }
        let parametrization = configuration.model.parametrization.spec
        if format == .json {
            try Console.out(
                JSON.object([
                    (
                        "widths",
                        .array(
                            results.map { width, result in
                                .object([
                                    ("width", .int(width)), ("best_lr", best(result).map(JSON.double) ?? .null),
                                    (
                                        "recommended_lr",
                                        result.recommended.map { .double(result.runs[$0].learningRate) } ?? .null
                                    ),
                                    (
                                        "runs",
                                        .array(
                                            result.runs.map { run in
                                                .object([
                                                    ("lr", .double(run.learningRate)),
                                                    ("final_train_loss", .float(run.finalTrainLoss)),
                                                    ("final_val_loss", number(run.finalValidationLoss)),
                                                    ("diverged_at_step", run.divergedAtStep.map(JSON.int) ?? .null),
                                                ])
                                            })
                                    ),
                                ])
                            })
                    ),
                    ("parametrization", .string(parametrization)), ("model", .string(configuration.model.spec)),
                    ("optimizer", .string(configuration.optimizer.name)), ("epochs", .int(configuration.epochs)),
                    ("dataset", .string(configuration.dataset)), ("device", .string(backend.info.summary)),
                    ("version", .string(EtaVersion.current)),
                ]).pretty())
            return
        }
        try Console.out("final training loss (\(parametrization); '-': diverged)")
        try Console.out("        lr" + widths.map { right("width \($0)", 12) }.joined())
        for (index, lr) in rates.enumerated() {
            try Console.out(
                String(format: "%10.3e", lr)
                    + results.map { _, result in
                        let run = result.runs[index]
                        return right(
                            run.divergedAtStep == nil && run.finalTrainLoss.isFinite
                                ? String(format: "%.4f", run.finalTrainLoss) : "-", 12)
                    }.joined())
        }
        try Console.out(
            "   best lr" + results.map { right(best($0.result).map { String(format: "%.2e", $0) } ?? "-", 12) }.joined()
        )
    }

    private func writeWidthPlot(_ results: [(width: Int, result: Sweep.Result)], path: String) throws {
        func chart(_ title: String, _ value: (Sweep.Run) -> Float?) -> SVGChart {
            var chart = SVGChart(title: title, xLabel: "learning rate (log)", yLabel: "loss", logX: true, logY: true)
            for (index, entry) in results.enumerated() {
                chart.series.append(
                    .init(
                        name: "width \(entry.width)", color: SVGChart.palette[index % SVGChart.palette.count],
                        points: entry.result.runs.compactMap { run in
                            guard run.divergedAtStep == nil, let v = value(run), v.isFinite else { return nil }
                            return (run.learningRate, Double(v))
                        }, dots: true))
            }
            return chart
        }
        var charts = [chart("Final training loss against learning rate, per width") { $0.finalTrainLoss }]
        if results.contains(where: { $0.result.runs.contains { $0.finalValidationLoss != nil } }) {
            charts.append(chart("Final validation loss against learning rate, per width") { $0.finalValidationLoss })
        }
        try OutputFile.replace(path, with: Data(SVGChart.document(charts).utf8), what: "plot")
    }
}
