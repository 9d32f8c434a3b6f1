/// The element types collectives move.
public enum CollectiveType: Sendable {
    case float32, float64, byte, int32
}

/// A value a collective can move: `Float`, `Double`, `UInt8`, `Int32`.
public protocol CollectiveElement: Sendable {
    /// Zero.
    init()
    /// Its type on the wire.
    static var collectiveType: CollectiveType { get }
}

extension Float: CollectiveElement { public static var collectiveType: CollectiveType { .float32 } }
extension Double: CollectiveElement { public static var collectiveType: CollectiveType { .float64 } }
extension UInt8: CollectiveElement { public static var collectiveType: CollectiveType { .byte } }
extension Int32: CollectiveElement { public static var collectiveType: CollectiveType { .int32 } }

/// How a reduction combines the ranks' values.
public enum ReductionOperation: Sendable { case sum, max, min }

/// A collective started without waiting (a gradient bucket's all-reduce); `wait` completes it.
public protocol PendingCollective: AnyObject {
    /// Blocks until the collective has finished on this rank.
    ///
    /// - Throws: The transport's error, naming the call.
    func wait() throws
}

/// The processes of one distributed job and the collectives between them, in place on host memory. Eta's
/// implementation is MPI's (`EtaMPI.MPIProcessGroup`, under `mpirun`); ``SingleProcess`` is the group of one that
/// every run outside `mpirun` uses, where each collective leaves its input as it is.
///
/// Every rank must call the same collectives in the same order with the same counts, as in MPI.
public protocol ProcessGroup: AnyObject {
    /// This process's rank, 0..<size.
    var rank: Int { get }
    /// Processes in the job.
    var size: Int { get }
    /// This process's rank among those on its host (picks its GPU).
    var localRank: Int { get }
    /// Processes on this host.
    var localSize: Int { get }

    /// Combines `buffer` across ranks; every rank ends with the result.
    func allreduce<T: CollectiveElement>(
        _ buffer: UnsafeMutableBufferPointer<T>, _ operation: ReductionOperation)
        throws
    /// Starts ``allreduce(_:_:)`` and returns at once; `buffer` must stay valid until `wait`.
    func startAllreduce<T: CollectiveElement>(
        _ buffer: UnsafeMutableBufferPointer<T>, _ operation: ReductionOperation
    ) throws -> PendingCollective
    /// `buffer` holds `size` blocks; block i of the sum of every rank's buffer lands in rank i's first block.
    func reduceScatterBlocks<T: CollectiveElement>(
        _ buffer: UnsafeMutableBufferPointer<T>, _ operation: ReductionOperation) throws
    /// `buffer` holds `size` blocks; rank i's block i is copied into block i of every rank's buffer.
    func allgatherBlocks<T: CollectiveElement>(_ buffer: UnsafeMutableBufferPointer<T>) throws
    /// Copies `root`'s buffer into every rank's.
    func broadcast<T: CollectiveElement>(_ buffer: UnsafeMutableBufferPointer<T>, root: Int) throws
    /// Waits for every rank.
    func barrier() throws
}

extension ProcessGroup {
    /// Whether this rank writes the job's outputs (logs, plots, checkpoints, the summary): rank 0.
    public var isPrimary: Bool { rank == 0 }

    /// ``allreduce(_:_:)`` of an array.
    public func allreduce<T: CollectiveElement>(_ values: inout [T], _ operation: ReductionOperation) throws {
        guard size > 1 else { return }
        try values.withUnsafeMutableBufferPointer { try allreduce($0, operation) }
    }

    /// ``broadcast(_:root:)`` of an array whose length may differ off the root: the length goes first.
    public func broadcast<T: CollectiveElement>(_ values: inout [T], root: Int = 0) throws {
        guard size > 1 else { return }
        var count = [Double(values.count)]
        try count.withUnsafeMutableBufferPointer { try broadcast($0, root: root) }
        if rank != root { values = [T](repeating: T(), count: Int(count[0])) }
        try values.withUnsafeMutableBufferPointer { try broadcast($0, root: root) }
    }
}

/// The job of one process: every collective leaves its buffer as it is.
public final class SingleProcess: ProcessGroup {
    public init() {}
    public var rank: Int { 0 }
    public var size: Int { 1 }
    public var localRank: Int { 0 }
    public var localSize: Int { 1 }
    public func allreduce<T: CollectiveElement>(_ buffer: UnsafeMutableBufferPointer<T>, _ op: ReductionOperation) {}
    public func startAllreduce<T: CollectiveElement>(
        _ buffer: UnsafeMutableBufferPointer<T>, _ operation: ReductionOperation
    ) -> PendingCollective { Completed() }
    public func reduceScatterBlocks<T: CollectiveElement>(
        _ buffer: UnsafeMutableBufferPointer<T>, _ operation: ReductionOperation
    ) {}
    public func allgatherBlocks<T: CollectiveElement>(_ buffer: UnsafeMutableBufferPointer<T>) {}
    public func broadcast<T: CollectiveElement>(_ buffer: UnsafeMutableBufferPointer<T>, root: Int) {}
    public func barrier() {}

    private final class Completed: PendingCollective { func wait() {} }
}
