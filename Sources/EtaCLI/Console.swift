import ArgumentParser
import Eta
import Foundation

/// Where a command writes: results on stdout, diagnostics on stderr.
enum Console {
    /// A diagnostic line on stderr.
    static func note(_ text: String) {
        err(text + "\n")
    }

    /// Text on stderr. A failing stderr (closed, a full disk) is ignored: there is nowhere left to report it, and
    /// the exit code still says what happened.
    static func err(_ text: String) {
        var text = text
        _ = text.withUTF8 { writeAll(STDERR_FILENO, UnsafeRawBufferPointer($0)) }
    }

    /// A line of the command's result on stdout; a write failure is exit 74.
    static func out(_ line: String) throws {
        try OutputFile.standardOutput.write(line + "\n")
    }

    /// Runs a command body, turning Eta's errors into a message on stderr and the documented exit code.
    static func reportingErrors(_ body: () throws -> Void) throws {
        do {
            try body()
        } catch let error as ExitCode {
            throw error
        } catch {
            let code: Int32 =
                switch error {
                case let error as EtaError: error.exitCode
                default: 70
                }
            let message = (error as? EtaError)?.message ?? "\(error)"
            note("eta: error: \(Distributed.messagePrefix)\(message)")
            // On one rank of several, the error ends the whole job (no rank waits in a collective).
            Distributed.abortJob(code: code)
            throw ExitCode(code)
        }
    }
}

/// Formats numbers for tables.
func scientific(_ value: Double, _ digits: Int = 3) -> String {
    value == 0 ? "0" : String(format: "%.\(digits)e", value)
}

/// `text` padded on the right to `width` columns.
func left(_ text: String, _ width: Int) -> String {
    text.count >= width ? text : text + String(repeating: " ", count: width - text.count)
}

/// `text` padded on the left to `width` columns.
func right(_ text: String, _ width: Int) -> String {
    text.count >= width ? text : String(repeating: " ", count: width - text.count) + text
}
