import Eta
import Foundation

/// `eta verify --format markdown`: a report a reviewer reads in a pull request (GitHub-flavoured Markdown).
extension VerifyCommand {
    /// The report: the verdict, the device, one summary row per kernel (its worst errors over every configuration
    /// and size), the failures, and every check in a collapsed table.
    static func markdown(_ results: [VerifyResult], device: String, seconds: Double) -> String {
        let failed = results.filter { !$0.passed }
        func cell(_ text: String) -> String { text.replacingOccurrences(of: "|", with: "\\|") }
        func number(_ value: Double) -> String { value == 0 ? "0" : String(format: "%.1e", value) }
        var lines = [
            "## eta verify: \(results.count - failed.count)/\(results.count) checks passed"
                + (failed.isEmpty ? "" : ", \(failed.count) failed"),
            "",
            "Device: \(cell(device)) · eta \(EtaVersion.current) · \(String(format: "%.1f", seconds)) s · tolerance "
                + "\(Verify.ulpTolerance) ULP (normwise \(number(Verify.sumDependentBound)) where a step depends on "
                + "sums over the arena; the layers' own bounds otherwise)",
            "",
            "| kernel | checks | sizes | worst abs | worst rel | worst ULP | result |",
            "| --- | ---: | --- | ---: | ---: | ---: | --- |",
        ]
        var kernels: [String] = []
        for result in results where !kernels.contains(result.kernel) { kernels.append(result.kernel) }
        for kernel in kernels {
            let rows = results.filter { $0.kernel == kernel }
            let sizes = Set(rows.map(\.size)).sorted()
            let failures = rows.filter { !$0.passed }.count
            lines.append(
                "| \(cell(kernel)) | \(rows.count) | \(sizes.first!)–\(sizes.last!) | "
                    + "\(number(rows.map(\.maxAbsoluteError).max()!)) | \(number(rows.map(\.maxRelativeError).max()!)) | "
                    + "\(rows.map(\.maxULP).max()!) | \(failures == 0 ? "pass" : "**\(failures) FAIL**") |")
        }
        if !failed.isEmpty {
            lines += [
                "", "### Failures", "", "| kernel | configuration | size | ULP | tolerance |",
                "| --- | --- | ---: | ---: | --- |",
            ]
            for r in failed {
                lines.append(
                    "| \(cell(r.kernel)) | `\(cell(r.configuration))` | \(r.size) | \(r.maxULP) | \(cell(r.tolerance)) |"
                )
            }
        }
        lines += [
            "", "<details><summary>All \(results.count) checks</summary>", "",
            "| kernel | configuration | size | max abs | max rel | ULP | tolerance | result |",
            "| --- | --- | ---: | ---: | ---: | ---: | --- | --- |",
        ]
        for r in results {
            lines.append(
                "| \(cell(r.kernel)) | `\(cell(r.configuration))` | \(r.size) | \(number(r.maxAbsoluteError)) | "
                    + "\(number(r.maxRelativeError)) | \(r.maxULP) | \(cell(r.tolerance)) | \(r.passed ? "pass" : "FAIL") |"
            )
        }
        lines += ["", "</details>"]
        return lines.joined(separator: "\n")
    }
}
