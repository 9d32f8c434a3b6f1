import ArgumentParser
import Eta
import Foundation

struct Bench: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Time optimizer updates against same-run bandwidth references.",
        discussion: """
        Each update is one fused pass over --params float32 parameters. GB/s uses the documented bytes per \
        parameter (Adam 28, SGD 12, SGD with momentum 20, AMSGrad 36); copy (8 B) and stream28 (28 B, the bytes \
        of an Adam update with trivial arithmetic) run interleaved in the same loop, so "% of stream28" is a \
        ratio measured in one run.
        """)

    @Option(name: .long, help: "Comma-separated optimizer SPECs.") var optimizer: String = "adam,adamw,sgd:momentum=0.9"
    @Option(name: .long, help: "Parameters per update (default 2^24).") var params: Int = 1 << 24
    @Option(name: .long, help: "Timed repetitions of each operation.") var `repeat`: Int = 20
    @Option(name: .long, help: "table | json") var format: TableOrJSON = .table
    @OptionGroup var deviceOptions: DeviceOptions

    func run() throws {
        try Console.reportingErrors {
            let specs = splitSpecs(optimizer)
            let backend = try deviceOptions.makeBackend()
            Console.note("benchmarking on \(backend.info.summary)")
            let results = try Eta.Bench.updates(optimizers: specs, parameters: params, repeats: `repeat`, backend: backend)
            let reference = results.first { $0.name == "stream28" }?.gigabytesPerSecond ?? .nan
            switch format {
            case .json:
                print(JSON.object([
                    ("version", .string(EtaVersion.current)),
                    ("backend", .string(backend.info.kind.rawValue)), ("device", .string(backend.info.device)),
                    ("driver", .string(backend.info.driver)), ("parameters", .int(params)), ("repeat", .int(`repeat`)),
                    ("results", .array(results.map { r in
                        .object([("name", .string(r.name)), ("bytes_per_parameter", .int(r.bytesPerParameter)),
                                 ("min_s", .double(r.minimum)), ("median_s", .double(r.median)), ("max_s", .double(r.maximum)),
                                 ("parameters_per_s", .double(Double(r.parameters) / r.median)),
                                 ("gb_per_s", .double(r.gigabytesPerSecond)),
                                 ("percent_of_stream28", .double(100 * r.gigabytesPerSecond / reference))])
                    })),
                ]).pretty())
            case .table:
                print("device: \(backend.info.summary), \(params) parameters, \(`repeat`) repeats")
                print("name          B/param    min ms  median ms    max ms     GB/s  % of stream28")
                for r in results {
                    print(left(r.name, 12) + right("\(r.bytesPerParameter)", 9)
                          + String(format: "%10.3f %10.3f %9.3f %8.1f %10.0f%%", r.minimum * 1e3, r.median * 1e3, r.maximum * 1e3,
                                   r.gigabytesPerSecond, 100 * r.gigabytesPerSecond / reference))
                }
            }
        }
    }
}

/// Splits `adam,sgd:lr=0.1,momentum=0.9` into SPECs: a new SPEC starts at each optimizer name.
func splitSpecs(_ text: String) -> [String] {
    var specs: [String] = []
    for part in text.split(separator: ",") {
        let head = part.split(separator: ":").first.map(String.init)?.lowercased() ?? ""
        if OptimizerConfiguration.names.contains(head) || specs.isEmpty {
            specs.append(String(part))
        } else {
            specs[specs.count - 1] += "," + part
        }
    }
    return specs
}
