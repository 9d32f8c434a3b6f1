import Foundation

/// Schedule-Free AdamW (facebookresearch/schedule_free `AdamWScheduleFree`; Defazio et al., "The Road Less
/// Scheduled", 2024). The parameters hold y; `z` starts as the initial parameters; evaluation uses x (see
/// `Optimizer.evaluationMode`).
public struct ScheduleFreeAdamW: OptimizerRule, ScheduleFreeRule {
    /// The learning rate, `lr`.
    public var lr = 0.0025
    /// The interpolation β between z and the average x where the gradient is taken, `beta1`.
    public var beta1 = 0.9
    /// The decay rate of the squared gradient's running average, `beta2`.
    public var beta2 = 0.999
    /// The term added to the denominator for numerical stability, `eps`.
    public var eps = 1e-8
    /// The L2 penalty added to the gradient at y, `weight_decay`.
    public var weightDecay = 0.0
    /// Steps of linear learning-rate warmup, `warmup_steps`.
    public var warmupSteps = 0.0
    /// The power of the step count in the averaging weight, `r`.
    public var r = 0.0
    /// The power of the largest learning rate so far in the averaging weight, `weight_lr_power`.
    public var weightLRPower = 2.0

    /// The reference implementation's defaults.
    public init() {}

    /// The SPEC name, `schedulefree_adamw`.
    public static let name = "schedulefree_adamw"
    /// The SPEC keys, bound to the properties above, in the order `spec` prints them.
    public static var keys: [HyperparameterKey<Self>] {
        [
            .number("lr", \.lr), .beta("beta1", \.beta1), .beta("beta2", \.beta2), .number("eps", \.eps),
            .number("weight_decay", \.weightDecay), .number("warmup_steps", \.warmupSteps), .number("r", \.r),
            .number("weight_lr_power", \.weightLRPower),
        ]
    }
    /// No 16-bit storage: x and y are both read from z.
    public static var capabilities: OptimizerCapabilities { OptimizerCapabilities(compactStorage: false) }
    /// A momentum-cycling schedule drives `beta1`.
    public static var cycledMomentum: WritableKeyPath<Self, Double>? { \.beta1 }
    /// A parameter group may override `weight_decay`.
    public static var weightDecay: WritableKeyPath<Self, Double>? { \.weightDecay }

    /// The kernel's state arguments: `z`, `exp_avg_sq`.
    public var kernelSlots: [String] { ["z", "exp_avg_sq"] }
    /// The state kept: `z` (starts as the initial parameters) and `exp_avg_sq`.
    public var stateSlots: [String] { ["z", "exp_avg_sq"] }
    /// β of the evaluation average x = lerp(y, z, 1 − 1/β): `beta1`.
    public var averagingBeta: Double? { beta1 }

    /// c0 lr, c1 beta2, c2 1-beta2, c3 1-beta2^t, c4 eps, c5 weight_decay, c6 ckp1, c7 lr·(beta1·(1-ckp1)-1).
    ///
    /// - Parameters:
    ///   - t: The step, from 1.
    ///   - base: The scheduled learning rate, before warmup.
    ///   - host: Host state; `lr_max` and `weight_sum` are updated there.
    /// - Returns: The kernel's scalars and flags.
    public func scalars(step t: Int, lr base: Double, host: inout [String: Double]) -> UpdateScalars {
        let (lr, ckp1) = averagingWeight(step: t, lr: base, host: &host)
        return UpdateScalars([
            Float(lr), Float(beta2), Float(1 - beta2), Float(1 - pow(beta2, Double(t))), Float(eps),
            Float(weightDecay), Float(ckp1), Float(lr * (beta1 * (1 - ckp1) - 1)),
        ])
    }

    /// One step of the Reference's ScheduleFreeAdamW.
    ///
    /// - Parameters:
    ///   - x: The parameters and state, updated in place.
    ///   - grad: The gradient, one value per parameter.
    ///   - t: The step, from 1.
    ///   - lr: The scheduled learning rate.
    public func referenceStep(_ x: inout ReferenceOptimizerState, grad: [Float], step t: Int, lr: Double) {
        Reference.scheduleFree(self, adam: (beta2, eps), &x, grad: grad, step: t, lr: lr)
    }
}

