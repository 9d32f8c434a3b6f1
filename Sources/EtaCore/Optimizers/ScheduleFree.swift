import Foundation

/// Schedule-Free AdamW (facebookresearch/schedule_free `AdamWScheduleFree`; Defazio et al., "The Road Less
/// Scheduled", 2024). The parameters hold y; `z` starts as the initial parameters; evaluation uses x (see
/// `Optimizer.evaluationMode`).
public struct ScheduleFreeAdamW: OptimizerRule, ScheduleFreeRule {
    public var lr = 0.0025
    public var beta1 = 0.9
    public var beta2 = 0.999
    public var eps = 1e-8
    public var weightDecay = 0.0
    public var warmupSteps = 0.0
    public var r = 0.0
    public var weightLRPower = 2.0

    public init() {}

    public static let name = "schedulefree_adamw"
    public static var keys: [HyperparameterKey<Self>] {
        [.number("lr", \.lr), .beta("beta1", \.beta1), .beta("beta2", \.beta2), .number("eps", \.eps),
         .number("weight_decay", \.weightDecay), .number("warmup_steps", \.warmupSteps), .number("r", \.r),
         .number("weight_lr_power", \.weightLRPower)]
    }
    public static var capabilities: OptimizerCapabilities { OptimizerCapabilities(compactStorage: false) }
    public static var cycledMomentum: WritableKeyPath<Self, Double>? { \.beta1 }
    public static var weightDecay: WritableKeyPath<Self, Double>? { \.weightDecay }

    public var kernelSlots: [String] { ["z", "exp_avg_sq"] }
    public var stateSlots: [String] { ["z", "exp_avg_sq"] }
    public var averagingBeta: Double? { beta1 }

    /// c0 lr, c1 beta2, c2 1-beta2, c3 1-beta2^t, c4 eps, c5 weight_decay, c6 ckp1, c7 lr·(beta1·(1-ckp1)-1).
    public func scalars(step t: Int, lr base: Double, host: inout [String: Double]) -> UpdateScalars {
        let (lr, ckp1) = averagingWeight(step: t, lr: base, host: &host)
        return UpdateScalars([Float(lr), Float(beta2), Float(1 - beta2), Float(1 - pow(beta2, Double(t))), Float(eps),
                              Float(weightDecay), Float(ckp1), Float(lr * (beta1 * (1 - ckp1) - 1))])
    }

    public func referenceStep(_ x: inout ReferenceOptimizerState, grad: [Float], step t: Int, lr: Double) {
        Reference.scheduleFree(self, adam: (beta2, eps), &x, grad: grad, step: t, lr: lr)
    }
}

/// Schedule-Free SGD (facebookresearch/schedule_free `SGDScheduleFree`).
public struct ScheduleFreeSGD: OptimizerRule, ScheduleFreeRule {
    public var lr = 1.0
    public var momentum = 0.9
    public var weightDecay = 0.0
    public var warmupSteps = 0.0
    public var r = 0.0
    public var weightLRPower = 2.0

    public init() {}

    public static let name = "schedulefree_sgd"
    public static var keys: [HyperparameterKey<Self>] {
        [.number("lr", \.lr), .beta("momentum", \.momentum), .number("weight_decay", \.weightDecay),
         .number("warmup_steps", \.warmupSteps), .number("r", \.r), .number("weight_lr_power", \.weightLRPower)]
    }
    public static var capabilities: OptimizerCapabilities { OptimizerCapabilities(compactStorage: false) }
    public static var cycledMomentum: WritableKeyPath<Self, Double>? { \.momentum }
    public static var weightDecay: WritableKeyPath<Self, Double>? { \.weightDecay }

    public var kernelSlots: [String] { ["z"] }
    public var stateSlots: [String] { ["z"] }
    public var averagingBeta: Double? { momentum }

    /// c0 lr, c1 weight_decay, c2 ckp1, c3 lr·(momentum·(1-ckp1)-1).
    public func scalars(step t: Int, lr base: Double, host: inout [String: Double]) -> UpdateScalars {
        let (lr, ckp1) = averagingWeight(step: t, lr: base, host: &host)
        return UpdateScalars([Float(lr), Float(weightDecay), Float(ckp1), Float(lr * (momentum * (1 - ckp1) - 1))])
    }

    public func referenceStep(_ x: inout ReferenceOptimizerState, grad: [Float], step t: Int, lr: Double) {
        Reference.scheduleFree(self, adam: nil, &x, grad: grad, step: t, lr: lr)
    }
}

/// What the two Schedule-Free optimizers share: warmup and the averaging weight.
public protocol ScheduleFreeRule {
    var warmupSteps: Double { get }
    var r: Double { get }
    var weightLRPower: Double { get }
    var averagingBeta: Double? { get }
}

extension ScheduleFreeRule {
    /// The averaging weight of step t (1-based) at scheduled lr `base`: its warmup, lr_max, (k+1)^r · lr_max^weight_lr_power
    /// and the running weight sum, kept in `host` (saved with checkpoints).
    func averagingWeight(step t: Int, lr base: Double, host: inout [String: Double]) -> (lr: Double, ckp1: Double) {
        let k = Double(t - 1)
        let lr = base * (k < warmupSteps ? (k + 1) / warmupSteps : 1)
        let lrMax = max(lr, host["lr_max"] ?? -1)
        host["lr_max"] = lrMax
        let weight = pow(k + 1, r) * pow(lrMax, weightLRPower)
        let weightSum = (host["weight_sum"] ?? 0) + weight
        host["weight_sum"] = weightSum
        return (lr, weightSum == 0 ? 0 : weight / weightSum)
    }
}
