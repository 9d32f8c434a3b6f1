import Foundation

/// LAMB (You et al., "Large Batch Optimization for Deep Learning", ICLR 2020) in Optax's form (`optax.lamb`):
/// u = m̂/(√v̂ + ε) + λθ with PyTorch Adam's moment roundings, then θ ← θ − lr·(‖θ‖/‖u‖)·u per
/// tensor (ratio 1 when either norm is 0). Optax's defaults: eps 1e-6, weight_decay 0. Two passes: the moments and
/// per-tensor sums, then the update, both block kernels, the sums never leaving the device.
public struct LAMB: OptimizerRule {
    /// The learning rate, `lr`.
    public var lr = 1e-3
    /// The decay rate of the gradient's running average, `beta1`.
    public var beta1 = 0.9
    /// The decay rate of the squared gradient's running average, `beta2`.
    public var beta2 = 0.999
    /// The term added to the denominator for numerical stability, `eps`.
    public var eps = 1e-6
    /// The weight decay λ added to the update direction (u + λθ), `weight_decay`.
    public var weightDecay = 0.0

    /// The reference implementation's defaults.
    public init() {}

    /// The SPEC name, `lamb`.
    public static let name = "lamb"
    /// The SPEC keys, bound to the properties above, in the order `spec` prints them.
    public static var keys: [HyperparameterKey<Self>] {
        [
            .number("lr", \.lr), .beta("beta1", \.beta1), .beta("beta2", \.beta2), .number("eps", \.eps),
            .number("weight_decay", \.weightDecay),
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
    /// The state kept: `exp_avg` and `exp_avg_sq`.
    public var stateSlots: [String] { ["exp_avg", "exp_avg_sq"] }
    /// Two block passes: `lamb_moments` (the moments and per-tensor sums), then `lamb_update`.
    public var twoPass: TwoPass<Self>? {
        TwoPass(
            accumulateKernel: "lamb_moments", accumulateSlots: ["exp_avg", "exp_avg_sq"], perTensor: true, finish: nil)
    }
    /// p g m v → m v, then p m v → p.
    public var twoPassBytesPerParameter: Int? { (16 + 8) + (12 + 4) }

    /// c0 1-beta1, c1 beta2, c2 1-beta2, c3 1-beta1^t, c4 1-beta2^t, c5 eps, c6 weight_decay, c7 lr.
    ///
    /// - Parameters:
    ///   - t: The step, from 1.
    ///   - lr: The scheduled learning rate.
    ///   - host: Host state between steps (unused).
    /// - Returns: The kernel's scalars and flags.
    public func scalars(step t: Int, lr: Double, host: inout [String: Double]) -> UpdateScalars {
        let step = Double(t)
        return UpdateScalars([
            Float(1 - beta1), Float(beta2), Float(1 - beta2), Float(1 - pow(beta1, step)), Float(1 - pow(beta2, step)),
            Float(eps), Float(weightDecay), Float(lr),
        ])
    }

    /// One step of the Reference's LAMB.
    ///
    /// - Parameters:
    ///   - x: The parameters and state, updated in place.
    ///   - grad: The gradient, one value per parameter.
    ///   - t: The step, from 1.
    ///   - lr: The scheduled learning rate.
    public func referenceStep(_ x: inout ReferenceOptimizerState, grad: [Float], step t: Int, lr: Double) {
        Reference.lamb(self, &x, grad: grad, step: t, lr: lr)
    }
}
