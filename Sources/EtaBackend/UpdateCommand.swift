/// An optimizer's work below the seam: one fused kernel over a whole arena, every step-dependent value already
/// computed on the host.
public enum UpdateCommand {
    /// One pass of an optimizer's kernel (for a two-pass optimizer, one of its two passes).
    case update(UpdateLaunch)
}

/// One launch of an update kernel (`Kernels/updates/`): which kernel, its buffers, and this step's scalars.
///
/// Every optimizer takes its values the same way: up to twelve float scalars `c0…c11` (their meaning is
/// documented with each kernel) and bit flags, for the whole arena or, with `groups`, per parameter group (a
/// sweep's replicas are groups too). The scheduled learning rate is one of those scalars: there is no other route.
public struct UpdateLaunch {
    /// The kernel's name, e.g. `adam_update`.
    public var kernel: String
    /// The arena's parameters (16-bit packed when `storage.parameters` says so), updated in place.
    public var parameters: DeviceBuffer
    /// The arena's float32 gradients, read only.
    public var gradients: DeviceBuffer
    /// The kernel's state arguments s0, s1, s2 (s3 for block kernels) in order; nil where this configuration
    /// holds no such slot (the kernel then never touches it).
    public var states: [DeviceBuffer?]
    /// Elements of the arena.
    public var count: Int
    /// The step's scalars and flags for the whole arena (group 0 when there are groups).
    public var scalars: UpdateScalars
    /// Per-group scalars (parameter groups, sweep replicas); nil: `scalars` everywhere.
    public var groups: UpdateGroups?
    /// Set for block kernels, which run one work-group per block and write two partial sums per block.
    public var blocks: UpdateBlocks?
    /// How state and parameters are stored (16-bit storage, a float32 master copy).
    public var storage: UpdateStorage

    /// - Parameters:
    ///   - kernel: The kernel's name, e.g. `adam_update`.
    ///   - parameters: The arena's parameters.
    ///   - gradients: The arena's gradients.
    ///   - states: The state arguments s0, s1, … in the kernel's order; nil for a slot not held.
    ///   - count: Elements of the arena.
    ///   - scalars: The step's scalars and flags.
    ///   - groups: Per-group scalars; nil applies `scalars` to every element.
    ///   - blocks: The block table and partial sums of a block kernel; nil for an elementwise kernel.
    ///   - storage: How state and parameters are stored.
    public init(
        kernel: String, parameters: DeviceBuffer, gradients: DeviceBuffer, states: [DeviceBuffer?], count: Int,
        scalars: UpdateScalars, groups: UpdateGroups? = nil, blocks: UpdateBlocks? = nil,
        storage: UpdateStorage = UpdateStorage()
    ) {
        (self.kernel, self.parameters, self.gradients, self.states, self.count) = (
            kernel, parameters, gradients, states, count
        )
        (self.scalars, self.groups, self.blocks, self.storage) = (scalars, groups, blocks, storage)
    }
}

/// What a step passes to an update kernel: `c0…c11` (fewer are padded with zeros) and bit flags.
public struct UpdateScalars: Equatable, Sendable {
    /// The kernels' scalar arguments.
    public static let capacity = 12
    /// Flag bits every kernel reads alike; the meaning of A, B and C is per kernel.
    public static let maximize: Int32 = 1, flagA: Int32 = 2, flagB: Int32 = 4, flagC: Int32 = 8

    /// c0, c1, … as the kernel numbers them (at most ``capacity``).
    public var values: [Float]
    /// ``maximize`` and the per-kernel bits ``flagA``, ``flagB`` and ``flagC``, or-ed together.
    public var flags: Int32

    /// - Parameters:
    ///   - values: c0, c1, …: at most ``capacity`` values (a precondition).
    ///   - flags: The flag bits.
    public init(_ values: [Float], flags: Int32 = 0) {
        precondition(values.count <= Self.capacity, "an update kernel takes at most \(Self.capacity) scalars")
        (self.values, self.flags) = (values, flags)
    }

    /// The twelve values, zero-padded.
    public var padded: [Float] { values + [Float](repeating: 0, count: Self.capacity - values.count) }
}

