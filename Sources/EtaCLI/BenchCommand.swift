import ArgumentParser
import Eta
import Foundation

struct BenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Time optimizer updates and training steps against same-run references.",
        discussion: """
            Updates: each is one fused pass over --params float32 parameters (a list: the small sizes show launch \
            overhead). GB/s uses the documented bytes per parameter (Adam 28, SGD 12, SGD with momentum 20, \
            AMSGrad 36); \
            copy (8 B) and stream28 (28 B, the bytes of an Adam update with trivial arithmetic) run interleaved in the \
            same loop, so "% of stream28" is a ratio measured in one run. --tensors K also times the same total split \
            into K tensors of mixed sizes, interleaved, and reports the ratio to one tensor.

            Training steps: --model SPEC [--inputs N | --input-shape CxHxW] [--outputs C --batch-size B] times \
            forward, loss, backward and the update on random data: samples/s and GFLOP/s (6 flops per multiply-add \
            per sample).

            --trace FILE.json writes a Chrome trace (Perfetto, chrome://tracing) of a few more repetitions with \
            per-kernel times (OpenCL event profiling, which is otherwise off because it slows queues).
            """)

    static let formats: [OutputFormat] = [.table, .json]

    @Option(
        name: .long,
        help: ArgumentHelp(
            "Comma-separated optimizer SPECs, or all (default: adam,adamw,sgd:momentum=0.9; adam with --model).",
            valueName: "specs"), transform: OptimizerSelection.parser)
    var optimizer: OptimizerSelection?
    @Option(
        name: .long,
        help: ArgumentHelp("Comma-separated parameter counts (default: 1,1024,65536,16777216).", valueName: "n,n,..."),
        transform: SizeList.parser)
    var params = SizeList(values: [1, 1024, 65536, 16_777_216])
    @Option(name: .long, parsing: .unconditional, help: "Also split each size into K tensors of mixed sizes.")
    var tensors: Int = 1
    @Option(
        name: .long, help: ArgumentHelp("Model SPEC to time training steps of, instead of updates.", valueName: "spec"),
        transform: ModelSpec.parser)
    var model: ModelSpec?
    @Option(name: .long, parsing: .unconditional, help: "Model inputs (features; default: 64).") var inputs: Int?
    @Option(
        name: .long,
        help: ArgumentHelp("Model input shape CxHxW, e.g. 1x28x28 (the inputs are C*H*W).", valueName: "shape"),
        transform: InputShape.parser)
    var inputShape: InputShape?
    @Option(name: .long, parsing: .unconditional, help: "Model outputs (classes).") var outputs: Int = 10
    @Option(name: .long, parsing: .unconditional, help: "Batch size of the training steps.") var batchSize: Int = 64
    @Option(name: .long, parsing: .unconditional, help: "Timed repetitions of each operation.") var `repeat`: Int = 20
    @Option(
        name: .long, help: OutputFormat.help(BenchCommand.formats), transform: OutputFormat.parser(BenchCommand.formats)
    )
    var format: OutputFormat = .table
    @Option(name: .long, help: "Write a Chrome trace-event JSON of a few repetitions.") var trace: String?
    @Option(
        name: .long,
        help: ArgumentHelp(
            "SVG: GB/s against size per optimizer beside copy and stream28 (updates), or each kernel's share of a "
                + "training step's time from its trace (--model)."))
    var plot: String?
    @Option(
        name: .long,
        help: ArgumentHelp(
            "Comma-separated optimizer state storage types to time: fp32, bf16, fp16 (default: fp32).",
            valueName: "types"), transform: StorageTypeList.parser)
    var stateDtype = StorageTypeList(values: [.fp32])
    @Option(
        name: .long,
        help: ArgumentHelp(
            "Comma-separated parameter storage types to time: fp32, bf16, fp16 (default: fp32).",
            valueName: "types"), transform: StorageTypeList.parser)
    var paramDtype = StorageTypeList(values: [.fp32])
    @Flag(name: .long, help: "With 16-bit parameters, also keep (and update) a float32 master copy.") var master = false
    @Option(
        name: .long,
        help: ArgumentHelp(
            "Under mpirun: time Eta's gradient exchange and a plain MPI_Allreduce of each size (floats, comma-separated) "
                + "instead of the optimizers.", valueName: "sizes"))
    var allreduce: SizeList?
    @OptionGroup var deviceOptions: DeviceOptions

    /// The optimizers launched tensor by tensor, which have no fused update to time.
    static let tensorwise = ["muon", "adafactor"]

    func validate() throws {
        if let allreduce {
            try OptionCheck.require(
                !allreduce.values.isEmpty && allreduce.values.allSatisfy { $0 >= 1 && $0 <= 1 << 28 },
                "--allreduce sizes must be 1...\(1 << 28) floats (got \(allreduce.values))")
        }
        try OptionCheck.within("--repeat", `repeat`, 1...RunLimits.repeats)
        try OptionCheck.atLeast("--tensors", tensors, 1)
        if model != nil {
            try OptionCheck.atLeast("--batch-size", batchSize, 1)
            try OptionCheck.atLeast("--inputs", inputs, 1)
            if let inputShape, let inputs {
                let values = inputShape.shape.reduce(1, *)
                try OptionCheck.require(
                    inputs == values,
                    "--inputs \(inputs) and --input-shape \(Dataset.shapeText(inputShape.shape)) (\(values) values) "
                        + "disagree: give one")
            }
            try OptionCheck.atLeast("--outputs", outputs, 1)
            if case .specs(let specs) = optimizer {
                try OptionCheck.require(specs.count == 1, "--model times one optimizer; got \(specs.count)")
            }
        } else {
            try OptionCheck.require(params.values.contains { $0 > 0 }, "--params needs at least one positive size")
            try OptionCheck.require(
                !master || paramDtype.values.contains { $0 != .fp32 },
                "--master keeps a float32 copy of 16-bit parameters: give --param-dtype bf16 or fp16 too")
        }
    }

    func run() throws {
        if let allreduce { return try runAllreduce(sizes: allreduce.values) }
        try Distributed.requireSingleProcess("bench")
        try Console.reportingErrors {
            if let plot { try OutputFile.checkWritable(plot, what: "plot") }
            let backend = try deviceOptions.makeBackend(profiling: trace != nil || plot != nil)
            Console.note("benchmarking on \(backend.info.summary)")
            var traceEvents: [TraceEvent] = []
            let tracer: ((String, () throws -> Void) throws -> Void)? =
                trace == nil && plot == nil
                ? nil
                : { _, body in
                    try backend.startTrace()
                    for _ in 0..<3 { try body() }
                    traceEvents += try backend.stopTrace()
                }
            var header: [(String, JSON)] = [
                ("version", .string(EtaVersion.current)), ("backend", .string(backend.info.kind.rawValue)),
                ("device", .string(backend.info.device)), ("driver", .string(backend.info.driver)),
                ("repeat", .int(`repeat`)),
            ]
            if let model {
                let shape = model.readsTokens ? [model.context] : inputShape?.shape ?? [inputs ?? 64]
                let architecture = try model.architecture(inputShape: shape, outputs: outputs)
                // One optimizer (validate() checked): `all` means adam here.
                var spec = "adam"
                if case .specs(let specs) = optimizer { spec = specs[0] }
                let result = try Bench.trainingSteps(
                    architecture: architecture, optimizer: try OptimizerConfiguration(spec: spec),
                    batch: batchSize, repeats: `repeat`, backend: backend, trace: tracer)
                if let plot { try Self.writeStepPlot(traceEvents, title: "batch \(batchSize), \(spec)", path: plot) }
                let widths =
                    model.kind == "mlp" || model.kind == "softmax" || model.kind == "linear"
                    ? ([shape.reduce(1, *)] + architecture.layers.map(\.outputs)).map(String.init).joined(
                        separator: "-")
                    : model.spec
                if format == .json {
                    header += [
                        ("model", .string(widths)), ("batch_size", .int(batchSize)), ("optimizer", .string(spec)),
                        ("min_s", .double(result.seconds.first!)), ("median_s", .double(result.median)),
                        ("max_s", .double(result.seconds.last!)), ("samples_per_s", .double(result.samplesPerSecond)),
                        ("gflops", .double(result.gigaflopsPerSecond)),
                    ]
                    try Console.out(JSON.object(header).pretty())
                } else {
                    try Console.out(
                        "training step, \(model.kind == "mlp" ? "MLP " : "")\(widths), batch \(batchSize), \(spec) on \(backend.info.summary)"
                    )
                    try Console.out(
                        String(
                            format: "min %.3f ms  median %.3f ms  max %.3f ms  %.0f samples/s  %.1f GFLOP/s",
                            result.seconds.first! * 1e3, result.median * 1e3, result.seconds.last! * 1e3,
                            result.samplesPerSecond, result.gigaflopsPerSecond))
                }
            } else {
                let sizes = params.values.filter { $0 > 0 }
                let specs: [String]
                switch optimizer {
                case .all:
                    specs =
                        ["sgd", "sgd:momentum=0.9", "adam", "adamw", "adam:amsgrad=true"]
                        + OptimizerConfiguration.names.filter {
                            !["sgd", "adam", "adamw"].contains($0) && !Self.tensorwise.contains($0)
                        }.sorted()
                case .specs(let given): specs = given
                case nil: specs = ["adam", "adamw", "sgd:momentum=0.9"]
                }
                for spec in specs where Self.tensorwise.contains(try OptimizerConfiguration(spec: spec).name) {
                    throw EtaError(
                        .usage,
                        "eta bench times fused updates over a flat arena; \(spec) is launched tensor by tensor "
                            + "(time it inside a training step: eta bench --model SPEC --optimizer \(spec))")
                }
                var rows: [JSON] = []
                var curves: [String: [(x: Double, y: Double)]] = [:], order: [String] = []
                let storages = paramDtype.values.flatMap { parameters in
                    stateDtype.values.map {
                        Verify.Storage(state: $0, parameters: parameters, master: master && parameters != .fp32)
                    }
                }
                if format == .table { try Console.out("device: \(backend.info.summary), \(`repeat`) repeats") }
                for size in sizes {
                    let results = try Bench.updates(
                        optimizers: specs, parameters: size, tensors: min(tensors, size), repeats: `repeat`,
                        backend: backend, storages: storages, trace: tracer)
                    let reference = results.first { $0.name == "stream28" }?.gigabytesPerSecond ?? .nan
                    if format == .table {
                        try Console.out("\n\(size) parameters")
                        try Console.out(
                            "name                       B/param     min ms  median ms     max ms   Mparam/s     GB/s  "
                                + "% of stream28"
                        )
                    }
                    for r in results {
                        if curves[r.name] == nil { order.append(r.name) }
                        curves[r.name, default: []].append((Double(size), r.gigabytesPerSecond))
                        let single = results.first { $0.tensors == 1 && r.name.hasPrefix($0.name + " x") }
                        rows.append(
                            .object([
                                ("name", .string(r.name)), ("parameters", .int(size)), ("tensors", .int(r.tensors)),
                                ("bytes_per_parameter", .int(r.bytesPerParameter)),
                                ("min_s", .double(r.minimum)), ("median_s", .double(r.median)),
                                ("max_s", .double(r.maximum)),
                                ("parameters_per_s", .double(Double(size) / r.median)),
                                ("gb_per_s", .double(r.gigabytesPerSecond)),
                                ("percent_of_stream28", .double(100 * r.gigabytesPerSecond / reference)),
                                ("time_vs_one_tensor", single.map { .double(r.median / $0.median) } ?? .null),
                            ]))
                        if format == .table {
                            try Console.out(
                                left(r.name, 25) + right("\(r.bytesPerParameter)", 9)
                                    + String(
                                        format: "%11.4f %10.4f %10.4f %10.1f %8.1f %10.0f%%", r.minimum * 1e3,
                                        r.median * 1e3, r.maximum * 1e3,
                                        Double(size) / r.median / 1e6, r.gigabytesPerSecond,
                                        100 * r.gigabytesPerSecond / reference)
                                    + (single.map { String(format: "   %.3fx one tensor", r.median / $0.median) } ?? "")
                            )
                        }
                    }
                }
                if let plot { try Self.writeRooflinePlot(order.map { ($0, curves[$0]!) }, path: plot) }
                if format == .json {
                    header += [
                        ("sizes", .array(sizes.map(JSON.int))), ("tensors", .int(tensors)), ("results", .array(rows)),
                    ]
                    try Console.out(JSON.object(header).pretty())
                }
            }
            if let trace {
                try OutputFile.replace(
                    trace, with: Data(TraceEvent.chromeTrace(traceEvents, metadata: header).utf8), what: "trace")
                Console.note("trace: \(traceEvents.count) events in \(trace)")
            }
        }
    }

    /// `--allreduce`: Eta's exchange against a plain all-reduce, per size, printed by rank 0.
    private func runAllreduce(sizes: [Int]) throws {
        try Console.reportingErrors {
            let group = Distributed.group
            let backend = try deviceOptions.makeBackend()
            let rows = try AllreduceBench.run(sizes: sizes, repeats: `repeat`, backend: backend, group: group)
            guard group.isPrimary else { return }
            if format == .json {
                try Console.out(
                    JSON.object([
                        ("ranks", .int(group.size)), ("backend", .string(backend.info.kind.rawValue)),
                        (
                            "allreduce",
                            .array(
                                rows.map { row in
                                    .object([
                                        ("floats", .int(row.count)), ("bytes", .int(row.bytes)),
                                        ("eta_seconds", .double(row.exchangeSeconds)),
                                        ("mpi_seconds", .double(row.plainSeconds)),
                                        ("eta_gbps", .double(row.exchangeGBps)), ("mpi_gbps", .double(row.plainGBps)),
                                        ("mpi_bus_gbps", .double(row.plainBusGBps)),
                                    ])
                                })
                        ),
                    ]).pretty())
                return
            }
            try Console.out(
                "all-reduce over \(group.size) ranks, \(backend.info.kind.rawValue) backend (median of \(`repeat`))")
            try Console.out("     floats        eta      eta GB/s        mpi      mpi GB/s   mpi busbw")
            for row in rows {
                try Console.out(
                    String(
                        format: "%11d %9.1f us %9.2f %9.1f us %9.2f %9.2f", row.count, row.exchangeSeconds * 1e6,
                        row.exchangeGBps, row.plainSeconds * 1e6, row.plainGBps, row.plainBusGBps))
            }
        }
    }

    /// GB/s against parameters, one curve per optimizer (and storage variant), copy and stream28 dashed-free as the
    /// bandwidth references they are.
    static func writeRooflinePlot(_ curves: [(name: String, points: [(x: Double, y: Double)])], path: String) throws {
        var chart = SVGChart(
            title: "Update bandwidth against size (copy and stream28: the memory roofline)", xLabel: "parameters (log)",
            yLabel: "GB/s", logX: true)
        for (index, curve) in curves.enumerated() {
            chart.series.append(
                .init(
                    name: curve.name, color: SVGChart.palette[index % SVGChart.palette.count], points: curve.points,
                    dots: true))
        }
        try OutputFile.replace(path, with: Data(SVGChart.document([chart], chartHeight: 420).utf8), what: "plot")
    }

    /// Each kernel's time per training step (the traced repetitions' mean), the 14 largest and the rest as "other".
    static func writeStepPlot(_ events: [TraceEvent], title: String, path: String) throws {
        var totals: [String: Double] = [:]
        for event in events { totals[event.name, default: 0] += Double(event.duration) * 1e-6 / 3 }
        var items = totals.sorted { $0.value > $1.value }.map { (label: $0.key, value: $0.value) }
        if items.count > 15 {
            let rest = items.dropFirst(14).reduce(0) { $0 + $1.value }
            items = Array(items.prefix(14)) + [(label: "other (\(items.count - 14) kernels)", value: rest)]
        }
        let bars = SVGBars(title: "Time per kernel in one training step: \(title)", unit: "ms", items: items)
        try OutputFile.replace(
            path, with: Data(SVGChart.document(panels: [(bars, bars.height)]).utf8), what: "plot")
    }
}
