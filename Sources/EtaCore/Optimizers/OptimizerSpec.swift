import Foundation

/// Parses the SPEC syntax `NAME[:key=value[,key=value...]]` used by every command that takes an optimizer.
///
/// Names and keys are PyTorch's (`weight_decay`, `amsgrad`, ...), tuples split (`beta1`, `beta2`). Omitted
/// keys take PyTorch's defaults. Errors name the bad part and list what is valid.
extension OptimizerConfiguration {
    /// The optimizer names a SPEC may start with.
    public static let names = ["sgd", "adam", "adamw"] + FamilyOptimizer.all.keys.sorted()

    private static let sgdKeys = ["lr", "momentum", "dampening", "weight_decay", "nesterov", "maximize"]
    private static let adamKeys = ["lr", "beta1", "beta2", "eps", "weight_decay", "amsgrad", "maximize", "decoupled_weight_decay"]

    /// The keys `name` accepts.
    public static func keys(for name: String) -> [String] {
        if let family = FamilyOptimizer.all[name] { return family.keys.map(\.name) }
        return switch name {
        case "sgd": sgdKeys
        case "adamw": adamKeys.filter { $0 != "decoupled_weight_decay" }  // AdamW is always decoupled
        default: adamKeys
        }
    }

    /// Parses a SPEC such as `sgd:lr=0.01,momentum=0.9,nesterov=true`; throws `EtaError(.usage)` when it is invalid.
    public init(spec: String) throws {
        let trimmed = spec.trimmingCharacters(in: .whitespaces)
        let (name, body) = trimmed.firstIndex(of: ":").map { (String(trimmed[..<$0]), String(trimmed[trimmed.index(after: $0)...])) }
            ?? (trimmed, "")
        let lowered = name.lowercased()
        guard Self.names.contains(lowered) else {
            throw EtaError(.usage, "unknown optimizer '\(name)' in SPEC '\(spec)'; valid names: \(Self.names.joined(separator: ", "))")
        }
        var values = try Self.keyValues(body, spec: spec, validKeys: Self.keys(for: lowered), optimizer: lowered)
        if let family = FamilyOptimizer.all[lowered] {
            self = .family(try family.configuration(values: values, spec: spec))
            return
        }
        func number(_ key: String, _ fallback: Double) throws -> Double {
            guard let text = values.removeValue(forKey: key) else { return fallback }
            guard let value = Double(text), value.isFinite else {
                throw EtaError(.usage, "invalid value '\(text)' for '\(key)' in SPEC '\(spec)': expected a finite number")
            }
            return value
        }
        func flag(_ key: String, _ fallback: Bool) throws -> Bool {
            guard let text = values.removeValue(forKey: key) else { return fallback }
            switch text.lowercased() {
            case "true", "1", "yes": return true
            case "false", "0", "no": return false
            default: throw EtaError(.usage, "invalid value '\(text)' for '\(key)' in SPEC '\(spec)': expected true or false")
            }
        }
        switch lowered {
        case "sgd":
            let h = SGDHyperparameters(
                lr: try number("lr", 1e-3), momentum: try number("momentum", 0), dampening: try number("dampening", 0),
                weightDecay: try number("weight_decay", 0), nesterov: try flag("nesterov", false), maximize: try flag("maximize", false))
            try Self.validate(sgd: h, spec: spec)
            self = .sgd(h)
        default:
            let defaults = lowered == "adamw" ? AdamHyperparameters.adamW : AdamHyperparameters()
            let h = AdamHyperparameters(
                lr: try number("lr", defaults.lr), beta1: try number("beta1", defaults.beta1), beta2: try number("beta2", defaults.beta2),
                eps: try number("eps", defaults.eps), weightDecay: try number("weight_decay", defaults.weightDecay),
                amsgrad: try flag("amsgrad", false), maximize: try flag("maximize", false),
                decoupledWeightDecay: try flag("decoupled_weight_decay", defaults.decoupledWeightDecay))
            try Self.validate(adam: h, spec: spec)
            self = lowered == "adamw" ? .adamw(h) : .adam(h)
        }
    }

    private static func keyValues(_ body: String, spec: String, validKeys: [String], optimizer: String) throws -> [String: String] {
        var result: [String: String] = [:]
        guard !body.isEmpty else { return result }
        for part in body.split(separator: ",", omittingEmptySubsequences: false) {
            let pieces = part.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            guard pieces.count == 2, !pieces[0].isEmpty else {
                throw EtaError(.usage, "malformed part '\(part)' in SPEC '\(spec)': expected key=value; valid keys for \(optimizer): \(validKeys.joined(separator: ", "))")
            }
            let key = pieces[0].trimmingCharacters(in: .whitespaces).lowercased()
            guard validKeys.contains(key) else {
                var hint = ""
                if key == "betas" { hint = " (tuples are split: use beta1= and beta2=)" }
                throw EtaError(.usage, "unknown key '\(key)' for \(optimizer) in SPEC '\(spec)'\(hint); valid keys: \(validKeys.joined(separator: ", "))")
            }
            guard result[key] == nil else { throw EtaError(.usage, "key '\(key)' given twice in SPEC '\(spec)'") }
            result[key] = pieces[1].trimmingCharacters(in: .whitespaces)
        }
        return result
    }

    private static func validate(sgd h: SGDHyperparameters, spec: String) throws {
        try nonNegative(h.lr, "lr", spec)
        try nonNegative(h.momentum, "momentum", spec)
        try nonNegative(h.weightDecay, "weight_decay", spec)
        if h.nesterov && (h.momentum <= 0 || h.dampening != 0) {
            throw EtaError(.usage, "invalid SPEC '\(spec)': nesterov=true requires momentum > 0 and dampening = 0 (got momentum=\(h.momentum), dampening=\(h.dampening))")
        }
    }

    private static func validate(adam h: AdamHyperparameters, spec: String) throws {
        try nonNegative(h.lr, "lr", spec)
        try nonNegative(h.eps, "eps", spec)
        try nonNegative(h.weightDecay, "weight_decay", spec)
        for (key, beta) in [("beta1", h.beta1), ("beta2", h.beta2)] where !(0 <= beta && beta < 1) {
            throw EtaError(.usage, "invalid value \(beta) for '\(key)' in SPEC '\(spec)': must be in [0, 1)")
        }
    }

    private static func nonNegative(_ value: Double, _ key: String, _ spec: String) throws {
        if value < 0 { throw EtaError(.usage, "invalid value \(value) for '\(key)' in SPEC '\(spec)': must be >= 0") }
    }

    /// The SPEC that parses back to this configuration, every key spelled out.
    public var spec: String {
        switch self {
        case .sgd(let h):
            return "sgd:lr=\(h.lr),momentum=\(h.momentum),dampening=\(h.dampening),weight_decay=\(h.weightDecay),nesterov=\(h.nesterov),maximize=\(h.maximize)"
        case .family(let c):
            return c.name + ":" + c.descriptor.keys.map { key in
                key.isFlag ? "\(key.name)=\(c.flag(key.name))" : "\(key.name)=\(c[key.name])"
            }.joined(separator: ",")
        case .adam(let h), .adamw(let h):
            let common = "\(name):lr=\(h.lr),beta1=\(h.beta1),beta2=\(h.beta2),eps=\(h.eps),weight_decay=\(h.weightDecay),amsgrad=\(h.amsgrad),maximize=\(h.maximize)"
            return name == "adam" ? common + ",decoupled_weight_decay=\(h.decoupledWeightDecay)" : common
        }
    }
}
