import Dispatch

/// Timing of one operation at one size, with the same-run bandwidth reference beside it.
public struct BenchResult: Sendable {
    /// `adam`, `sgd`, `copy` or `stream28`.
    public let name: String
    public let parameters: Int
    public let bytesPerParameter: Int
    /// Seconds per step, sorted.
    public let seconds: [Double]

    public var median: Double { seconds.isEmpty ? .nan : seconds[seconds.count / 2] }
    public var minimum: Double { seconds.first ?? .nan }
    public var maximum: Double { seconds.last ?? .nan }
    /// GB/s at the documented bytes per parameter, from the median time.
    public var gigabytesPerSecond: Double { Double(parameters * bytesPerParameter) / median / 1e9 }
}

/// Measures update throughput against same-run bandwidth references, interleaved so the ratio is fair on a
/// shared machine. (The full `eta bench` of the performance issue builds on this.)
///
/// ```swift
/// let results = try Bench.updates(optimizers: ["adam"], parameters: 1 << 24, repeats: 10, backend: CPUBackend())
/// ```
public enum Bench {
    /// Times each optimizer's update, `copy` (8 B/element) and `stream28` (28 B/element) on `parameters`
    /// floats, `repeats` times each, round-robin after one warm-up round.
    public static func updates(optimizers specs: [String], parameters: Int, repeats: Int, backend: Backend) throws -> [BenchResult] {
        guard parameters > 0, repeats > 0 else { throw EtaError(.usage, "--params and --repeat must be positive") }
        let configurations = try specs.map { try OptimizerConfiguration(spec: $0) }
        let layout = try TensorLayout([("x", [parameters])])
        var random = SplitMix64(seed: 1)
        let values = random.uniforms(parameters)
        var arenas: [(ParameterArena, Optimizer)] = []
        for configuration in configurations {
            let arena = try ParameterArena(layout: layout, stateSlots: configuration.stateSlots, backend: backend)
            try arena.upload(values, to: .parameters)
            try arena.upload(values.map { $0 * 1e-3 }, to: .gradients)
            arenas.append((arena, Optimizer(configuration)))
        }
        let scratch = try (0..<4).map { _ in try backend.makeBuffer(count: parameters) }
        for buffer in scratch { try backend.write(values, to: buffer) }
        var operations: [(String, Int, () throws -> Void)] = arenas.map { arena, optimizer in
            (optimizer.configuration.name, optimizer.configuration.bytesPerParameter, { try optimizer.step(arena) })
        }
        operations.append(("copy", 8, { try backend.run(.copy(source: scratch[0], destination: scratch[1], count: parameters)) }))
        operations.append(("stream28", 28, {
            try backend.run(.stream28(a: scratch[0], b: scratch[1], c: scratch[2], d: scratch[3], count: parameters, scale: 1e-7))
        }))
        var times = [[Double]](repeating: [], count: operations.count)
        for round in 0...repeats {
            for (index, operation) in operations.enumerated() {
                try backend.synchronize()
                let start = DispatchTime.now().uptimeNanoseconds
                try operation.2()
                try backend.synchronize()
                if round > 0 { times[index].append(Double(DispatchTime.now().uptimeNanoseconds - start) * 1e-9) }
            }
        }
        return operations.enumerated().map { index, operation in
            BenchResult(name: operation.0, parameters: parameters, bytesPerParameter: operation.1, seconds: times[index].sorted())
        }
    }
}
