import Dispatch
import Foundation

/// Timing of one operation at one size, with the same-run bandwidth reference beside it.
public struct BenchResult: Sendable {
    /// The optimizer SPEC (with ` xK tensors` for a split arena and the storage in brackets), `copy` or `stream28`.
    public let name: String
    /// The arena's elements.
    public let parameters: Int
    /// Tensors the parameters were split into (1: one tensor).
    public var tensors = 1
    /// Bytes read and written per parameter, the figure GB/s is computed from.
    public let bytesPerParameter: Int
    /// Seconds per step, sorted.
    public let seconds: [Double]

    /// The median of ``seconds`` (NaN without samples).
    public var median: Double { seconds.isEmpty ? .nan : seconds[seconds.count / 2] }
    /// The fastest sample.
    public var minimum: Double { seconds.first ?? .nan }
    /// The slowest sample.
    public var maximum: Double { seconds.last ?? .nan }
    /// GB/s at the documented bytes per parameter, from the median time.
    public var gigabytesPerSecond: Double { Double(parameters * bytesPerParameter) / median / 1e9 }
}

/// Measures update throughput against same-run bandwidth references, interleaved so the ratio is fair on a
/// shared machine. `eta bench` is built on it.
///
/// ```swift
/// let results = try Bench.updates(optimizers: ["adam"], parameters: 1 << 24, repeats: 10, backend: CPUBackend())
/// ```
public enum Bench {
    /// Times each optimizer's update, `copy` (8 B/element) and `stream28` (28 B/element) on `parameters`
    /// floats, `repeats` times each, round-robin after one warm-up round.
    /// `storages`: each optimizer is timed with each storage combination (labelled `SPEC [bf16 state, ...]`).
    ///
    /// - Parameters:
    ///   - specs: Optimizer SPECs to time.
    ///   - parameters: Elements of each arena, at least 1.
    ///   - tensors: Tensors to split the arena into as well (1: one layout only), in 1...parameters.
    ///   - repeats: Timed rounds, in 1...``RunLimits/repeats``.
    ///   - backend: The backend to time.
    ///   - storages: Storage combinations to time each optimizer with (float32-only optimizers skip the others).
    ///   - trace: Called once per operation after timing, with its label and a closure that runs it (for a trace).
    /// - Returns: One result per operation timed, the bandwidth references last.
    /// - Throws: `EtaError` `.usage` for an invalid count, SPEC or memory the device lacks, or the backend's error.
    public static func updates(
        optimizers specs: [String], parameters: Int, tensors: Int = 1, repeats: Int, backend: Backend,
        storages: [Verify.Storage] = [Verify.Storage()],
        trace: ((String, () throws -> Void) throws -> Void)? = nil
    ) throws -> [BenchResult] {
        guard parameters > 0 else { throw EtaError(.usage, "parameters must be >= 1 (got \(parameters))") }
        try RunLimits.check(repeats, in: 1...RunLimits.repeats, option: "repeats")
        guard tensors >= 1, tensors <= parameters else {
            throw EtaError(.usage, "tensors must be in 1...\(parameters) (got \(tensors))")
        }
        let configurations = try specs.map { (try OptimizerConfiguration(spec: $0), $0) }
        // Every arena below lives until the timing rounds end: parameters, gradients and state per optimizer and
        // storage (twice with a split layout), plus the bandwidth kernels' five buffers; on the host, the values
        // and their scaled copy.
        let what = "benchmarking \(parameters) parameters"
        let buffer = try MemoryBudget.floatBytes(parameters, what: what)
        let arenas =
            configurations.map { 2 + $0.0.stateSlots.count + 1 }.reduce(0, +) * storages.count * (tensors > 1 ? 2 : 1)
        try MemoryBudget.check(
            what: what, hostBytes: try MemoryBudget.floatBytes(parameters, copies: 3, what: what),
            deviceBuffers: Array(repeating: buffer, count: arenas + 5), on: backend)
        var layouts = [try TensorLayout([("x", [parameters])])]
        if tensors > 1 {
            layouts.append(
                try TensorLayout(
                    mixedSizes(total: parameters, tensors: tensors).enumerated().map { ("t\($0.offset)", [$0.element]) }
                ))
        }
        var random = SplitMix64(seed: 1)
        let values = random.uniforms(parameters)
        var operations: [(String, Int, Int, () throws -> Void)] = []
        for (configuration, spec) in configurations {
            for storage in storages {
                do {  // float32-only optimizers are timed in float32 only
                    try Optimizer.checkStateType(storage.state, for: configuration)
                    try Optimizer.checkStateType(storage.parameters, for: configuration)
                } catch { continue }
                for layout in layouts {
                    let arena = try ParameterArena(
                        layout: layout, stateSlots: configuration.stateSlots, backend: backend,
                        stateType: storage.state,
                        parameterType: storage.parameters, masterCopy: storage.master)
                    try arena.upload(values, to: .parameters)
                    try arena.upload(values.map { $0 * 1e-3 }, to: .gradients)
                    let optimizer = Optimizer(configuration)
                    try optimizer.initializeState(arena)
                    var label = layout.entries.count > 1 ? "\(spec) x\(layout.entries.count) tensors" : spec
                    if storage != Verify.Storage() { label += " [\(storage.label)]" }
                    let bytes = configuration.bytesPerParameter(
                        stateType: storage.state, parameterType: storage.parameters, master: storage.master)
                    operations.append((label, layout.entries.count, bytes, { try optimizer.step(arena) }))
                }
            }
        }
        let scratch = try (0..<4).map { _ in try backend.makeBuffer(count: parameters) }
        for buffer in scratch { try backend.write(values, to: buffer) }
        operations.append(
            ("copy", 1, 8, { try backend.run(.copy(source: scratch[0], destination: scratch[1], count: parameters)) }))
        operations.append(
            (
                "stream28", 1, 28,
                {
                    try backend.run(
                        .stream28(
                            a: scratch[0], b: scratch[1], c: scratch[2], d: scratch[3], count: parameters, scale: 1e-7))
                }
            ))
        var times = [[Double]](repeating: [], count: operations.count)
        for round in 0...repeats {
            for (index, operation) in operations.enumerated() {
                try backend.synchronize()
                let start = DispatchTime.now().uptimeNanoseconds
                try operation.3()
                try backend.synchronize()
                if round > 0 { times[index].append(Double(DispatchTime.now().uptimeNanoseconds - start) * 1e-9) }
            }
        }
        if let trace { for operation in operations { try trace(operation.0, operation.3) } }
        return operations.enumerated().map { index, operation in
            var result = BenchResult(
                name: operation.0, parameters: parameters, bytesPerParameter: operation.2,
                seconds: times[index].sorted())
            result.tensors = operation.1
            return result
        }
    }