/// How an update's buffers are stored: the state slots and the parameters in float32 or 16 bits (two elements per
/// float slot) and, with 16-bit parameters, an optional float32 `master` copy that the update runs on (storing its
/// rounding in the parameters).
public struct UpdateStorage {
    /// How the state slots are stored.
    public var state = StorageType.fp32
    /// How the parameters are stored.
    public var parameters = StorageType.fp32
    /// The float32 master copy of 16-bit parameters that the update runs on; nil: the update runs on the parameters.
    public var master: DeviceBuffer? = nil

    /// - Parameters:
    ///   - state: How the state slots are stored.
    ///   - parameters: How the parameters are stored.
    ///   - master: The float32 master copy of 16-bit parameters; nil for none.
    public init(state: StorageType = .fp32, parameters: StorageType = .fp32, master: DeviceBuffer? = nil) {
        (self.state, self.parameters, self.master) = (state, parameters, master)
    }

    /// The storage as a value (what a backend keys its kernel builds on).
    public var layout: StorageLayout { StorageLayout(state: state, parameters: parameters, master: master != nil) }
}

/// Which parameter group every element of an arena belongs to. Made once per arena and grouping; a backend may
/// keep its own copy of the table (keyed by this object's identity) across steps.
public final class GroupLayout: Sendable {
    /// Groups start at multiples of `chunk` elements.
    public static let chunk = 16
    /// The group of every chunk of the arena.
    public let chunkGroups: [UInt8]
    /// Runs of consecutive chunks in one group: (first element, element count, group).
    public let ranges: [GroupRange]
    /// Number of groups (rows of scalars a step supplies).
    public let groupCount: Int

    /// - Parameters:
    ///   - chunkGroups: The group of every chunk of ``chunk`` elements.
    ///   - ranges: The same assignment as runs of elements.
    ///   - groupCount: The number of groups.
    public init(chunkGroups: [UInt8], ranges: [GroupRange], groupCount: Int) {
        (self.chunkGroups, self.ranges, self.groupCount) = (chunkGroups, ranges, groupCount)
    }
}

/// A run of elements in one group.
public struct GroupRange: Sendable, Equatable {
    /// The run's first element.
    public var offset: Int
    /// Elements in the run.
    public var count: Int
    /// The group, from 0.
    public var group: Int

    /// - Parameters:
    ///   - offset: The run's first element.
    ///   - count: Elements in the run.
    ///   - group: The group, from 0.
    public init(offset: Int, count: Int, group: Int) { (self.offset, self.count, self.group) = (offset, count, group) }
}

/// Parameter groups in one launch: the layout and this step's scalars of every group (`scalars[g]`, the kernel's
/// c0…c11 for group g; the flags are the launch's).
public struct UpdateGroups {
    /// Which group each element belongs to.
    public var layout: GroupLayout
    /// `scalars[g]`: group g's c0…c11 (at most ``UpdateScalars/capacity`` values).
    public var scalars: [[Float]]

    /// - Parameters:
    ///   - layout: Which group each element belongs to.
    ///   - scalars: Every group's scalars, indexed by group.
    public init(layout: GroupLayout, scalars: [[Float]]) { (self.layout, self.scalars) = (layout, scalars) }
}

/// The arena cut into blocks for a block kernel: `table` holds 4 UInt32 bit patterns per block (begin and end, and
/// the blocks [first, last) of the block's tensor); `partials` receives 2 floats per block.
public struct UpdateBlocks {
    /// The block table: 4 UInt32 bit patterns per block.
    public var table: DeviceBuffer
    /// Receives 2 floats per block.
    public var partials: DeviceBuffer
    /// The number of blocks.
    public var count: Int

    /// Elements per block: small enough that a 2^24 arena has ~1000 blocks to spread over a device, large
    /// enough that the partials (8 bytes per block) are a negligible read-back.
    public static let blockSize = 16_384

    /// - Parameters:
    ///   - table: The block table, 4 UInt32 bit patterns per block.
    ///   - partials: The buffer of 2 partial sums per block.
    ///   - count: The number of blocks.
    public init(table: DeviceBuffer, partials: DeviceBuffer, count: Int) {
        (self.table, self.partials, self.count) = (table, partials, count)
    }
}

extension UpdateCommand {
    /// The kernel's name in traces.
    public var kernelName: String {
        switch self {
        case .update(let launch): launch.kernel
        }
    }
}
