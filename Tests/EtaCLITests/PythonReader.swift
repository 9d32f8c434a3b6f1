import Eta
import Foundation

/// Runs a Python script (a format's own reader: TensorBoard, onnx, onnxruntime; tools/setup.sh installs them) with
/// arguments and returns its standard output; a failure names what the reader said.
func runPython(_ script: String, _ arguments: [String], reader: String) throws -> Data {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    process.arguments = ["python3", "-c", script] + arguments
    let output = Pipe(), errors = Pipe()
    (process.standardOutput, process.standardError) = (output, errors)
    try process.run()
    let data = output.fileHandleForReading.readDataToEndOfFile()
    let message = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
    process.waitUntilExit()
    guard process.terminationStatus == 0 else {
        throw EtaError(.software, "\(reader) failed (tools/setup.sh installs it): \(message)")
    }
    return data
}
