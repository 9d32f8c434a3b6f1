import ArgumentParser
import Eta
import Foundation

@main
struct EtaCommand: ParsableCommand {
    /// Marks the process start (for the startup time `--verbose` reports), then runs the command.
    static func main() {
        LaunchClock.markStart()
        OutputFile.protectStandardDescriptors()
        // A closed pipe on stdout is a write error (exit 74), not a silent death by SIGPIPE.
        signal(SIGPIPE, SIG_IGN)
        do {
            // Under mpirun only: MPI is never initialised otherwise.
            try Distributed.start()
            var command = try parseAsRoot()
            try command.run()
            if let seconds = LaunchClock.secondsToFirstLaunch, CommandLine.arguments.contains("--verbose") {
                Console.note(String(format: "startup: %.3f s from process start to the first kernel", seconds))
            }
            Distributed.finish()
        } catch {
            exit(reporting: error)
        }
    }

    /// Every error message starts as Eta's own do, so scripts can match one prefix.
    static var _errorPrefix: String { "eta: error: " }

    /// ArgumentParser's exit, with an echoed value cut as `EtaError` cuts its messages: a 100,000-character
    /// SPEC must not become 100 KB of stderr. Help and version go to stdout as ArgumentParser prints them.
    static func exit(reporting error: Error) -> Never {
        let code = exitCode(for: error)
        // Help, version and the exit codes a command returns (diverged, stopped by a signal) are every rank's agreed
        // outcome: the ranks end MPI normally. Any other error may be this rank's alone, so it ends the whole job
        // (MPI_Abort, and mpirun exits with the code): no rank is left waiting in a collective.
        if code == .success || error is ExitCode {
            Distributed.finish()
            if code == .success { exit(withError: error) }
            Foundation.exit(code.rawValue)
        }
        let text = fullMessage(for: error)
        if !text.isEmpty {
            // The first line is the message; usage and help lines follow. A rank of a larger job names itself.
            let lines = text.split(separator: "\n", maxSplits: 1, omittingEmptySubsequences: false)
            var first = EtaError(.usage, String(lines[0])).message
            if first.hasPrefix(_errorPrefix) {
                first = _errorPrefix + Distributed.messagePrefix + first.dropFirst(_errorPrefix.count)
            }
            Console.note(first + (lines.count > 1 ? "\n" + lines[1] : ""))
        }
        Distributed.abortJob(code: code.rawValue)
        Distributed.finish()
        Foundation.exit(code.rawValue)
    }

    static let configuration = CommandConfiguration(
        commandName: "eta",
        abstract: "Eta: learning-rate tooling and optimizer kernels on OpenCL and the CPU.",
        discussion: """
            Devices: --device auto|cpu|opencl|opencl:N|<name substring> on every command, \
            or ETA_DEVICE; auto picks an OpenCL GPU when there is one, else the CPU backend.

            Optimizer SPEC: NAME[:key=value,...] with PyTorch's names and defaults, e.g.
              sgd:lr=0.01,momentum=0.9,nesterov=true
              adam:lr=1e-3,beta1=0.9,beta2=0.999,amsgrad=true
              adamw:lr=1e-3,weight_decay=0.01

            Exit codes:
              0    success
              1    eta lr-find --require-suggestion found no suggestion
              64   bad usage: an unknown option, an invalid SPEC or value, a size beyond
                   the device's or the host's memory
              65   malformed input data or a damaged checkpoint (the check is named)
              66   an input file is missing
              69   the requested device is unavailable (no OpenCL platform: install
                   pocl-opencl-icd or a GPU ICD)
              70   a kernel disagrees with the Reference (verify), or an internal error
              74   an output could not be written (stdout, a log, the plot, a checkpoint)
              75   training diverged: the divergence guard aborted it, or an epoch's
                   loss was not finite
              130, 143, 129
                   eta train was stopped by SIGINT (Ctrl-C), SIGTERM or SIGHUP after
                   its final checkpoint

            Environment: ETA_DEVICE (default --device), ETA_CACHE_DIR (program binary \
            cache; empty disables), ETA_KERNEL_DIR (load Kernels/*.cl from a folder \
            instead of the embedded copies).
            """,
        version: BuildInfo.description,
        subcommands: [
            TrainCommand.self, LRFindCommand.self, SweepCommand.self, ScheduleCommand.self, DevicesCommand.self,
            VerifyCommand.self,
            ExploreCommand.self, BenchCommand.self, DataCommand.self, SampleCommand.self, CoordCheckCommand.self,
            EvalCommand.self, PredictCommand.self, ExportCommand.self,
        ]
    )
}
