import EtaBackend
import EtaCL
import EtaKernelSources
import EtaSupport
import Foundation

/// A float32 OpenCL buffer.
final class OpenCLBuffer: DeviceBuffer {
    let count: Int
    let buffer: Buffer
    /// The backend's ledger, given back this buffer's bytes when it goes.
    private let ledger: AllocationLedger?

    init(count: Int, buffer: Buffer, ledger: AllocationLedger? = nil) {
        self.count = count
        self.buffer = buffer
        self.ledger = ledger
    }

    deinit { ledger?.release(count * MemoryLayout<Float>.size) }
}

/// The OpenCL backend: Eta's kernels from `Kernels/`, built once per device (and cached on disk), each
/// update one launch over the whole arena on one in-order queue.
///
/// ```swift
/// let device = try Platform.all()[0].devices()[0]
/// let backend = try OpenCLBackend(device: device)
/// ```
public final class OpenCLBackend: Backend {
    public let info: BackendInfo
    /// Bytes of the live buffers made by `makeBuffer`, checked against the device's memory before each one.
    let ledger = AllocationLedger()
    public let context: Context
    /// Floats per work-item (`ETA_VEC`).
    public let vectorWidth: Int
    /// Work-items per work-group that elementwise launches ask for. Each launch takes the largest power of two
    /// within this, the device's and the kernel's limits (`Kernel.localSize(preferred:)`): fixed per kernel,
    /// because PoCL compiles one work-group function per local size.
    public let preferredLocalSize = 64
    /// Work-items per work-group of the block kernels (`BLOCK_LOCAL`, compiled into `Kernels/adaptive.cl`).
    public private(set) var blockLocalSize = 64
    /// How each program was obtained (compiled or cached), in load order.
    public private(set) var programOrigins: [(file: String, origin: Program.Origin)] = []
    /// Seconds spent obtaining programs (compiling or loading binaries) in this process.
    public private(set) var programLoadSeconds = 0.0

    /// Kernel arguments are per kernel object and `clSetKernelArg` is not thread-safe: one launch at a time.
    let launchLock = NSLock()
    /// The update programs of one storage variant; kernels are created by name on first use, so the backend needs
    /// no list of optimizers.
    final class UpdatePrograms {
        let elementwise: Program
        /// The block kernels (`Kernels/adaptive.cl`); float32 storage only.
        let blocks: Program?
        var kernels: [String: Kernel] = [:]

        /// The kernels of `blocks`, as the program names them.
        let blockKernelNames: Set<String>

        init(elementwise: Program, blocks: Program?) throws {
            (self.elementwise, self.blocks) = (elementwise, blocks)
            blockKernelNames = Set(try blocks?.kernelNames() ?? [])
        }

        func kernel(_ name: String) throws -> Kernel {
            if let kernel = kernels[name] { return kernel }
            // The program that defines the name, so no lookup fails on the way (drivers such as Oclgrind report every
            // failed clCreateKernel).
            let program = blocks.flatMap { blockKernelNames.contains(name) ? $0 : nil } ?? elementwise
            guard let kernel = try? program.kernel(named: name) else {
                throw EtaError(.software, "no OpenCL update kernel named \(name) in this build of Kernels/")
            }
            kernels[name] = kernel
            return kernel
        }
    }
    private var updateProgramsByVariant: [StorageLayout: UpdatePrograms] = [:]
    /// Device copies of group tables (chunk → group), by layout, and a buffer for each one's per-step scalars.
    var groupTables: [ObjectIdentifier: (layout: GroupLayout, chunks: Buffer, scalars: Buffer)] = [:]
    private let cache: ProgramCache
    private let options: String
    private let copy: Kernel
    private let stream28: Kernel
    let layerKernels: LayerKernels
    /// The kernels of `Kernels/deep.cl`, by name.
    let deepKernels: [String: Kernel]
    /// Schedule-Free's y ↔ x switch (`Kernels/optimizers.cl`).
    var lerpToward: Kernel { try! updateProgramsByVariant[StorageLayout()]!.kernel("lerp_toward") }
    /// CLBlast's GEMM scratch memory, grown on demand (see `run(_: LayerCommand)`).
    var gemmScratch: Buffer

