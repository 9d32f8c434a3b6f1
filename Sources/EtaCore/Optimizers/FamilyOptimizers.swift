import Foundation

/// The rest of the optimizer family, each described once: SPEC keys with PyTorch's (or the reference
/// package's) defaults and ranges, state slots, the host scalars of a step, and the Reference. Every one runs as
/// one fused kernel (`Kernels/optimizers.cl`, `Sources/CEtaCPU/eta_optimizers.c`) over the whole arena.
///
/// RMSprop: Hinton, Coursera lecture 6.5 (2012); Adagrad: Duchi et al., JMLR 2011; Adadelta: Zeiler,
/// arXiv:1212.5701; Adamax: Kingma & Ba 2015 §7; NAdam: Dozat, ICLR 2016 workshop; RAdam: Liu et al.,
/// ICLR 2020; Lion: Chen et al., arXiv:2302.06675 (lion-pytorch's equations).
public struct FamilyOptimizer: Sendable {
    /// One SPEC key: its default and the values it accepts.
    public struct Key: Sendable {
        public let name: String
        public let defaultValue: Double
        /// `number` keys must lie in `range`; `flag` keys are true/false (stored as 1/0).
        public let isFlag: Bool
        public let range: ClosedRange<Double>
        public let rangeText: String
        /// Whether `inf` is accepted (growth_rate, whose default is unbounded).
        public var allowsInfinity = false

        static func number(_ name: String, _ value: Double, _ range: ClosedRange<Double> = 0...Double.greatestFiniteMagnitude,
                           _ text: String = ">= 0") -> Key {
            Key(name: name, defaultValue: value, isFlag: false, range: range, rangeText: text)
        }
        static func unbounded(_ name: String, _ value: Double, minimum: Double, _ text: String) -> Key {
            Key(name: name, defaultValue: value, isFlag: false, range: minimum...Double.greatestFiniteMagnitude, rangeText: text,
                allowsInfinity: true)
        }
        static func flag(_ name: String) -> Key { Key(name: name, defaultValue: 0, isFlag: true, range: 0...1, rangeText: "true or false") }
    }

    /// A configured family optimizer: its name and every key's value.
    public struct Configuration: Equatable, Sendable {
        public let name: String
        public let values: [String: Double]
        public subscript(key: String) -> Double { values[key] ?? 0 }
        public func flag(_ key: String) -> Bool { self[key] != 0 }
        public var descriptor: FamilyOptimizer { FamilyOptimizer.all[name]! }
    }

    /// What a step passes to the kernel.
    public struct StepScalars: Sendable {
        public var values: [Float]
        public var flags: Int32
    }

    public let name: String
    public let kernel: String
    /// The kernel's state arguments s0, s1, s2 in order; a slot a configuration does not hold is passed as absent.
    public let kernelSlots: [String]
    public let keys: [Key]
    /// State slots, by PyTorch's names, for a configuration.
    public let stateSlots: @Sendable (Configuration) -> [String]
    /// The initial value of each slot (Adagrad's accumulator starts at initial_accumulator_value).
    public let initialState: @Sendable (Configuration, String) -> Float
    /// The kernel scalars of step t (1-based) at learning rate lr; `host` carries host-side state between steps.
    public let scalars: @Sendable (Configuration, Int, Double, inout [String: Double]) -> StepScalars
    /// For optimizers whose update needs sums over the arena (LAMB's per-tensor norms, Prodigy's and
    /// D-Adaptation's global estimates): the first pass, which writes per-block partial sums. nil: one pass.
    public var twoPhase: TwoPhase? = nil

    public static let maximize: Int32 = 1, flagA: Int32 = 2, flagB: Int32 = 4

    static let beta = 0...0.999999999
    static let betaText = "in [0, 1)"

    /// Every family optimizer by SPEC name.
    public static let all: [String: FamilyOptimizer] = Dictionary(uniqueKeysWithValues: [
        rmsprop, adagrad, adadelta, adamax, nadam, radam, lion, schedulefreeAdamW, schedulefreeSGD, lamb, prodigy, dadaptAdam,
    ].map { ($0.name, $0) })

