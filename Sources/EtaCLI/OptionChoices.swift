import ArgumentParser
import Eta

/// A typed option value read from its text, with the reason when the text is not one.
///
/// Declared with `@Option(transform: T.parser)`, a bad value exits 64 with ArgumentParser's "The value 'x' is invalid
/// for '--flag <value>'" followed by that reason, so the message names the flag, the value and what is valid.
protocol OptionValue: ExpressibleByArgument {
    static func parse(_ text: String) throws -> Self
}

extension OptionValue {
    /// `parse` as `@Option(transform:)` takes it.
    static var parser: @Sendable (String) throws -> Self { { try parse($0) } }

    // Public: the library's public types conform, and a protocol's witness must be as visible as they are.
    /// The value `parse` reads from `argument`, as `ExpressibleByArgument` requires.
    ///
    /// - Parameter argument: The option's text.
    public init?(argument: String) {
        guard let value = try? Self.parse(argument) else { return nil }
        self = value
    }
}

/// An option whose value is one of a fixed set of names.
protocol OptionChoice: OptionValue, CaseIterable, RawRepresentable<String> {
    /// What the value is, for messages: "unknown loss; valid values are ...".
    static var noun: String { get }
}

extension OptionChoice {
    /// The valid values as help texts show them: `a | b | c`.
    static var choices: String { allCases.map(\.rawValue).joined(separator: " | ") }

    static func parse(_ text: String) throws -> Self {
        guard let value = Self(rawValue: text) else {
            throw ValidationError(
                "unknown \(noun); valid values are \(allCases.map(\.rawValue).joined(separator: ", "))")
        }
        return value
    }

    /// The case whose raw value is `argument`, as `ExpressibleByArgument` requires.
    ///
    /// - Parameter argument: The option's text.
    public init?(argument: String) { self.init(rawValue: argument) }
}

/// `--format`: one type for every command; each command accepts only the formats it prints.
enum OutputFormat: String, OptionChoice {
    case table, json, jsonl, markdown, csv

    static let noun = "format"

    /// The parser of a command that prints `supported`: any other value is refused, naming those.
    static func parser(_ supported: [OutputFormat]) -> @Sendable (String) throws -> OutputFormat {
        { text in
            guard let format = OutputFormat(rawValue: text), supported.contains(format) else {
                throw ValidationError("this command prints \(supported.map(\.rawValue).joined(separator: ", "))")
            }
            return format
        }
    }

    /// The help of `--format` for a command that prints `supported` (the first is the default).
    static func help(_ supported: [OutputFormat]) -> ArgumentHelp {
        ArgumentHelp(
            "\(supported.map(\.rawValue).joined(separator: " | ")) (default: \(supported[0].rawValue)).",
            valueName: "format")
    }
}

/// `--task`: what the label column of a CSV is (`auto` decides from the labels).
enum TaskChoice: String, OptionChoice {
    case auto, classification, regression
    static let noun = "task"
}

/// `--accumulate-mode`: average the K accumulated gradients (PyTorch's `loss / K`) or sum them.
/// `--weights`: which of a checkpoint's weights inference loads.
enum CheckpointWeights: String, OptionChoice {
    case model, ema, swa
    static let noun = "weights"
    var choice: Checkpoint.Weights { Checkpoint.Weights(rawValue: rawValue)! }
}

/// `--swa-anneal`: how the lr anneals to `--swa-lr` (SWALR's `anneal_strategy`).
enum SWAAnneal: String, OptionChoice {
    case cos, linear
    static let noun = "anneal strategy"
}

enum AccumulationMode: String, OptionChoice {
    case mean, sum
    static let noun = "accumulation mode"
}

/// `lr-find --mode`: how the learning rate grows; `exp` is accepted for `exponential`.
enum GrowthMode: String, OptionChoice {
    case exponential, linear
    static let noun = "mode"

    init?(rawValue: String) {
        switch rawValue {
        case "exponential", "exp": self = .exponential
        case "linear": self = .linear
        default: return nil
        }
    }

    var growth: LRFinder.Growth { self == .linear ? .linear : .exponential }
}

/// `lr-find --suggestion`: the suggestion printed first.
enum SuggestionName: String, OptionChoice {
    case valley, steep, minimum
    static let noun = "suggestion"
}

/// `explore --objective`: a test function by name (any letter case), from the library's list.
struct ObjectiveName: OptionChoice {
    static let noun = "objective"
    static var allCases: [ObjectiveName] { Objective.names.compactMap(ObjectiveName.init(rawValue:)) }

    let rawValue: String

    init?(rawValue: String) {
        guard Objective.names.contains(rawValue.lowercased()) else { return nil }
        self.rawValue = rawValue.lowercased()
    }
}

// The library's own enums, read by their raw values.

extension LossKind: ExpressibleByArgument, OptionChoice {
    static let noun = "loss"
}

extension ScheduleInterval: ExpressibleByArgument, OptionChoice {
    static let noun = "schedule interval"
}

extension DivergenceGuard.Policy: ExpressibleByArgument, OptionChoice {
    static let noun = "divergence policy"
}

extension NonFiniteGradientPolicy: ExpressibleByArgument, OptionChoice {
    static let noun = "non-finite gradient policy"
}

extension StorageType: ExpressibleByArgument, OptionChoice {
    static let noun = "storage type"
}

extension Normalization: ExpressibleByArgument, OptionChoice {
    static let noun = "normalization"
}
