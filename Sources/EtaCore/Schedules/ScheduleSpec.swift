import Foundation

/// Parses schedule SPECs: `NAME[:key=value,...]` with PyTorch's argument names (`t_max`, `eta_min`,
/// `step_size`, `milestones=30/80`, ...). Omitted keys take PyTorch's defaults; required ones (`step_size`,
/// `gamma` of exponential, `t_max`, `t_0`, `max_lr` of cyclic) must be given. Errors are exit-64 usage errors
/// naming the bad part and listing what is valid.
extension Schedule {
    /// Every schedule name and its keys.
    public static let keys: [String: [String]] = [
        "none": [],
        "constant": ["factor", "total_iters"],
        "step": ["step_size", "gamma"],
        "multistep": ["milestones", "gamma"],
        "exponential": ["gamma"],
        "cosine": ["t_max", "eta_min"],
        "cosine_restarts": ["t_0", "t_mult", "eta_min"],
        "linear": ["start_factor", "end_factor", "total_iters"],
        "polynomial": ["total_iters", "power"],
        "cyclic": [
            "base_lr", "max_lr", "step_size_up", "step_size_down", "mode", "gamma", "cycle_momentum", "base_momentum",
            "max_momentum",
        ],
        "onecycle": [
            "max_lr", "total_steps", "pct_start", "anneal_strategy", "div_factor", "final_div_factor", "three_phase",
            "cycle_momentum", "base_momentum", "max_momentum",
        ],
        "plateau": ["mode", "factor", "patience", "threshold", "threshold_mode", "cooldown", "min_lr", "eps"],
        "wsd": ["warmup", "stable", "decay", "warmup_type", "decay_type", "min_lr_ratio", "num_cycles"],
        "inverse_sqrt": ["warmup", "timescale"],
    ]

    /// Every schedule name, sorted.
    public static var names: [String] { keys.keys.sorted() }

