/// One SPEC key of an optimizer, bound to a typed property: a number with the values it accepts, or a flag.
public struct HyperparameterKey<Rule>: @unchecked Sendable {
    // Key paths are immutable values; `@unchecked` because WritableKeyPath is not declared Sendable.
    enum Binding {
        case number(WritableKeyPath<Rule, Double>, ClosedRange<Double>, String, allowsInfinity: Bool)
        case flag(WritableKeyPath<Rule, Bool>)
        case choice(WritableKeyPath<Rule, String>, [String])
    }

    /// PyTorch's name, e.g. `weight_decay`.
    public let name: String
    let binding: Binding

    /// A number key; `range` and `rangeText` ("in [0, 1)") state what it accepts.
    ///
    /// - Parameters:
    ///   - name: The SPEC key, PyTorch's name.
    ///   - path: The property it sets.
    ///   - range: The values it accepts (non-negative finite numbers by default).
    ///   - rangeText: `range` in words for messages, e.g. "in [0, 1)".
    /// - Returns: The key.
    public static func number(
        _ name: String, _ path: WritableKeyPath<Rule, Double>,
        _ range: ClosedRange<Double> = 0...Double.greatestFiniteMagnitude,
        _ rangeText: String = ">= 0"
    ) -> Self {
        Self(name: name, binding: .number(path, range, rangeText, allowsInfinity: false))
    }

    /// A number key whose default is unbounded (`growth_rate`: `inf` is accepted).
    ///
    /// - Parameters:
    ///   - name: The SPEC key.
    ///   - path: The property it sets.
    ///   - minimum: The smallest value accepted.
    ///   - rangeText: The values accepted in words, e.g. ">= 0 (inf: unbounded)".
    /// - Returns: The key.
    public static func unbounded(
        _ name: String, _ path: WritableKeyPath<Rule, Double>, minimum: Double, _ rangeText: String
    ) -> Self {
        Self(
            name: name,
            binding: .number(path, minimum...Double.greatestFiniteMagnitude, rangeText, allowsInfinity: true))
    }

    /// A true/false key.
    ///
    /// - Parameters:
    ///   - name: The SPEC key; its value is `true`/`false`, `1`/`0` or `yes`/`no`.
    ///   - path: The property it sets.
    /// - Returns: The key.
    public static func flag(_ name: String, _ path: WritableKeyPath<Rule, Bool>) -> Self {
        Self(name: name, binding: .flag(path))
    }

    /// A key that takes one of a few names (Muon's `adjust_lr_fn`).
    ///
    /// - Parameters:
    ///   - name: The SPEC key.
    ///   - path: The property it sets.
    ///   - values: The names accepted, as PyTorch spells them.
    /// - Returns: The key.
    public static func choice(_ name: String, _ path: WritableKeyPath<Rule, String>, _ values: [String]) -> Self {
        Self(name: name, binding: .choice(path, values))
    }

    /// Values of β: [0, 1).
    ///
    /// - Parameters:
    ///   - name: The SPEC key, e.g. `beta1`.
    ///   - path: The property it sets.
    /// - Returns: The key.
    public static func beta(_ name: String, _ path: WritableKeyPath<Rule, Double>) -> Self {
        number(name, path, 0...0.999999999, "in [0, 1)")
    }

    /// Sets this key on `rule` from SPEC text; throws a usage error naming the key, the value and what is valid.
    func set(_ text: String, on rule: inout Rule, spec: String) throws {
        switch binding {
        case .flag(let path):
            switch text.lowercased() {
            case "true", "1", "yes": rule[keyPath: path] = true
            case "false", "0", "no": rule[keyPath: path] = false
            default:
                throw EtaError(
                    .usage, "invalid value '\(text)' for '\(name)' in SPEC '\(spec)': expected true or false")
            }
        case .number(let path, let range, let rangeText, let allowsInfinity):
            guard let value = Double(text), value.isFinite || (allowsInfinity && value == .infinity) else {
                throw EtaError(
                    .usage, "invalid value '\(text)' for '\(name)' in SPEC '\(spec)': expected a finite number")
            }
            guard range.contains(value) || (allowsInfinity && value == .infinity) else {
                throw EtaError(.usage, "invalid value \(value) for '\(name)' in SPEC '\(spec)': must be \(rangeText)")
            }
            rule[keyPath: path] = value
        case .choice(let path, let values):
            guard let value = values.first(where: { $0 == text.lowercased() }) else {
                throw EtaError(
                    .usage,
                    "invalid value '\(text)' for '\(name)' in SPEC '\(spec)': expected one of "
                        + values.joined(separator: ", "))
            }
            rule[keyPath: path] = value
        }
    }

    /// `name=value` as `spec` prints it.
    func describe(_ rule: Rule) -> String {
        switch binding {
        case .flag(let path): "\(name)=\(rule[keyPath: path])"
        case .number(let path, _, _, _): "\(name)=\(rule[keyPath: path])"
        case .choice(let path, _): "\(name)=\(rule[keyPath: path])"
        }
    }
}