/// Schedule-Free SGD (facebookresearch/schedule_free `SGDScheduleFree`).
public struct ScheduleFreeSGD: OptimizerRule, ScheduleFreeRule {
    /// The learning rate, `lr`.
    public var lr = 1.0
    /// The interpolation β between z and the average x where the gradient is taken, `momentum`.
    public var momentum = 0.9
    /// The L2 penalty added to the gradient at y, `weight_decay`.
    public var weightDecay = 0.0
    /// Steps of linear learning-rate warmup, `warmup_steps`.
    public var warmupSteps = 0.0
    /// The power of the step count in the averaging weight, `r`.
    public var r = 0.0
    /// The power of the largest learning rate so far in the averaging weight, `weight_lr_power`.
    public var weightLRPower = 2.0

    /// The reference implementation's defaults.
    public init() {}

    /// The SPEC name, `schedulefree_sgd`.
    public static let name = "schedulefree_sgd"
    /// The SPEC keys, bound to the properties above, in the order `spec` prints them.
    public static var keys: [HyperparameterKey<Self>] {
        [
            .number("lr", \.lr), .beta("momentum", \.momentum), .number("weight_decay", \.weightDecay),
            .number("warmup_steps", \.warmupSteps), .number("r", \.r), .number("weight_lr_power", \.weightLRPower),
        ]
    }
    /// No 16-bit storage: x and y are both read from z.
    public static var capabilities: OptimizerCapabilities { OptimizerCapabilities(compactStorage: false) }
    /// A momentum-cycling schedule drives `momentum`.
    public static var cycledMomentum: WritableKeyPath<Self, Double>? { \.momentum }
    /// A parameter group may override `weight_decay`.
    public static var weightDecay: WritableKeyPath<Self, Double>? { \.weightDecay }

    /// The kernel's state arguments: `z`.
    public var kernelSlots: [String] { ["z"] }
    /// The state kept: `z`, which starts as the initial parameters.
    public var stateSlots: [String] { ["z"] }
    /// β of the evaluation average x = lerp(y, z, 1 − 1/β): `momentum`.
    public var averagingBeta: Double? { momentum }

    /// c0 lr, c1 weight_decay, c2 ckp1, c3 lr·(momentum·(1-ckp1)-1).
    ///
    /// - Parameters:
    ///   - t: The step, from 1.
    ///   - base: The scheduled learning rate, before warmup.
    ///   - host: Host state; `lr_max` and `weight_sum` are updated there.
    /// - Returns: The kernel's scalars and flags.
    public func scalars(step t: Int, lr base: Double, host: inout [String: Double]) -> UpdateScalars {
        let (lr, ckp1) = averagingWeight(step: t, lr: base, host: &host)
        return UpdateScalars([Float(lr), Float(weightDecay), Float(ckp1), Float(lr * (momentum * (1 - ckp1) - 1))])
    }

    /// One step of the Reference's ScheduleFreeSGD.
    ///
    /// - Parameters:
    ///   - x: The parameters and state, updated in place.
    ///   - grad: The gradient, one value per parameter.
    ///   - t: The step, from 1.
    ///   - lr: The scheduled learning rate.
    public func referenceStep(_ x: inout ReferenceOptimizerState, grad: [Float], step t: Int, lr: Double) {
        Reference.scheduleFree(self, adam: nil, &x, grad: grad, step: t, lr: lr)
    }
}

/// What the two Schedule-Free optimizers share: warmup and the averaging weight.
public protocol ScheduleFreeRule {
    /// Steps of linear learning-rate warmup.
    var warmupSteps: Double { get }
    /// The power of the step count in the averaging weight.
    var r: Double { get }
    /// The power of the largest learning rate so far in the averaging weight.
    var weightLRPower: Double { get }
    /// β of the evaluation average x = lerp(y, z, 1 − 1/β).
    var averagingBeta: Double? { get }
}

extension ScheduleFreeRule {
    /// The averaging weight of step t (1-based) at scheduled lr `base`: its warmup, lr_max, (k+1)^r ·
    /// lr_max^weight_lr_power and the running weight sum, kept in `host` (saved with checkpoints).
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
