import Foundation

/// The OpenCL C sources of Eta's kernels, embedded into the binary at build time from `Kernels/*.cl`.
///
/// Set `ETA_KERNEL_DIR` to a folder of `.cl` files to load those instead (for kernel work without a rebuild).
public enum KernelSources {
    /// The source of one kernel file, from `ETA_KERNEL_DIR` when set, else the embedded copy.
    ///
    /// ```swift
    /// let adam = KernelSources.source(named: "adam.cl")
    /// ```
    public static func source(named name: String) -> String? {
        if let folder = ProcessInfo.processInfo.environment["ETA_KERNEL_DIR"], !folder.isEmpty,
           let text = try? String(contentsOfFile: folder + "/" + name, encoding: .utf8) {
            return text
        }
        return embedded[name]
    }
}
