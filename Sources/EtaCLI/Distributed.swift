import ArgumentParser
import Eta
import Foundation

/// The job this process belongs to: MPI's when `mpirun` started it, one process otherwise. Set once in `main`,
/// before any command runs, and read-only after.
enum Distributed {
    nonisolated(unsafe) private(set) static var mpi: MPIProcessGroup?

    /// The job's ranks: MPI_COMM_WORLD under mpirun, else a single process.
    static var group: ProcessGroup { mpi ?? SingleProcess() }

    /// Initialises MPI when mpirun started this process (nothing otherwise).
    static func start() throws { mpi = try MPIProcessGroup.initializeIfLaunched() }

    /// Ends MPI after a command finished on this rank.
    static func finish() { mpi?.finalize() }

    /// `command` runs once per job: under mpirun with more than one rank it refuses (exit 64).
    /// Every rank reaches this check alike, so it is an agreed outcome: rank 0 says why, and every rank ends MPI
    /// normally and exits 64 (no MPI_Abort).
    static func requireSingleProcess(_ command: String) throws {
        guard let mpi, mpi.size > 1 else { return }
        if mpi.rank == 0 {
            Console.note(
                "eta: error: eta \(command) runs in one process; under mpirun only train, lr-find, sweep and bench "
                    + "--allreduce are distributed (this job has \(mpi.size) ranks)")
        }
        throw ExitCode(64)
    }

    /// The prefix of this rank's messages in a job of several ranks: `rank R of N: `; empty otherwise.
    static var messagePrefix: String {
        guard let mpi, mpi.size > 1 else { return "" }
        return "rank \(mpi.rank) of \(mpi.size): "
    }

    /// In a job of several ranks, ends every rank with `code` (MPI_Abort; mpirun exits with it), so an error on one
    /// rank never leaves the others waiting in a collective. Returns on one process (its caller exits with `code`).
    static func abortJob(code: Int32) {
        guard let mpi, mpi.size > 1 else { return }
        mpi.abort(code: code)
    }

    /// Reads a checkpoint on rank 0 and sends its bytes to every rank, so the ranks of a job on several hosts need
    /// no shared file system; one process reads the file itself.
    static func readCheckpoint(_ path: String) throws -> Checkpoint {
        let group = self.group
        guard group.size > 1 else { return try Checkpoint.read(from: URL(fileURLWithPath: path)) }
        var bytes: [UInt8] = []
        if group.isPrimary {
            guard FileManager.default.fileExists(atPath: path) else {
                throw EtaError(.missingInput, "\(path): no such checkpoint file")
            }
            guard let data = FileManager.default.contents(atPath: path) else {
                throw EtaError(.missingInput, "\(path): cannot be read")
            }
            bytes = [UInt8](data)
        }
        try group.broadcast(&bytes, root: 0)
        return try Checkpoint.read(bytes: bytes, path: path)
    }
}