    /// `tensors` sizes of mixed magnitude (log-uniform over three decades, seeded) that sum to `total`.
    ///
    /// - Parameters:
    ///   - total: The sum, at least `tensors`.
    ///   - tensors: How many sizes, at least 1.
    /// - Returns: The sizes, each at least 1.
    public static func mixedSizes(total: Int, tensors: Int) -> [Int] {
        var random = SplitMix64(seed: 200)
        let weights = (0..<tensors).map { _ in exp(Double(random.uniform() + 1) / 2 * log(1000.0)) }
        let sum = weights.reduce(0, +)
        // One element each, then the rest shared by weight (rounded down) and the remainder on the last: every size
        // is >= 1 and they add up to `total` for any tensors <= total.
        let spare = total - tensors
        var sizes = weights.map { 1 + Int(Double(spare) * $0 / sum) }
        sizes[sizes.count - 1] += total - sizes.reduce(0, +)
        return sizes
    }

    /// Times of full training steps: forward, loss, backward and the optimizer update of one batch.
    public struct StepResult: Sendable {
        /// The model timed.
        public let architecture: ModelArchitecture
        /// Rows per step.
        public let batch: Int
        /// Seconds per step, sorted.
        public let seconds: [Double]
        /// The median of ``seconds``.
        public var median: Double { seconds[seconds.count / 2] }
        /// Training rows per second at the median time.
        public var samplesPerSecond: Double { Double(batch) / median }
        /// Forward 2·MACs, backward 4·MACs per sample.
        public var gigaflopsPerSecond: Double { 6 * Double(architecture.multiplyAddsPerSample * batch) / median / 1e9 }
    }

    /// Times `repeats` training steps of `architecture` on random data (cross-entropy over its outputs).
    ///
    /// - Parameters:
    ///   - architecture: The model.
    ///   - optimizer: The optimizer stepping it.
    ///   - batch: Rows per step, at least 1.
    ///   - repeats: Timed steps, in 1...``RunLimits/repeats``, after 3 warm-up steps.
    ///   - backend: The backend to time.
    ///   - trace: Called once after timing, with a label and a closure that runs one step (for a trace).
    /// - Returns: The sorted times.
    /// - Throws: `EtaError` `.usage` for an invalid count or memory the device lacks, or the backend's error.
    public static func trainingSteps(
        architecture: ModelArchitecture, optimizer: OptimizerConfiguration, batch: Int, repeats: Int,
        backend: Backend, trace: ((String, () throws -> Void) throws -> Void)? = nil
    ) throws -> StepResult {
        guard batch > 0 else { throw EtaError(.usage, "the batch size must be >= 1 (got \(batch))") }
        try RunLimits.check(repeats, in: 1...RunLimits.repeats, option: "repeats")
        let network = try Network(
            architecture: architecture, loss: .crossEntropy, optimizer: optimizer, maxBatch: batch, backend: backend)
        try network.arena.upload(architecture.initialParameters(seed: 0), to: .parameters)
        var random = SplitMix64(seed: 5)
        let inputs = architecture.inputShape.count, classes = architecture.outputShape.channels
        let targets = batch * architecture.outputShape.positions
        let x = try backend.makeBuffer(count: batch * inputs), y = try backend.makeBuffer(count: targets)
        // Token ids for a GPT, values in [-1, 1) otherwise.
        try backend.write(
            architecture.readsTokens
                ? (0..<(batch * inputs)).map { _ in Float(random.next() % UInt64(classes)) }
                : random.uniforms(batch * inputs), to: x)
        try backend.write((0..<targets).map { Float($0 % classes) }, to: y)
        let step = {
            try network.trainingStep(input: x, inputOffset: 0, targets: y, targetsOffset: 0, rows: batch)
            try network.optimizer.step(network.arena)
        }
        for _ in 0..<3 { try step() }  // warm-up: first-call compiles and allocations
        var times: [Double] = []
        for _ in 0..<repeats {
            try backend.synchronize()
            let start = DispatchTime.now().uptimeNanoseconds
            try step()
            try backend.synchronize()
            times.append(Double(DispatchTime.now().uptimeNanoseconds - start) * 1e-9)
        }
        try trace?("training step", step)
        return StepResult(architecture: architecture, batch: batch, seconds: times.sorted())
    }
}
