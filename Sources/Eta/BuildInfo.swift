import EtaKernelSources

/// What `eta --version` reports: the version, the commit the binary was built from, and how it was built.
public enum BuildInfo {
    /// The git commit (12 hex digits), or nil when the sources were not a git checkout.
    public static var commit: String? { KernelSources.commit }

    /// `debug` or `release`.
    public static var configuration: String {
        #if DEBUG
        "debug"
        #else
        "release"
        #endif
    }

    /// The Swift compiler's language version the binary was built with (at least 6.0).
    public static var swift: String {
        #if compiler(>=6.3)
        "6.3+"
        #elseif compiler(>=6.2)
        "6.2"
        #elseif compiler(>=6.1)
        "6.1"
        #else
        "6.0"
        #endif
    }

    /// The build's platform.
    public static var platform: String {
        #if arch(x86_64)
        let arch = "x86_64"
        #elseif arch(arm64)
        let arch = "arm64"
        #else
        let arch = "other"
        #endif
        #if os(Linux)
        return arch + "-linux"
        #else
        return arch + "-other"
        #endif
    }

    /// `eta 0.1.0 (commit 3235b0d1a2c4, release build, Swift 6.3+, x86_64-linux; OpenCL via the ICD loader, OpenBLAS
    /// and CLBlast, Open MPI)`: the backends and libraries are the ones the binary links or loads.
    public static var description: String {
        "eta \(EtaVersion.current) (commit \(commit ?? "unknown"), \(configuration) build, Swift \(swift), \(platform); "
            + "kernels embedded; OpenCL via the ICD loader with CLBlast; OpenBLAS loaded at run time; Open MPI)"
    }
}