    static let rmsprop = FamilyOptimizer(
        name: "rmsprop", kernel: "rmsprop_update", kernelSlots: ["square_avg", "momentum_buffer", "grad_avg"],
        keys: [.number("lr", 1e-2), .number("alpha", 0.99, 0...1, "in [0, 1]"), .number("eps", 1e-8), .number("weight_decay", 0),
               .number("momentum", 0), .flag("centered"), .flag("maximize")],
        stateSlots: { c in ["square_avg"] + (c["momentum"] > 0 ? ["momentum_buffer"] : []) + (c.flag("centered") ? ["grad_avg"] : []) },
        initialState: { _, _ in 0 },
        scalars: { c, _, lr, _ in
            StepScalars(values: [Float(lr), Float(c["alpha"]), Float(1 - c["alpha"]), Float(c["eps"]), Float(c["weight_decay"]), Float(c["momentum"])],
                        flags: (c.flag("maximize") ? maximize : 0) | (c.flag("centered") ? flagA : 0) | (c["momentum"] > 0 ? flagB : 0))
        })

    static let adagrad = FamilyOptimizer(
        name: "adagrad", kernel: "adagrad_update", kernelSlots: ["sum"],
        keys: [.number("lr", 1e-2), .number("lr_decay", 0), .number("weight_decay", 0), .number("initial_accumulator_value", 0),
               .number("eps", 1e-10), .flag("maximize")],
        stateSlots: { _ in ["sum"] },
        initialState: { c, _ in Float(c["initial_accumulator_value"]) },
        scalars: { c, t, lr, _ in
            StepScalars(values: [Float(lr / (1 + Double(t - 1) * c["lr_decay"])), Float(c["eps"]), Float(c["weight_decay"])],
                        flags: c.flag("maximize") ? maximize : 0)
        })

    static let adadelta = FamilyOptimizer(
        name: "adadelta", kernel: "adadelta_update", kernelSlots: ["square_avg", "acc_delta"],
        keys: [.number("lr", 1.0), .number("rho", 0.9, 0...1, "in [0, 1]"), .number("eps", 1e-6), .number("weight_decay", 0), .flag("maximize")],
        stateSlots: { _ in ["square_avg", "acc_delta"] },
        initialState: { _, _ in 0 },
        scalars: { c, _, lr, _ in
            StepScalars(values: [Float(lr), Float(c["rho"]), Float(1 - c["rho"]), Float(c["eps"]), Float(c["weight_decay"])],
                        flags: c.flag("maximize") ? maximize : 0)
        })

    static let adamax = FamilyOptimizer(
        name: "adamax", kernel: "adamax_update", kernelSlots: ["exp_avg", "exp_inf"],
        keys: [.number("lr", 2e-3), .number("beta1", 0.9, beta, betaText), .number("beta2", 0.999, beta, betaText), .number("eps", 1e-8),
               .number("weight_decay", 0), .flag("maximize")],
        stateSlots: { _ in ["exp_avg", "exp_inf"] },
        initialState: { _, _ in 0 },
        scalars: { c, t, lr, _ in
            let clr = lr / (1 - pow(c["beta1"], Double(t)))
            return StepScalars(values: [Float(-clr), Float(1 - c["beta1"]), Float(c["beta2"]), Float(c["eps"]), Float(c["weight_decay"])],
                               flags: c.flag("maximize") ? maximize : 0)
        })

