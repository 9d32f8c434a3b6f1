import Foundation

/// Writes files so that a reader sees the old content or the new, never a torn one.
public enum AtomicFile {
    /// When this process first used `AtomicFile`: a temporary with this process's id but an older time is a
    /// leftover of an earlier process that had the same id (a container's entry point is often PID 1 every run).
    private static let firstUse = Date()

    /// Writes `data` to a temporary file beside `url`, fsyncs it, renames it over `url`, and fsyncs the folder.
    ///
    /// The temporary is named `.NAME.PID.N.tmp`; a process killed mid-write leaves it behind, and
    /// ``removeStaleTemporaries(for:)`` removes it later.
    ///
    /// - Parameters:
    ///   - data: The complete new content.
    ///   - url: The file to replace or create; missing parent folders are created.
    /// - Throws: `POSIXError` with the errno of the failed open, write, fsync or rename (the temporary is removed).
    public static func write(_ data: Data, to url: URL) throws {
        _ = firstUse
        let folder = url.deletingLastPathComponent()
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        let temporary = folder.appendingPathComponent(
            ".\(url.lastPathComponent).\(getpid()).\(UInt32.random(in: 0...UInt32.max)).tmp")
        let descriptor = open(temporary.path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard descriptor >= 0 else { throw POSIXError(POSIXErrorCode(rawValue: errno) ?? .EIO) }
        var failure: Int32 = data.withUnsafeBytes { writeAll(descriptor, $0) } ?? 0
        if failure == 0, fsync(descriptor) != 0 { failure = errno }
        close(descriptor)
        if failure == 0, rename(temporary.path, url.path) != 0 { failure = errno }
        if failure != 0 {
            unlink(temporary.path)
            throw POSIXError(POSIXErrorCode(rawValue: failure) ?? .EIO)
        }
        let folderDescriptor = open(folder.path, O_RDONLY)
        if folderDescriptor >= 0 { fsync(folderDescriptor); close(folderDescriptor) }
    }

    /// Removes the temporaries that killed writes to `url` left beside it (`.NAME.PID.N.tmp` whose process no
    /// longer runs), and returns their names. Best effort: a file that cannot be removed is left in place.
    ///
    /// A temporary of a live process is kept (that process may be writing it right now), and so is one of this
    /// process written since it started; one with this process's id from before it started is removed.
    ///
    /// ```swift
    /// AtomicFile.removeStaleTemporaries(for: URL(fileURLWithPath: "run/checkpoint-latest.safetensors"))
    /// ```
    ///
    /// - Parameter url: The file whose leftover temporaries to look for (in its folder).
    /// - Returns: The names of the temporaries removed.
    @discardableResult
    public static func removeStaleTemporaries(for url: URL) -> [String] {
        let started = firstUse
        let folder = url.deletingLastPathComponent()
        let prefix = ".\(url.lastPathComponent)."
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: folder.path) else { return [] }
        var removed: [String] = []
        for name in names where name.hasPrefix(prefix) && name.hasSuffix(".tmp") {
            // What lies between the prefix and ".tmp" must be exactly "PID.N" in decimal.
            let middle = name.dropFirst(prefix.count).dropLast(4).split(
                separator: ".", omittingEmptySubsequences: false)
            guard middle.count == 2, let pid = pid_t(middle[0]), pid > 0, UInt32(middle[1]) != nil else { continue }
            let path = folder.appendingPathComponent(name).path
            if pid == getpid() {
                // Coarse file timestamps may trail the clock by a few milliseconds: allow a second.
                guard
                    let modified = (try? FileManager.default.attributesOfItem(atPath: path))?[.modificationDate]
                        as? Date,
                    modified < started.addingTimeInterval(-1)
                else { continue }
            } else {
                guard kill(pid, 0) != 0, errno == ESRCH else { continue }
            }
            if unlink(path) == 0 { removed.append(name) }
        }
        return removed
    }
}
