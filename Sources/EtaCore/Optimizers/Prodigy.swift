import Foundation

/// Prodigy (Mishchenko & Defazio, arXiv:2306.06101), `prodigyopt.Prodigy` 1.1 with slice_p = 1: Adam whose step
/// size d is estimated from the distance travelled. The initial parameters are kept in `p0`; d, d_max, d_numerator
/// and k live in the host state (saved with checkpoints).
public struct Prodigy: OptimizerRule, StepSizeAdapting {
    /// The factor on the estimated step size d, `lr`.
    public var lr = 1.0
    /// The decay rate of the gradient's running average, `beta1`.
    public var beta1 = 0.9
    /// The decay rate of the squared gradient's running average, `beta2`.
    public var beta2 = 0.999
    /// -1: √beta2.
    public var beta3 = -1.0
    /// The term added to the denominator for numerical stability, `eps`.
    public var eps = 1e-8
    /// The weight decay λ, `weight_decay`: decoupled or L2 as `decouple` says.
    public var weightDecay = 0.0
    /// Decoupled weight decay θ(1 − d·lr·λ) instead of the L2 term, `decouple`.
    public var decouple = true
    /// Adam's bias correction in the step size, `use_bias_correction`.
    public var useBiasCorrection = false
    /// Add gradients to s with weight d instead of d·lr (for warm-up schedules), `safeguard_warmup`.
    public var safeguardWarmup = false
    /// The initial estimate of d, `d0`.
    public var d0 = 1e-6
    /// The factor on every new estimate of d, `d_coef`.
    public var dCoef = 1.0
    /// The largest factor d may grow by in one step, `growth_rate` (inf: unbounded).
    public var growthRate = Double.infinity

    /// The reference implementation's defaults.
    public init() {}

    /// The SPEC name, `prodigy`.
    public static let name = "prodigy"
    /// The SPEC keys, bound to the properties above, in the order `spec` prints them.
    public static var keys: [HyperparameterKey<Self>] {
        [
            .number("lr", \.lr), .beta("beta1", \.beta1), .beta("beta2", \.beta2),
            .number("beta3", \.beta3, -1...0.999999999, "in [0, 1), or -1 for sqrt(beta2)"), .number("eps", \.eps),
            .number("weight_decay", \.weightDecay), .flag("decouple", \.decouple),
            .flag("use_bias_correction", \.useBiasCorrection),
            .flag("safeguard_warmup", \.safeguardWarmup),
            .number("d0", \.d0, Double.leastNormalMagnitude...Double.greatestFiniteMagnitude, "> 0"),
            .number("d_coef", \.dCoef),
            .unbounded("growth_rate", \.growthRate, minimum: 0, ">= 0 (inf: unbounded)"),
        ]
    }
    /// No parameter groups, sweep replicas or 16-bit storage: a step needs sums over the whole arena.
    public static var capabilities: OptimizerCapabilities { .wholeArena }
    /// A momentum-cycling schedule drives `beta1`.
    public static var cycledMomentum: WritableKeyPath<Self, Double>? { \.beta1 }
    /// The weight decay key, `weight_decay` (no parameter groups: see ``capabilities``).
    public static var weightDecay: WritableKeyPath<Self, Double>? { \.weightDecay }

    /// The update pass's state arguments: `exp_avg`, `exp_avg_sq`.
    public var kernelSlots: [String] { ["exp_avg", "exp_avg_sq"] }
    /// The state kept: `p0` (the initial parameters), `s`, `exp_avg` when beta1 > 0, and `exp_avg_sq`.
    public var stateSlots: [String] { ["p0", "s"] + (beta1 > 0 ? ["exp_avg"] : []) + ["exp_avg_sq"] }
    /// p g p0 s [m] v → s [m] v, then p [m | g] v → p.
    public var twoPassBytesPerParameter: Int? { beta1 > 0 ? (24 + 12) + (12 + 4) : (20 + 8) + (12 + 4) }

    /// Prodigy's β3 (√β2 unless given).
    var effectiveBeta3: Double { beta3 < 0 ? beta2.squareRoot() : beta3 }

