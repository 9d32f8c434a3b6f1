import COpenCL

/// A kernel with its arguments. Set arguments, then enqueue on a queue with an explicit local size that fits
/// the kernel's and the device's limits (`localSize(preferred:)`).
///
/// ```swift
/// let kernel = try program.kernel(named: "copy")
/// try kernel.setArgument(0, source); try kernel.setArgument(1, destination); try kernel.setArgument(2, UInt64(n))
/// try kernel.enqueue(on: context.queue, global: 1024, local: kernel.localSize(preferred: 64))
/// ```
public final class Kernel: @unchecked Sendable {
    let handle: cl_kernel
    /// The kernel's function name.
    public let name: String
    /// The largest work-group this kernel runs in on its device: `CL_KERNEL_WORK_GROUP_SIZE`, capped by
    /// `CL_DEVICE_MAX_WORK_GROUP_SIZE` (GPUs allow 256 to 1024 work-items; a kernel's registers may allow fewer).
    public let maxWorkGroupSize: Int
    private let program: Program  // a kernel must not outlive its program

    init(handle: cl_kernel, name: String, program: Program) {
        self.handle = handle
        self.name = name
        self.program = program
        var kernelLimit = 0
        let status = clGetKernelWorkGroupInfo(
            handle, program.device.id, cl_kernel_work_group_info(CL_KERNEL_WORK_GROUP_SIZE),
            MemoryLayout<Int>.size, &kernelLimit, nil)
        let deviceLimit = max(1, program.device.maxWorkGroupSize)
        maxWorkGroupSize = status == CL_SUCCESS && kernelLimit > 0 ? min(kernelLimit, deviceLimit) : deviceLimit
    }

    deinit { clReleaseKernel(handle) }

    /// The work-group size to launch with: the largest power of two at most `preferred` and `maxWorkGroupSize`
    /// (a power of two divides every larger one, and tree reductions need one).
    ///
    /// - Parameter preferred: The work-group size the caller would like.
    /// - Returns: A power of two, at least 1.
    public func localSize(preferred: Int) -> Int {
        Self.powerOfTwo(atMost: min(preferred, maxWorkGroupSize))
    }

    /// The largest power of two at most `limit` (1 for a limit below 2).
    ///
    /// - Parameter limit: The upper bound.
    /// - Returns: The power of two.
    public static func powerOfTwo(atMost limit: Int) -> Int {
        limit < 2 ? 1 : 1 << (Int.bitWidth - 1 - limit.leadingZeroBitCount)
    }

    /// Sets a buffer argument.
    ///
    /// - Parameters:
    ///   - index: The argument's position in the kernel's signature, from 0.
    ///   - buffer: The buffer to pass.
    /// - Throws: `CLError` naming `clSetKernelArg`, the kernel and the index.
    public func setArgument(_ index: Int, _ buffer: Buffer) throws {
        var memory: cl_mem? = buffer.handle
        try check(
            clSetKernelArg(handle, cl_uint(index), MemoryLayout<cl_mem>.size, &memory),
            "clSetKernelArg(\(name), \(index))")
    }

    /// Sets a by-value scalar argument (`Float`, `Int32`, `UInt64`).
    ///
    /// - Parameters:
    ///   - index: The argument's position in the kernel's signature, from 0.
    ///   - value: The value, whose Swift type must match the kernel argument's size.
    /// - Throws: `CLError` naming `clSetKernelArg`, the kernel and the index.
    public func setArgument<T: BitwiseCopyable>(_ index: Int, _ value: T) throws {
        var copy = value
        try check(
            clSetKernelArg(handle, cl_uint(index), MemoryLayout<T>.size, &copy), "clSetKernelArg(\(name), \(index))")
    }

    /// Enqueues a 1-D launch of `global` work-items in work-groups of `local` (global is rounded up to a
    /// multiple of local, as OpenCL 1.2 requires). Returns the launch's event when `withEvent` is set (for profiling).
    ///
    /// - Parameters:
    ///   - queue: The queue to enqueue on.
    ///   - global: Work-items to run; 0 enqueues nothing.
    ///   - local: Work-items per work-group, positive (see ``localSize(preferred:)``).
    ///   - withEvent: Whether to return the launch's event.
    /// - Returns: The launch's event when `withEvent` is set and something was enqueued, else nil.
    /// - Throws: `CLError` naming `clEnqueueNDRangeKernel` and the kernel.
    @discardableResult
    public func enqueue(on queue: CommandQueue, global: Int, local: Int, withEvent: Bool = false) throws -> Event? {
        try enqueue(on: queue, global: [global], local: [local], withEvent: withEvent)
    }

