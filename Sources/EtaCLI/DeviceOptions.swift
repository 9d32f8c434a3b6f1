import ArgumentParser
import Eta
import Foundation

/// Options every device-using command shares.
struct DeviceOptions: ParsableArguments {
    @Option(
        name: .long,
        help: ArgumentHelp(
            "auto | cpu | opencl | opencl:N | a device-name substring (default: $ETA_DEVICE or auto).",
            valueName: "device"), completion: .list(["auto", "cpu", "opencl", "opencl:0", "oclgrind"]),
        transform: DeviceSelector.parser)
    var device: DeviceSelector?

    @Flag(name: .long, help: "Explain the device choice and program-cache use on stderr.")
    var verbose = false

    /// Resolves the device and builds its backend, reporting on stderr when verbose.
    func makeBackend(profiling: Bool = false) throws -> Backend {
        let group = Distributed.group
        let selection = try DeviceSelection.resolve(device?.text, localRank: group.localRank)
        if verbose { Console.note("\(Distributed.messagePrefix)device: \(selection.reason)") }
        let cache = ProgramCache(directory: ProgramCache.defaultDirectory())
        // Ranks on one host split its cores: each CPU backend (and its OpenBLAS) takes cores / ranks-on-the-host.
        let threads =
            group.localSize > 1 ? max(1, ProcessInfo.processInfo.activeProcessorCount / group.localSize) : nil
        let backend = try selection.makeBackend(cache: cache, profiling: profiling, cpuThreads: threads)
        if verbose {
            Console.note("backend: \(backend.info.summary)")
            if let opencl = backend as? OpenCLBackend {
                Console.note(
                    "programs: "
                        + "\(opencl.programOrigins.map { "\($0.file) \($0.origin.rawValue)" }.joined(separator: ", ")) "
                        + "in \(String(format: "%.3f", opencl.programLoadSeconds)) s; cache "
                        + "\(cache.directory?.path ?? "off")"
                )
                for event in cache.events { Console.note("program cache: \(event)") }
            }
        }
        return backend
    }
}