    static let nadam = FamilyOptimizer(
        name: "nadam", kernel: "nadam_update", kernelSlots: ["exp_avg", "exp_avg_sq"],
        keys: [.number("lr", 2e-3), .number("beta1", 0.9, beta, betaText), .number("beta2", 0.999, beta, betaText), .number("eps", 1e-8),
               .number("weight_decay", 0), .number("momentum_decay", 4e-3), .flag("decoupled_weight_decay"), .flag("maximize")],
        stateSlots: { _ in ["exp_avg", "exp_avg_sq"] },
        initialState: { _, _ in 0 },
        scalars: { c, t, lr, host in
            let (b1, b2, psi, step) = (c["beta1"], c["beta2"], c["momentum_decay"], Double(t))
            let mu = b1 * (1 - 0.5 * pow(0.96, step * psi))
            let muNext = b1 * (1 - 0.5 * pow(0.96, (step + 1) * psi))
            // PyTorch keeps mu_product as a float32 tensor: multiply in float32, read back as a double.
            let product = Double(Float(host["mu_product"] ?? 1) * Float(mu))
            host["mu_product"] = product
            let productNext = product * muNext
            return StepScalars(values: [Float(1 - b1), Float(b2), Float(1 - b2), Float(1 - pow(b2, step)), Float(c["eps"]),
                                        Float(c["weight_decay"]), Float(1 - lr * c["weight_decay"]),
                                        Float(-lr * (1 - mu) / (1 - product)), Float(-lr * muNext / (1 - productNext))],
                               flags: (c.flag("maximize") ? maximize : 0) | (c.flag("decoupled_weight_decay") ? flagA : 0))
        })

    static let radam = FamilyOptimizer(
        name: "radam", kernel: "radam_update", kernelSlots: ["exp_avg", "exp_avg_sq"],
        keys: [.number("lr", 1e-3), .number("beta1", 0.9, beta, betaText), .number("beta2", 0.999, beta, betaText), .number("eps", 1e-8),
               .number("weight_decay", 0), .flag("decoupled_weight_decay"), .flag("maximize")],
        stateSlots: { _ in ["exp_avg", "exp_avg_sq"] },
        initialState: { _, _ in 0 },
        scalars: { c, t, lr, _ in
            let (b1, b2, step) = (c["beta1"], c["beta2"], Double(t))
            let bc2 = 1 - pow(b2, step)
            let rhoInf = 2 / (1 - b2) - 1
            let rhoT = rhoInf - 2 * step * pow(b2, step) / bc2
            let rect = rhoT > 5 ? ((rhoT - 4) * (rhoT - 2) * rhoInf / ((rhoInf - 4) * (rhoInf - 2) * rhoT)).squareRoot() : 0
            return StepScalars(values: [Float(1 - b1), Float(b2), Float(1 - b2), Float(1 - pow(b1, step)), Float(lr), Float(bc2.squareRoot()),
                                        Float(rect), Float(c["eps"]), Float(c["weight_decay"]), Float(1 - lr * c["weight_decay"])],
                               flags: (c.flag("maximize") ? maximize : 0) | (c.flag("decoupled_weight_decay") ? flagA : 0) | (rhoT > 5 ? flagB : 0))
        })

    static let lion = FamilyOptimizer(
        name: "lion", kernel: "lion_update", kernelSlots: ["exp_avg"],
        keys: [.number("lr", 1e-4), .number("beta1", 0.9, 0...1, "in [0, 1]"), .number("beta2", 0.99, 0...1, "in [0, 1]"), .number("weight_decay", 0)],
        stateSlots: { _ in ["exp_avg"] },
        initialState: { _, _ in 0 },
        scalars: { c, _, lr, _ in
            StepScalars(values: [Float(lr), Float(c["beta1"]), Float(1 - c["beta1"]), Float(c["beta2"]), Float(1 - c["beta2"]),
                                 Float(1 - lr * c["weight_decay"])], flags: 0)
        })

    /// Schedule-Free's averaging weight of step t (1-based) at scheduled lr `lr`: its warmup, lr_max,
    /// (k+1)^r · lr_max^weight_lr_power and the running weight sum, kept in `host` (saved with checkpoints).
    static func scheduleFreeWeights(_ c: Configuration, step t: Int, lr base: Double, host: inout [String: Double]) -> (lr: Double, ckp1: Double) {
        let k = Double(t - 1), warmup = c["warmup_steps"]
        let lr = base * (k < warmup ? (k + 1) / warmup : 1)
        let lrMax = max(lr, host["lr_max"] ?? -1)
        host["lr_max"] = lrMax
        let weight = pow(k + 1, c["r"]) * pow(lrMax, c["weight_lr_power"])
        let weightSum = (host["weight_sum"] ?? 0) + weight
        host["weight_sum"] = weightSum
        return (lr, weightSum == 0 ? 0 : weight / weightSum)
    }

