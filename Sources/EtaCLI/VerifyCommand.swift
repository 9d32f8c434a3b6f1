import ArgumentParser
import Eta
import Foundation

struct VerifyCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "verify",
        abstract: "Run every kernel on a device against the plain CPU Reference.",
        discussion: """
            Sizes include 0, 1, primes, non-multiples of the vector width and more than 2^22. Prints, per kernel \
            configuration and size, the max absolute and relative error, the max ULP distance and pass/fail \
            (tolerance \(Verify.ulpTolerance) ULP; optimizers whose step depends on sums over the arena, lamb, \
            prodigy and dadapt_adam, are judged normwise within \(Verify.sumDependentBound)). --only checks the \
            configurations whose optimizer SPEC or kernel name contains the text. --format markdown writes a report \
            for a pull request: a summary per kernel, then every check in a collapsed table. Exit 0 when all pass, \
            70 when any fails.
            """)

    static let formats: [OutputFormat] = [.table, .json, .markdown]

    @OptionGroup var deviceOptions: DeviceOptions
    @Option(
        name: .long, help: OutputFormat.help(VerifyCommand.formats),
        transform: OutputFormat.parser(VerifyCommand.formats))
    var format: OutputFormat = .table
    @Option(
        name: .long,
        help: ArgumentHelp("Comma-separated sizes to check instead of the default set.", valueName: "n,n,..."),
        transform: SizeList.parser)
    var sizes: SizeList?
    @Option(
        name: .long, help: "Check only configurations whose SPEC or kernel contains this text (e.g. prodigy, gemm).")
    var only: String?

    func run() throws {
        try Distributed.requireSingleProcess("verify")
        var failed = 0
        try Console.reportingErrors {
            let sizeList = sizes?.values ?? Verify.defaultSizes
            let backend = try deviceOptions.makeBackend()
            Console.note("verifying on \(backend.info.summary)")
            let start = Date()
            let results = try Verify.run(backend: backend, sizes: sizeList, only: only) { result in
                if !result.passed {
                    Console.note(
                        "FAIL \(result.configuration) n=\(result.size): \(result.maxULP) ULP, \(result.tolerance)")
                }
            }
            guard !results.isEmpty else {
                throw EtaError(.usage, "--only '\(only ?? "")' matches no kernel or configuration")
            }
            failed = results.filter { !$0.passed }.count
            if format == .markdown {
                try Console.out(
                    Self.markdown(
                        results, device: backend.info.summary, seconds: Date().timeIntervalSince(start)))
            } else if format == .json {
                try Console.out(
                    JSON.object([
                        ("version", .string(EtaVersion.current)),
                        ("backend", .string(backend.info.kind.rawValue)), ("device", .string(backend.info.device)),
                        ("driver", .string(backend.info.driver)),
                        ("ulp_tolerance", .int(Int(Verify.ulpTolerance))),
                        ("passed", .bool(failed == 0)), ("failures", .int(failed)),
                        (
                            "results",
                            .array(
                                results.map { r in
                                    .object([
                                        ("kernel", .string(r.kernel)), ("configuration", .string(r.configuration)),
                                        ("size", .int(r.size)),
                                        ("max_abs_error", .double(r.maxAbsoluteError)),
                                        ("max_rel_error", .double(r.maxRelativeError)),
                                        ("max_ulp", .int(Int(r.maxULP))), ("worst_buffer", .string(r.worstBuffer)),
                                        ("tolerance", .string(r.tolerance)),
                                        ("passed", .bool(r.passed)),
                                    ])
                                })
                        ),
                    ]).pretty())
            } else {
                try Console.out(
                    "kernel        configuration                                                      size"
                        + "      max abs    max rel  ULP  result"
                )
                for r in results {
                    try Console.out(
                        left(r.kernel, 13) + " " + left(r.configuration, 66) + right("\(r.size)", 8) + "  "
                            + right(scientific(r.maxAbsoluteError, 1), 9) + "  "
                            + right(scientific(r.maxRelativeError, 1), 9)
                            + " " + right("\(r.maxULP)", 4) + "  " + (r.passed ? "pass" : "FAIL"))
                }
                try Console.out(
                    "\(results.count - failed)/\(results.count) passed on \(backend.info.summary) in "
                        + String(format: "%.1f s", Date().timeIntervalSince(start)))
            }
        }
        if failed > 0 { throw ExitCode(70) }
    }
}
