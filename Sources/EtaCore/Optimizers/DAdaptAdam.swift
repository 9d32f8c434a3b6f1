import Foundation

/// D-Adaptation Adam (Defazio & Mishchenko, ICML 2023), `dadaptation.DAdaptAdam` 3.2 with layer_scale 1.
/// d, numerator_weighted and k live in the host state.
public struct DAdaptAdam: OptimizerRule, StepSizeAdapting {
    public var lr = 1.0
    public var beta1 = 0.9
    public var beta2 = 0.999
    public var eps = 1e-8
    public var weightDecay = 0.0
    public var decouple = false
    public var useBiasCorrection = false
    public var d0 = 1e-6
    public var growthRate = Double.infinity

    public init() {}

    public static let name = "dadapt_adam"
    public static var keys: [HyperparameterKey<Self>] {
        [.number("lr", \.lr), .beta("beta1", \.beta1), .beta("beta2", \.beta2), .number("eps", \.eps),
         .number("weight_decay", \.weightDecay), .flag("decouple", \.decouple), .flag("use_bias_correction", \.useBiasCorrection),
         .number("d0", \.d0, Double.leastNormalMagnitude...Double.greatestFiniteMagnitude, "> 0"),
         .unbounded("growth_rate", \.growthRate, minimum: 0, ">= 0 (inf: unbounded)")]
    }
    public static var capabilities: OptimizerCapabilities {
        OptimizerCapabilities(parameterGroups: false, sweepReplicas: false, compactStorage: false)
    }
    public static var cycledMomentum: WritableKeyPath<Self, Double>? { \.beta1 }
    public static var weightDecay: WritableKeyPath<Self, Double>? { \.weightDecay }

    public var kernelSlots: [String] { ["exp_avg", "exp_avg_sq"] }
    public var stateSlots: [String] { ["s", "exp_avg", "exp_avg_sq"] }
    /// g s m v [p] → s m v, then p m v → p.
    public var twoPassBytesPerParameter: Int? { (16 + (decouple ? 0 : 4) + 12) + (12 + 4) }

    /// Pass 1: c0 coupled weight decay, c1 eps, c2 beta1, c3 dlr(1-beta1), c4 beta2, c5 1-beta2, c6 √beta2, c7 dlr(1-√beta2).
    public func scalars(step t: Int, lr: Double, host: inout [String: Double]) -> UpdateScalars {
        let (_, dlr) = adaptiveStepSize(lr: lr, host: host)
        let sqrtBeta2 = pow(beta2, 0.5)
        return UpdateScalars([Float(decouple ? 0 : weightDecay), Float(eps), Float(beta1), Float(1.0 * dlr * (1 - beta1)), Float(beta2),
                              Float(1 - beta2), Float(sqrtBeta2), Float(dlr * (1 - sqrtBeta2))])
    }

    public var twoPass: TwoPass<Self>? {
        TwoPass(accumulateKernel: "dadapt_adam_accumulate", accumulateSlots: ["s", "exp_avg", "exp_avg_sq"], perTensor: false) {
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

    public func referenceStep(_ x: inout ReferenceOptimizerState, grad: [Float], step t: Int, lr: Double) {
        Reference.dadaptAdam(self, &x, grad: grad, step: t, lr: lr)
    }
}
