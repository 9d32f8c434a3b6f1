import COpenCL
import Foundation

/// A built OpenCL program: from source, or from a cached device binary.
public final class Program: @unchecked Sendable {
    let handle: cl_program
    /// How this program was obtained, for startup reporting.
    public let origin: Origin
    /// The device it was built for.
    public let device: Device

    /// Where a program came from.
    public enum Origin: String, Sendable {
        /// Compiled from source in this process.
        case compiled
        /// Loaded from Eta's on-disk binary cache.
        case cached
    }

    private init(handle: cl_program, origin: Origin, device: Device) {
        self.handle = handle
        self.origin = origin
        self.device = device
    }

    deinit { clReleaseProgram(handle) }

    /// Compiles `source` for the context's device. A failed build throws a `CLError` carrying the build log.
    ///
    /// ```swift
    /// let program = try Program(source: "__kernel void k(__global float* x) { x[0] = 1; }", context: context)
    /// ```
    ///
    /// - Parameters:
    ///   - source: OpenCL C source.
    ///   - options: Build options, e.g. `-DETA_VEC=16`.
    ///   - context: The context whose device to build for.
    /// - Throws: `CLError` naming `clCreateProgramWithSource`, or `clBuildProgram` with the build log.
    public convenience init(source: String, options: String = "", context: Context) throws {
        var status: cl_int = 0
        let program: cl_program? = source.withCString { text in
            var pointer: UnsafePointer<CChar>? = text
            var length = strlen(text)
            return clCreateProgramWithSource(context.handle, 1, &pointer, &length, &status)
        }
        guard let program, status == CL_SUCCESS else {
            throw CLError(call: "clCreateProgramWithSource", status: status)
        }
        self.init(handle: program, origin: .compiled, device: context.device)
        try build(options: options, device: context.device)
    }

    /// Loads a device binary (from `binary()` of an earlier build) and builds it.
    ///
    /// - Parameters:
    ///   - binary: The device binary.
    ///   - options: The build options the binary was built with.
    ///   - context: The context whose device to load it on (the device it was built for).
    /// - Throws: `CLError` naming `clCreateProgramWithBinary` when the driver refuses the binary, or `clBuildProgram`.
    public convenience init(binary: [UInt8], options: String = "", context: Context) throws {
        var status: cl_int = 0
        var binaryStatus: cl_int = 0
        var deviceID: cl_device_id? = context.device.id
        let program: cl_program? = binary.withUnsafeBufferPointer { bytes in
            var pointer: UnsafePointer<UInt8>? = bytes.baseAddress
            var length = bytes.count
            return clCreateProgramWithBinary(context.handle, 1, &deviceID, &length, &pointer, &binaryStatus, &status)
        }
        guard let program, status == CL_SUCCESS else {
            throw CLError(call: "clCreateProgramWithBinary", status: status != CL_SUCCESS ? status : binaryStatus)
        }
        self.init(handle: program, origin: .cached, device: context.device)
        try check(binaryStatus, "clCreateProgramWithBinary")
        try build(options: options, device: context.device)
    }

    private func build(options: String, device: Device) throws {
        var deviceID: cl_device_id? = device.id
        let status = clBuildProgram(handle, 1, &deviceID, options, nil, nil)
        if status != CL_SUCCESS {
            throw CLError(call: "clBuildProgram", status: status, buildLog: buildLog(device: device))
        }
    }

    /// The compiler's log for `device`.
    ///
    /// - Parameter device: The device the program was built for.
    /// - Returns: The log, trimmed; empty when there is none or it cannot be read.
    public func buildLog(device: Device) -> String {
        let bytes = try? queryInfo("clGetProgramBuildInfo") {
            clGetProgramBuildInfo(handle, device.id, cl_program_build_info(CL_PROGRAM_BUILD_LOG), $0, $1, $2)
        }
        return infoString(bytes ?? []).trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// The names of the kernels the program defines (`CL_PROGRAM_KERNEL_NAMES`), so a caller needs no list of them.
    ///
    /// - Returns: The names, in the driver's order.
    /// - Throws: `CLError` naming `clGetProgramInfo`.
    public func kernelNames() throws -> [String] {
        let bytes = try queryInfo("clGetProgramInfo") {
            clGetProgramInfo(handle, cl_program_info(CL_PROGRAM_KERNEL_NAMES), $0, $1, $2)
        }
        return infoString(bytes).split(separator: ";").map(String.init).filter { !$0.isEmpty }
    }

    /// The device binary of a single-device program (`CL_PROGRAM_BINARIES`), for the on-disk cache.
    ///
    /// - Returns: The binary's bytes.
    /// - Throws: `CLError` naming `clGetProgramInfo`.
    public func binary() throws -> [UInt8] {
        var size = 0
        try check(
            clGetProgramInfo(handle, cl_program_info(CL_PROGRAM_BINARY_SIZES), MemoryLayout<Int>.size, &size, nil),
            "clGetProgramInfo")
        var binary = [UInt8](repeating: 0, count: size)
        try binary.withUnsafeMutableBufferPointer { bytes in
            var pointer: UnsafeMutablePointer<UInt8>? = bytes.baseAddress
            try check(
                clGetProgramInfo(
                    handle, cl_program_info(CL_PROGRAM_BINARIES), MemoryLayout<UnsafeMutablePointer<UInt8>?>.size,
                    &pointer, nil),
                "clGetProgramInfo")
        }
        return binary
    }

    /// Creates the kernel named `name` (`clCreateKernel`).
    ///
    /// - Parameter name: The `__kernel` function's name.
    /// - Returns: A new kernel with no arguments set.
    /// - Throws: `CLError` naming `clCreateKernel` and `name` (`CL_INVALID_KERNEL_NAME` when the program lacks it).
    public func kernel(named name: String) throws -> Kernel {
        var status: cl_int = 0
        guard let kernel = clCreateKernel(handle, name, &status), status == CL_SUCCESS else {
            throw CLError(call: "clCreateKernel(\(name))", status: status)
        }
        return Kernel(handle: kernel, name: name, program: self)
    }
}
