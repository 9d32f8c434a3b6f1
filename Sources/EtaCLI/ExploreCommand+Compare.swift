import Eta
import Foundation

/// `eta explore` with several runs (`--lrs`, repeated `--optimizer`): a table of what each learning rate did, and
/// the picture of it (`--plot`).
extension ExploreCommand {
    func printComparison(
        _ runs: [(OptimizerConfiguration, Explore.Run)], function: Objective, backend: Backend
    ) throws {
        try Console.out("objective   \(objective.rawValue)\(curvature.map { " (curvatures \($0.text))" } ?? "")")
        try Console.out("device      \(backend.info.summary)")
        try Console.out("global min  f \(scientific(Double(function.minimumLoss)))")
        try Console.out("")
        try Console.out("  run  optimizer     lr          final loss  verdict")
        for (index, (configuration, run)) in runs.enumerated() {
            try Console.out(
                right("\(index + 1)", 5) + "  " + configuration.name.padding(toLength: 12, withPad: " ", startingAt: 0)
                    + right(scientific(configuration.learningRate), 10) + "  "
                    + right(scientific(Double(run.finalLoss)), 10) + "  " + run.verdict.rawValue)
        }
    }

    func writePlot(_ runs: [(OptimizerConfiguration, Explore.Run)], function: Objective, path: String) throws {
        func name(_ configuration: OptimizerConfiguration) -> String {
            "\(configuration.name) lr \(String(format: "%.3g", configuration.learningRate))"
        }
        func color(_ index: Int) -> String { SVGChart.palette[index % SVGChart.palette.count] }
        var loss = SVGChart(title: "Loss against step", xLabel: "step", yLabel: "loss", logY: true)
        for (index, (configuration, run)) in runs.enumerated() {
            loss.series.append(
                .init(
                    name: name(configuration), color: color(index),
                    points: run.steps.map { (Double($0.step), Double($0.loss)) }))
        }
        var panels: [(panel: any SVGPanel, height: Int)] = []
        if function.dimension == 2 {
            let contour = SVGContour(
                title: "\(objective.rawValue): paths over contour lines (start ring, end dot, global minima x)",
                function: { Double(function.loss(at: $0.map(Float.init))) }, minima: function.minimizers,
                paths: runs.enumerated().map { index, pair in
                    SVGContour.Path(
                        name: name(pair.0), color: color(index), points: [pair.1.start] + pair.1.steps.map(\.x))
                })
            panels.append((contour, 460))
        }
        panels.append((loss, 300))
        try OutputFile.replace(path, with: Data(SVGChart.document(panels: panels).utf8), what: "plot")
    }
}
