/// `torch.optim.Adagrad` (Duchi et al., JMLR 2011).
public struct Adagrad: OptimizerRule {
    public var lr = 1e-2
    public var lrDecay = 0.0
    public var weightDecay = 0.0
    public var initialAccumulatorValue = 0.0
    public var eps = 1e-10
    public var maximize = false

    public init() {}

    public static let name = "adagrad"
    public static var keys: [HyperparameterKey<Self>] {
        [.number("lr", \.lr), .number("lr_decay", \.lrDecay), .number("weight_decay", \.weightDecay),
         .number("initial_accumulator_value", \.initialAccumulatorValue), .number("eps", \.eps), .flag("maximize", \.maximize)]
    }
    public static var weightDecay: WritableKeyPath<Self, Double>? { \.weightDecay }

    public var kernelSlots: [String] { ["sum"] }
    public var stateSlots: [String] { ["sum"] }
    public func initialValue(ofSlot slot: String) -> Float { Float(initialAccumulatorValue) }

    /// c0 clr = lr / (1 + (t-1)·lr_decay), c1 eps, c2 weight_decay.
    public func scalars(step t: Int, lr: Double, host: inout [String: Double]) -> UpdateScalars {
        UpdateScalars([Float(lr / (1 + Double(t - 1) * lrDecay)), Float(eps), Float(weightDecay)],
                      flags: maximize ? UpdateScalars.maximize : 0)
    }

    public func referenceStep(_ x: inout ReferenceOptimizerState, grad: [Float], step t: Int, lr: Double) {
        Reference.adagrad(self, &x, grad: grad, step: t, lr: lr)
    }
}
