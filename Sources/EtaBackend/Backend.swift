/// A block of float32 memory owned by a backend. Layers above the seam hold these handles, never raw
/// device pointers.
public protocol DeviceBuffer: AnyObject {
    /// Number of float32 elements.
    var count: Int { get }
}

/// Which implementation a backend is.
public enum BackendKind: String, Sendable, Codable {
    /// Vectorised loops on all cores of the host.
    case cpu
    /// OpenCL kernels from `Kernels/` on an OpenCL device.
    case opencl
}

/// What a backend runs on, for reports and logs.
public struct BackendInfo: Sendable, Equatable, Codable {
    /// The implementation.
    public var kind: BackendKind
    /// The device name, e.g. "pthread-skylake-avx512" or "host CPU (2 threads)".
    public var device: String
    /// Platform and driver versions (OpenCL), or the dispatch target (CPU).
    public var driver: String

    /// - Parameters:
    ///   - kind: The implementation.
    ///   - device: The device name.
    ///   - driver: Platform and driver versions, or the CPU's dispatch target.
    public init(kind: BackendKind, device: String, driver: String) {
        self.kind = kind
        self.device = device
        self.driver = driver
    }

    /// e.g. `opencl (pthread-skylake-avx512, OpenCL 3.0 PoCL 3.1)`.
    public var summary: String { "\(kind.rawValue) (\(device), \(driver))" }
}

/// The one interface with two implementations (`CPUBackend`, `OpenCLBackend`): buffers, explicit host/device
/// copies, and the operations Eta runs. Everything above it is written once.
///
/// Operations are enqueued in order; `read` waits for earlier work. Each operation covers a whole arena in
/// one launch.
public protocol Backend: AnyObject {
    /// What this backend runs on.
    var info: BackendInfo { get }
    /// How much it can allocate (checked by `MemoryBudget` before large runs allocate anything).
    var memoryLimits: MemoryLimits { get }
    /// Allocates a zero-filled buffer of `count` floats. An impossible size throws; it never crashes.
    ///
    /// - Parameter count: Elements (float32 slots), at least 0.
    /// - Returns: The new buffer.
    /// - Throws: `EtaError` `.usage` when the buffer exceeds the device's or the host's memory, `.software` for a size
    ///   out of range or a failed host allocation.
    func makeBuffer(count: Int) throws -> DeviceBuffer
    /// Copies host floats into `buffer` starting at element `offset`.
    ///
    /// - Parameters:
    ///   - values: The floats to copy.
    ///   - buffer: A buffer of this backend.
    ///   - offset: The first element written.
    /// - Throws: `EtaError` `.software` when the range overruns the buffer; `CLError` when OpenCL fails.
    func write(_ values: UnsafeBufferPointer<Float>, to buffer: DeviceBuffer, offset: Int) throws
    /// Copies floats from `buffer`, starting at element `offset`, into host memory (waits for earlier work).
    ///
    /// - Parameters:
    ///   - buffer: A buffer of this backend.
    ///   - offset: The first element read.
    ///   - values: Host memory to fill; its count is the number of elements read.
    /// - Throws: `EtaError` `.software` when the range overruns the buffer; `CLError` when OpenCL fails.
    func read(_ buffer: DeviceBuffer, offset: Int, into values: UnsafeMutableBufferPointer<Float>) throws
    /// Sets every element of `buffer` to `value`.
    ///
    /// - Parameters:
    ///   - buffer: A buffer of this backend.
    ///   - value: The value for every element.
    /// - Throws: `CLError` when OpenCL fails.
    func fill(_ buffer: DeviceBuffer, with value: Float) throws
    /// Applies one optimizer update over a whole arena.
    ///
    /// - Parameter update: The launch.
    /// - Throws: `EtaError` `.software` when this backend lacks the launch's kernel; `CLError` when OpenCL fails.
    func run(_ update: UpdateCommand) throws
    /// Runs a bandwidth-reference kernel.
    ///
    /// - Parameter reference: The bandwidth kernel and its buffers.
    /// - Throws: `CLError` when OpenCL fails.
    func run(_ reference: BandwidthCommand) throws
    /// Runs one forward, backward, loss or reduction operation of a training step.
    ///
    /// - Parameter layer: The operation.
    /// - Throws: `CLError` (OpenCL, CLBlast) when the launch fails.
    func run(_ layer: LayerCommand) throws
    /// Waits for all enqueued work.
    ///
    /// - Throws: `CLError` when an enqueued command failed.
    func synchronize() throws
    /// The host memory of `buffer` when the backend keeps its buffers there (the CPU backend), so a collective can
    /// work on it in place; nil for device memory. Valid after ``synchronize()`` until the next operation.
    ///
    /// - Parameter buffer: A buffer of this backend.
    /// - Returns: Its floats, or nil.
    func hostMemory(_ buffer: DeviceBuffer) -> UnsafeMutableBufferPointer<Float>?
    /// Starts timing every operation (OpenCL: from event profiling, so the backend must be created with
    /// profiling on; CPU: host timestamps). Off by default: profiling slows queues.
    ///
    /// - Throws: `EtaError` `.usage` on an OpenCL backend created without profiling.
    func startTrace() throws
    /// Stops timing and returns the operations recorded since `startTrace`, oldest first (waits for the queue).
    ///
    /// - Returns: The timed operations; empty when tracing was not started.
    /// - Throws: `CLError` when the queue or an event's profiling info fails.
    func stopTrace() throws -> [TraceEvent]
}