    /// Enqueues a 1-, 2- or 3-D launch: each global size is rounded up to a multiple of its local size, so the
    /// kernel must bound-check every dimension.
    ///
    /// - Parameters:
    ///   - queue: The queue to enqueue on.
    ///   - global: Work-items per dimension (1 to 3 dimensions); any 0 enqueues nothing.
    ///   - local: Work-group size per dimension, positive, as many as `global`.
    ///   - withEvent: Whether to return the launch's event.
    /// - Returns: The launch's event when `withEvent` is set and something was enqueued, else nil.
    /// - Throws: `CLError` naming `clEnqueueNDRangeKernel` and the kernel.
    @discardableResult
    public func enqueue(on queue: CommandQueue, global: [Int], local: [Int], withEvent: Bool = false) throws -> Event? {
        precondition(
            (1...3).contains(global.count) && local.count == global.count,
            "a launch has 1 to 3 dimensions, local as global")
        precondition(local.allSatisfy { $0 > 0 }, "a work-group size must be positive")
        guard global.allSatisfy({ $0 > 0 }) else { return nil }
        var globalSize = zip(global, local).map { ($0 + $1 - 1) / $1 * $1 }
        var localSize = local
        let dimensions = cl_uint(global.count)
        guard withEvent else {
            try check(
                clEnqueueNDRangeKernel(queue.handle, handle, dimensions, nil, &globalSize, &localSize, 0, nil, nil),
                "clEnqueueNDRangeKernel(\(name))")
            return nil
        }
        var event: cl_event?
        try check(
            clEnqueueNDRangeKernel(queue.handle, handle, dimensions, nil, &globalSize, &localSize, 0, nil, &event),
            "clEnqueueNDRangeKernel(\(name))")
        return event.map(Event.init(handle:))
    }
}

/// A command's event: wait on it, or read its profiling timestamps.
public final class Event: @unchecked Sendable {
    let handle: cl_event

    init(handle: cl_event) { self.handle = handle }
    deinit { clReleaseEvent(handle) }

    /// Blocks until the command completes.
    ///
    /// - Throws: `CLError` naming `clWaitForEvents`, also when the command itself failed.
    public func wait() throws {
        var event: cl_event? = handle
        try check(clWaitForEvents(1, &event), "clWaitForEvents")
    }

    /// `CL_PROFILING_COMMAND_START` and `_END` in device nanoseconds (the queue must have profiling on).
    ///
    /// - Returns: The start and end timestamps.
    /// - Throws: `CLError` naming `clGetEventProfilingInfo` (e.g. on a queue without profiling).
    public func profilingTimes() throws -> (start: UInt64, end: UInt64) {
        func timestamp(_ name: Int32) throws -> cl_ulong {
            var value: cl_ulong = 0
            try check(
                clGetEventProfilingInfo(handle, cl_profiling_info(name), MemoryLayout<cl_ulong>.size, &value, nil),
                "clGetEventProfilingInfo")
            return value
        }
        return (try timestamp(CL_PROFILING_COMMAND_START), try timestamp(CL_PROFILING_COMMAND_END))
    }

    /// Device time from start to end in seconds (the queue must have profiling on).
    ///
    /// - Returns: The command's device time in seconds.
    /// - Throws: `CLError` naming `clGetEventProfilingInfo` (e.g. on a queue without profiling).
    public func durationSeconds() throws -> Double {
        func timestamp(_ name: Int32) throws -> cl_ulong {
            var value: cl_ulong = 0
            try check(
                clGetEventProfilingInfo(handle, cl_profiling_info(name), MemoryLayout<cl_ulong>.size, &value, nil),
                "clGetEventProfilingInfo")
            return value
        }
        return Double(try timestamp(CL_PROFILING_COMMAND_END) &- timestamp(CL_PROFILING_COMMAND_START)) * 1e-9
    }
}
