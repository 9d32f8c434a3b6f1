import CMPI
import EtaBackend
import EtaCore
import Foundation

/// An MPI call that returned an error: the call's name and MPI's own text for the code.
public struct MPIError: Error, CustomStringConvertible {
    /// The MPI function, e.g. `MPI_Allreduce`.
    public let call: String
    /// The error code it returned.
    public let code: Int32

    public var description: String {
        var text = [CChar](repeating: 0, count: Int(MPI_MAX_ERROR_STRING) + 1)
        var length: Int32 = 0
        let known = MPI_Error_string(code, &text, &length) == MPI_SUCCESS
        let message =
            known
            ? String(decoding: text.prefix(Int(length)).map { UInt8(bitPattern: $0) }, as: UTF8.self) : "unknown error"
        return "\(call) failed with \(code) (\(message))"
    }
}

/// The ranks of an `mpirun` job over MPI_COMM_WORLD (Open MPI), one Swift wrapper per MPI call. Errors return to
/// the caller (`MPI_ERRORS_RETURN`) and are thrown as ``MPIError`` naming the call; the CLI then reports the rank and
/// calls ``abort(code:)``, which ends every rank (no hang).
///
/// ```swift
/// if let group = try MPIProcessGroup.initializeIfLaunched() {
///     var loss: [Double] = [0.5]
///     try group.allreduce(&loss, .sum)
///     group.finalize()
/// }
/// ```
public final class MPIProcessGroup: ProcessGroup {
    public let rank: Int
    public let size: Int
    public let localRank: Int
    public let localSize: Int
    private let comm: MPI_Comm

    /// Whether `mpirun` (Open MPI) started this process: it sets `OMPI_COMM_WORLD_SIZE` in every rank.
    public static func isLaunched(_ environment: [String: String] = ProcessInfo.processInfo.environment) -> Bool {
        environment["OMPI_COMM_WORLD_SIZE"] != nil
    }

    /// Initialises MPI when `mpirun` started this process; nil otherwise (MPI is never touched outside mpirun).
    ///
    /// - Returns: The group of MPI_COMM_WORLD, or nil outside mpirun.
    /// - Throws: ``MPIError`` from MPI_Init and the queries after it.
    public static func initializeIfLaunched() throws -> MPIProcessGroup? {
        guard isLaunched() else { return nil }
        return try MPIProcessGroup()
    }

    private init() throws {
        try Self.check("MPI_Init", MPI_Init(nil, nil))
        comm = eta_mpi_comm_world()
        try Self.check("MPI_Comm_set_errhandler", MPI_Comm_set_errhandler(comm, eta_mpi_errors_return()))
        var value: Int32 = 0
        try Self.check("MPI_Comm_rank", MPI_Comm_rank(comm, &value))
        rank = Int(value)
        try Self.check("MPI_Comm_size", MPI_Comm_size(comm, &value))
        size = Int(value)
        let environment = ProcessInfo.processInfo.environment
        localRank = environment["OMPI_COMM_WORLD_LOCAL_RANK"].flatMap { Int($0) } ?? rank
        localSize = environment["OMPI_COMM_WORLD_LOCAL_SIZE"].flatMap { Int($0) } ?? size
    }

    /// Ends MPI on this rank (MPI_Finalize); call once, after the last collective.
    public func finalize() { MPI_Finalize() }

    /// Ends the whole job with `code` (MPI_Abort): mpirun kills every rank and exits with it.
    public func abort(code: Int32) -> Never {
        MPI_Abort(comm, code)
        exit(code)
    }

    private static func check(_ call: String, _ result: Int32) throws {
        guard result == MPI_SUCCESS else { throw MPIError(call: call, code: result) }
    }

    private static func datatype(_ type: CollectiveType) -> MPI_Datatype {
        switch type {
        case .float32: eta_mpi_float()
        case .float64: eta_mpi_double()
        case .byte: eta_mpi_byte()
        case .int32: eta_mpi_int()
        }
    }

