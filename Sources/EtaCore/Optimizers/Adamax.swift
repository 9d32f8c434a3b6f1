import Foundation

/// `torch.optim.Adamax` (Kingma & Ba 2015, §7): the infinity-norm variant of Adam.
public struct Adamax: OptimizerRule {
    public var lr = 2e-3
    public var beta1 = 0.9
    public var beta2 = 0.999
    public var eps = 1e-8
    public var weightDecay = 0.0
    public var maximize = false

    public init() {}

    public static let name = "adamax"
    public static var keys: [HyperparameterKey<Self>] {
        [.number("lr", \.lr), .beta("beta1", \.beta1), .beta("beta2", \.beta2), .number("eps", \.eps),
         .number("weight_decay", \.weightDecay), .flag("maximize", \.maximize)]
    }
    public static var cycledMomentum: WritableKeyPath<Self, Double>? { \.beta1 }
    public static var weightDecay: WritableKeyPath<Self, Double>? { \.weightDecay }

    public var kernelSlots: [String] { ["exp_avg", "exp_inf"] }
    public var stateSlots: [String] { ["exp_avg", "exp_inf"] }

    /// c0 -lr/(1-beta1^t), c1 1-beta1, c2 beta2, c3 eps, c4 weight_decay.
    public func scalars(step t: Int, lr: Double, host: inout [String: Double]) -> UpdateScalars {
        let clr = lr / (1 - pow(beta1, Double(t)))
        return UpdateScalars([Float(-clr), Float(1 - beta1), Float(beta2), Float(eps), Float(weightDecay)],
                             flags: maximize ? UpdateScalars.maximize : 0)
    }

    public func referenceStep(_ x: inout ReferenceOptimizerState, grad: [Float], step t: Int, lr: Double) {
        Reference.adamax(self, &x, grad: grad, step: t, lr: lr)
    }
}