    /// Pass 1: c0 coupled weight decay, c1 beta1, c2 d(1-beta1), c3 beta2, c4 d²(1-beta2), c5 beta3, c6 (d/d0)·dlr
    /// (or (d/d0)·d with safeguard_warmup); flag A beta1 > 0.
    ///
    /// - Parameters:
    ///   - t: The step, from 1.
    ///   - lr: The scheduled learning rate.
    ///   - host: Host state; the estimate `d` and the step count `k` are read from it.
    /// - Returns: The first pass's scalars and flags.
    public func scalars(step t: Int, lr: Double, host: inout [String: Double]) -> UpdateScalars {
        let (d, dlr) = adaptiveStepSize(lr: lr, host: host)
        let coupled = decouple ? 0 : weightDecay
        let sWeight = safeguardWarmup ? (d / d0) * d : (d / d0) * dlr
        return UpdateScalars(
            [
                Float(coupled), Float(beta1), Float(d * (1 - beta1)), Float(beta2), Float(d * d * (1 - beta2)),
                Float(effectiveBeta3), Float(sWeight),
            ], flags: beta1 > 0 ? UpdateScalars.flagA : 0)
    }

    /// Two passes: `prodigy_accumulate` (the moments and two sums), then d on the host and `prodigy_update`.
    public var twoPass: TwoPass<Self>? {
        TwoPass(
            accumulateKernel: "prodigy_accumulate", accumulateSlots: ["p0", "s", "exp_avg", "exp_avg_sq"],
            perTensor: false
        ) {
            rule, sums, lr, host in rule.finish(sums: sums, lr: lr, host: &host)
        }
    }

    /// Pass 2: c0 coupled weight decay, c1 -dlr, c2 d·eps (the new d), c3 -weight_decay·dlr (decoupled), c4 -dlr·d.
    func finish(sums: [Double], lr: Double, host: inout [String: Double]) -> UpdateScalars? {
        let (d, dlr) = adaptiveStepSize(lr: lr, host: host)
        let numerator = (host["d_numerator"] ?? 0) * effectiveBeta3 + (d / d0) * dlr * sums[0]
        let denominator = sums[1]
        guard denominator != 0 else { return nil }
        var (next, dMax, dHat) = (d, host["d_max"] ?? d0, d)
        if lr > 0 {
            dHat = dCoef * numerator / denominator
            if d == d0 { next = max(d, dHat) }
            dMax = max(dMax, dHat)
            next = min(dMax, next * growthRate)
        }
        (host["d_numerator"], host["d"], host["d_max"], host["d_hat"]) = (numerator, next, dMax, dHat)
        host["k"] = (host["k"] ?? 0) + 1
        let decoupled = decouple && weightDecay != 0 ? -weightDecay * dlr : 0
        return UpdateScalars(
            [Float(decouple ? 0 : weightDecay), Float(-dlr), Float(next * eps), Float(decoupled), Float(-dlr * next)],
            flags: beta1 > 0 ? UpdateScalars.flagA : 0)
    }

    /// One step of the Reference's Prodigy.
    ///
    /// - Parameters:
    ///   - x: The parameters and state, updated in place.
    ///   - grad: The gradient, one value per parameter.
    ///   - t: The step, from 1.
    ///   - lr: The scheduled learning rate.
    public func referenceStep(_ x: inout ReferenceOptimizerState, grad: [Float], step t: Int, lr: Double) {
        Reference.prodigy(self, &x, grad: grad, step: t, lr: lr)
    }
}

/// Optimizers that estimate their own step size d (the effective lr is d·lr).
public protocol StepSizeAdapting {
    /// The initial estimate of d.
    var d0: Double { get }
    /// β1, in the bias correction.
    var beta1: Double { get }
    /// β2, in the bias correction.
    var beta2: Double { get }
    /// Whether the step size includes Adam's bias correction.
    var useBiasCorrection: Bool { get }
}

extension StepSizeAdapting {
    /// dlr = d·lr·bias correction at the optimizer's own step count k (kept in `host`, as the packages' group['k']).
    func adaptiveStepSize(lr: Double, host: [String: Double]) -> (d: Double, dlr: Double) {
        let d = host["d"] ?? d0, k = host["k"] ?? 0
        let correction = useBiasCorrection ? pow(1 - pow(beta2, k + 1), 0.5) / (1 - pow(beta1, k + 1)) : 1
        return (d, d * lr * correction)
    }
}
