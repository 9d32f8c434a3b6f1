import Foundation

/// Parses the SPEC syntax `NAME[:key=value[,key=value...]]` used by every command that takes an optimizer.
///
/// Names and keys are PyTorch's (`weight_decay`, `amsgrad`, ...), tuples split (`beta1`, `beta2`). Omitted
/// keys take PyTorch's defaults. Errors name the bad part and list what is valid.
extension OptimizerConfiguration {
    /// Parses a SPEC such as `sgd:lr=0.01,momentum=0.9,nesterov=true`; throws `EtaError(.usage)` when it is invalid.
    ///
    /// - Parameter spec: `NAME[:key=value[,key=value...]]`; the name and keys are case-insensitive.
    /// - Throws: `EtaError` `.usage` for an unknown name or key, a malformed part, a repeated key, a value out of
    ///   range, or keys that contradict each other.
    public init(spec: String) throws {
        let trimmed = spec.trimmingCharacters(in: .whitespaces)
        let (name, body) =
            trimmed.firstIndex(of: ":").map { (String(trimmed[..<$0]), String(trimmed[trimmed.index(after: $0)...])) }
            ?? (trimmed, "")
        guard let rule = Self.rules.first(where: { $0.name == name.lowercased() }) else {
            throw EtaError(
                .usage,
                "unknown optimizer '\(name)' in SPEC '\(spec)'; valid names: \(Self.names.joined(separator: ", "))")
        }
        let values = try Self.keyValues(body, spec: spec, validKeys: rule.keyNames, optimizer: rule.name)
        self.init(try rule.parse(values, spec: spec))
    }

    private static func keyValues(
        _ body: String, spec: String, validKeys: [String], optimizer: String
    ) throws -> [(String, String)] {
        var result: [(String, String)] = []
        guard !body.isEmpty else { return result }
        for part in body.split(separator: ",", omittingEmptySubsequences: false) {
            let pieces = part.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            guard pieces.count == 2, !pieces[0].isEmpty else {
                throw EtaError(
                    .usage,
                    "malformed part '\(part)' in SPEC '\(spec)': expected key=value; valid keys for \(optimizer): "
                        + "\(validKeys.joined(separator: ", "))"
                )
            }
            let key = pieces[0].trimmingCharacters(in: .whitespaces).lowercased()
            guard validKeys.contains(key) else {
                let hint = key == "betas" ? " (tuples are split: use beta1= and beta2=)" : ""
                throw EtaError(
                    .usage,
                    "unknown key '\(key)' for \(optimizer) in SPEC '\(spec)'\(hint); valid keys: "
                        + "\(validKeys.joined(separator: ", "))"
                )
            }
            guard !result.contains(where: { $0.0 == key }) else {
                throw EtaError(.usage, "key '\(key)' given twice in SPEC '\(spec)'")
            }
            result.append((key, pieces[1].trimmingCharacters(in: .whitespaces)))
        }
        return result
    }

    /// The SPEC that parses back to this configuration, every key spelled out.
    public var spec: String { rule.spec }
}

extension OptimizerRule {
    /// The rule with the given keys set over the defaults, validated.
    static func parse(_ values: [(String, String)], spec: String) throws -> Self {
        var rule = Self()
        // Keys in declaration order, so errors come out in a stable order.
        for key in keys {
            if let text = values.first(where: { $0.0 == key.name })?.1 { try key.set(text, on: &rule, spec: spec) }
        }
        try rule.validate(spec: spec)
        return rule
    }

    /// `name:key=value,...` with every key.
    var spec: String { Self.name + ":" + Self.keys.map { $0.describe(self) }.joined(separator: ",") }
}
