import Foundation

extension ProgramCache {
    /// The payload of the cache file at `url` if it is a valid entry for `key` (magic, key, length and SHA-256
    /// all check out), else nil: the test a disk entry passes before the driver sees it. Public so the fuzz
    /// harness can feed it arbitrary files.
    ///
    /// ```swift
    /// let binary = ProgramCache(directory: nil).validatedEntry(at: url, key: key)
    /// ```
    ///
    /// - Parameters:
    ///   - url: The cache file to read.
    ///   - key: The key the entry must carry (``ProgramCache/key(source:options:device:)``).
    /// - Returns: The device binary, or nil for a missing, unreadable, stale or corrupt file.
    public func validatedEntry(at url: URL, key: String) -> [UInt8]? {
        readEntry(url: url, key: key)
    }
}