/// One timed operation of a trace.
public struct TraceEvent: Sendable {
    /// The kernel or operation, e.g. `adam_update`, `CLBlastSgemm 64x128x64`.
    public let name: String
    /// Start, in nanoseconds on the backend's clock.
    public let start: UInt64
    /// Device time from start to end, in nanoseconds.
    public let duration: UInt64

    /// - Parameters:
    ///   - name: The kernel or operation.
    ///   - start: Start, in nanoseconds on the backend's clock.
    ///   - duration: Duration, in nanoseconds.
    public init(name: String, start: UInt64, duration: UInt64) {
        self.name = name
        self.start = start
        self.duration = duration
    }
}

extension Backend {
    /// Device memory: none on the host.
    public func hostMemory(_ buffer: DeviceBuffer) -> UnsafeMutableBufferPointer<Float>? { nil }

    /// Copies a host array into `buffer` from element 0.
    ///
    /// - Parameters:
    ///   - values: The floats to copy.
    ///   - buffer: A buffer of this backend.
    ///   - offset: The first element written.
    /// - Throws: `EtaError` `.software` when the values overrun the buffer; `CLError` when OpenCL fails.
    public func write(_ values: [Float], to buffer: DeviceBuffer, offset: Int = 0) throws {
        guard offset >= 0, offset + values.count <= buffer.count else {
            throw EtaError(
                .software, "write of \(values.count) floats at \(offset) overruns a buffer of \(buffer.count)")
        }
        try values.withUnsafeBufferPointer { try write($0, to: buffer, offset: offset) }
    }

    /// Reads `count` floats (default: all) from `buffer` into a new array.
    ///
    /// - Parameters:
    ///   - buffer: A buffer of this backend.
    ///   - offset: The first element read.
    ///   - count: Elements to read; nil reads to the end of the buffer.
    /// - Returns: The floats read.
    /// - Throws: `EtaError` `.software` when the range overruns the buffer; `CLError` when OpenCL fails.
    public func read(_ buffer: DeviceBuffer, offset: Int = 0, count: Int? = nil) throws -> [Float] {
        let count = count ?? buffer.count - offset
        guard offset >= 0, count >= 0, offset + count <= buffer.count else {
            throw EtaError(.software, "read of \(count) floats at \(offset) overruns a buffer of \(buffer.count)")
        }
        var values = [Float](repeating: 0, count: count)
        try values.withUnsafeMutableBufferPointer { try read(buffer, offset: offset, into: $0) }
        return values
    }
}

/// Kernels that move known bytes with trivial arithmetic: the same-run bandwidth references.
public enum BandwidthCommand {
    /// destination ← source (8 bytes per element).
    case copy(source: DeviceBuffer, destination: DeviceBuffer, count: Int)
    /// a += s·b, c += s·b, d += s·b: 16 bytes read and 12 written per element, as an Adam update.
    case stream28(a: DeviceBuffer, b: DeviceBuffer, c: DeviceBuffer, d: DeviceBuffer, count: Int, scale: Float)

    /// Bytes moved per element.
    public var bytesPerElement: Int {
        switch self {
        case .copy: 8
        case .stream28: 28
        }
    }
}
