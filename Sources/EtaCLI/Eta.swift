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
            var command = try parseAsRoot()
            try command.run()
            if let seconds = LaunchClock.secondsToFirstLaunch, CommandLine.arguments.contains("--verbose") {
                Console.note(String(format: "startup: %.3f s from process start to the first kernel", seconds))
            }
        } catch {
            exit(withError: error)
        }
    }

    static let configuration = CommandConfiguration(
        commandName: "eta",
        abstract: "Eta: learning-rate tooling and optimizer kernels on OpenCL and the CPU.",
        discussion: """
        Devices: --device auto|cpu|opencl|opencl:N|<name substring> on every command, or ETA_DEVICE.
        auto picks an OpenCL GPU when there is one, else the CPU backend.

        Optimizer SPEC: NAME[:key=value,...] with PyTorch's names and defaults, e.g.
          sgd:lr=0.01,momentum=0.9,nesterov=true   adam:lr=1e-3,beta1=0.9,beta2=0.999,amsgrad=true
          adamw:lr=1e-3,weight_decay=0.01

        Exit codes:
          0   success
          1   eta lr-find --require-suggestion found no suggestion
          64  bad usage: an unknown option, an invalid SPEC or value, a size beyond the device's or host's memory
          65  malformed input data or a damaged checkpoint (the check is named)
          66  an input file is missing
          69  the requested device is unavailable (no OpenCL platform: install pocl-opencl-icd or a GPU ICD)
          70  a kernel disagrees with the Reference (verify), or an internal error
          74  an output could not be written (stdout, a log, the plot, a checkpoint)
          75  training diverged: the divergence guard aborted it, or an epoch's loss was not finite
          130 143 129  eta train was stopped by SIGINT (Ctrl-C), SIGTERM or SIGHUP after its final checkpoint

        Environment: ETA_DEVICE (default --device), ETA_CACHE_DIR (program binary cache; empty disables),
        ETA_KERNEL_DIR (load Kernels/*.cl from a folder instead of the embedded copies).
        """,
        version: EtaVersion.current,
        subcommands: [Train.self, LRFind.self, SweepCommand.self, ScheduleCommand.self, Devices.self, Verify.self, Explore.self, Bench.self]
    )
}

/// Options every device-using command shares.
struct DeviceOptions: ParsableArguments {
    @Option(name: .long, help: "auto | cpu | opencl | opencl:N | a device-name substring (default: $ETA_DEVICE or auto).")
    var device: String?

    @Flag(name: .long, help: "Explain the device choice and program-cache use on stderr.")
    var verbose = false

    /// Resolves the device and builds its backend, reporting on stderr when verbose.
    func makeBackend(profiling: Bool = false) throws -> Backend {
        let selection = try DeviceSelection.resolve(device)
        if verbose { Console.note("device: \(selection.reason)") }
        let cache = ProgramCache(directory: ProgramCache.defaultDirectory())
        let backend = try selection.makeBackend(cache: cache, profiling: profiling)
        if verbose {
            Console.note("backend: \(backend.info.summary)")
            if let opencl = backend as? OpenCLBackend {
                Console.note("programs: \(opencl.programOrigins.map { "\($0.file) \($0.origin.rawValue)" }.joined(separator: ", ")) in \(String(format: "%.3f", opencl.programLoadSeconds)) s; cache \(cache.directory?.path ?? "off")")
                for event in cache.events { Console.note("program cache: \(event)") }
            }
        }
        return backend
    }
}

/// Output format for commands with a table and a machine-readable form.
enum TableOrJSON: String, ExpressibleByArgument, CaseIterable {
    case table, json
}

enum Console {
    /// A diagnostic line on stderr.
    static func note(_ text: String) {
        err(text + "\n")
    }

    /// Text on stderr. A failing stderr (closed, a full disk) is ignored: there is nowhere left to report it, and
    /// the exit code still says what happened.
    static func err(_ text: String) {
        var text = text
        _ = text.withUTF8 { writeAll(STDERR_FILENO, UnsafeRawBufferPointer($0)) }
    }

    /// A line of the command's result on stdout; a write failure is exit 74.
    static func out(_ line: String) throws {
        try OutputFile.standardOutput.write(line + "\n")
    }

    /// Runs a command body, turning Eta's errors into a message on stderr and the documented exit code.
    static func reportingErrors(_ body: () throws -> Void) throws {
        do {
            try body()
        } catch let error as EtaError {
            note("eta: error: \(error.message)")
            throw ExitCode(error.exitCode)
        } catch let error as CLError {
            note("eta: error: \(error)")
            throw ExitCode(70)
        } catch let error as ExitCode {
            throw error
        } catch {
            note("eta: error: \(error)")
            throw ExitCode(70)
        }
    }
}

/// Formats numbers for tables.
func scientific(_ value: Double, _ digits: Int = 3) -> String {
    value == 0 ? "0" : String(format: "%.\(digits)e", value)
}

/// `text` padded on the right to `width` columns.
func left(_ text: String, _ width: Int) -> String {
    text.count >= width ? text : text + String(repeating: " ", count: width - text.count)
}

/// `text` padded on the left to `width` columns.
func right(_ text: String, _ width: Int) -> String {
    text.count >= width ? text : String(repeating: " ", count: width - text.count) + text
}
