import Dispatch
import EtaBackend

/// Sharded optimizer state (ZeRO stage 1, Rajbhandari et al. 2020): the arena is cut into `size` blocks of
/// ``blockCount`` floats (a multiple of 16, the last block padded with zeros), and rank r keeps the optimizer state of
/// block r only, in its own ``arena`` (parameters, gradients and state of the block; parameter groups still apply,
/// since the block's pieces keep their tensors' names). A step reduce-scatters the gradients (each rank receives the
/// sum of its block), updates the block, and all-gathers the parameters: the bytes of one all-reduce.
public final class OptimizerShard {
    /// The ranks.
    public let group: ProcessGroup
    /// Floats per block: the arena's count divided by the ranks, rounded up to a multiple of 16.
    public let blockCount: Int
    /// This rank's block in arena coordinates (it may run past the arena's end into padding).
    public let range: Range<Int>
    /// The block's parameters, gradients and optimizer state.
    public let arena: ParameterArena
    /// Device bytes the block holds: its parameters, gradients and state.
    public let deviceBytes: Int
    /// Seconds spent in the shard's copies and collectives.
    public private(set) var seconds = 0.0

    private let fullCount: Int
    private let staging: UnsafeMutableBufferPointer<Float>

    /// - Parameters:
    ///   - layout: The full arena's layout.
    ///   - group: The ranks.
    ///   - stateSlots: The optimizer's state slots.
    ///   - backend: The backend to allocate the block on.
    ///   - stateType: How the state is stored.
    /// - Throws: The backend's allocation error.
    public init(
        layout: TensorLayout, group: ProcessGroup, stateSlots: [String], backend: Backend, stateType: StorageType
    ) throws {
        self.group = group
        fullCount = layout.count
        let chunk = GroupLayout.chunk
        blockCount = max(chunk, ((layout.count + group.size - 1) / group.size + chunk - 1) / chunk * chunk)
        range = (group.rank * blockCount)..<((group.rank + 1) * blockCount)
        arena = try ParameterArena(
            layout: Self.pieces(of: layout, in: range), stateSlots: stateSlots, backend: backend, stateType: stateType)
        deviceBytes = blockCount * (2 * MemoryLayout<Float>.size + stateSlots.count * stateType.bytes)
        staging = .allocate(capacity: blockCount * group.size)
        staging.initialize(repeating: 0)
    }

    deinit { staging.deallocate() }

    /// The tensors' parts inside `range`, named as their tensors, at their offsets relative to the block.
    static func pieces(of layout: TensorLayout, in range: Range<Int>) -> TensorLayout {
        let entries = layout.entries.compactMap { entry -> TensorLayout.Entry? in
            let part = (entry.offset..<(entry.offset + entry.count)).clamped(to: range)
            guard !part.isEmpty else { return nil }
            return TensorLayout.Entry(name: entry.name, shape: [part.count], offset: part.lowerBound - range.lowerBound)
        }
        return TensorLayout(entries: entries, count: range.count)
    }

    /// The part of the block that lies inside the arena.
    private var inArena: Range<Int> { range.clamped(to: 0..<fullCount) }

    /// Sums every rank's `gradients` and leaves this rank's block of the sum in ``arena``'s gradients.
    ///
    /// - Parameters:
    ///   - gradients: The full gradient arena of this rank.
    ///   - backend: The backend holding it.
    /// - Throws: The backend's or the transport's error.
    public func reduceScatter(_ gradients: DeviceBuffer, on backend: Backend) throws {
        let start = DispatchTime.now().uptimeNanoseconds
        UnsafeMutableBufferPointer(rebasing: staging[fullCount...]).update(repeating: 0)
        try backend.read(gradients, offset: 0, into: UnsafeMutableBufferPointer(rebasing: staging[0..<fullCount]))
        try group.reduceScatterBlocks(staging, .sum)
        try backend.write(UnsafeBufferPointer(rebasing: staging[0..<blockCount]), to: arena.gradients, offset: 0)
        seconds += Double(DispatchTime.now().uptimeNanoseconds - start) * 1e-9
    }

    /// Copies every rank's updated block into the full `parameters` of every rank.
    ///
    /// - Parameters:
    ///   - parameters: The full parameter arena of this rank.
    ///   - backend: The backend holding it.
    /// - Throws: The backend's or the transport's error.
    public func allgatherParameters(into parameters: DeviceBuffer, on backend: Backend) throws {
        let start = DispatchTime.now().uptimeNanoseconds
        try backend.read(arena.parameters, offset: 0, into: UnsafeMutableBufferPointer(rebasing: staging[range]))
        try group.allgatherBlocks(staging)
        try backend.write(UnsafeBufferPointer(rebasing: staging[0..<fullCount]), to: parameters, offset: 0)
        seconds += Double(DispatchTime.now().uptimeNanoseconds - start) * 1e-9
    }

    /// Loads this rank's block of the full `parameters` into ``arena`` (at the start, after a restore or rollback).
    ///
    /// - Parameters:
    ///   - parameters: The full parameter arena of this rank.
    ///   - backend: The backend holding it.
    /// - Throws: The backend's error.
    public func loadParameters(from parameters: DeviceBuffer, on backend: Backend) throws {
        var block = [Float](repeating: 0, count: blockCount)
        if !inArena.isEmpty {
            let values = try backend.read(parameters, offset: inArena.lowerBound, count: inArena.count)
            block.replaceSubrange(0..<values.count, with: values)
        }
        try arena.upload(block, to: .parameters)
    }

    /// Every rank's block of state slot `slot`, joined: the full arena's values (for a checkpoint).
    ///
    /// - Parameter slot: A state slot.
    /// - Returns: The arena's count of values.
    /// - Throws: The backend's or the transport's error.
    public func gatherState(_ slot: String) throws -> [Float] {
        let block = try arena.download(.state(slot))
        for (index, value) in block.enumerated() { staging[range.lowerBound + index] = value }
        try group.allgatherBlocks(staging)
        return Array(staging[0..<fullCount])
    }

    /// Loads this rank's block of the full arena's `values` into state slot `slot` (a restored checkpoint).
    ///
    /// - Parameters:
    ///   - values: The full arena's values of the slot.
    ///   - slot: A state slot.
    /// - Throws: The backend's error.
    public func scatterState(_ values: [Float], slot: String) throws {
        var block = [Float](repeating: 0, count: blockCount)
        if !inArena.isEmpty {
            block.replaceSubrange(0..<inArena.count, with: values[inArena])
        }
        try arena.upload(block, to: .state(slot))
    }

    /// Sums per-rank values of a reduction (a two-pass optimizer's sums over the block) across the ranks.
    ///
    /// - Parameter values: This rank's sums.
    /// - Returns: The sums over every rank.
    /// - Throws: The transport's error.
    public func sumAcrossRanks(_ values: [Double]) throws -> [Double] {
        var values = values
        try group.allreduce(&values, .sum)
        return values
    }
}

extension TensorLayout {
    /// A layout with its entries and count given as they are (a shard's pieces).
    init(entries: [Entry], count: Int) {
        self.entries = entries
        self.count = count
    }
}
