import COpenCL

/// An OpenCL context on one device, with the one in-order queue Eta enqueues everything on.
///
/// ```swift
/// let context = try Context(device: device)
/// let buffer = try context.makeBuffer(bytes: 1024)
/// ```
public final class Context: @unchecked Sendable {
    let handle: cl_context
    /// The device this context runs on.
    public let device: Device
    /// The in-order command queue.
    public let queue: CommandQueue
    /// Whether the device is the Oclgrind simulator (asked once: `fill` consults it on every call).
    public let onSimulator: Bool

    /// Creates a context and an in-order queue; `profiling` turns on event timestamps (it slows queues).
    ///
    /// - Parameters:
    ///   - device: The device to run on.
    ///   - profiling: Whether the queue records event timestamps (needed by ``Event/durationSeconds()``).
    /// - Throws: `CLError` naming `clCreateContext` or the queue's creation call.
    public init(device: Device, profiling: Bool = false) throws {
        var status: cl_int = 0
        var deviceID: cl_device_id? = device.id
        guard let context = clCreateContext(nil, 1, &deviceID, nil, nil, &status) else {
            throw CLError(call: "clCreateContext", status: status)
        }
        try check(status, "clCreateContext")
        handle = context
        self.device = device
        onSimulator = device.isSimulator
        do {
            queue = try CommandQueue(
                context: context, device: device.id, profiling: profiling,
                openCL12: device.platform.version.hasPrefix("OpenCL 1."))
        } catch {
            clReleaseContext(context)
            throw error
        }
    }

    deinit { clReleaseContext(handle) }

    /// Allocates a device buffer of `bytes` bytes (at least 1: OpenCL refuses empty buffers).
    ///
    /// - Parameter bytes: The buffer's size in bytes.
    /// - Returns: A new, uninitialised read-write buffer.
    /// - Throws: `CLError` naming `clCreateBuffer` (`CL_MEM_OBJECT_ALLOCATION_FAILURE` when out of memory).
    public func makeBuffer(bytes: Int) throws -> Buffer {
        try Buffer(context: self, bytes: bytes)
    }
}

/// An in-order command queue.
public final class CommandQueue: @unchecked Sendable {
    let handle: cl_command_queue
    /// Whether events from this queue carry profiling timestamps.
    public let profiling: Bool

    /// `openCL12`: the platform predates OpenCL 2.0 and its `clCreateCommandQueueWithProperties` (Oclgrind 21.10
    /// lacks it, and the ICD loader then spins instead of failing), so the 1.2 call is used.
    init(context: cl_context, device: cl_device_id, profiling: Bool, openCL12: Bool) throws {
        var status: cl_int = 0
        if openCL12 {
            let flags = cl_command_queue_properties(profiling ? CL_QUEUE_PROFILING_ENABLE : 0)
            guard let queue = clCreateCommandQueue(context, device, flags, &status) else {
                throw CLError(call: "clCreateCommandQueue", status: status)
            }
            guard status == CL_SUCCESS else {
                clReleaseCommandQueue(queue)
                throw CLError(call: "clCreateCommandQueue", status: status)
            }
            handle = queue
            self.profiling = profiling
            return
        }
        var properties: [cl_queue_properties] =
            profiling
            ? [cl_queue_properties(CL_QUEUE_PROPERTIES), cl_queue_properties(CL_QUEUE_PROFILING_ENABLE), 0]
            : [0]
        guard let queue = clCreateCommandQueueWithProperties(context, device, &properties, &status) else {
            throw CLError(call: "clCreateCommandQueueWithProperties", status: status)
        }
        try check(status, "clCreateCommandQueueWithProperties")
        handle = queue
        self.profiling = profiling
    }

    deinit { clReleaseCommandQueue(handle) }

    /// Blocks until every enqueued command has finished (`clFinish`).
    ///
    /// - Throws: `CLError` naming `clFinish`, which also reports a failure of an earlier asynchronous command.
    public func finish() throws { try check(clFinish(handle), "clFinish") }

    /// Submits enqueued commands without waiting (`clFlush`).
    ///
    /// - Throws: `CLError` naming `clFlush`.
    public func flush() throws { try check(clFlush(handle), "clFlush") }
}

/// A device memory object.
public final class Buffer: @unchecked Sendable {
    let handle: cl_mem
    /// The size in bytes.
    public let bytes: Int
    private let context: Context