    /// facebookresearch/schedule_free `AdamWScheduleFree` (Defazio et al., "The Road Less Scheduled", 2024).
    /// The parameter holds y; `z` starts as the initial parameters; evaluation uses x (see `Optimizer.evaluationMode`).
    static let schedulefreeAdamW = FamilyOptimizer(
        name: "schedulefree_adamw", kernel: "schedulefree_adamw_update", kernelSlots: ["z", "exp_avg_sq"],
        keys: [.number("lr", 0.0025), .number("beta1", 0.9, beta, betaText), .number("beta2", 0.999, beta, betaText), .number("eps", 1e-8),
               .number("weight_decay", 0), .number("warmup_steps", 0), .number("r", 0), .number("weight_lr_power", 2)],
        stateSlots: { _ in ["z", "exp_avg_sq"] },
        initialState: { _, _ in 0 },
        scalars: { c, t, base, host in
            let (lr, ckp1) = scheduleFreeWeights(c, step: t, lr: base, host: &host)
            let b2 = c["beta2"]
            return StepScalars(values: [Float(lr), Float(b2), Float(1 - b2), Float(1 - pow(b2, Double(t))), Float(c["eps"]),
                                        Float(c["weight_decay"]), Float(ckp1), Float(lr * (c["beta1"] * (1 - ckp1) - 1))], flags: 0)
        })

    /// facebookresearch/schedule_free `SGDScheduleFree`.
    static let schedulefreeSGD = FamilyOptimizer(
        name: "schedulefree_sgd", kernel: "schedulefree_sgd_update", kernelSlots: ["z"],
        keys: [.number("lr", 1.0), .number("momentum", 0.9, 0...0.999999999, "in [0, 1)"), .number("weight_decay", 0),
               .number("warmup_steps", 0), .number("r", 0), .number("weight_lr_power", 2)],
        stateSlots: { _ in ["z"] },
        initialState: { _, _ in 0 },
        scalars: { c, t, base, host in
            let (lr, ckp1) = scheduleFreeWeights(c, step: t, lr: base, host: &host)
            return StepScalars(values: [Float(lr), Float(c["weight_decay"]), Float(ckp1), Float(lr * (c["momentum"] * (1 - ckp1) - 1))], flags: 0)
        })

    /// The key a momentum-cycling schedule drives: `momentum` where the optimizer has one, else `beta1`; nil for
    /// optimizers with neither (adagrad, adadelta).
    public static func cycledKey(_ c: Configuration) -> String? {
        let keys = c.descriptor.keys.map(\.name)
        return keys.contains("momentum") ? "momentum" : keys.contains("beta1") ? "beta1" : nil
    }

    /// The averaging β of a Schedule-Free optimizer (beta1 or momentum); nil for the others.
    public static func scheduleFreeBeta(_ c: Configuration) -> Double? {
        switch c.name {
        case "schedulefree_adamw": c["beta1"]
        case "schedulefree_sgd": c["momentum"]
        default: nil
        }
    }

    /// Parses the `key=value` pairs of a SPEC for this optimizer (exit-64 errors naming the bad part).
    func configuration(values given: [String: String], spec: String) throws -> Configuration {
        var values: [String: Double] = [:]
        for key in keys {
            guard let text = given[key.name] else { values[key.name] = key.defaultValue; continue }
            if key.isFlag {
                switch text.lowercased() {
                case "true", "1", "yes": values[key.name] = 1
                case "false", "0", "no": values[key.name] = 0
                default: throw EtaError(.usage, "invalid value '\(text)' for '\(key.name)' in SPEC '\(spec)': expected true or false")
                }
            } else {
                guard let value = Double(text), value.isFinite || (key.allowsInfinity && value == .infinity) else {
                    throw EtaError(.usage, "invalid value '\(text)' for '\(key.name)' in SPEC '\(spec)': expected a finite number")
                }
                guard key.range.contains(value) || (key.allowsInfinity && value == .infinity) else {
                    throw EtaError(.usage, "invalid value \(value) for '\(key.name)' in SPEC '\(spec)': must be \(key.rangeText)")
                }
                values[key.name] = value
            }
        }
        return Configuration(name: name, values: values)
    }
}
