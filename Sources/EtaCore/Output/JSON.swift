import Foundation

/// A JSON value with deterministic key order and explicit non-finite numbers, for Eta's JSON and JSONL output.
///
/// Non-finite floats are written as the strings `"NaN"`, `"Infinity"` and `"-Infinity"` (JSON has no
/// literal for them), so they are never silently dropped. Floats print in their shortest round-trip form.
///
/// ```swift
/// JSON.object([("step", .int(1)), ("loss", .float(.nan))]).rendered  // {"step": 1, "loss": "NaN"}
/// ```
public indirect enum JSON: Equatable, Sendable {
    /// `null`.
    case null
    /// `true` or `false`.
    case bool(Bool)
    /// An integer.
    case int(Int)
    /// A float, printed in its shortest round-trip form (non-finite as a string).
    case float(Float)
    /// A double, printed in its shortest round-trip form (non-finite as a string).
    case double(Double)
    /// A string, escaped.
    case string(String)
    /// An array.
    case array([JSON])
    /// An object whose keys keep the order given.
    case object([(String, JSON)])

    /// Equal when both render to the same text.
    ///
    /// - Parameters:
    ///   - lhs: A value.
    ///   - rhs: Another value.
    /// - Returns: Whether their renderings are equal.
    public static func == (lhs: JSON, rhs: JSON) -> Bool { lhs.rendered == rhs.rendered }

    /// Compact single-line rendering (one JSONL record).
    public var rendered: String {
        switch self {
        case .null: return "null"
        case .bool(let value): return value ? "true" : "false"
        case .int(let value): return String(value)
        case .float(let value): return value.isFinite ? "\(value)" : JSON.nonFinite(Double(value))
        case .double(let value): return value.isFinite ? "\(value)" : JSON.nonFinite(value)
        case .string(let value): return JSON.quote(value)
        case .array(let values): return "[" + values.map(\.rendered).joined(separator: ", ") + "]"
        case .object(let pairs):
            return "{" + pairs.map { JSON.quote($0.0) + ": " + $0.1.rendered }.joined(separator: ", ") + "}"
        }
    }

    /// Indented rendering for `--format json`.
    ///
    /// - Parameter indent: The indentation of the line the value starts on; nested levels add two spaces.
    /// - Returns: The value over several lines.
    public func pretty(indent: String = "") -> String {
        let inner = indent + "  "
        switch self {
        case .array(let values) where !values.isEmpty:
            return "[\n" + values.map { inner + $0.pretty(indent: inner) }.joined(separator: ",\n") + "\n\(indent)]"
        case .object(let pairs) where !pairs.isEmpty:
            return "{\n"
                + pairs.map { inner + JSON.quote($0.0) + ": " + $0.1.pretty(indent: inner) }.joined(separator: ",\n")
                + "\n\(indent)}"
        default:
            return rendered
        }
    }

    static func nonFinite(_ value: Double) -> String {
        value.isNaN ? "\"NaN\"" : (value > 0 ? "\"Infinity\"" : "\"-Infinity\"")
    }

    static func quote(_ text: String) -> String {
        var out = "\""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case let c where c.value < 0x20: out += String(format: "\\u%04x", c.value)
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out + "\""
    }
}
