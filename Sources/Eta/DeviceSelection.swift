import Foundation

/// Which backend a device selector (`eta --device`, `ETA_DEVICE`) names, and why.
///
/// Values: `auto` (an OpenCL GPU when there is one, else the CPU backend), `cpu`, `opencl` (the first OpenCL
/// device, GPU preferred), `opencl:N` (the N-th device in `eta devices` order), or a case-insensitive
/// substring of a device name (`oclgrind` for the Oclgrind simulator). `ETA_DEVICE` supplies the value when none
/// is given. `auto` and `opencl` never pick a simulator while a real device is there: Oclgrind reports
/// itself as a GPU, but it is an interpreter for checking kernels, thousands of times slower.
///
/// ```swift
/// let selection = try DeviceSelection.resolve("auto")
/// print(selection.reason)
/// let backend = try selection.makeBackend()
/// ```
public struct DeviceSelection {
    /// The chosen backend kind, and the OpenCL device for `.opencl`.
    public enum Choice {
        /// The CPU backend.
        case cpu
        /// An OpenCL device.
        case opencl(Device)
    }

    /// The chosen backend, and for OpenCL the device.
    public let choice: Choice
    /// One line saying why this device was picked (`eta --verbose` shows it).
    public let reason: String

    /// The package to install when no OpenCL platform is present.
    public static let installHint =
        "install an OpenCL driver: 'apt-get install pocl-opencl-icd' for the CPU device, or your GPU vendor's ICD "
        + "(e.g. nvidia-opencl-icd)"

    /// Every OpenCL device of every platform, in `eta devices` order. Empty when no platform is installed.
    ///
    /// - Returns: The devices; empty when no platform is installed.
    /// - Throws: `CLError` when the ICD loader or a platform fails to list them.
    public static func openCLDevices() throws -> [Device] {
        try Platform.all().flatMap { try $0.devices() }
    }

    /// The device `opencl` means: the first GPU, else the first device, skipping simulators unless nothing else
    /// is installed. Nil when there is no device.
    ///
    /// - Parameter devices: The installed devices, in `eta devices` order.
    /// - Returns: The device, or nil when `devices` is empty.
    public static func defaultOpenCLDevice(among devices: [Device]) -> Device? {
        let real = devices.filter { !$0.isSimulator }
        return real.first(where: { $0.kind == .gpu }) ?? real.first ?? devices.first
    }

