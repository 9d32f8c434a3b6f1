/// Lion (Chen et al., arXiv:2302.06675), with lion-pytorch's equations: the sign of an interpolated momentum.
public struct Lion: OptimizerRule {
    public var lr = 1e-4
    public var beta1 = 0.9
    public var beta2 = 0.99
    public var weightDecay = 0.0

    public init() {}

    public static let name = "lion"
    public static var keys: [HyperparameterKey<Self>] {
        [.number("lr", \.lr), .number("beta1", \.beta1, 0...1, "in [0, 1]"), .number("beta2", \.beta2, 0...1, "in [0, 1]"),
         .number("weight_decay", \.weightDecay)]
    }
    public static var cycledMomentum: WritableKeyPath<Self, Double>? { \.beta1 }
    public static var weightDecay: WritableKeyPath<Self, Double>? { \.weightDecay }

    public var kernelSlots: [String] { ["exp_avg"] }
    public var stateSlots: [String] { ["exp_avg"] }

    /// c0 lr, c1 beta1, c2 1-beta1, c3 beta2, c4 1-beta2, c5 1-lr·wd.
    public func scalars(step t: Int, lr: Double, host: inout [String: Double]) -> UpdateScalars {
        UpdateScalars([Float(lr), Float(beta1), Float(1 - beta1), Float(beta2), Float(1 - beta2), Float(1 - lr * weightDecay)])
    }

    public func referenceStep(_ x: inout ReferenceOptimizerState, grad: [Float], step t: Int, lr: Double) {
        Reference.lion(self, &x, grad: grad, lr: lr)
    }
}
