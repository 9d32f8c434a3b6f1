import Foundation

extension FamilyOptimizer {
    /// The first pass of a two-pass optimizer (`Kernels/adaptive.cl`): it updates the moments and writes two partial
    /// sums per block of the arena.
    public struct TwoPhase: Sendable {
        /// The block kernel of the first pass.
        public let accumulateKernel: String
        /// Its state arguments s0…s3 in order.
        public let accumulateSlots: [String]
        /// Blocks never straddle a tensor, and the second pass reads its tensor's sums on the device (LAMB).
        public let perTensor: Bool
        /// Global estimates (Prodigy, D-Adaptation): given the two sums over the arena (in double) and the step's lr,
        /// updates the host state (d) and returns the second pass's scalars; nil skips the second pass, as the
        /// reference packages return early when the denominator sum is 0.
        public let finish: (@Sendable (Configuration, [Double], Double, inout [String: Double]) -> StepScalars?)?
    }

    static func flag(_ name: String, on: Bool) -> Key {
        Key(name: name, defaultValue: on ? 1 : 0, isFlag: true, range: 0...1, rangeText: "true or false")
    }

    /// LAMB (You et al., "Large Batch Optimization for Deep Learning", ICLR 2020) in Optax's form (`optax.lamb`):
    /// u = m̂/(√v̂ + ε) + λθ with PyTorch Adam's moment roundings, then θ ← θ − lr·(‖θ‖/‖u‖)·u per tensor (ratio 1
    /// when either norm is 0). Optax's defaults: eps 1e-6, weight_decay 0.
    static let lamb = FamilyOptimizer(
        name: "lamb", kernel: "lamb_update", kernelSlots: ["exp_avg", "exp_avg_sq"],
        keys: [.number("lr", 1e-3), .number("beta1", 0.9, beta, betaText), .number("beta2", 0.999, beta, betaText), .number("eps", 1e-6),
               .number("weight_decay", 0)],
        stateSlots: { _ in ["exp_avg", "exp_avg_sq"] },
        initialState: { _, _ in 0 },
        scalars: { c, t, lr, _ in
            let (b1, b2, step) = (c["beta1"], c["beta2"], Double(t))
            return StepScalars(values: [Float(1 - b1), Float(b2), Float(1 - b2), Float(1 - pow(b1, step)), Float(1 - pow(b2, step)),
                                        Float(c["eps"]), Float(c["weight_decay"]), Float(lr)], flags: 0)
        },
        twoPhase: TwoPhase(accumulateKernel: "lamb_moments", accumulateSlots: ["exp_avg", "exp_avg_sq"], perTensor: true, finish: nil))

    /// Prodigy's β3 (√β2 unless given).
    static func prodigyBeta3(_ c: Configuration) -> Double { c["beta3"] < 0 ? c["beta2"].squareRoot() : c["beta3"] }

    /// dlr = d·lr·bias correction at the optimizer's own step count k (kept in `host`, as the packages' group['k']).
    static func adaptiveStepSize(_ c: Configuration, lr: Double, host: [String: Double]) -> (d: Double, dlr: Double) {
        let d = host["d"] ?? c["d0"], k = host["k"] ?? 0
        let correction = c.flag("use_bias_correction")
            ? pow(1 - pow(c["beta2"], k + 1), 0.5) / (1 - pow(c["beta1"], k + 1)) : 1
        return (d, d * lr * correction)
    }

