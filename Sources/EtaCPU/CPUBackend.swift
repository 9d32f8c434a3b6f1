import CEtaCPU
import Dispatch
import EtaBackend
import EtaSupport
import Foundation

/// Float32 memory on the host, 64-byte aligned for vector loads.
final class CPUBuffer: DeviceBuffer {
    let count: Int
    let pointer: UnsafeMutablePointer<Float>

    init(count: Int) throws {
        guard count >= 0, count <= Int.max / 8 else {
            throw EtaError(.software, "cannot allocate \(count) floats on the host: the size is out of range")
        }
        if let available = MemoryBudget.hostAvailableBytes(), count * MemoryLayout<Float>.stride > available {
            throw EtaError(
                .usage,
                "a buffer of \(MemoryBudget.format(count * MemoryLayout<Float>.stride)) exceeds the host's available "
                    + "memory, \(MemoryBudget.format(available))"
            )
        }
        var raw: UnsafeMutableRawPointer?
        guard posix_memalign(&raw, 64, max(count, 1) * MemoryLayout<Float>.stride) == 0, let raw else {
            throw EtaError(.software, "cannot allocate \(count) floats (\(count * 4) bytes) on the host: out of memory")
        }
        pointer = raw.bindMemory(to: Float.self, capacity: max(count, 1))
        pointer.initialize(repeating: 0, count: count)
        self.count = count
    }

    deinit { free(pointer) }
}

/// The CPU backend: fused loops in C (runtime-dispatched to AVX-512, AVX2 or baseline) on all cores.
///
/// On a machine without a GPU this is the fast path. Results equal the Reference bit for bit: the loops
/// keep PyTorch's order of operations and do not contract into fma.
///
/// ```swift
/// let backend = CPUBackend()
/// let buffer = try backend.makeBuffer(count: 1024)
/// ```
public final class CPUBackend: Backend {
    public let info: BackendInfo
    /// Threads a large update is split over.
    public let threads: Int
    /// Below this many elements a pass runs on one thread (dispatch costs more than it saves).
    static let parallelThreshold = 1 << 16

    public init(threads: Int = ProcessInfo.processInfo.activeProcessorCount) {
        self.threads = max(1, threads)
        let blas = (try? OpenBLAS.shared.get()).map { "OpenBLAS \($0.coreName)" } ?? "OpenBLAS unavailable"
        info = BackendInfo(
            kind: .cpu, device: "host CPU (\(self.threads) threads)",
            driver: String(cString: eta_cpu_dispatch_target()) + ", " + blas)
    }

    /// The host memory of one of this backend's buffers.
    func pointer(_ buffer: DeviceBuffer) -> UnsafeMutablePointer<Float> { host(buffer).pointer }

    /// Buffers live in host memory: collectives work on them in place.
    public func hostMemory(_ buffer: DeviceBuffer) -> UnsafeMutableBufferPointer<Float>? {
        let buffer = host(buffer)
        return UnsafeMutableBufferPointer(start: buffer.pointer, count: buffer.count)
    }

    private func host(_ buffer: DeviceBuffer) -> CPUBuffer {
        guard let buffer = buffer as? CPUBuffer else {
            preconditionFailure("a buffer from another backend was passed to CPUBackend")
        }
        return buffer
    }

    /// The host's available memory, for the largest buffer and for all of them (read when asked: it changes).
    public var memoryLimits: MemoryLimits { MemoryBudget.hostLimits() }

    public func makeBuffer(count: Int) throws -> DeviceBuffer { try CPUBuffer(count: count) }

    public func write(_ values: UnsafeBufferPointer<Float>, to buffer: DeviceBuffer, offset: Int) throws {
        let target = host(buffer)
        guard offset >= 0, offset + values.count <= target.count else {
            throw EtaError(
                .software, "write of \(values.count) floats at \(offset) overruns a buffer of \(target.count)")
        }
        guard let base = values.baseAddress else { return }
        (target.pointer + offset).update(from: base, count: values.count)
    }

