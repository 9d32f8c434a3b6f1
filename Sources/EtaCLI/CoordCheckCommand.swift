import ArgumentParser
import Eta
import Foundation

struct CoordCheckCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "coord-check",
        abstract:
            "Activation scales against width over the first steps (the mup package's check of a parametrization).",
        discussion: """
            Trains the model at each of --widths for --steps steps (--seeds runs each, averaged) and records every \
            layer's mean |activation| at each step's forward pass (step 1: the initial weights). Under \
            --parametrization mup:base_width=W the scales stay flat as the width grows; under the standard \
            parametrization some grow after the first update. Prints, per layer, the slope of log(scale) against \
            log(width) at the last step (about 0: flat; 0.5: like √width; 1: like width), and --plot draws one panel \
            per step, scale against width, one line per layer.
            """)

    static let formats: [OutputFormat] = [.table, .jsonl]

    @OptionGroup var data: ModelDataOptions
    @Option(
        name: .long, help: ArgumentHelp("Widths to compare (default: 64,128,256,512,1024).", valueName: "a,b,c"),
        transform: { try Widths.parse($0) })
    var widths: Widths?
    @Option(name: .long, parsing: .unconditional, help: "Optimizer steps per run (default: 4).") var steps: Int = 4
    @Option(name: .long, parsing: .unconditional, help: "Runs per width, averaged (default: 3).") var seeds: Int = 3
    @Option(name: .long, help: "SVG: scale against width per step, one line per layer.") var plot: String?
    @Option(
        name: .long, help: OutputFormat.help(CoordCheckCommand.formats),
        transform: OutputFormat.parser(CoordCheckCommand.formats))
    var format: OutputFormat = .table
    @OptionGroup var deviceOptions: DeviceOptions

    func validate() throws {
        try OptionCheck.require((1...100).contains(steps), "--steps must be in 1...100 (got \(steps))")
        try OptionCheck.require((1...16).contains(seeds), "--seeds must be in 1...16 (got \(seeds))")
    }

    func run() throws {
        try Console.reportingErrors {
            let configuration = try data.configuration()
            if let plot { try OutputFile.checkWritable(plot, what: "plot") }
            let widthList = widths?.values ?? [64, 128, 256, 512, 1024]
            let records = try CoordCheck.run(
                configuration: configuration, widths: widthList, steps: steps, seeds: seeds,
                backend: try deviceOptions.makeBackend())
            if let plot { try writePlot(records, widths: widthList, path: plot) }
            if format == .jsonl {
                for record in records {
                    try Console.out(
                        JSON.object([
                            ("width", .int(record.width)), ("step", .int(record.step)),
                            ("layer", .string(record.layer)),
                            ("mean_abs", .double(record.meanAbsolute)),
                        ]).rendered)
                }
                return
            }
            try Console.out(
                "mean |activation| at step \(steps) (\(configuration.model.parametrization.spec), \(seeds) seeds)")
            try Console.out(
                right("layer", 28) + widthList.map { right("width \($0)", 12) }.joined() + right("slope", 9))
            let slopes = CoordCheck.slopes(records, step: steps)
            for (layer, slope) in slopes {
                let row = widthList.map { width in
                    records.first { $0.step == steps && $0.layer == layer && $0.width == width }.map {
                        String(format: "%.3e", $0.meanAbsolute)
                    } ?? "-"
                }
                try Console.out(
                    right(layer, 28) + row.map { right($0, 12) }.joined() + right(String(format: "%.2f", slope), 9))
            }
            let worst = slopes.max { abs($0.slope) < abs($1.slope) }
            try Console.out(
                worst.map { String(format: "largest |slope| %.2f (%@)", abs($0.slope), $0.layer) } ?? "no layers")
        }
    }

    private func writePlot(_ records: [CoordCheck.Record], widths: [Int], path: String) throws {
        var layers: [String] = []
        for record in records where !layers.contains(record.layer) { layers.append(record.layer) }
        let charts = (1...steps).map { step in
            var chart = SVGChart(
                title: "Step \(step): mean |activation| against width", xLabel: "width (log)", yLabel: "mean |x|",
                logX: true, logY: true)
            for (index, layer) in layers.enumerated() {
                chart.series.append(
                    .init(
                        name: layer, color: SVGChart.palette[index % SVGChart.palette.count],
                        points: records.filter { $0.step == step && $0.layer == layer && $0.meanAbsolute > 0 }.map {
                            (Double($0.width), $0.meanAbsolute)
                        }, dots: true))
            }
            return chart
        }
        try OutputFile.replace(path, with: Data(SVGChart.document(charts, chartHeight: 240).utf8), what: "plot")
    }
}
