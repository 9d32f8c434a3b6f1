import Dispatch
import EtaBackend

/// Data-parallel gradient summing: a device buffer's first `count` floats, plus a few host scalars that ride along
/// (the batch loss, the stop flag), all-reduced across the ranks in buckets.
///
/// Buckets go in reverse arena order, as PyTorch DDP's: the last layers' gradients are the first a backward pass
/// finishes. Each bucket's all-reduce starts (`MPI_Iallreduce`) as soon as its device-to-host copy is done, so the
/// copies of later buckets overlap the reductions of earlier ones; results are copied back as they complete. A
/// bucket is at most `bucketBytes` (25 MiB, DDP's `bucket_cap_mb`).
///
/// The host staging memory is allocated once, at construction, and never moves while a reduction is in flight.
public final class GradientExchange {
    /// The ranks.
    public let group: ProcessGroup
    /// Floats of the device buffer exchanged.
    public let count: Int
    /// Host scalars exchanged with them.
    public let extras: Int
    /// Largest bucket, in floats.
    public let bucketElements: Int
    /// Seconds spent exchanging (copies and collectives), over all exchanges.
    public private(set) var seconds = 0.0
    /// Exchanges so far.
    public private(set) var exchanges = 0

    private let staging: UnsafeMutableBufferPointer<Float>

    /// - Parameters:
    ///   - group: The ranks.
    ///   - count: Floats of the device buffer to exchange.
    ///   - extras: Host scalars exchanged with them.
    ///   - bucketBytes: The largest bucket, in bytes (default 25 MiB).
    public init(group: ProcessGroup, count: Int, extras: Int, bucketBytes: Int = 25 << 20) {
        self.group = group
        self.count = count
        self.extras = extras
        bucketElements = max(1, bucketBytes / MemoryLayout<Float>.stride)
        staging = .allocate(capacity: count + extras)
        staging.initialize(repeating: 0)
    }

    deinit { staging.deallocate() }

    /// The buckets, as ranges of the staging memory, in the order they are reduced (the extras, at the end, go in
    /// the first).
    var buckets: [Range<Int>] {
        let total = count + extras
        return stride(from: total, to: 0, by: -bucketElements).map { end in max(0, end - bucketElements)..<end }
    }

    /// Sums `buffer`'s first ``count`` floats and `scalars` across the ranks; the buffer holds the sum afterwards.
    ///
    /// - Parameters:
    ///   - buffer: The device buffer (the gradient arena).
    ///   - backend: The backend holding it.
    ///   - scalars: ``extras`` host values summed with it.
    /// - Returns: The summed scalars.
    /// - Throws: The backend's or the transport's error.
    public func sum(_ buffer: DeviceBuffer, on backend: Backend, scalars: [Float]) throws -> [Float] {
        precondition(scalars.count == extras, "GradientExchange: \(scalars.count) scalars for \(extras) slots")
        let start = DispatchTime.now().uptimeNanoseconds
        defer {
            seconds += Double(DispatchTime.now().uptimeNanoseconds - start) * 1e-9
            exchanges += 1
        }
        for (index, value) in scalars.enumerated() { staging[count + index] = value }
        if let memory = backend.hostMemory(buffer) {
            // Host buffers (the CPU backend) are reduced in place: no copies.
            try backend.synchronize()
            return try sumInPlace(UnsafeMutableBufferPointer(rebasing: memory[0..<count]))
        }
        var pending: [(Range<Int>, PendingCollective)] = []
        for bucket in buckets {
            let onDevice = bucket.clamped(to: 0..<count)
            if !onDevice.isEmpty {
                try backend.read(
                    buffer, offset: onDevice.lowerBound, into: UnsafeMutableBufferPointer(rebasing: staging[onDevice]))
            }
            pending.append(
                (bucket, try group.startAllreduce(UnsafeMutableBufferPointer(rebasing: staging[bucket]), .sum)))
        }
        for (bucket, reduction) in pending {
            try reduction.wait()
            let onDevice = bucket.clamped(to: 0..<count)
            if !onDevice.isEmpty {
                try backend.write(
                    UnsafeBufferPointer(rebasing: staging[onDevice]), to: buffer, offset: onDevice.lowerBound)
            }
        }
        return Array(staging[count..<(count + extras)])
    }

    /// The buckets of a host buffer reduced where they lie, with blocking all-reduces: with nothing to overlap (the
    /// backward pass has finished and there is no copy), Open MPI's tuned blocking algorithms beat its non-blocking
    /// ones (libnbc) by 1.5-2x on shared memory (measured with `eta bench --allreduce`).
    private func sumInPlace(_ memory: UnsafeMutableBufferPointer<Float>) throws -> [Float] {
        let scalars = UnsafeMutableBufferPointer(rebasing: staging[count..<(count + extras)])
        if extras > 0 { try group.allreduce(scalars, .sum) }
        for end in stride(from: count, to: 0, by: -bucketElements) {
            let bucket = max(0, end - bucketElements)..<end
            try group.allreduce(UnsafeMutableBufferPointer(rebasing: memory[bucket]), .sum)
        }
        return Array(scalars)
    }
}
