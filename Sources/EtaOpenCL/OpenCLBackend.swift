import EtaCL
import EtaCore
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
    /// The update kernels for one state storage type (`ETA_STATE_BF16` / `ETA_STATE_FP16` builds of sgd.cl,
    /// adam.cl and optimizers.cl), built on first use.
    struct UpdateKernels {
        let sgd: Kernel
        let adam: Kernel
        let family: [String: Kernel]
        /// Schedule-Free's y ↔ x switch (float32 z only).
        let lerpToward: Kernel
    }
    /// A build of the update kernels: state storage, parameter storage, float32 master copy.
    struct UpdateVariant: Hashable {
        var state = StorageType.fp32
        var param = StorageType.fp32
        var master = false

        var options: String {
            var text = state == .bf16 ? " -DETA_STATE_BF16" : state == .fp16 ? " -DETA_STATE_FP16" : ""
            text += param == .bf16 ? " -DETA_PARAM_BF16" : param == .fp16 ? " -DETA_PARAM_FP16" : ""
            return text + (master ? " -DETA_MASTER" : "")
        }
        var label: String {
            [state != .fp32 ? "\(state.rawValue) state" : nil, param != .fp32 ? "\(param.rawValue) params" : nil, master ? "master" : nil]
                .compactMap { $0 }.joined(separator: ", ")
        }
    }
    private var updateKernelsByType: [UpdateVariant: UpdateKernels] = [:]
    private let cache: ProgramCache
    private let options: String
    private let copy: Kernel
    private let stream28: Kernel
    let layerKernels: LayerKernels
    /// Schedule-Free's y ↔ x switch (`Kernels/optimizers.cl`).
    var lerpToward: Kernel { updateKernelsByType[UpdateVariant()]!.lerpToward }
    /// CLBlast's GEMM scratch memory, grown on demand (see `run(_: LayerCommand)`).
    var gemmScratch: Buffer

    /// Builds Eta's kernels for `device`, through `cache` (the default on-disk cache when nil).
    /// `profiling` creates the queue with event profiling, which `startTrace` needs (it slows the queue).
    public init(device: Device, cache: ProgramCache? = nil, vectorWidth: Int = 16, profiling: Bool = false) throws {
        let context = try Context(device: device, profiling: profiling)
        self.context = context
        self.vectorWidth = vectorWidth
        info = BackendInfo(kind: .opencl, device: device.name, driver: "\(device.platform.version), driver \(device.driverVersion)")
        let cache = cache ?? ProgramCache(directory: ProgramCache.defaultDirectory())
        var options = "-DETA_VEC=\(vectorWidth)"
        if device.supportsCorrectlyRoundedDivideSqrt { options += " -cl-fp32-correctly-rounded-divide-sqrt" }
        self.cache = cache
        self.options = options
        var origins: [(String, Program.Origin)] = []
        var seconds = 0.0
        func kernels(_ file: String, _ names: [String], extraOptions: String = "") throws -> [String: Kernel] {
            let start = DispatchTime.now().uptimeNanoseconds
            let program = try Self.build(file, options: options + extraOptions, cache: cache, context: context, kernels: names)
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
            reducePartial: reduce["reduce_partial"]!, reduceFinish: reduce["reduce_finish"]!, reduceSegments: reduce["reduce_segments"]!,
            reduceLocal: reduceLocal,
            clipByNorm: clip["clip_by_norm"]!, clipByValue: clip["clip_by_value"]!,
            partials: try context.makeBuffer(bytes: LayerKernels.reduceGroups * MemoryLayout<Float>.size))
        gemmScratch = try context.makeBuffer(bytes: 1 << 16)
        programOrigins = origins
        programLoadSeconds = seconds
        updateKernelsByType[UpdateVariant()] = try makeUpdateKernels(UpdateVariant())
    }

    private static func build(_ file: String, options: String, cache: ProgramCache, context: Context, kernels: [String]) throws -> Program {
        guard let common = KernelSources.source(named: "common.cl"), let body = KernelSources.source(named: file) else {
            throw EtaError(.software, "kernel source \(file) is missing from this build")
        }
        return try cache.program(source: common + "\n" + body, options: options, context: context, kernels: kernels)
    }

    /// Builds (or loads from the cache) the update kernels for `type`, noting how long it took.
    private func makeUpdateKernels(_ variant: UpdateVariant) throws -> UpdateKernels {
        let plain = variant == UpdateVariant()
        // Which kernels each file must define (a cached binary lacking one is rebuilt).
        var names = ["sgd.cl": ["sgd_update"], "adam.cl": ["adam_update"], "optimizers.cl": ["lerp_toward"]]
        for descriptor in FamilyOptimizer.all.values {
            // Two-pass optimizers keep float32 storage (their second pass re-reads what the first stored).
            guard descriptor.twoPhase == nil || plain else { continue }
            let file = descriptor.twoPhase == nil ? "optimizers.cl" : "adaptive.cl"
            names[file, default: []] += [descriptor.kernel] + (descriptor.twoPhase.map { [$0.accumulateKernel] } ?? [])
        }
        var built: [String: Kernel] = [:]
        func build(_ file: String, extraOptions: String = "") throws -> [Kernel] {
            let start = DispatchTime.now().uptimeNanoseconds
            let program = try Self.build(file, options: options + variant.options + extraOptions, cache: cache, context: context,
                                         kernels: names[file] ?? [])
            programLoadSeconds += Double(DispatchTime.now().uptimeNanoseconds - start) * 1e-9
            programOrigins.append((plain ? file : "\(file) (\(variant.label))", program.origin))
            let kernels = try (names[file] ?? []).map { try program.kernel(named: $0) }
            for kernel in kernels { built[kernel.name] = kernel }
            return kernels
        }
        for file in ["sgd.cl", "adam.cl", "optimizers.cl"] { _ = try build(file) }
        if plain {
            // The block kernels' work-group size is compiled in (a local-memory tree), as for the reductions.
            var local = Kernel.powerOfTwo(atMost: min(64, max(1, context.device.maxWorkGroupSize)))
            let blockKernels = try build("adaptive.cl", extraOptions: " -DBLOCK_LOCAL=\(local)")
            if let kernelLimit = blockKernels.map(\.maxWorkGroupSize).min(), kernelLimit < local {
                local = Kernel.powerOfTwo(atMost: kernelLimit)
                _ = try build("adaptive.cl", extraOptions: " -DBLOCK_LOCAL=\(local)")
            }
            blockLocalSize = local
        }
        let family = built.filter { !["sgd_update", "adam_update", "lerp_toward"].contains($0.key) }
        return UpdateKernels(sgd: built["sgd_update"]!, adam: built["adam_update"]!, family: family, lerpToward: built["lerp_toward"]!)
    }

    /// The update kernels for a storage combination (call under `launchLock`).
    private func updateKernels(_ storage: UpdateStorage) throws -> UpdateKernels {
        let variant = UpdateVariant(state: storage.state, param: storage.parameters, master: storage.master != nil)
        if let kernels = updateKernelsByType[variant] { return kernels }
        let kernels = try makeUpdateKernels(variant)
        updateKernelsByType[variant] = kernels
        return kernels
    }

    func device(_ buffer: DeviceBuffer) -> Buffer {
        guard let buffer = buffer as? OpenCLBuffer else { preconditionFailure("a buffer from another backend was passed to OpenCLBackend") }
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
    private func launch(_ kernel: Kernel, count: Int) throws {
        guard count > 0 else { return }
        try enqueue(kernel, global: (count + vectorWidth - 1) / vectorWidth, local: kernel.localSize(preferred: preferredLocalSize))
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
            throw EtaError(.usage, "tracing needs an OpenCL queue with profiling: create the backend with profiling: true")
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

    public func run(_ update: UpdateCommand) throws {
        launchLock.lock()
        defer { launchLock.unlock() }
        switch update {
        case .sgd(let l):
            let sgd = try updateKernels(l.storage).sgd
            let s = l.scalars
            try sgd.setArgument(0, device(l.parameters))
            try sgd.setArgument(1, device(l.gradients))
            // Without momentum the buffer argument is never read; any valid buffer will do.
            try sgd.setArgument(2, device(l.momentumBuffer ?? l.gradients))
            try sgd.setArgument(3, UInt64(l.count))
            try sgd.setArgument(4, s.learningRate)
            try sgd.setArgument(5, s.weightDecay)
            try sgd.setArgument(6, s.momentum)
            try sgd.setArgument(7, s.oneMinusDampening)
            try sgd.setArgument(8, s.flags | (l.groups != nil ? 16 : 0))
            try sgd.setArgument(9, device(l.replicas?.table ?? l.gradients))
            try sgd.setArgument(10, UInt64(l.replicas?.offset ?? 0))
            try sgd.setArgument(11, UInt64(l.replicas?.replicaSize ?? 0))
            try setGroupArguments(sgd, at: 12, l.groups, fallback: l.gradients, master: l.storage.master)
            try launch(sgd, count: l.count)
        case .family(let l):
            guard let kernel = try updateKernels(l.storage).family[l.kernel] else {
                throw EtaError(.software, "no OpenCL kernel \(l.kernel) for \(l.storage.state.rawValue) state")
            }
            try kernel.setArgument(0, device(l.parameters))
            try kernel.setArgument(1, device(l.gradients))
            // Absent state slots are never read or written; any valid buffer fills the argument.
            let slots = l.blocks == nil ? 3 : 4
            for slot in 0..<slots { try kernel.setArgument(2 + slot, device((slot < l.states.count ? l.states[slot] : nil) ?? l.gradients)) }
            try kernel.setArgument(2 + slots, UInt64(l.count))
            for index in 0..<12 { try kernel.setArgument(3 + slots + index, index < l.scalars.count ? l.scalars[index] : Float(0)) }
            try kernel.setArgument(15 + slots, l.flags | (l.groups != nil ? 256 : 0))
            if let blocks = l.blocks {
                try kernel.setArgument(20, device(blocks.table))
                try kernel.setArgument(21, device(blocks.partials))
                if blocks.count > 0 { try enqueue(kernel, global: blocks.count * blockLocalSize, local: blockLocalSize) }
            } else {
                try setGroupArguments(kernel, at: 19, l.groups, fallback: l.gradients, master: l.storage.master)
                try launch(kernel, count: l.count)
            }
        case .adam(let l):
            let adam = try updateKernels(l.storage).adam
            let s = l.scalars
            try adam.setArgument(0, device(l.parameters))
            try adam.setArgument(1, device(l.gradients))
            try adam.setArgument(2, device(l.expAvg))
            try adam.setArgument(3, device(l.expAvgSq))
            try adam.setArgument(4, device(l.maxExpAvgSq ?? l.expAvgSq))
            try adam.setArgument(5, UInt64(l.count))
            for (index, value) in [s.weightDecay, s.decayFactor, s.beta1Weight, s.beta2, s.oneMinusBeta2,
                                   s.stepSize, s.biasCorrection2Sqrt, s.eps].enumerated() {
                try adam.setArgument(6 + index, value)
            }
            try adam.setArgument(14, s.flags | (l.groups != nil ? 8 : 0))
            try adam.setArgument(15, device(l.replicas?.table ?? l.gradients))
            try adam.setArgument(16, UInt64(l.replicas?.offset ?? 0))
            try adam.setArgument(17, UInt64(l.replicas?.replicaSize ?? 0))
            try adam.setArgument(18, UInt32(l.replicas?.replicas ?? 1))
            try setGroupArguments(adam, at: 19, l.groups, fallback: l.gradients, master: l.storage.master)
            try launch(adam, count: l.count)
        }
    }

    /// The chunk-group table and per-group scalars of a grouped update; without groups any valid buffer fills
    /// the two arguments (the kernels read them only under their GROUPED flag).
    private func setGroupArguments(_ kernel: Kernel, at index: Int, _ groups: UpdateGroups?, fallback: DeviceBuffer,
                                   master: DeviceBuffer? = nil) throws {
        try kernel.setArgument(index, device(groups?.chunks ?? fallback))
        try kernel.setArgument(index + 1, device(groups?.scalars ?? fallback))
        // The float32 master copy (read by ETA_MASTER builds only).
        try kernel.setArgument(index + 2, device(master ?? fallback))
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
