import EtaSupport
import Foundation

/// The one way Eta writes output: standard output, logs streamed line by line, and whole files (plots,
/// checkpoints) replaced atomically. Every failure — a full disk, a closed standard output, a missing
/// folder — is thrown as `EtaError(.ioError)` (exit 74) naming the destination and the system's reason;
/// nothing traps.
///
/// ```swift
/// try OutputFile.standardOutput.write("step 1\n")
/// let log = try OutputFile(creating: "run/log.jsonl.partial")
/// try log.write("{\"event\":\"run_start\"}\n")
/// try log.close()
/// try OutputFile.replace("plot.svg", with: Data(svg.utf8), what: "plot")
/// ```
public final class OutputFile: @unchecked Sendable {
    /// Where the bytes go, for messages (`standard output`, a path).
    public let name: String
    private var descriptor: Int32
    private let owned: Bool
    /// Set when the descriptor was closed before Eta started (`eta ... >&-`): writes fail instead of landing
    /// in whatever file reused the descriptor.
    private var closedAtStart = false

    /// The process's standard output.
    public static let standardOutput = OutputFile(descriptor: STDOUT_FILENO, name: "standard output", owned: false)

    private init(descriptor: Int32, name: String, owned: Bool) {
        self.descriptor = descriptor
        self.name = name
        self.owned = owned
    }

    /// Creates (or truncates) the file at `path`, creating its folder.
    ///
    /// - Parameter path: The file to create.
    /// - Throws: `EtaError` `.ioError` when the folder or the file cannot be created.
    public init(creating path: String) throws {
        name = path
        owned = true
        let folder = URL(fileURLWithPath: path).deletingLastPathComponent().path
        if let code = Self.makeFolders(folder) {
            throw EtaError(.ioError, "cannot create the folder \(folder) for \(path): \(Self.reason(code))")
        }
        descriptor = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard descriptor >= 0 else { throw EtaError(.ioError, "cannot create \(path): \(Self.reason(errno))") }
    }

    deinit { if owned && descriptor >= 0 { Foundation.close(descriptor) } }

    /// Makes sure descriptors 0, 1 and 2 are open, so no file Eta opens takes their numbers (a closed standard
    /// output would otherwise receive the next log file's descriptor and its lines). Call once at startup.
    public static func protectStandardDescriptors() {
        for fd in [STDIN_FILENO, STDOUT_FILENO, STDERR_FILENO] where fcntl(fd, F_GETFD) == -1 && errno == EBADF {
            let placeholder = open("/dev/null", O_RDWR)
            if placeholder >= 0 && placeholder != fd { dup2(placeholder, fd); Foundation.close(placeholder) }
            if fd == STDOUT_FILENO { standardOutput.closedAtStart = true }
        }
    }

    /// Writes all of `text` or throws.
    ///
    /// - Parameter text: The text, written as UTF-8.
    /// - Throws: `EtaError` `.ioError` naming the destination and the system's reason (or that it is closed).
    public func write(_ text: String) throws {
        var text = text
        try text.withUTF8 { try write(UnsafeRawBufferPointer($0)) }
    }

    /// Writes all of `bytes` or throws.
    ///
    /// - Parameter bytes: The bytes to write.
    /// - Throws: `EtaError` `.ioError` naming the destination and the system's reason (or that it is closed).
    public func write(_ bytes: UnsafeRawBufferPointer) throws {
        guard !closedAtStart else { throw EtaError(.ioError, "cannot write to \(name): it is closed") }
        guard descriptor >= 0 else { throw EtaError(.ioError, "cannot write to \(name): already closed") }
        if let code = writeAll(descriptor, bytes) {
            throw EtaError(.ioError, "cannot write to \(name): \(Self.reason(code))")
        }
    }

    /// Flushes to the disk (`fsync`) and closes; a deferred write error (NFS, a full disk) surfaces here.
    ///
    /// - Throws: `EtaError` `.ioError` when `fsync` or `close` fails.
    public func close() throws {
        guard owned, descriptor >= 0 else { return }
        let fd = descriptor
        descriptor = -1
        let synced = fsync(fd) == 0 || errno == EINVAL
        let syncError = errno
        let closed = Foundation.close(fd) == 0
        let closeError = errno
        guard synced else { throw EtaError(.ioError, "cannot write to \(name): \(Self.reason(syncError))") }
        guard closed else { throw EtaError(.ioError, "cannot write to \(name): \(Self.reason(closeError))") }
    }

