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
        } catch let error as EtaError {
            note("eta: error: \(error.message)")
            throw ExitCode(error.exitCode)
        } catch let error as CLError {
            note("eta: error: \(error)")
            throw ExitCode(70)
        } catch let error as ExitCode {
            throw error
        } catch {
            note("eta: error: \(error)")
            throw ExitCode(70)
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
