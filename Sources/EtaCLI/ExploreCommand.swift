import ArgumentParser
import Eta
import Foundation

struct ExploreCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "explore",
        abstract: "Run one optimizer on a test function and show what its learning rate does.",
        discussion: """
            rosenbrock: f(x,y) = (1-x)^2 + 100 (y - x^2)^2, minimum at (1, 1);
              default start (-1.5, 2).
            quadratic: f(x) = 1/2 sum_i c_i x_i^2 with curvatures c (default 1,10),
              minimum at the origin; default start all ones.
            matrix: f(X) = 1/2 ||A X - B||_F^2 over X in R^(4x3) (one 2-D tensor, row-major),
              A = [[2,0,1,0],[0,1,0,-1],[1,1,3,0],[0,-2,0,1],[1,0,0,2]],
              B = [[1,2,0],[0,-1,1],[3,0,2],[-1,1,0],[2,0,-2]], start
              X0 = [[0.5,-0.5,0.25],[0,1,-1],[0.75,0.25,0],[-0.25,0.5,1]]; minimum f 0.356784.
            himmelblau: (x^2+y-11)^2 + (x+y^2-7)^2, four global minima at f 0; start (0, 0).
            rastrigin: 20 + sum (x_i^2 - 10 cos 2 pi x_i), global minimum 0 at the origin
              among a grid of local minima; start (2.5, -1.5).
            ackley: -20 exp(-0.2 sqrt((x^2+y^2)/2)) - exp((cos 2 pi x + cos 2 pi y)/2) + e + 20,
              global minimum 0 at the origin; start (2.5, 1.5).
            Negative starts are written --start=-1.5,2.

            jsonl prints {"step": k, "lr": ..., "loss": ..., "x": [...]} for k = 1..N: x \
            after step k, loss at x before it; prodigy and dadapt_adam add "d" (their \
            step-size estimate after the step) and "effective_lr" (d·lr).

            table prints a summary with the end point and a verdict: converged, \
            descending, oscillating, diverged or local minimum (settled above the global \
            minimum's f, which it names).
            """)

    static let formats: [OutputFormat] = [.table, .jsonl]

    @Option(
        name: .long, help: ArgumentHelp("\(ObjectiveName.choices) (default: rosenbrock).", valueName: "name"),
        transform: ObjectiveName.parser)
    var objective = ObjectiveName(rawValue: "rosenbrock")!
    @Option(
        name: .long,
        help: ArgumentHelp(
            "Optimizer SPEC, e.g. adam:lr=0.01 (see eta --help; default: sgd:lr=1e-3); repeatable: one run each.",
            valueName: "spec"),
        transform: OptimizerConfiguration.parser)
    var optimizer: [OptimizerConfiguration] = []
    @Option(
        name: .long,
        help: ArgumentHelp("Learning rates a,b,c: one run per lr (and per --optimizer).", valueName: "a,b,c"),
        transform: { try LearningRates.parse(list: $0) })
    var lrs: LearningRates?
    @Option(
        name: .long,
        help: "SVG: the paths over the function's contour lines (2-D functions) and the loss against the step.")
    var plot: String?
    @Option(name: .long, parsing: .unconditional, help: "Number of optimizer steps.") var steps: Int = 300
    @Option(
        name: .long,
        help: ArgumentHelp(
            "Start point, comma-separated (write --start=-1.5,2 for a negative first value).", valueName: "x1,x2,..."),
        transform: NumberList.parser)
    var start: NumberList?
    @Option(
        name: .long,
        help: ArgumentHelp("Curvatures of the quadratic objective (default: 1,10).", valueName: "c1,c2,..."),
        transform: NumberList.parser)
    var curvature: NumberList?
    @Option(
        name: .long, help: OutputFormat.help(ExploreCommand.formats),
        transform: OutputFormat.parser(ExploreCommand.formats))
    var format: OutputFormat = .table
    @OptionGroup var deviceOptions: DeviceOptions

    func validate() throws {
        try OptionCheck.within("--steps", steps, 0...RunLimits.steps)
        try OptionCheck.require(
            curvature == nil || objective.rawValue == "quadratic", "--curvature applies to the quadratic objective only"
        )
        if let start, let function = try? Objective(name: objective.rawValue, curvatures: curvature?.values) {
            try OptionCheck.require(
                start.values.count == function.dimension,
                "--start has \(start.values.count) values; the \(objective.rawValue) objective needs "
                    + "\(function.dimension)"
            )
        }
    }

    /// The runs asked for: each --optimizer (default sgd:lr=1e-3) at each of --lrs (default: its own lr).
    var configurations: [OptimizerConfiguration] {
        let optimizers = optimizer.isEmpty ? [try! OptimizerConfiguration(spec: "sgd:lr=1e-3")] : optimizer
        guard let lrs else { return optimizers }
        return optimizers.flatMap { configuration in
            lrs.values.map { lr in
                var run = configuration
                run.rule.lr = lr
                return run
            }
        }
    }

    func run() throws {
        try Distributed.requireSingleProcess("explore")
        try Console.reportingErrors {
            let function = try Objective(name: objective.rawValue, curvatures: curvature?.values)
            if let plot { try OutputFile.checkWritable(plot, what: "plot") }
            let backend = try deviceOptions.makeBackend()
            let runs = try configurations.map {
                (
                    $0,
                    try Explore.run(
                        objective: function, optimizer: $0, steps: steps, start: start?.values, backend: backend)
                )
            }
            if format == .jsonl {
                var output = ""
                for (index, (configuration, run)) in runs.enumerated() {
                    for step in run.steps {
                        var fields: [(String, JSON)] = [
                            ("step", .int(step.step)), ("lr", .double(step.learningRate)),
                            ("loss", .float(step.loss)), ("x", .array(step.x.map(JSON.float))),
                        ]
                        if let d = step.stepSizeEstimate {
                            fields += [("d", .double(d)), ("effective_lr", .double(d * step.learningRate))]
                        }
                        if runs.count > 1 {
                            fields += [("run", .int(index + 1)), ("optimizer", .string(configuration.spec))]
                        }
                        output += JSON.object(fields).rendered + "\n"
                    }
                }
                try OutputFile.standardOutput.write(output)
            } else if let (configuration, run) = runs.first, runs.count == 1 {
                try printSummary(run, optimizer: configuration, function: function, backend: backend)
            } else {
                try printComparison(runs, function: function, backend: backend)
            }
            if let plot { try writePlot(runs, function: function, path: plot) }
        }
    }

    private func printSummary(
        _ run: Explore.Run, optimizer: OptimizerConfiguration, function: Objective, backend: Backend
    ) throws {
        let initial = function.loss(at: run.start)
        try Console.out("objective   \(objective.rawValue)\(curvature.map { " (curvatures \($0.text))" } ?? "")")
        try Console.out("optimizer   \(optimizer.spec)")
        try Console.out("device      \(backend.info.summary)")
        try Console.out("start       \(format(run.start))   loss \(scientific(Double(initial)))")
        let samples = sampleIndices(run.steps.count)
        if !samples.isEmpty {
            try Console.out("")
            // Prodigy and D-Adaptation: the estimate d after the step (their effective lr is d·lr).
            let adaptive = run.steps.first?.stepSizeEstimate != nil
            try Console.out("    step          lr" + (adaptive ? "           d" : "") + "        loss  x")
            for index in samples {
                let step = run.steps[index]
                try Console.out(
                    right("\(step.step)", 8) + "  " + right(scientific(step.learningRate), 10) + "  "
                        + (adaptive ? right(scientific(step.stepSizeEstimate ?? 0), 10) + "  " : "")
                        + right(scientific(Double(step.loss)), 10) + "  " + format(step.x))
            }
            try Console.out("")
        }
        let end = run.steps.last?.x ?? run.start
        let distance = zip(end, function.minimum(near: end)).map { Double($0 - $1) * Double($0 - $1) }.reduce(0, +)
            .squareRoot()
        let best = run.steps.enumerated().min { $0.element.loss < $1.element.loss }
        try Console.out(
            "end         \(format(end))   loss \(scientific(Double(run.finalLoss)))   distance to minimum "
                + "\(scientific(distance))"
        )
        if let best {
            try Console.out("best loss   \(scientific(Double(best.element.loss))) before step \(best.element.step)")
        }
        if run.verdict == .localMinimum {
            try Console.out(
                "minimum     f here \(scientific(Double(run.finalLoss))), global f \(scientific(Double(function.minimumLoss)))"
                    + " at \(format(function.minimum(near: end)))")
        }
        try Console.out("verdict     \(run.verdict.rawValue)\(advice(run.verdict))")
    }

    func advice(_ verdict: ExploreVerdict) -> String {
        switch verdict {
        case .converged: ""
        case .descending: " (more steps or a larger lr)"
        case .oscillating: " (the lr is near its stability limit: try a smaller one)"
        case .diverged: " (the lr is too large: try a smaller one)"
        case .localMinimum: " (the global minimum is lower: a larger lr or momentum may leave this basin)"
        }
    }

    /// About ten evenly spaced rows, always including the first and last step.
    private func sampleIndices(_ count: Int) -> [Int] {
        guard count > 0 else { return [] }
        let stride = max(1, count / 10)
        var indices = Array(Swift.stride(from: 0, to: count, by: stride))
        if indices.last != count - 1 { indices.append(count - 1) }
        return indices
    }

    func format(_ x: [Float]) -> String {
        "(" + x.map { String(format: "%.6g", Double($0)) }.joined(separator: ", ") + ")"
    }
}