    /// Parses a SPEC such as `cosine:t_max=100,eta_min=1e-5`.
    ///
    /// - Parameter spec: `NAME[:key=value,...]`; the name and keys are case-insensitive.
    /// - Throws: `EtaError` `.usage` for an unknown name or key, a malformed part, a missing required key, or a value
    ///   out of range.
    public init(spec: String) throws {
        let trimmed = spec.trimmingCharacters(in: .whitespaces)
        let (rawName, body) =
            trimmed.firstIndex(of: ":").map { (String(trimmed[..<$0]), String(trimmed[trimmed.index(after: $0)...])) }
            ?? (trimmed, "")
        let name = rawName.lowercased()
        guard let valid = Self.keys[name] else {
            throw EtaError(
                .usage, "unknown schedule '\(rawName)' in '\(spec)'; valid: \(Self.names.joined(separator: ", "))")
        }
        var values: [String: String] = [:]
        for part in body.split(separator: ",", omittingEmptySubsequences: false) where !body.isEmpty {
            let pieces = part.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false).map {
                $0.trimmingCharacters(in: .whitespaces)
            }
            guard pieces.count == 2, !pieces[0].isEmpty else {
                throw EtaError(
                    .usage,
                    "malformed part '\(part)' in schedule '\(spec)': expected key=value; valid keys for \(name): "
                        + "\(valid.joined(separator: ", "))"
                )
            }
            guard valid.contains(pieces[0].lowercased()) else {
                throw EtaError(
                    .usage,
                    "unknown key '\(pieces[0])' for \(name) in schedule '\(spec)'; valid keys: "
                        + "\(valid.isEmpty ? "(none)" : valid.joined(separator: ", "))"
                )
            }
            values[pieces[0].lowercased()] = pieces[1]
        }
        var reader = SpecReader(values: values, spec: spec)
        switch name {
        case "none": self = .none
        case "constant":
            self = .constant(
                factor: try reader.number("factor", 1.0 / 3, in: 0...1),
                totalIters: try reader.integer("total_iters", 5, minimum: 0))
        case "step":
            self = .step(
                stepSize: try reader.integer("step_size", nil, minimum: 1),
                gamma: try reader.number("gamma", 0.1, minimum: 0))
        case "multistep":
            self = .multistep(
                milestones: try reader.list("milestones"), gamma: try reader.number("gamma", 0.1, minimum: 0))
        case "exponential": self = .exponential(gamma: try reader.number("gamma", nil, minimum: 0))
        case "cosine":
            self = .cosine(
                tMax: try reader.integer("t_max", nil, minimum: 1), etaMin: try reader.number("eta_min", 0, minimum: 0))
        case "cosine_restarts":
            self = .cosineRestarts(
                t0: try reader.integer("t_0", nil, minimum: 1), tMult: try reader.integer("t_mult", 1, minimum: 1),
                etaMin: try reader.number("eta_min", 0, minimum: 0))
        case "linear":
            let start = try reader.number("start_factor", 1.0 / 3, minimum: 0),
                end = try reader.number("end_factor", 1, in: 0...1)
            guard start > 0 && start <= 1 else {
                throw EtaError(.usage, "start_factor \(start) in '\(spec)' must be in (0, 1] (PyTorch's LinearLR)")
            }
            self = .linear(
                startFactor: start, endFactor: end, totalIters: try reader.integer("total_iters", 5, minimum: 1))
        case "polynomial":
            self = .polynomial(
                totalIters: try reader.integer("total_iters", 5, minimum: 1),
                power: try reader.number("power", 1, minimum: 0))
        case "cyclic":
            var c = Cyclic(maxLR: try reader.number("max_lr", nil, minimum: 0))
            c.baseLR = try reader.optionalNumber("base_lr", minimum: 0)
            c.stepSizeUp = try reader.integer("step_size_up", 2000, minimum: 1)
            c.stepSizeDown = try reader.optionalInteger("step_size_down", minimum: 1)
            c.mode = try reader.choice("mode", "triangular", ["triangular", "triangular2", "exp_range"])
            c.gamma = try reader.number("gamma", 1, minimum: 0)
            c.cycleMomentum = try reader.flag("cycle_momentum", true)
            c.baseMomentum = try reader.number("base_momentum", 0.8, in: 0...1)
            c.maxMomentum = try reader.number("max_momentum", 0.9, in: 0...1)
            self = .cyclic(c)
        case "onecycle":
            var o = OneCycle()
            o.maxLR = try reader.optionalNumber("max_lr", minimum: 0)
            o.totalSteps = try reader.optionalInteger("total_steps", minimum: 1)
            o.pctStart = try reader.number("pct_start", 0.3, in: 0...1)
            o.annealStrategy = try reader.choice("anneal_strategy", "cos", ["cos", "linear"])
            // Both divide the lr: 0 would make it infinite.
            o.divFactor = try reader.number("div_factor", 25, minimum: 0)
            o.finalDivFactor = try reader.number("final_div_factor", 1e4, minimum: 0)
            for (key, value) in [("div_factor", o.divFactor), ("final_div_factor", o.finalDivFactor)] where !(value > 0)
            {
                throw reader.bad(key, "\(value)", "a number > 0 (the lr is divided by it)")
            }
            o.threePhase = try reader.flag("three_phase", false)
            o.cycleMomentum = try reader.flag("cycle_momentum", true)
            o.baseMomentum = try reader.number("base_momentum", 0.85, in: 0...1)
            o.maxMomentum = try reader.number("max_momentum", 0.95, in: 0...1)
            self = .onecycle(o)
        case "wsd":
            var w = WarmupStableDecay(decay: try reader.integer("decay", nil, minimum: 0))
            w.warmup = try reader.integer("warmup", 0, minimum: 0)
            w.stable = try reader.optionalInteger("stable", minimum: 0)
            let shapes = WarmupStableDecay.shapes
            w.warmupType = try reader.choice("warmup_type", "linear", shapes)
            w.decayType = try reader.choice("decay_type", "cosine", shapes)
            w.minLRRatio = try reader.number("min_lr_ratio", 0, in: 0...1)
            w.numCycles = try reader.number("num_cycles", 0.5, minimum: 0)
            self = .wsd(w)
        case "inverse_sqrt":
            self = .inverseSqrt(
                warmup: try reader.integer("warmup", 0, minimum: 0),
                timescale: try reader.optionalInteger("timescale", minimum: 1))
        default:
            var p = Plateau()
            p.mode = try reader.choice("mode", "min", ["min", "max"])
            p.factor = try reader.number("factor", 0.1, minimum: 0)
            guard p.factor < 1 else {
                throw EtaError(.usage, "factor \(p.factor) in '\(spec)' must be < 1 (ReduceLROnPlateau)")
            }
            p.patience = try reader.integer("patience", 10, minimum: 0)
            p.threshold = try reader.number("threshold", 1e-4, minimum: 0)
            p.thresholdMode = try reader.choice("threshold_mode", "rel", ["rel", "abs"])
            p.cooldown = try reader.integer("cooldown", 0, minimum: 0)
            p.minLR = try reader.number("min_lr", 0, minimum: 0)
            p.eps = try reader.number("eps", 1e-8, minimum: 0)
            self = .plateau(p)
        }
    }

    /// The length of a warmup: `total_iters` of constant, linear and polynomial.
    public var warmupLength: Int? {
        switch self {
        case .constant(_, let n), .linear(_, _, let n), .polynomial(let n, _): return n
        default: return nil
        }
    }
}

