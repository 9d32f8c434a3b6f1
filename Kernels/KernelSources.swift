import Foundation

/// The OpenCL C sources of Eta's kernels, embedded into the binary at build time from `Kernels/` (keyed by path
/// relative to it: `optimizers.cl`, `updates/adam.cl`).
///
/// Set `ETA_KERNEL_DIR` to a folder laid out like `Kernels/` to load those files instead (for kernel work without a
/// rebuild).
public enum KernelSources {
    /// The text of one kernel file, from `ETA_KERNEL_DIR` when set, else the embedded copy; as stored, with its
    /// `#include` lines.
    public static func file(named name: String) -> String? {
        if let folder = ProcessInfo.processInfo.environment["ETA_KERNEL_DIR"], !folder.isEmpty,
           let text = try? String(contentsOfFile: folder + "/" + name, encoding: .utf8) {
            return text
        }
        return embedded[name]
    }

    /// The source of one kernel file ready for `clBuildProgram`: each `#include "path"` line (a path relative to the
    /// including file, as the C compiler reads the same files for the CPU loops) replaced by that file's source.
    /// Nil when the file, or one it includes, is missing.
    ///
    /// ```swift
    /// let optimizers = KernelSources.source(named: "optimizers.cl")
    /// ```
    public static func source(named name: String) -> String? {
        resolve(name, depth: 0)
    }

    private static func resolve(_ name: String, depth: Int) -> String? {
        guard depth < 16, let text = file(named: name) else { return nil }
        let folder = name.split(separator: "/").dropLast().joined(separator: "/")
        var lines: [String] = []
        for line in text.split(separator: "\n", omittingEmptySubsequences: false) {
            guard let included = includedPath(line) else { lines.append(String(line)); continue }
            let path = normalize(folder.isEmpty ? included : folder + "/" + included)
            guard let inner = resolve(path, depth: depth + 1) else { return nil }
            lines.append(inner)
        }
        return lines.joined(separator: "\n")
    }

    /// The path of an `#include "path"` line, else nil.
    private static func includedPath(_ line: Substring) -> String? {
        var rest = line.drop { $0 == " " || $0 == "\t" }
        guard rest.first == "#" else { return nil }
        rest = rest.dropFirst().drop { $0 == " " || $0 == "\t" }
        guard rest.hasPrefix("include") else { return nil }
        rest = rest.dropFirst("include".count).drop { $0 == " " || $0 == "\t" }
        guard rest.first == "\"", let close = rest.dropFirst().firstIndex(of: "\"") else { return nil }
        return String(rest[rest.index(after: rest.startIndex)..<close])
    }

    /// `a/b/../c` → `a/c`, `./x` → `x`.
    private static func normalize(_ path: String) -> String {
        var parts: [Substring] = []
        for part in path.split(separator: "/") {
            if part == "." { continue }
            if part == "..", !parts.isEmpty { parts.removeLast() } else { parts.append(part) }
        }
        return parts.joined(separator: "/")
    }
}

extension KernelSources {
    /// The git commit the binary was built from (its first 12 hex digits), embedded with the kernels; nil when the
    /// sources were not a git checkout (or the branch's ref is only in packed-refs).
    public static var commit: String? {
        guard let head = embedded["HEAD"]?.trimmingCharacters(in: .whitespacesAndNewlines) else { return nil }
        let hash: String?
        if head.hasPrefix("ref: ") {
            let branch = head.split(separator: "/").last.map(String.init) ?? ""
            hash = embedded[branch]?.trimmingCharacters(in: .whitespacesAndNewlines)
        } else {
            hash = head
        }
        guard let hash, hash.count >= 12, hash.allSatisfy(\.isHexDigit) else { return nil }
        return String(hash.prefix(12))
    }
}
