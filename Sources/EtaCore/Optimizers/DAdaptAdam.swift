import Foundation

/// D-Adaptation Adam (Defazio & Mishchenko, ICML 2023), `dadaptation.DAdaptAdam` 3.2 with layer_scale 1.
/// d, numerator_weighted and k live in the host state.
public struct DAdaptAdam: OptimizerRule, StepSizeAdapting {
    /// The factor on the estimated step size d, `lr`.
    public var lr = 1.0
    /// The decay rate of the gradient's running average, `beta1`.
    public var beta1 = 0.9
    /// The decay rate of the squared gradient's running average, `beta2`.
    public var beta2 = 0.999
    /// The term added to the denominator for numerical stability, `eps`.
    public var eps = 1e-8
    /// The weight decay λ, `weight_decay`: decoupled or L2 as `decouple` says.
    public var weightDecay = 0.0
    /// Decoupled weight decay θ(1 − d·lr·λ) instead of the L2 term, `decouple`.
    public var decouple = false
    /// Adam's bias correction in the step size, `use_bias_correction`.
    public var useBiasCorrection = false
    /// The initial estimate of d, `d0`.
    public var d0 = 1e-6
    /// The largest factor d may grow by in one step, `growth_rate` (inf: unbounded).
    public var growthRate = Double.infinity

    /// The reference implementation's defaults.
    public init() {}

    /// The SPEC name, `dadapt_adam`.
    public static let name = "dadapt_adam"
    /// The SPEC keys, bound to the properties above, in the order `spec` prints them.
    public static var keys: [HyperparameterKey<Self>] {
        [
            .number("lr", \.lr), .beta("beta1", \.beta1), .beta("beta2", \.beta2), .number("eps", \.eps),
            .number("weight_decay", \.weightDecay), .flag("decouple", \.decouple),
            .flag("use_bias_correction", \.useBiasCorrection),
            .number("d0", \.d0, Double.leastNormalMagnitude...Double.greatestFiniteMagnitude, "> 0"),
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
    /// The state kept: `s`, `exp_avg` and `exp_avg_sq`.
    public var stateSlots: [String] { ["s", "exp_avg", "exp_avg_sq"] }
    /// g s m v [p] → s m v, then p m v → p.
    public var twoPassBytesPerParameter: Int? { (16 + (decouple ? 0 : 4) + 12) + (12 + 4) }

    /// Pass 1: c0 coupled weight decay, c1 eps, c2 beta1, c3 dlr(1-beta1), c4 beta2, c5 1-beta2, c6 √beta2, c7
    /// dlr(1-√beta2).
    ///
    /// - Parameters:
    ///   - t: The step, from 1.
    ///   - lr: The scheduled learning rate.
    ///   - host: Host state; the estimate `d` and the step count `k` are read from it.
    /// - Returns: The first pass's scalars and flags.
    public func scalars(step t: Int, lr: Double, host: inout [String: Double]) -> UpdateScalars {
        let (_, dlr) = adaptiveStepSize(lr: lr, host: host)
        let sqrtBeta2 = pow(beta2, 0.5)
        return UpdateScalars([
            Float(decouple ? 0 : weightDecay), Float(eps), Float(beta1), Float(1.0 * dlr * (1 - beta1)), Float(beta2),
            Float(1 - beta2), Float(sqrtBeta2), Float(dlr * (1 - sqrtBeta2)),
        ])
    }

    /// Two passes: `dadapt_adam_accumulate` (the moments and two sums), then d on the host and the update.
    public var twoPass: TwoPass<Self>? {
        TwoPass(
            accumulateKernel: "dadapt_adam_accumulate", accumulateSlots: ["s", "exp_avg", "exp_avg_sq"],
            perTensor: false
        ) {
            rule, sums, lr, host in rule.finish(sums: sums, lr: lr, host: &host)
        }
    }

    /// Pass 2: c0 eps, c1 -weight_decay·dlr (decoupled; 0 otherwise).
    func finish(sums: [Double], lr: Double, host: inout [String: Double]) -> UpdateScalars? {
        let (d, dlr) = adaptiveStepSize(lr: lr, host: host)
        let sqrtBeta2 = pow(beta2, 0.5)
        let weighted = sqrtBeta2 * (host["numerator_weighted"] ?? 0) + (1 - sqrtBeta2) * (1.0 * dlr * sums[0])
        let l1 = 1.0 * sums[1]
        guard l1 != 0 else { return nil }
        var next = d
        if lr > 0 {
            let dHat = weighted / ((1 - sqrtBeta2) * l1)
            host["d_hat"] = dHat
            next = max(d, min(dHat, d * growthRate))
        }
        (host["numerator_weighted"], host["d"]) = (weighted, next)
        host["k"] = (host["k"] ?? 0) + 1
        let decoupled = decouple && weightDecay != 0 ? -weightDecay * dlr : 0
        return UpdateScalars([Float(eps), Float(decoupled)])
    }

    /// One step of the Reference's DAdaptAdam.
    ///
    /// - Parameters:
    ///   - x: The parameters and state, updated in place.
    ///   - grad: The gradient, one value per parameter.
    ///   - t: The step, from 1.
    ///   - lr: The scheduled learning rate.
    public func referenceStep(_ x: inout ReferenceOptimizerState, grad: [Float], step t: Int, lr: Double) {
        Reference.dadaptAdam(self, &x, grad: grad, step: t, lr: lr)
    }
}
