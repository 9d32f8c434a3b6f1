import COpenCL

/// A kernel with its arguments. Set arguments, then enqueue on a queue with a fixed local size.
///
/// ```swift
/// let kernel = try program.kernel(named: "copy")
/// try kernel.setArgument(0, source); try kernel.setArgument(1, destination); try kernel.setArgument(2, UInt64(n))
/// try kernel.enqueue(on: context.queue, global: 1024, local: 64)
/// ```
public final class Kernel: @unchecked Sendable {
    let handle: cl_kernel
    /// The kernel's function name.
    public let name: String
    private let program: Program  // a kernel must not outlive its program

    init(handle: cl_kernel, name: String, program: Program) {
        self.handle = handle
        self.name = name
        self.program = program
    }

    deinit { clReleaseKernel(handle) }

    /// Sets a buffer argument.
    public func setArgument(_ index: Int, _ buffer: Buffer) throws {
        var memory: cl_mem? = buffer.handle
        try check(clSetKernelArg(handle, cl_uint(index), MemoryLayout<cl_mem>.size, &memory), "clSetKernelArg(\(name), \(index))")
    }

    /// Sets a by-value scalar argument (`Float`, `Int32`, `UInt64`).
    public func setArgument<T: BitwiseCopyable>(_ index: Int, _ value: T) throws {
        var copy = value
        try check(clSetKernelArg(handle, cl_uint(index), MemoryLayout<T>.size, &copy), "clSetKernelArg(\(name), \(index))")
    }

    /// Enqueues a 1-D launch of `global` work-items in work-groups of `local` (global is rounded up to a
    /// multiple of local). Returns the launch's event when `withEvent` is set (for profiling).
    @discardableResult
    public func enqueue(on queue: CommandQueue, global: Int, local: Int, withEvent: Bool = false) throws -> Event? {
        precondition(local > 0, "a work-group size must be positive")
        guard global > 0 else { return nil }
        var globalSize = (global + local - 1) / local * local
        var localSize = local
        guard withEvent else {
            try check(clEnqueueNDRangeKernel(queue.handle, handle, 1, nil, &globalSize, &localSize, 0, nil, nil),
                      "clEnqueueNDRangeKernel(\(name))")
            return nil
        }
        var event: cl_event?
        try check(clEnqueueNDRangeKernel(queue.handle, handle, 1, nil, &globalSize, &localSize, 0, nil, &event),
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
    public func wait() throws {
        var event: cl_event? = handle
        try check(clWaitForEvents(1, &event), "clWaitForEvents")
    }

    /// `CL_PROFILING_COMMAND_START` and `_END` in device nanoseconds (the queue must have profiling on).
    public func profilingTimes() throws -> (start: UInt64, end: UInt64) {
        func timestamp(_ name: Int32) throws -> cl_ulong {
            var value: cl_ulong = 0
            try check(clGetEventProfilingInfo(handle, cl_profiling_info(name), MemoryLayout<cl_ulong>.size, &value, nil),
                      "clGetEventProfilingInfo")
            return value
        }
        return (try timestamp(CL_PROFILING_COMMAND_START), try timestamp(CL_PROFILING_COMMAND_END))
    }

    /// Device time from start to end in seconds (the queue must have profiling on).
    public func durationSeconds() throws -> Double {
        func timestamp(_ name: Int32) throws -> cl_ulong {
            var value: cl_ulong = 0
            try check(clGetEventProfilingInfo(handle, cl_profiling_info(name), MemoryLayout<cl_ulong>.size, &value, nil),
                      "clGetEventProfilingInfo")
            return value
        }
        return Double(try timestamp(CL_PROFILING_COMMAND_END) &- timestamp(CL_PROFILING_COMMAND_START)) * 1e-9
    }
}