    init(context: Context, bytes: Int) throws {
        var status: cl_int = 0
        let size = max(bytes, 1)
        guard let memory = clCreateBuffer(context.handle, cl_mem_flags(CL_MEM_READ_WRITE), size, nil, &status) else {
            throw CLError(
                call: "clCreateBuffer", status: status == CL_SUCCESS ? CL_MEM_OBJECT_ALLOCATION_FAILURE : status)
        }
        try check(status, "clCreateBuffer")
        handle = memory
        self.bytes = bytes
        self.context = context
    }

    deinit { clReleaseMemObject(handle) }

    /// Copies host bytes into the buffer at `offset` (blocking, so the host memory may be reused at once).
    ///
    /// - Parameters:
    ///   - source: The bytes to copy; an empty buffer copies nothing.
    ///   - offset: Where in the buffer to start, in bytes.
    /// - Throws: `CLError` naming `clEnqueueWriteBuffer`.
    public func write(from source: UnsafeRawBufferPointer, offset: Int = 0) throws {
        guard source.count > 0, let base = source.baseAddress else { return }
        try check(
            clEnqueueWriteBuffer(
                context.queue.handle, handle, cl_bool(CL_TRUE), offset, source.count, base, 0, nil, nil),
            "clEnqueueWriteBuffer")
    }

    /// Copies buffer bytes at `offset` into host memory (blocking: waits for every earlier command).
    ///
    /// - Parameters:
    ///   - destination: Host memory to fill; its size is the number of bytes read.
    ///   - offset: Where in the buffer to start, in bytes.
    /// - Throws: `CLError` naming `clEnqueueReadBuffer`.
    public func read(into destination: UnsafeMutableRawBufferPointer, offset: Int = 0) throws {
        guard destination.count > 0, let base = destination.baseAddress else { return }
        try check(
            clEnqueueReadBuffer(
                context.queue.handle, handle, cl_bool(CL_TRUE), offset, destination.count, base, 0, nil, nil),
            "clEnqueueReadBuffer")
    }

    /// Fills `bytes` bytes from `offset` with a repeated float (`clEnqueueFillBuffer`).
    ///
    /// On the Oclgrind simulator the values are written from the host instead: its uninitialised-value check
    /// tracks a host write that starts at offset 0, but loses a buffer set by clEnqueueFillBuffer (every later
    /// read of it is reported) or a buffer whose slot an earlier, released buffer used
    /// (`tools/oclgrind/fill_repro.c`). The simulator's memory is host memory: the two cost the same there.
    ///
    /// - Parameters:
    ///   - value: The float to repeat.
    ///   - offset: Where in the buffer to start, in bytes (a multiple of 4).
    ///   - bytes: How many bytes to fill (a multiple of 4); 0 fills nothing.
    /// - Throws: `CLError` naming `clEnqueueFillBuffer` (or `clEnqueueWriteBuffer` on the simulator).
    public func fill(_ value: Float, offset: Int = 0, bytes: Int) throws {
        guard bytes > 0 else { return }
        if context.onSimulator {
            let values = [Float](repeating: value, count: bytes / MemoryLayout<Float>.size)
            return try values.withUnsafeBytes { try write(from: $0, offset: offset) }
        }
        var pattern = value
        try check(
            clEnqueueFillBuffer(
                context.queue.handle, handle, &pattern, MemoryLayout<Float>.size, offset, bytes, 0, nil, nil),
            "clEnqueueFillBuffer")
    }

    /// Copies `bytes` bytes to another buffer on the same queue.
    ///
    /// - Parameters:
    ///   - destination: The buffer to copy into.
    ///   - bytes: How many bytes to copy; 0 copies nothing.
    ///   - sourceOffset: Where in this buffer to start, in bytes.
    ///   - destinationOffset: Where in `destination` to start, in bytes.
    /// - Throws: `CLError` naming `clEnqueueCopyBuffer`.
    public func copy(to destination: Buffer, bytes: Int, sourceOffset: Int = 0, destinationOffset: Int = 0) throws {
        guard bytes > 0 else { return }
        try check(
            clEnqueueCopyBuffer(
                context.queue.handle, handle, destination.handle, sourceOffset, destinationOffset, bytes, 0, nil, nil),
            "clEnqueueCopyBuffer")
    }
}
