import ArgumentParser
import Eta
import Foundation

struct Verify: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run every kernel on a device against the plain CPU Reference.",
        discussion: """
        Sizes include 0, 1, primes, non-multiples of the vector width and more than 2^22. Prints, per kernel \
        configuration and size, the max absolute and relative error, the max ULP distance and pass/fail \
        (tolerance \(Eta.Verify.ulpTolerance) ULP; optimizers whose step depends on sums over the arena, lamb, \
        prodigy and dadapt_adam, are judged normwise within \(Eta.Verify.sumDependentBound)). --only checks the \
        configurations whose optimizer SPEC or kernel name contains the text. Exit 0 when all pass, 70 when any fails.
        """)

    @OptionGroup var deviceOptions: DeviceOptions
    @Option(name: .long, help: "table | json") var format: TableOrJSON = .table
    @Option(name: .long, help: "Comma-separated sizes to check instead of the default set.") var sizes: String?
    @Option(name: .long, help: "Check only configurations whose SPEC or kernel contains this text (e.g. prodigy, gemm).") var only: String?

    func run() throws {
        var failed = 0
        try Console.reportingErrors {
            let sizeList = try sizes.map(parseSizes) ?? Eta.Verify.defaultSizes
            let backend = try deviceOptions.makeBackend()
            Console.note("verifying on \(backend.info.summary)")
            let start = Date()
            let results = try Eta.Verify.run(backend: backend, sizes: sizeList, only: only) { result in
                if !result.passed { Console.note("FAIL \(result.configuration) n=\(result.size): \(result.maxULP) ULP, \(result.tolerance)") }
            }
            guard !results.isEmpty else { throw EtaError(.usage, "--only '\(only ?? "")' matches no kernel or configuration") }
            failed = results.filter { !$0.passed }.count
            switch format {
            case .json:
                try Console.out(JSON.object([
                    ("version", .string(EtaVersion.current)),
                    ("backend", .string(backend.info.kind.rawValue)), ("device", .string(backend.info.device)),
                    ("driver", .string(backend.info.driver)),
                    ("ulp_tolerance", .int(Int(Eta.Verify.ulpTolerance))),
                    ("passed", .bool(failed == 0)), ("failures", .int(failed)),
                    ("results", .array(results.map { r in
                        .object([("kernel", .string(r.kernel)), ("configuration", .string(r.configuration)), ("size", .int(r.size)),
                                 ("max_abs_error", .double(r.maxAbsoluteError)), ("max_rel_error", .double(r.maxRelativeError)),
                                 ("max_ulp", .int(Int(r.maxULP))), ("worst_buffer", .string(r.worstBuffer)), ("tolerance", .string(r.tolerance)),
                                 ("passed", .bool(r.passed))])
                    })),
                ]).pretty())
            case .table:
                try Console.out("kernel        configuration                                                      size      max abs    max rel  ULP  result")
                for r in results {
                    try Console.out(left(r.kernel, 13) + " " + left(r.configuration, 66) + right("\(r.size)", 8) + "  "
                          + right(scientific(r.maxAbsoluteError, 1), 9) + "  " + right(scientific(r.maxRelativeError, 1), 9)
                          + " " + right("\(r.maxULP)", 4) + "  " + (r.passed ? "pass" : "FAIL"))
                }
                try Console.out("\(results.count - failed)/\(results.count) passed on \(backend.info.summary) in "
                      + String(format: "%.1f s", Date().timeIntervalSince(start)))
            }
        }
        if failed > 0 { throw ExitCode(70) }
    }
}

/// Parses `1,17,1000003` into sizes; throws a usage error naming the bad part.
func parseSizes(_ text: String) throws -> [Int] {
    try text.split(separator: ",").map { part in
        guard let value = Int(part.trimmingCharacters(in: .whitespaces)), value >= 0 else {
            throw EtaError(.usage, "invalid size '\(part)' in '\(text)': expected non-negative integers, e.g. 0,1,17,1000003")
        }
        return value
    }
}

/// Parses `-1.5,2` into floats; throws a usage error naming the option and the bad part.
func parseFloats(_ text: String, option: String) throws -> [Float] {
    try text.split(separator: ",", omittingEmptySubsequences: false).map { part in
        guard let value = Float(part.trimmingCharacters(in: .whitespaces)), value.isFinite else {
            throw EtaError(.usage, "invalid number '\(part)' in \(option) '\(text)': expected finite numbers separated by commas (negative starts: \(option)=-1.5,2)")
        }
        return value
    }
}
