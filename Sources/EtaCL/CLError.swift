import COpenCL
import Foundation

/// A failed OpenCL call: which call, and the CL status it returned.
///
/// ```swift
/// do { _ = try Platform.all() } catch let error as CLError { print(error) }
/// // clGetPlatformIDs failed: CL_PLATFORM_NOT_FOUND_KHR
/// ```
public struct CLError: Error, CustomStringConvertible, Equatable {
    /// The OpenCL function that failed, e.g. `clCreateBuffer`.
    public let call: String
    /// The raw status code.
    public let status: Int32
    /// The program build log when `call` is `clBuildProgram`; empty otherwise.
    public let buildLog: String

    /// A failure of `call` with `status`.
    ///
    /// - Parameters:
    ///   - call: The OpenCL function that failed, with any context worth printing.
    ///   - status: The CL status it returned.
    ///   - buildLog: The compiler's log for a failed `clBuildProgram`; empty otherwise.
    public init(call: String, status: Int32, buildLog: String = "") {
        self.call = call
        self.status = status
        self.buildLog = buildLog
    }

    /// The status as the headers name it, e.g. `CL_INVALID_BUFFER_SIZE`.
    public var statusName: String { clErrorName(status) }

    /// "CALL failed: STATUS_NAME", followed by the build log when there is one.
    public var description: String {
        var text = "\(call) failed: \(statusName)"
        if !buildLog.isEmpty { text += "\nbuild log:\n\(buildLog)" }
        return text
    }
}

/// Turns an OpenCL status into a thrown `CLError` naming the call. Every C call goes through here.
@inline(__always)
func check(_ status: cl_int, _ call: String) throws {
    if status != CL_SUCCESS { throw CLError(call: call, status: status) }
}

/// Reads a variable-length OpenCL info value with the usual size-then-data pair of calls.
func queryInfo(
    _ call: String, _ get: (Int, UnsafeMutableRawPointer?, UnsafeMutablePointer<Int>?) -> cl_int
) throws -> [UInt8] {
    var size = 0
    try check(get(0, nil, &size), call)
    var bytes = [UInt8](repeating: 0, count: size)
    if size > 0 {
        try bytes.withUnsafeMutableBytes { raw in try check(get(size, raw.baseAddress, nil), call) }
    }
    return bytes
}

/// Decodes a NUL-terminated info string.
func infoString(_ bytes: [UInt8]) -> String {
    let trimmed = bytes.prefix { $0 != 0 }
    return String(decoding: trimmed, as: UTF8.self).trimmingCharacters(in: .whitespaces)
}

/// Decodes a fixed-size info scalar.
func infoScalar<T>(_ bytes: [UInt8], as: T.Type) -> T {
    bytes.withUnsafeBytes { $0.loadUnaligned(as: T.self) }
}
