import EtaSupport
import Foundation

/// Builds programs through an on-disk cache of device binaries, so a second run starts without compiling.
///
/// An entry is keyed by SHA-256 of the device name, driver and platform versions, build options and
/// source. Each file holds a magic, its key, the payload length and a SHA-256 of the payload; an entry
/// that fails any check, that the driver refuses, or that lacks a kernel the caller needs, is rebuilt from
/// source and replaced, never trusted.
/// Files are written atomically (temporary file, fsync, rename).
///
/// ```swift
/// let cache = ProgramCache(directory: ProgramCache.defaultDirectory())
/// let program = try cache.program(source: source, options: "-DETA_VEC=16", context: context)
/// ```
public final class ProgramCache: @unchecked Sendable {
    /// The folder of cache entries; nil turns the disk cache off.
    public let directory: URL?
    private var memory: [String: Program] = [:]
    private let lock = NSLock()

    /// What happened to the last lookups, for `--verbose` and startup reporting.
    public private(set) var events: [String] = []

    static let magic = Array("ETAPROG1".utf8)

    /// A cache that keeps entries in `directory`.
    ///
    /// - Parameter directory: The folder of entries (created on first write); nil keeps programs in memory only.
    public init(directory: URL?) {
        self.directory = directory
    }

    /// `ETA_CACHE_DIR` when set (an empty value turns the cache off), else
    /// `$XDG_CACHE_HOME/eta/programs`, else `~/.cache/eta/programs`.
    ///
    /// - Parameter environment: The variables to read (the process's by default).
    /// - Returns: The cache folder, or nil when `ETA_CACHE_DIR` is set but empty.
    public static func defaultDirectory(environment: [String: String] = ProcessInfo.processInfo.environment) -> URL? {
        if let explicit = environment["ETA_CACHE_DIR"] {
            return explicit.isEmpty ? nil : URL(fileURLWithPath: explicit)
        }
        if let xdg = environment["XDG_CACHE_HOME"], !xdg.isEmpty {
            return URL(fileURLWithPath: xdg).appendingPathComponent("eta/programs")
        }
        let home = environment["HOME"] ?? NSHomeDirectory()
        return URL(fileURLWithPath: home).appendingPathComponent(".cache/eta/programs")
    }

    /// The cache key of a program: device, driver, platform, options and source.
    ///
    /// - Parameters:
    ///   - source: The program's OpenCL C source.
    ///   - options: Its build options.
    ///   - device: The device it is built for.
    /// - Returns: 64 lowercase hex digits.
    public static func key(source: String, options: String, device: Device) -> String {
        let text = [
            "eta-program-cache-v1", device.name, device.driverVersion, device.platform.version, options, source,
        ]
        .joined(separator: "\u{0}")
        return SHA256.hex(of: Array(text.utf8))
    }

    /// The file an entry lives in.
    ///
    /// - Parameter key: The entry's key.
    /// - Returns: `KEY.bin` in ``directory``, or nil when the disk cache is off.
    public func entryURL(key: String) -> URL? {
        directory?.appendingPathComponent(key + ".bin")
    }

    /// Returns a built program: from this process's memory, else a valid disk entry, else compiled (and stored).
    ///
    /// `kernels` names kernels the program must define: a disk entry whose binary builds but lacks one of them
    /// (another program's binary under this key) is rebuilt from source and replaced, rather than failing every
    /// later run with `CL_INVALID_KERNEL_NAME`.
    ///
    /// - Parameters:
    ///   - source: The program's OpenCL C source.
    ///   - options: Its build options.
    ///   - context: The context whose device to build for.
    ///   - kernels: Kernel names the program must define.
    /// - Returns: The built program (shared with later lookups of the same key).
    /// - Throws: `CLError` from compiling the source (`clBuildProgram` with its log); a cache that cannot be read or
    ///   written only adds to ``events``.
    public func program(source: String, options: String, context: Context, kernels: [String] = []) throws -> Program {
        let key = Self.key(source: source, options: options, device: context.device)
        lock.lock()
        defer { lock.unlock() }
        if let program = memory[key] { return program }
        if let url = entryURL(key: key), let binary = readEntry(url: url, key: key) {
            if let program = try? Program(binary: binary, options: options, context: context) {
                if let missing = kernels.first(where: { (try? program.kernel(named: $0)) == nil }) {
                    events.append("cache entry lacks kernel \(missing), rebuilding: \(url.lastPathComponent)")
                } else {
                    memory[key] = program
                    events.append("cache hit \(url.lastPathComponent)")
                    return program
                }
            } else {
                events.append("cache entry refused by the driver, rebuilding: \(url.lastPathComponent)")
            }
        }
        let program = try Program(source: source, options: options, context: context)
        memory[key] = program
        if let url = entryURL(key: key) {
            do {
                try writeEntry(url: url, key: key, binary: try program.binary())
                events.append("compiled and cached \(url.lastPathComponent)")
            } catch {
                events.append("compiled; not cached (\(error))")
            }
        } else {
            events.append("compiled; disk cache off")
        }
        return program
    }

    /// The payload of a valid entry, or nil (and a logged reason) for a missing, stale or corrupt one.
    func readEntry(url: URL, key: String) -> [UInt8]? {
        guard let data = try? Data(contentsOf: url) else { return nil }
        let bytes = [UInt8](data)
        let header = Self.magic.count + 32 + 8 + 32
        guard bytes.count >= header, Array(bytes[0..<8]) == Self.magic else {
            events.append("corrupt cache entry (bad header), rebuilding: \(url.lastPathComponent)")
            return nil
        }
        guard Array(bytes[8..<40]) == hexBytes(key) else {
            events.append("stale cache entry (key differs), rebuilding: \(url.lastPathComponent)")
            return nil
        }
        let length = bytes[40..<48].enumerated().reduce(UInt64(0)) {
            $0 | UInt64($1.element) << (8 * UInt64($1.offset))
        }
        let payload = Array(bytes[header...])
        guard UInt64(payload.count) == length, SHA256.digest(of: payload) == Array(bytes[48..<80]), length > 0 else {
            events.append("corrupt cache entry (length or checksum), rebuilding: \(url.lastPathComponent)")
            return nil
        }
        return payload
    }

    func writeEntry(url: URL, key: String, binary: [UInt8]) throws {
        guard !binary.isEmpty else { return }
        var bytes = Self.magic + hexBytes(key)
        let length = UInt64(binary.count)
        bytes += (0..<8).map { UInt8(truncatingIfNeeded: length >> (8 * UInt64($0))) }
        bytes += SHA256.digest(of: binary) + binary
        try AtomicFile.write(Data(bytes), to: url)
    }

    private func hexBytes(_ hex: String) -> [UInt8] {
        var result: [UInt8] = []
        var index = hex.startIndex
        while index < hex.endIndex {
            let next = hex.index(index, offsetBy: 2)
            result.append(UInt8(hex[index..<next], radix: 16) ?? 0)
            index = next
        }
        return result
    }
}
