import Foundation

/// `torch.optim.RAdam` (Liu et al., ICLR 2020): Adam with the variance of the adaptive rate rectified.
public struct RAdam: OptimizerRule {
    public var lr = 1e-3
    public var beta1 = 0.9
    public var beta2 = 0.999
    public var eps = 1e-8
    public var weightDecay = 0.0
    public var decoupledWeightDecay = false
    public var maximize = false

    public init() {}

    public static let name = "radam"
    public static var keys: [HyperparameterKey<Self>] {
        [.number("lr", \.lr), .beta("beta1", \.beta1), .beta("beta2", \.beta2), .number("eps", \.eps),
         .number("weight_decay", \.weightDecay), .flag("decoupled_weight_decay", \.decoupledWeightDecay),
         .flag("maximize", \.maximize)]
    }
    public static var cycledMomentum: WritableKeyPath<Self, Double>? { \.beta1 }
    public static var weightDecay: WritableKeyPath<Self, Double>? { \.weightDecay }

    public var kernelSlots: [String] { ["exp_avg", "exp_avg_sq"] }
    public var stateSlots: [String] { ["exp_avg", "exp_avg_sq"] }

    /// c0 1-beta1, c1 beta2, c2 1-beta2, c3 1-beta1^t, c4 lr, c5 sqrt(1-beta2^t), c6 rect, c7 eps, c8 weight_decay,
    /// c9 1-lr·wd; flag A decoupled, B rectified (rho_t > 5).
    public func scalars(step t: Int, lr: Double, host: inout [String: Double]) -> UpdateScalars {
        let step = Double(t)
        let bc2 = 1 - pow(beta2, step)
        let rhoInf = 2 / (1 - beta2) - 1
        let rhoT = rhoInf - 2 * step * pow(beta2, step) / bc2
        let rect = rhoT > 5 ? ((rhoT - 4) * (rhoT - 2) * rhoInf / ((rhoInf - 4) * (rhoInf - 2) * rhoT)).squareRoot() : 0
        return UpdateScalars([Float(1 - beta1), Float(beta2), Float(1 - beta2), Float(1 - pow(beta1, step)), Float(lr),
                              Float(bc2.squareRoot()), Float(rect), Float(eps), Float(weightDecay), Float(1 - lr * weightDecay)],
                             flags: (maximize ? UpdateScalars.maximize : 0) | (decoupledWeightDecay ? UpdateScalars.flagA : 0)
                                 | (rhoT > 5 ? UpdateScalars.flagB : 0))
    }

    public func referenceStep(_ x: inout ReferenceOptimizerState, grad: [Float], step t: Int, lr: Double) {
        Reference.radam(self, &x, grad: grad, step: t, lr: lr)
    }
}