    private static func operation(_ operation: ReductionOperation) -> MPI_Op {
        switch operation {
        case .sum: eta_mpi_sum()
        case .max: eta_mpi_max()
        case .min: eta_mpi_min()
        }
    }

    /// MPI counts are `int`: longer buffers go in pieces of at most 2^30 elements.
    static let largestPiece = 1 << 30

    private static func pieces(_ count: Int) -> StrideTo<Int> { stride(from: 0, to: count, by: largestPiece) }

    public func allreduce<T: CollectiveElement>(
        _ buffer: UnsafeMutableBufferPointer<T>, _ op: ReductionOperation
    )
        throws
    {
        for start in Self.pieces(buffer.count) {
            let count = min(Self.largestPiece, buffer.count - start)
            try Self.check(
                "MPI_Allreduce",
                MPI_Allreduce(
                    eta_mpi_in_place(), buffer.baseAddress! + start, Int32(count), Self.datatype(T.collectiveType),
                    Self.operation(op), comm))
        }
    }

    public func startAllreduce<T: CollectiveElement>(
        _ buffer: UnsafeMutableBufferPointer<T>, _ op: ReductionOperation
    ) throws -> PendingCollective {
        guard buffer.count <= Self.largestPiece else {
            try allreduce(buffer, op)
            return Request(nil)
        }
        var request = eta_mpi_request_null()
        try Self.check(
            "MPI_Iallreduce",
            MPI_Iallreduce(
                eta_mpi_in_place(), buffer.baseAddress, Int32(buffer.count), Self.datatype(T.collectiveType),
                Self.operation(op), comm, &request))
        return Request(request)
    }

    public func reduceScatterBlocks<T: CollectiveElement>(
        _ buffer: UnsafeMutableBufferPointer<T>, _ op: ReductionOperation
    ) throws {
        let block = try blockCount(buffer.count, "MPI_Reduce_scatter_block")
        try Self.check(
            "MPI_Reduce_scatter_block",
            MPI_Reduce_scatter_block(
                eta_mpi_in_place(), buffer.baseAddress, Int32(block), Self.datatype(T.collectiveType),
                Self.operation(op), comm))
    }

    public func allgatherBlocks<T: CollectiveElement>(_ buffer: UnsafeMutableBufferPointer<T>) throws {
        let block = try blockCount(buffer.count, "MPI_Allgather")
        let type = Self.datatype(T.collectiveType)
        try Self.check(
            "MPI_Allgather",
            MPI_Allgather(eta_mpi_in_place(), 0, type, buffer.baseAddress, Int32(block), type, comm))
    }

    public func broadcast<T: CollectiveElement>(_ buffer: UnsafeMutableBufferPointer<T>, root: Int) throws {
        for start in Self.pieces(buffer.count) {
            let count = min(Self.largestPiece, buffer.count - start)
            try Self.check(
                "MPI_Bcast",
                MPI_Bcast(buffer.baseAddress! + start, Int32(count), Self.datatype(T.collectiveType), Int32(root), comm)
            )
        }
    }

    public func barrier() throws { try Self.check("MPI_Barrier", MPI_Barrier(comm)) }

    /// The elements of one rank's block of a `count`-element buffer of `size` blocks.
    private func blockCount(_ count: Int, _ call: String) throws -> Int {
        guard count % size == 0, count / size <= Int(Int32.max) else {
            throw EtaError(
                .software, "\(call): \(count) elements are not \(size) blocks of at most \(Int32.max) elements")
        }
        return count / size
    }

    /// A started MPI_Iallreduce.
    private final class Request: PendingCollective {
        private var request: MPI_Request?
        init(_ request: MPI_Request?) { self.request = request }
        func wait() throws {
            guard let started = request else { return }
            var pending: MPI_Request? = started
            try MPIProcessGroup.check("MPI_Wait", MPI_Wait(&pending, eta_mpi_status_ignore()))
            request = nil
        }
    }
}