    public func read(_ buffer: DeviceBuffer, offset: Int, into values: UnsafeMutableBufferPointer<Float>) throws {
        let source = host(buffer)
        guard offset >= 0, offset + values.count <= source.count else {
            throw EtaError(
                .software, "read of \(values.count) floats at \(offset) overruns a buffer of \(source.count)")
        }
        guard let base = values.baseAddress else { return }
        base.update(from: source.pointer + offset, count: values.count)
    }

    public func fill(_ buffer: DeviceBuffer, with value: Float) throws {
        let target = host(buffer)
        target.pointer.update(repeating: value, count: target.count)
    }

    /// Runs `body(start, count)` over [0, n) in 64-element-aligned ranges, one per thread when n is large.
    private func parallel(_ n: Int, _ body: (Int, Int) -> Void) {
        guard n > 0 else { return }
        if n < Self.parallelThreshold || threads == 1 { body(0, n); return }
        // Threads take interleaved blocks (not one half each), so they stream through nearby memory together.
        let chunk = Self.parallelThreshold
        let blocks = (n + chunk - 1) / chunk
        concurrentPerform(threads) { thread in
            var block = thread
            while block < blocks {
                body(block * chunk, min(chunk, n - block * chunk))
                block += threads
            }
        }
    }

    public func run(_ update: UpdateCommand) throws {
        try timed(update.kernelName) { try runUpdate(update) }
    }

    private func runUpdate(_ update: UpdateCommand) throws {
        switch update {
        case .update(let launch) where launch.blocks != nil:
            try runBlocks(launch, launch.blocks!)
        case .update(let launch):
            // The registry generated from the kernel list of Kernels/updates/updates.cl (eta_updates_fp32.c).
            let storage: Int32 = launch.storage.state == .bf16 ? 1 : launch.storage.state == .fp16 ? 2 : 0
            guard let function = eta_update_function(launch.kernel, storage) else {
                throw EtaError(.software, "the CPU backend has no loop for \(launch.kernel)")
            }
            let g = host(launch.gradients).pointer
            let parameters = parameterStorage(launch.parameters, launch.storage)
            let states = (0..<3).map { i in
                i < launch.states.count ? launch.states[i].map { UnsafeMutableRawPointer(host($0).pointer) } : nil
            }
            let stateBytes = launch.storage.state == .fp32 ? 4 : 2
            // Without groups, one range over the arena with the launch's scalars.
            let ranges = launch.groups?.layout.ranges ?? [GroupRange(offset: 0, count: launch.count, group: 0)]
            for range in ranges {
                let values = launch.groups?.scalars[range.group] ?? launch.scalars.values
                let scalars = values + [Float](repeating: 0, count: max(0, UpdateScalars.capacity - values.count))
                scalars.withUnsafeBufferPointer { c in
                    let constants = c.baseAddress!
                    parameterPass(range.offset, range.count, parameters: parameters) { at, n, p in
                        let slots = states.map { $0.map { $0 + at * stateBytes } }
                        function(p, g + at, slots[0], slots[1], slots[2], n, constants, launch.scalars.flags)
                    }
                }
            }
        }
    }

    /// Where a launch's parameters live: float32 `pointer`, or 16-bit storage at `pointer` (packed) with an optional
    /// float32 `master` copy that the update runs on.
    struct ParameterStorage {
        let pointer: UnsafeMutablePointer<Float>
        let type: StorageType
        let master: UnsafeMutablePointer<Float>?
    }

    func parameterStorage(_ parameters: DeviceBuffer, _ storage: UpdateStorage) -> ParameterStorage {
        ParameterStorage(
            pointer: host(parameters).pointer, type: storage.parameters, master: storage.master.map { host($0).pointer }
        )
    }