    /// Builds Eta's kernels for `device`, through `cache` (the default on-disk cache when nil).
    /// `profiling` creates the queue with event profiling, which `startTrace` needs (it slows the queue).
    public init(device: Device, cache: ProgramCache? = nil, vectorWidth: Int = 16, profiling: Bool = false) throws {
        let context = try Context(device: device, profiling: profiling)
        self.context = context
        self.vectorWidth = vectorWidth
        info = BackendInfo(
            kind: .opencl, device: device.name, driver: "\(device.platform.version), driver \(device.driverVersion)")
        let cache = cache ?? ProgramCache(directory: ProgramCache.defaultDirectory())
        var options = "-DETA_VEC=\(vectorWidth)"
        if device.supportsCorrectlyRoundedDivideSqrt { options += " -cl-fp32-correctly-rounded-divide-sqrt" }
        self.cache = cache
        self.options = options
        var origins: [(String, Program.Origin)] = []
        var seconds = 0.0
        func kernels(_ file: String, _ names: [String], extraOptions: String = "") throws -> [String: Kernel] {
            let start = DispatchTime.now().uptimeNanoseconds
            let program = try Self.build(
                file, options: options + extraOptions, cache: cache, context: context, kernels: names)
            seconds += Double(DispatchTime.now().uptimeNanoseconds - start) * 1e-9
            origins.append((file, program.origin))
            return try Dictionary(uniqueKeysWithValues: names.map { ($0, try program.kernel(named: $0)) })
        }
        let bandwidth = try kernels("bandwidth.cl", ["copy", "stream28"])
        copy = bandwidth["copy"]!
        stream28 = bandwidth["stream28"]!
        let layers = try kernels("layers.cl", ["bias_activation_forward", "bias_activation_backward"])
        let losses = try kernels("losses.cl", ["softmax_cross_entropy", "bce_with_logits", "mse"])
        let clip = try kernels("clip.cl", ["clip_by_norm", "clip_by_value"])
        deepKernels = try kernels("deep.cl", Self.deepKernelNames)
        // The reductions' work-group size is compiled in (a local-memory tree): the largest power of two up to 256
        // that the device, then each kernel, allows.
        let reduceNames = ["reduce_partial", "reduce_finish", "reduce_segments"]
        var reduceLocal = Kernel.powerOfTwo(atMost: min(256, max(1, device.maxWorkGroupSize)))
        var reduce = try kernels("reduce.cl", reduceNames, extraOptions: " -DREDUCE_LOCAL=\(reduceLocal)")
        if let kernelLimit = reduce.values.map(\.maxWorkGroupSize).min(), kernelLimit < reduceLocal {
            reduceLocal = Kernel.powerOfTwo(atMost: kernelLimit)
            reduce = try kernels("reduce.cl", reduceNames, extraOptions: " -DREDUCE_LOCAL=\(reduceLocal)")
        }
        layerKernels = LayerKernels(
            forward: layers["bias_activation_forward"]!, backward: layers["bias_activation_backward"]!,
            crossEntropy: losses["softmax_cross_entropy"]!, bce: losses["bce_with_logits"]!, mse: losses["mse"]!,
            reducePartial: reduce["reduce_partial"]!, reduceFinish: reduce["reduce_finish"]!,
            reduceSegments: reduce["reduce_segments"]!,
            reduceLocal: reduceLocal,
            clipByNorm: clip["clip_by_norm"]!, clipByValue: clip["clip_by_value"]!,
            partials: try context.makeBuffer(bytes: LayerKernels.reduceGroups * MemoryLayout<Float>.size))
        gemmScratch = try context.makeBuffer(bytes: 1 << 16)
        programOrigins = origins
        programLoadSeconds = seconds
        updateProgramsByVariant[StorageLayout()] = try makeUpdatePrograms(StorageLayout())
        _ = try updateProgramsByVariant[StorageLayout()]!.kernel("lerp_toward")
    }

    private static func build(
        _ file: String, options: String, cache: ProgramCache, context: Context, kernels: [String]
    ) throws -> Program {
        guard let common = KernelSources.source(named: "common.cl"), let body = KernelSources.source(named: file) else {
            throw EtaError(.software, "kernel source \(file) is missing from this build")
        }
        return try cache.program(source: common + "\n" + body, options: options, context: context, kernels: kernels)
    }

    /// Builds (or loads from the cache) the update programs of a storage variant, noting how long it took.
    private func makeUpdatePrograms(_ variant: StorageLayout) throws -> UpdatePrograms {
        let plain = variant == StorageLayout()
        func build(_ file: String, sentinel: String, extraOptions: String = "") throws -> Program {
            let start = DispatchTime.now().uptimeNanoseconds
            // A cached binary lacking the sentinel kernel is rebuilt.
            let program = try Self.build(
                file, options: options + variant.buildOptions + extraOptions, cache: cache, context: context,
                kernels: [sentinel])
            programLoadSeconds += Double(DispatchTime.now().uptimeNanoseconds - start) * 1e-9
            programOrigins.append((plain ? file : "\(file) (\(variant.label))", program.origin))
            return program
        }
        let elementwise = try build("optimizers.cl", sentinel: "lerp_toward")
        guard plain else { return try UpdatePrograms(elementwise: elementwise, blocks: nil) }
        // The block kernels' work-group size is compiled in (a local-memory tree), as for the reductions.
        var local = Kernel.powerOfTwo(atMost: min(64, max(1, context.device.maxWorkGroupSize)))
        var blocks = try build("adaptive.cl", sentinel: "lamb_moments", extraOptions: " -DBLOCK_LOCAL=\(local)")
        let kernelLimit = try blocks.kernelNames().map { try blocks.kernel(named: $0).maxWorkGroupSize }.min() ?? local
        if kernelLimit < local {
            local = Kernel.powerOfTwo(atMost: kernelLimit)
            blocks = try build("adaptive.cl", sentinel: "lamb_moments", extraOptions: " -DBLOCK_LOCAL=\(local)")
        }
        blockLocalSize = local
        return try UpdatePrograms(elementwise: elementwise, blocks: blocks)
    }