    /// Resolves a device selector (nil: `ETA_DEVICE`, else `auto`). Throws `.usage` for a malformed value and
    /// `.unavailable` (exit 69) when the named device is not there.
    ///
    /// - Parameters:
    ///   - value: The selector as given (`--device`); nil falls back to `ETA_DEVICE`, then `auto`.
    ///   - environment: The variables `ETA_DEVICE` is read from (the process's by default).
    /// - Returns: The choice and the reason for it.
    /// - Throws: `EtaError` `.usage` for a malformed `opencl:N`; `.unavailable` when no OpenCL platform is installed
    ///   (except for `auto`, which falls back to the CPU), the index is out of range, or no device name matches.
    public static func resolve(
        _ value: String?, environment: [String: String] = ProcessInfo.processInfo.environment, localRank: Int = 0
    ) throws -> DeviceSelection {
        let requested = (value ?? environment["ETA_DEVICE"] ?? "auto").trimmingCharacters(in: .whitespaces)
        // Messages name where the value came from: the caller or the environment.
        let label =
            value == nil && environment["ETA_DEVICE"] != nil ? "ETA_DEVICE=\(requested)" : "device '\(requested)'"
        let lowered = requested.lowercased()
        if lowered == "cpu" { return DeviceSelection(choice: .cpu, reason: "the CPU backend was requested") }
        let devices: [Device]
        do { devices = try openCLDevices() } catch {
            if lowered == "auto" {
                return DeviceSelection(
                    choice: .cpu, reason: "OpenCL failed to list devices (\(error)); using the CPU backend")
            }
            throw EtaError(.unavailable, "OpenCL failed to list devices: \(error); \(installHint)")
        }
        // The ranks of an mpirun job on one host take its GPUs in turn, by local rank.
        let gpus = devices.filter { $0.kind == .gpu && !$0.isSimulator }
        let rankGPU = gpus.isEmpty ? nil : gpus[localRank % gpus.count]
        let rankNote = gpus.count > 1 ? " (local rank \(localRank) of \(gpus.count) GPUs)" : ""
        if lowered == "auto" || lowered.isEmpty {
            if let gpu = rankGPU {
                return DeviceSelection(
                    choice: .opencl(gpu), reason: "auto: picked the OpenCL GPU '\(gpu.name)'\(rankNote)")
            }
            let why =
                devices.isEmpty
                ? "no OpenCL platform is installed"
                : "no OpenCL GPU among \(devices.count) device(s) (\(devices.map(\.name).joined(separator: ", "))); "
                    + "the CPU backend is the fast path on a CPU"
                    + (devices.contains(where: \.isSimulator)
                        ? " (a simulator is picked only by name, e.g. oclgrind)" : "")
            return DeviceSelection(choice: .cpu, reason: "auto: \(why); using the CPU backend")
        }
        if lowered == "opencl" || lowered.hasPrefix("opencl:") {
            guard !devices.isEmpty else {
                throw EtaError(.unavailable, "\(label): no OpenCL platform is installed; \(installHint)")
            }
            if lowered == "opencl", let gpu = rankGPU {
                return DeviceSelection(choice: .opencl(gpu), reason: "opencl: picked '\(gpu.name)'\(rankNote)")
            }
            if lowered == "opencl", let device = defaultOpenCLDevice(among: devices) {
                let only = device.isSimulator ? " (the only OpenCL device: a simulator, slow)" : ""
                return DeviceSelection(choice: .opencl(device), reason: "opencl: picked '\(device.name)'\(only)")
            }
            let indexText = lowered.dropFirst("opencl:".count)
            guard let index = Int(indexText), index >= 0 else {
                throw EtaError(.usage, "\(label): expected opencl:N with N a device index 0..\(devices.count - 1)")
            }
            guard index < devices.count else {
                throw EtaError(
                    .unavailable, "\(label): there are \(devices.count) OpenCL device(s); valid: \(validList(devices))")
            }
            return DeviceSelection(
                choice: .opencl(devices[index]), reason: "opencl:\(index) is '\(devices[index].name)'")
        }
        if let device = devices.first(where: { $0.name.lowercased().contains(lowered) }) {
            return DeviceSelection(
                choice: .opencl(device), reason: "'\(requested)' matches the OpenCL device '\(device.name)'")
        }
        let valid =
            devices.isEmpty
            ? "no OpenCL platform is installed (\(installHint))" : "OpenCL devices: \(validList(devices))"
        throw EtaError(
            .unavailable,
            "\(label): no device matches; valid values are auto, cpu, opencl, opencl:N or a device-name substring; "
                + "\(valid)"
        )
    }

    private static func validList(_ devices: [Device]) -> String {
        devices.enumerated().map { "opencl:\($0.offset) = \($0.element.name)" }.joined(separator: ", ")
    }

    /// Creates the backend (building or loading the OpenCL programs for an OpenCL device).
    ///
    /// - Parameters:
    ///   - cache: The program-binary cache for OpenCL kernels; nil compiles them in memory only.
    ///   - profiling: Whether the OpenCL queue records event timestamps (needed by `startTrace`); the CPU ignores it.
    ///   - cpuThreads: The CPU backend's threads (ranks sharing a host split its cores); nil: every core.
    /// - Returns: A `CPUBackend` or an `OpenCLBackend`.
    /// - Throws: `EtaError` or `CLError` when the OpenCL context or a kernel program cannot be created.
    public func makeBackend(
        cache: ProgramCache? = nil, profiling: Bool = false, cpuThreads: Int? = nil
    ) throws
        -> Backend
    {
        switch choice {
        case .cpu: return cpuThreads.map { CPUBackend(threads: $0) } ?? CPUBackend()
        case .opencl(let device): return try OpenCLBackend(device: device, cache: cache, profiling: profiling)
        }
    }
}