    /// Prodigy (Mishchenko & Defazio, arXiv:2306.06101), `prodigyopt.Prodigy` 1.1 with slice_p = 1. The parameter's
    /// initial value is kept in `p0`; d, d_max, d_numerator and k live in the host state (saved with checkpoints).
    static let prodigy = FamilyOptimizer(
        name: "prodigy", kernel: "prodigy_update", kernelSlots: ["exp_avg", "exp_avg_sq"],
        keys: [.number("lr", 1.0), .number("beta1", 0.9, beta, betaText), .number("beta2", 0.999, beta, betaText),
               .number("beta3", -1, -1...0.999999999, "in [0, 1), or -1 for sqrt(beta2)"), .number("eps", 1e-8),
               .number("weight_decay", 0), flag("decouple", on: true), .flag("use_bias_correction"), .flag("safeguard_warmup"),
               .number("d0", 1e-6, Double.leastNormalMagnitude...Double.greatestFiniteMagnitude, "> 0"), .number("d_coef", 1.0),
               .unbounded("growth_rate", .infinity, minimum: 0, ">= 0 (inf: unbounded)")],
        stateSlots: { c in ["p0", "s"] + (c["beta1"] > 0 ? ["exp_avg"] : []) + ["exp_avg_sq"] },
        initialState: { _, _ in 0 },
        scalars: { c, _, lr, host in
            let (d, dlr) = adaptiveStepSize(c, lr: lr, host: host)
            let (b1, b2, d0) = (c["beta1"], c["beta2"], c["d0"])
            let coupled = c.flag("decouple") ? 0 : c["weight_decay"]
            let sWeight = c.flag("safeguard_warmup") ? (d / d0) * d : (d / d0) * dlr
            return StepScalars(values: [Float(coupled), Float(b1), Float(d * (1 - b1)), Float(b2), Float(d * d * (1 - b2)),
                                        Float(prodigyBeta3(c)), Float(sWeight)], flags: b1 > 0 ? flagA : 0)
        },
        twoPhase: TwoPhase(accumulateKernel: "prodigy_accumulate", accumulateSlots: ["p0", "s", "exp_avg", "exp_avg_sq"], perTensor: false,
                           finish: { c, sums, lr, host in
            let (d, dlr) = adaptiveStepSize(c, lr: lr, host: host)
            let d0 = c["d0"], wd = c["weight_decay"]
            let numerator = (host["d_numerator"] ?? 0) * prodigyBeta3(c) + (d / d0) * dlr * sums[0]
            let denominator = sums[1]
            guard denominator != 0 else { return nil }
            var (next, dMax, dHat) = (d, host["d_max"] ?? d0, d)
            if lr > 0 {
                dHat = c["d_coef"] * numerator / denominator
                if d == d0 { next = max(d, dHat) }
                dMax = max(dMax, dHat)
                next = min(dMax, next * c["growth_rate"])
            }
            host["d_numerator"] = numerator
            host["d"] = next
            host["d_max"] = dMax
            host["d_hat"] = dHat
            host["k"] = (host["k"] ?? 0) + 1
            let decoupled = c.flag("decouple") && wd != 0 ? -wd * dlr : 0
            return StepScalars(values: [Float(c.flag("decouple") ? 0 : wd), Float(-dlr), Float(next * c["eps"]), Float(decoupled),
                                        Float(-dlr * next)], flags: c["beta1"] > 0 ? flagA : 0)
        }))

    /// D-Adaptation Adam (Defazio & Mishchenko, ICML 2023), `dadaptation.DAdaptAdam` 3.2 with layer_scale 1.
    /// d, numerator_weighted and k live in the host state.
    static let dadaptAdam = FamilyOptimizer(
        name: "dadapt_adam", kernel: "dadapt_adam_update", kernelSlots: ["exp_avg", "exp_avg_sq"],
        keys: [.number("lr", 1.0), .number("beta1", 0.9, beta, betaText), .number("beta2", 0.999, beta, betaText), .number("eps", 1e-8),
               .number("weight_decay", 0), .flag("decouple"), .flag("use_bias_correction"),
               .number("d0", 1e-6, Double.leastNormalMagnitude...Double.greatestFiniteMagnitude, "> 0"),
               .unbounded("growth_rate", .infinity, minimum: 0, ">= 0 (inf: unbounded)")],
        stateSlots: { _ in ["s", "exp_avg", "exp_avg_sq"] },
        initialState: { _, _ in 0 },
        scalars: { c, _, lr, host in
            let (_, dlr) = adaptiveStepSize(c, lr: lr, host: host)
            let (b1, b2) = (c["beta1"], c["beta2"])
            let sqrtBeta2 = pow(b2, 0.5)
            let coupled = c.flag("decouple") ? 0 : c["weight_decay"]
            return StepScalars(values: [Float(coupled), Float(c["eps"]), Float(b1), Float(1.0 * dlr * (1 - b1)), Float(b2), Float(1 - b2),
                                        Float(sqrtBeta2), Float(dlr * (1 - sqrtBeta2))], flags: 0)
        },
        twoPhase: TwoPhase(accumulateKernel: "dadapt_adam_accumulate", accumulateSlots: ["s", "exp_avg", "exp_avg_sq"], perTensor: false,
                           finish: { c, sums, lr, host in
            let (d, dlr) = adaptiveStepSize(c, lr: lr, host: host)
            let sqrtBeta2 = pow(c["beta2"], 0.5), wd = c["weight_decay"]
            let weighted = sqrtBeta2 * (host["numerator_weighted"] ?? 0) + (1 - sqrtBeta2) * (1.0 * dlr * sums[0])
            let l1 = 1.0 * sums[1]
            guard l1 != 0 else { return nil }
            var next = d
            if lr > 0 {
                let dHat = weighted / ((1 - sqrtBeta2) * l1)
                host["d_hat"] = dHat
                next = max(d, min(dHat, d * c["growth_rate"]))
            }
            host["numerator_weighted"] = weighted
            host["d"] = next
            host["k"] = (host["k"] ?? 0) + 1
            let decoupled = c.flag("decouple") && wd != 0 ? -wd * dlr : 0
            return StepScalars(values: [Float(c["eps"]), Float(decoupled)], flags: 0)
        }))
}
