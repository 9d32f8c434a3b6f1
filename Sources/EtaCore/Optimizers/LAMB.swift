import Foundation

/// LAMB (You et al., "Large Batch Optimization for Deep Learning", ICLR 2020) in Optax's form (`optax.lamb`):
/// u = m̂/(√v̂ + ε) + λθ with PyTorch Adam's moment roundings, then θ ← θ − lr·(‖θ‖/‖u‖)·u per tensor (ratio 1
/// when either norm is 0). Optax's defaults: eps 1e-6, weight_decay 0. Two passes: the moments and per-tensor
/// sums, then the update, both block kernels, the sums never leaving the device.
public struct LAMB: OptimizerRule {
    public var lr = 1e-3
    public var beta1 = 0.9
    public var beta2 = 0.999
    public var eps = 1e-6
    public var weightDecay = 0.0

    public init() {}

    public static let name = "lamb"
    public static var keys: [HyperparameterKey<Self>] {
        [.number("lr", \.lr), .beta("beta1", \.beta1), .beta("beta2", \.beta2), .number("eps", \.eps),
         .number("weight_decay", \.weightDecay)]
    }
    public static var capabilities: OptimizerCapabilities {
        OptimizerCapabilities(parameterGroups: false, sweepReplicas: false, compactStorage: false)
    }
    public static var cycledMomentum: WritableKeyPath<Self, Double>? { \.beta1 }
    public static var weightDecay: WritableKeyPath<Self, Double>? { \.weightDecay }

    public var kernelSlots: [String] { ["exp_avg", "exp_avg_sq"] }
    public var stateSlots: [String] { ["exp_avg", "exp_avg_sq"] }
    public var twoPass: TwoPass<Self>? {
        TwoPass(accumulateKernel: "lamb_moments", accumulateSlots: ["exp_avg", "exp_avg_sq"], perTensor: true, finish: nil)
    }
    /// p g m v → m v, then p m v → p.
    public var twoPassBytesPerParameter: Int? { (16 + 8) + (12 + 4) }

    /// c0 1-beta1, c1 beta2, c2 1-beta2, c3 1-beta1^t, c4 1-beta2^t, c5 eps, c6 weight_decay, c7 lr.
    public func scalars(step t: Int, lr: Double, host: inout [String: Double]) -> UpdateScalars {
        let step = Double(t)
        return UpdateScalars([Float(1 - beta1), Float(beta2), Float(1 - beta2), Float(1 - pow(beta1, step)), Float(1 - pow(beta2, step)),
                              Float(eps), Float(weightDecay), Float(lr)])
    }

    public func referenceStep(_ x: inout ReferenceOptimizerState, grad: [Float], step t: Int, lr: Double) {
        Reference.lamb(self, &x, grad: grad, step: t, lr: lr)
    }
}
