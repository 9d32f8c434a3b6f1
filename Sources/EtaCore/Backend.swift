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
    public var kind: BackendKind
    /// The device name, e.g. "pthread-skylake-avx512" or "host CPU (2 threads)".
    public var device: String
    /// Platform and driver versions (OpenCL), or the dispatch target (CPU).
    public var driver: String

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
    func makeBuffer(count: Int) throws -> DeviceBuffer
    /// Copies host floats into `buffer` starting at element `offset`.
    func write(_ values: UnsafeBufferPointer<Float>, to buffer: DeviceBuffer, offset: Int) throws
    /// Copies floats from `buffer`, starting at element `offset`, into host memory (waits for earlier work).
    func read(_ buffer: DeviceBuffer, offset: Int, into values: UnsafeMutableBufferPointer<Float>) throws
    /// Sets every element of `buffer` to `value`.
    func fill(_ buffer: DeviceBuffer, with value: Float) throws
    /// Applies one optimizer update over a whole arena.
    func run(_ update: UpdateCommand) throws
    /// Runs a bandwidth-reference kernel.
    func run(_ reference: BandwidthCommand) throws
    /// Runs one forward, backward, loss or reduction operation of a training step.
    func run(_ layer: LayerCommand) throws
    /// Waits for all enqueued work.
    func synchronize() throws
    /// Starts timing every operation (OpenCL: from event profiling, so the backend must be created with
    /// profiling on; CPU: host timestamps). Off by default: profiling slows queues.
    func startTrace() throws
    /// Stops timing and returns the operations recorded since `startTrace`, oldest first (waits for the queue).
    func stopTrace() throws -> [TraceEvent]
}

/// One timed operation of a trace.
public struct TraceEvent: Sendable {
    /// The kernel or operation, e.g. `adam_update`, `CLBlastSgemm 64x128x64`.
    public let name: String
    /// Start, in nanoseconds on the backend's clock.
    public let start: UInt64
    public let duration: UInt64

    public init(name: String, start: UInt64, duration: UInt64) {
        self.name = name
        self.start = start
        self.duration = duration
    }

    /// A Chrome trace-event JSON document (open it in Perfetto or chrome://tracing).
    public static func chromeTrace(_ events: [TraceEvent], metadata: [(String, JSON)]) -> String {
        let origin = events.map(\.start).min() ?? 0
        let records: [JSON] = events.map { event in
            .object([("name", .string(event.name)), ("cat", .string("eta")), ("ph", .string("X")),
                     ("ts", .double(Double(event.start - origin) / 1000)), ("dur", .double(Double(event.duration) / 1000)),
                     ("pid", .int(1)), ("tid", .int(1))])
        }
        return JSON.object([("traceEvents", .array(records)), ("displayTimeUnit", .string("ms")),
                            ("otherData", .object(metadata))]).pretty()
    }
}

extension Backend {
    /// Copies a host array into `buffer` from element 0.
    public func write(_ values: [Float], to buffer: DeviceBuffer, offset: Int = 0) throws {
        guard offset >= 0, offset + values.count <= buffer.count else {
            throw EtaError(.software, "write of \(values.count) floats at \(offset) overruns a buffer of \(buffer.count)")
        }
        try values.withUnsafeBufferPointer { try write($0, to: buffer, offset: offset) }
    }

    /// Reads `count` floats (default: all) from `buffer` into a new array.
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

/// One fused optimizer update over `count` elements of an arena, with every step-dependent scalar already
/// computed on the host.
public enum UpdateCommand {
    case sgd(SGDLaunch)
    case adam(AdamLaunch)
    case family(FamilyLaunch)
}

/// One step of a family optimizer (`Kernels/optimizers.cl`): its kernel, up to three state slots in the
/// kernel's order, and the step's scalars c0… and flags.
public struct FamilyLaunch {
    /// The kernel's name, e.g. `rmsprop_update`.
    public var kernel: String
    public var parameters: DeviceBuffer
    public var gradients: DeviceBuffer
    /// The kernel's s0, s1, s2; nil where this configuration holds no such slot (the kernel then never touches it).
    public var states: [DeviceBuffer?]
    public var count: Int
    public var scalars: [Float]
    public var flags: Int32
    /// Set for the block kernels of `Kernels/adaptive.cl`, which take up to four state slots, run one work-group per
    /// block and write two partial sums per block.
    public var blocks: UpdateBlocks? = nil
    /// Per-group scalars (parameter groups); nil: `scalars` for the whole arena.
    public var groups: UpdateGroups? = nil
    /// How state and parameters are stored (16-bit storage, a float32 master copy).
    public var storage = UpdateStorage()
}

/// How an update's buffers are stored: the state slots and the parameters in float32 or 16 bits (two elements per
/// float slot) and, with 16-bit parameters, an optional float32 `master` copy that the update runs on (storing its
/// rounding in the parameters).
public struct UpdateStorage {
    public var state = StorageType.fp32
    public var parameters = StorageType.fp32
    public var master: DeviceBuffer? = nil

    public init(state: StorageType = .fp32, parameters: StorageType = .fp32, master: DeviceBuffer? = nil) {
        (self.state, self.parameters, self.master) = (state, parameters, master)
    }
}

/// Parameter groups in one launch: tensors start at multiples of `chunk` elements, `chunks` gives the group of
/// every chunk (one byte each, packed four to a float), and `scalars` holds each group's values of the kernel's
/// group-dependent scalars, `stride` per group (SGD: lr, weight_decay; Adam: step size, decay factor,
/// weight_decay; family kernels: all twelve c0…c11). The CPU backend walks `ranges` with `hostScalars` instead.
public struct UpdateGroups {
    public static let chunk = 16