/// Typed reads of SPEC values with messages naming the key.
struct SpecReader {
    var values: [String: String]
    let spec: String

    func bad(_ key: String, _ text: String, _ expected: String) -> EtaError {
        EtaError(.usage, "invalid value '\(text)' for '\(key)' in '\(spec)': expected \(expected)")
    }

    func required(_ key: String) -> EtaError { EtaError(.usage, "schedule '\(spec)' needs '\(key)='") }

    func optionalNumber(_ key: String, minimum: Double) throws -> Double? {
        guard let text = values[key] else { return nil }
        guard let value = Double(text), value.isFinite, value >= minimum else {
            throw bad(key, text, "a finite number >= \(minimum)")
        }
        return value
    }

    func number(_ key: String, _ fallback: Double?, minimum: Double) throws -> Double {
        if let value = try optionalNumber(key, minimum: minimum) { return value }
        guard let fallback else { throw required(key) }
        return fallback
    }

    func number(_ key: String, _ fallback: Double, in range: ClosedRange<Double>) throws -> Double {
        let value = try number(key, fallback, minimum: range.lowerBound)
        guard range.contains(value) else {
            throw bad(key, values[key] ?? "", "a number in [\(range.lowerBound), \(range.upperBound)]")
        }
        return value
    }

    /// Step counts in a SPEC stop here (2^40, a million times the longest run): arithmetic on them (sums of
    /// periods, `total_steps + 1`) then cannot overflow.
    static let largestInteger = 1 << 40

    func optionalInteger(_ key: String, minimum: Int) throws -> Int? {
        guard let text = values[key] else { return nil }
        guard let value = Int(text), value >= minimum, value <= Self.largestInteger else {
            throw bad(key, text, "an integer in \(minimum)...\(Self.largestInteger)")
        }
        return value
    }

    func integer(_ key: String, _ fallback: Int?, minimum: Int) throws -> Int {
        if let value = try optionalInteger(key, minimum: minimum) { return value }
        guard let fallback else { throw required(key) }
        return fallback
    }

    func list(_ key: String) throws -> [Int] {
        guard let text = values[key] else { throw required(key) }
        return try text.split(separator: "/").map {
            guard let value = Int($0), value >= 0, value <= Self.largestInteger else {
                throw bad(key, text, "integers in 0...\(Self.largestInteger) separated by '/', e.g. 30/80")
            }
            return value
        }
    }

    func choice(_ key: String, _ fallback: String, _ valid: [String]) throws -> String {
        guard let text = values[key] else { return fallback }
        guard valid.contains(text) else { throw bad(key, text, "one of \(valid.joined(separator: ", "))") }
        return text
    }

    func flag(_ key: String, _ fallback: Bool) throws -> Bool {
        guard let text = values[key] else { return fallback }
        switch text.lowercased() {
        case "true", "1": return true
        case "false", "0": return false
        default: throw bad(key, text, "true or false")
        }
    }
}
