/// An error a user can act on: what was wrong, what is valid, and the process exit code it maps to.
///
/// Library code throws these for bad input instead of crashing; the CLI prints `message` and exits with
/// `exitCode` (the BSD sysexits values, documented in the README).
public struct EtaError: Error, CustomStringConvertible, Equatable, Sendable {
    /// The category of failure, which fixes the exit code.
    public enum Kind: String, Sendable {
        /// Bad command-line usage or an invalid SPEC (exit 64).
        case usage
        /// Malformed input data or a damaged file (exit 65).
        case dataError
        /// An input file that does not exist (exit 66).
        case missingInput
        /// A requested device or platform that is not available (exit 69).
        case unavailable
        /// A kernel that disagrees with the Reference, or an internal failure (exit 70).
        case software
        /// A file that could not be written (exit 74).
        case ioError
    }

    /// The category, which fixes ``exitCode``.
    public let kind: Kind
    /// What was wrong and what is valid, shortened to about 2,000 characters.
    public let message: String

    /// An error of `kind`.
    ///
    /// - Parameters:
    ///   - kind: The category of failure.
    ///   - message: The text the CLI prints after `eta: error:`; a long one keeps its start and end.
    public init(_ kind: Kind, _ message: String) {
        self.kind = kind
        self.message = Self.shortened(message)
    }

    /// Messages echo what the user gave; a 100,000-character SPEC value must not become 200 KB of stderr. The start
    /// (what is wrong) and the end (what is valid) are kept.
    static let longestMessage = 2_000

    static func shortened(_ message: String) -> String {
        guard message.count > longestMessage else { return message }
        let keep = longestMessage / 2 - 40
        return "\(message.prefix(keep))…[\(message.count - 2 * keep) characters cut]…\(message.suffix(keep))"
    }

    /// The sysexits code for this kind.
    public var exitCode: Int32 {
        switch kind {
        case .usage: 64
        case .dataError: 65
        case .missingInput: 66
        case .unavailable: 69
        case .software: 70
        case .ioError: 74
        }
    }

    /// The message.
    public var description: String { message }
}