    /// Runs `body(at, n, p)` over [offset, offset + count) in parallel pieces, `p` being float32 parameters at `at`.
    /// 16-bit parameters are served through float32 tiles (widened before, narrowed with round to nearest even after);
    /// with a master copy the loop runs on the master and its rounding is stored in the parameters. (16-bit state is
    /// read and written in place by the loops themselves.)
    private func parameterPass(
        _ offset: Int, _ count: Int, parameters: ParameterStorage,
        _ body: (Int, Int, UnsafeMutablePointer<Float>) -> Void
    ) {
        guard parameters.type != .fp32 else {
            return parallel(count) { start, n in body(offset + start, n, parameters.pointer + offset + start) }
        }
        let halves = UnsafeMutableRawPointer(parameters.pointer).assumingMemoryBound(to: UInt16.self)
        let bf16 = parameters.type == .bf16
        parallel(count) { start, n in
            let tile = 4096
            let buffer = parameters.master == nil ? UnsafeMutablePointer<Float>.allocate(capacity: tile) : nil
            defer { buffer?.deallocate() }
            var done = 0
            while done < n {
                let at = offset + start + done, length = min(tile, n - done)
                if let buffer {
                    bf16 ? eta_widen_bf16(halves + at, buffer, length) : eta_widen_fp16(halves + at, buffer, length)
                }
                let p = buffer ?? parameters.master! + at
                body(at, length, p)
                bf16 ? eta_narrow_bf16(p, halves + at, length) : eta_narrow_fp16(p, halves + at, length)
                done += length
            }
        }
    }

    /// A block kernel: threads take interleaved blocks; each block's sums are written by the thread that ran it.
    private func runBlocks(_ launch: UpdateLaunch, _ blocks: UpdateBlocks) throws {
        guard let function = eta_block_function(launch.kernel) else {
            throw EtaError(.software, "the CPU backend has no block loop for \(launch.kernel)")
        }
        let p = host(launch.parameters).pointer, g = host(launch.gradients).pointer
        let states = (0..<4).map { i in i < launch.states.count ? launch.states[i].map { host($0).pointer } : nil }
        let table = UnsafeRawPointer(host(blocks.table).pointer).assumingMemoryBound(to: UInt32.self)
        let partials = host(blocks.partials).pointer
        let scalars = launch.scalars.padded
        scalars.withUnsafeBufferPointer { c in
            let run = { (begin: Int, end: Int) in
                function(
                    p, g, states[0], states[1], states[2], states[3], table, begin, end, partials, c.baseAddress!,
                    launch.scalars.flags)
            }
            // About parallelThreshold elements per task, as the elementwise loops.
            let perTask = max(1, Self.parallelThreshold / UpdateBlocks.blockSize)
            let tasks = (blocks.count + perTask - 1) / perTask
            if tasks <= 1 || threads == 1 { run(0, blocks.count); return }
            concurrentPerform(threads) { thread in
                var task = thread
                while task < tasks {
                    run(task * perTask, min(blocks.count, (task + 1) * perTask))
                    task += threads
                }
            }
        }
    }

    public func run(_ reference: BandwidthCommand) throws {
        try timed(reference.kernelName) { try runBandwidth(reference) }
    }

    private func runBandwidth(_ reference: BandwidthCommand) throws {
        switch reference {
        case .copy(let source, let destination, let count):
            let s = host(source).pointer, d = host(destination).pointer
            parallel(count) { start, n in eta_copy(s + start, d + start, n) }
        case .stream28(let a, let b, let c, let d, let count, let scale):
            let pa = host(a).pointer, pb = host(b).pointer, pc = host(c).pointer, pd = host(d).pointer
            parallel(count) { start, n in eta_stream28(pa + start, pb + start, pc + start, pd + start, n, scale) }
        }
    }

    public func synchronize() throws {}

    /// Operations recorded while tracing (each CPU operation is synchronous, so host timestamps time it).
    var trace: [TraceEvent]?
    let traceLock = NSLock()

    public func startTrace() throws {
        traceLock.lock(); defer { traceLock.unlock() }
        trace = []
    }

    public func stopTrace() throws -> [TraceEvent] {
        traceLock.lock(); defer { traceLock.unlock() }
        defer { trace = nil }
        return trace ?? []
    }

    /// Runs `body`, timing it when tracing.
    func timed(_ name: @autoclosure () -> String, _ body: () throws -> Void) rethrows {
        LaunchClock.noteLaunch()
        guard trace != nil else { return try body() }
        let start = DispatchTime.now().uptimeNanoseconds
        try body()
        let end = DispatchTime.now().uptimeNanoseconds
        traceLock.lock(); defer { traceLock.unlock() }
        trace?.append(TraceEvent(name: name(), start: start, duration: end - start))
    }
}