    /// The update programs for a storage combination (call under `launchLock`).
    func updatePrograms(_ storage: UpdateStorage) throws -> UpdatePrograms {
        let variant = storage.layout
        if let programs = updateProgramsByVariant[variant] { return programs }
        let programs = try makeUpdatePrograms(variant)
        updateProgramsByVariant[variant] = programs
        return programs
    }

    func device(_ buffer: DeviceBuffer) -> Buffer {
        guard let buffer = buffer as? OpenCLBuffer else {
            preconditionFailure("a buffer from another backend was passed to OpenCLBackend")
        }
        return buffer.buffer
    }

    public func makeBuffer(count: Int) throws -> DeviceBuffer {
        let (bytes, overflow) = count.multipliedReportingOverflow(by: MemoryLayout<Float>.size)
        guard count >= 0, !overflow else {
            throw EtaError(.software, "cannot allocate \(count) floats on \(info.device): the size is out of range")
        }
        try reserveAllocation(bytes: bytes)
        do {
            let buffer = try context.makeBuffer(bytes: bytes)
            // GPU memory from clCreateBuffer holds garbage: every buffer starts at zero.
            try buffer.fill(0, bytes: bytes)
            return OpenCLBuffer(count: count, buffer: buffer, ledger: ledger)
        } catch {
            ledger.release(bytes)
            throw allocationFailure(error, bytes: bytes)
        }
    }

    public func write(_ values: UnsafeBufferPointer<Float>, to buffer: DeviceBuffer, offset: Int) throws {
        try device(buffer).write(from: UnsafeRawBufferPointer(values), offset: offset * MemoryLayout<Float>.size)
    }

    public func read(_ buffer: DeviceBuffer, offset: Int, into values: UnsafeMutableBufferPointer<Float>) throws {
        try device(buffer).read(into: UnsafeMutableRawBufferPointer(values), offset: offset * MemoryLayout<Float>.size)
    }

    public func fill(_ buffer: DeviceBuffer, with value: Float) throws {
        try device(buffer).fill(value, bytes: buffer.count * MemoryLayout<Float>.size)
    }

    /// Enqueues `kernel` over `count` floats: one work-item per `vectorWidth` of them.
    func launch(_ kernel: Kernel, count: Int) throws {
        guard count > 0 else { return }
        try enqueue(
            kernel, global: (count + vectorWidth - 1) / vectorWidth,
            local: kernel.localSize(preferred: preferredLocalSize))
    }

    /// Every launch goes through here: it notes the first launch and, when tracing, keeps the launch's event.
    func enqueue(_ kernel: Kernel, global: Int, local: Int, name: String? = nil) throws {
        try enqueue(kernel, global: [global], local: [local], name: name)
    }

    /// A launch of 1 to 3 dimensions (`local` must fit the kernel: see `Kernel.localSize(preferred:)`).
    func enqueue(_ kernel: Kernel, global: [Int], local: [Int], name: String? = nil) throws {
        LaunchClock.noteLaunch()
        let event = try kernel.enqueue(on: context.queue, global: global, local: local, withEvent: tracedEvents != nil)
        if let event { tracedEvents?.append((name ?? kernel.name, event)) }
    }

    /// Events of traced launches, in order; nil when not tracing.
    var tracedEvents: [(String, Event)]?

    public func startTrace() throws {
        guard context.queue.profiling else {
            throw EtaError(
                .usage, "tracing needs an OpenCL queue with profiling: create the backend with profiling: true")
        }
        tracedEvents = []
    }

    public func stopTrace() throws -> [TraceEvent] {
        try context.queue.finish()
        defer { tracedEvents = nil }
        return try (tracedEvents ?? []).map { name, event in
            let (start, end) = try event.profilingTimes()
            return TraceEvent(name: name, start: start, duration: end &- start)
        }
    }

    public func run(_ reference: BandwidthCommand) throws {
        launchLock.lock()
        defer { launchLock.unlock() }
        switch reference {
        case .copy(let source, let destination, let count):
            try copy.setArgument(0, device(source))
            try copy.setArgument(1, device(destination))
            try copy.setArgument(2, UInt64(count))
            try launch(copy, count: count)
        case .stream28(let a, let b, let c, let d, let count, let scale):
            for (index, buffer) in [a, b, c, d].enumerated() { try stream28.setArgument(index, device(buffer)) }
            try stream28.setArgument(4, UInt64(count))
            try stream28.setArgument(5, scale)
            try launch(stream28, count: count)
        }
    }

    public func synchronize() throws { try context.queue.finish() }
}

extension StorageLayout {
    /// The `-D` options of the update programs' build for this storage (see Kernels/common.cl).
    var buildOptions: String {
        var text = state == .bf16 ? " -DETA_STATE_BF16" : state == .fp16 ? " -DETA_STATE_FP16" : ""
        text += parameters == .bf16 ? " -DETA_PARAM_BF16" : parameters == .fp16 ? " -DETA_PARAM_FP16" : ""
        return text + (master ? " -DETA_MASTER" : "")
    }
}