    /// Replaces the file at `path` with `data` atomically (a temporary file, fsync, rename): a reader sees the old
    /// file or the new one. `what` names the output in the message (`plot`, `checkpoint`).
    ///
    /// - Parameters:
    ///   - path: The file to replace or create; its folder is created if missing.
    ///   - data: The new content.
    ///   - what: The output's name in the message, e.g. `plot`.
    /// - Throws: `EtaError` `.ioError` naming the output, the path and the system's reason.
    public static func replace(_ path: String, with data: Data, what: String) throws {
        do { try AtomicFile.write(data, to: URL(fileURLWithPath: path)) } catch {
            throw EtaError(.ioError, "cannot write \(what) \(path): \(reason(of: error))")
        }
    }

    /// Checks, before a run starts, that a file can be created at `path` (its folder exists or can be created and
    /// is writable), so a bad output path fails in the first second rather than after hours of training.
    ///
    /// - Parameters:
    ///   - path: The file the run will write.
    ///   - what: The output's name in the message, e.g. `--log`.
    /// - Throws: `EtaError` `.ioError` when `path` is a folder or its folder cannot be created or written.
    public static func checkWritable(_ path: String, what: String) throws {
        let url = URL(fileURLWithPath: path)
        var isFolder: ObjCBool = false
        if FileManager.default.fileExists(atPath: path, isDirectory: &isFolder), isFolder.boolValue {
            throw EtaError(.ioError, "cannot write \(what) \(path): it is a folder")
        }
        try checkWritableFolder(url.deletingLastPathComponent().path, what: "\(what) \(path)")
    }

    /// Checks that `folder` exists or can be created, and that a file can be created in it.
    ///
    /// - Parameters:
    ///   - folder: The folder the run will write in.
    ///   - what: The output's name in the message.
    /// - Throws: `EtaError` `.ioError` when the folder cannot be created or a file cannot be created in it.
    public static func checkWritableFolder(_ folder: String, what: String) throws {
        if let code = makeFolders(folder) {
            throw EtaError(.ioError, "cannot write \(what): the folder \(folder) cannot be created: \(reason(code))")
        }
        // A random name: a probe left by a killed run (same PID in a container) must not block the next one.
        let probe = URL(fileURLWithPath: folder).appendingPathComponent(
            ".eta-write-check.\(getpid()).\(UInt64.random(in: 0...UInt64.max))"
        ).path
        let fd = open(probe, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw EtaError(.ioError, "cannot write \(what): \(folder): \(reason(errno))") }
        Foundation.close(fd)
        unlink(probe)
    }

    /// `mkdir -p`: nil when `folder` exists as a folder or was made, else the errno of the step that failed.
    static func makeFolders(_ folder: String) -> Int32? {
        var isFolder: ObjCBool = false
        if FileManager.default.fileExists(atPath: folder, isDirectory: &isFolder) {
            return isFolder.boolValue ? nil : ENOTDIR
        }
        let parent = URL(fileURLWithPath: folder).deletingLastPathComponent().path
        if parent != folder, let code = makeFolders(parent) { return code }
        return mkdir(folder, 0o755) == 0 || errno == EEXIST ? nil : errno
    }

    /// `No space left on device (ENOSPC)`: the system's text and the errno name, never a raw NSError dump.
    ///
    /// - Parameter code: An errno value.
    /// - Returns: `strerror`'s text, with the errno name when it is a common one.
    public static func reason(_ code: Int32) -> String {
        let text = String(cString: strerror(code))
        return errnoNames[code].map { "\(text) (\($0))" } ?? text
    }

    /// The reason of an error thrown by Foundation or `AtomicFile`, reduced to the underlying errno when it has one.
    ///
    /// - Parameter error: Any error.
    /// - Returns: An `EtaError`'s message, an errno's reason, or the error's localized description.
    public static func reason(of error: Error) -> String {
        if let eta = error as? EtaError { return eta.message }
        if let posix = error as? POSIXError { return reason(posix.code.rawValue) }
        let ns = error as NSError
        if ns.domain == NSPOSIXErrorDomain { return reason(Int32(ns.code)) }
        if let underlying = ns.userInfo[NSUnderlyingErrorKey] as? NSError, underlying.domain == NSPOSIXErrorDomain {
            return reason(Int32(underlying.code))
        }
        return ns.localizedDescription
    }

    private static let errnoNames: [Int32: String] = [
        ENOSPC: "ENOSPC", EACCES: "EACCES", EPERM: "EPERM", ENOENT: "ENOENT", ENOTDIR: "ENOTDIR", EISDIR: "EISDIR",
        EROFS: "EROFS", EPIPE: "EPIPE", EBADF: "EBADF", EIO: "EIO", EDQUOT: "EDQUOT", EFBIG: "EFBIG", EEXIST: "EEXIST",
        ENAMETOOLONG: "ENAMETOOLONG",
    ]
}