    public var chunks: DeviceBuffer
    public var scalars: DeviceBuffer
    public var hostScalars: [[Float]]
    /// Runs of consecutive chunks in one group: (first element, element count, group).
    public var ranges: [(offset: Int, count: Int, group: Int)]

    public init(chunks: DeviceBuffer, scalars: DeviceBuffer, hostScalars: [[Float]], ranges: [(offset: Int, count: Int, group: Int)]) {
        (self.chunks, self.scalars, self.hostScalars, self.ranges) = (chunks, scalars, hostScalars, ranges)
    }
}

/// The arena cut into blocks for a block kernel: `table` holds 4 UInt32 bit patterns per block (begin, end, and the
/// first and last block of the block's tensor); `partials` receives 2 floats per block.
public struct UpdateBlocks {
    public var table: DeviceBuffer
    public var partials: DeviceBuffer
    public var count: Int

    /// Elements per block: small enough that a 2^24 arena has ~1000 blocks to spread over a device, large
    /// enough that the partials (8 bytes per block) are a negligible read-back.
    public static let blockSize = 16_384

    /// The block table of `layout`: per tensor when `perTensor`, else the arena split evenly.
    public static func table(for layout: TensorLayout, perTensor: Bool) -> [UInt32] {
        let segments = perTensor ? layout.entries.map { ($0.offset, $0.count) } : [(0, layout.count)]
        var table: [UInt32] = []
        for (offset, count) in segments where count > 0 {
            let first = table.count / 4
            let blocks = (count + blockSize - 1) / blockSize
            for b in 0..<blocks {
                table += [UInt32(offset + b * blockSize), UInt32(offset + min(count, (b + 1) * blockSize)), UInt32(first), UInt32(first + blocks)]
            }
        }
        return table
    }
}

/// Per-replica scalars for K replicas updated in one launch (an LR sweep): replica r occupies
/// [r·replicaSize, (r+1)·replicaSize) of the arena (replicaSize a multiple of 16) and reads its values from
/// `table` at `offset + r` (SGD: the lr; Adam: step size, then decay factor at `offset + K + r`).
public struct ReplicaScalars {
    public var table: DeviceBuffer
    public var offset: Int
    public var replicaSize: Int
    public var replicas: Int

    public init(table: DeviceBuffer, offset: Int, replicaSize: Int, replicas: Int) {
        (self.table, self.offset, self.replicaSize, self.replicas) = (table, offset, replicaSize, replicas)
    }
}

/// Buffers and scalars of an SGD update (see `Kernels/sgd.cl`).
public struct SGDLaunch {
    public var parameters: DeviceBuffer
    public var gradients: DeviceBuffer
    /// The momentum buffer; nil when momentum is 0.
    public var momentumBuffer: DeviceBuffer?
    public var count: Int
    public var scalars: SGDScalars
    /// Per-replica learning rates, replacing `scalars.learningRate`.
    public var replicas: ReplicaScalars? = nil
    /// Per-group lr and weight_decay (parameter groups).
    public var groups: UpdateGroups? = nil
    /// How state and parameters are stored (16-bit storage, a float32 master copy).
    public var storage = UpdateStorage()
}

/// The per-step float32 arguments of the SGD kernel, derived from the hyperparameters in double as PyTorch does.
public struct SGDScalars: Equatable, Sendable {
    public var learningRate: Float
    public var weightDecay: Float
    public var momentum: Float
    public var oneMinusDampening: Float
    public var maximize: Bool
    public var nesterov: Bool
    /// True on step 1, when the momentum buffer starts as the gradient itself.
    public var firstStep: Bool

    /// The bit flags the kernels take (`SGD_*` in `Kernels/sgd.cl`).
    public var flags: Int32 {
        (maximize ? 1 : 0) | (momentum != 0 ? 2 : 0) | (nesterov ? 4 : 0) | (firstStep ? 8 : 0)
    }
}

/// Buffers and scalars of an Adam/AdamW update (see `Kernels/adam.cl`).
public struct AdamLaunch {
    public var parameters: DeviceBuffer
    public var gradients: DeviceBuffer
    public var expAvg: DeviceBuffer
    public var expAvgSq: DeviceBuffer
    /// `max_exp_avg_sq`; nil without AMSGrad.
    public var maxExpAvgSq: DeviceBuffer?
    public var count: Int
    public var scalars: AdamScalars
    /// Per-replica step sizes and decay factors, replacing those in `scalars`.
    public var replicas: ReplicaScalars? = nil
    /// Per-group step size, decay factor and weight_decay (parameter groups).
    public var groups: UpdateGroups? = nil
    /// How state and parameters are stored (16-bit storage, a float32 master copy).
    public var storage = UpdateStorage()
}

/// The per-step float32 arguments of the Adam kernel.
public struct AdamScalars: Equatable, Sendable {
    public var weightDecay: Float
    /// 1 − lr·λ, the decoupled decay multiplier.
    public var decayFactor: Float
    /// 1 − β1, the lerp weight of the first moment.
    public var beta1Weight: Float
    public var beta2: Float
    public var oneMinusBeta2: Float
    /// lr / (1 − β1^t).
    public var stepSize: Float
    /// √(1 − β2^t).
    public var biasCorrection2Sqrt: Float
    public var eps: Float
    public var maximize: Bool
    public var amsgrad: Bool
    public var decoupled: Bool

    /// The bit flags the kernels take (`ADAM_*` in `Kernels/adam.cl`).
    public var flags: Int32 { (maximize ? 1 : 0) | (amsgrad ? 2 : 0) | (decoupled ? 4 : 0) }
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
