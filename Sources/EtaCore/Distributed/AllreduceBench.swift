import Dispatch
import EtaBackend

/// Times Eta's gradient exchange against the transport's own all-reduce of the same size: what the data-parallel
/// step pays for communication, and how far it is from what MPI alone achieves (`eta bench --allreduce`).
public enum AllreduceBench {
    /// One size's timings (medians over the repetitions, the slowest rank's).
    public struct Row: Sendable {
        /// Floats all-reduced.
        public let count: Int
        /// Seconds per exchange through ``GradientExchange`` (device to host, bucketed all-reduce, host to device).
        public let exchangeSeconds: Double
        /// Seconds per plain all-reduce of a host buffer of the same size.
        public let plainSeconds: Double
        /// Ranks.
        public let ranks: Int

        /// Bytes moved per rank.
        public var bytes: Int { count * MemoryLayout<Float>.size }
        /// Algorithm bandwidth (bytes / time) of the exchange and of the plain all-reduce, in GB/s.
        public var exchangeGBps: Double { Double(bytes) / exchangeSeconds / 1e9 }
        /// See ``exchangeGBps``.
        public var plainGBps: Double { Double(bytes) / plainSeconds / 1e9 }
        /// Bus bandwidth of the plain all-reduce (nccl-tests' busbw: algbw · 2(N−1)/N), comparable across N.
        public var plainBusGBps: Double { plainGBps * 2 * Double(ranks - 1) / Double(ranks) }
    }

    /// Times each size `repeats` times after one warm-up.
    ///
    /// - Parameters:
    ///   - sizes: Floats per all-reduce.
    ///   - repeats: Timed repetitions per size.
    ///   - backend: Where the exchanged buffer lives.
    ///   - group: The ranks (every rank runs this).
    /// - Returns: One row per size.
    /// - Throws: The backend's or the transport's error.
    public static func run(sizes: [Int], repeats: Int, backend: Backend, group: ProcessGroup) throws -> [Row] {
        try sizes.map { count in
            let buffer = try backend.makeBuffer(count: max(count, 1))
            try backend.fill(buffer, with: Float(group.rank + 1))
            let exchange = GradientExchange(group: group, count: count, extras: 0)
            var host = [Float](repeating: 1, count: count)
            let exchangeTime = try median(repeats) {
                _ = try exchange.sum(buffer, on: backend, scalars: [])
            }
            let plainTime = try median(repeats) {
                try host.withUnsafeMutableBufferPointer { try group.allreduce($0, .sum) }
            }
            var slowest = [exchangeTime, plainTime]
            try group.allreduce(&slowest, .max)
            return Row(count: count, exchangeSeconds: slowest[0], plainSeconds: slowest[1], ranks: group.size)
        }
    }

    /// The median seconds of `repeats` calls of `body`, after one untimed call; the ranks start each call together.
    private static func median(_ repeats: Int, _ body: () throws -> Void) throws -> Double {
        try body()
        var times: [Double] = []
        for _ in 0..<max(1, repeats) {
            let start = DispatchTime.now().uptimeNanoseconds
            try body()
            times.append(Double(DispatchTime.now().uptimeNanoseconds - start) * 1e-9)
        }
        return times.sorted()[times.count / 2]
    }
}
