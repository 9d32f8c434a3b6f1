/// `torch.optim.RMSprop` (Hinton, Coursera lecture 6.5, 2012): centered and momentum variants.
public struct RMSprop: OptimizerRule {
    public var lr = 1e-2
    public var alpha = 0.99
    public var eps = 1e-8
    public var weightDecay = 0.0
    public var momentum = 0.0
    public var centered = false
    public var maximize = false

    public init() {}

    public static let name = "rmsprop"
    public static var keys: [HyperparameterKey<Self>] {
        [.number("lr", \.lr), .number("alpha", \.alpha, 0...1, "in [0, 1]"), .number("eps", \.eps),
         .number("weight_decay", \.weightDecay), .number("momentum", \.momentum), .flag("centered", \.centered),
         .flag("maximize", \.maximize)]
    }
    public static var cycledMomentum: WritableKeyPath<Self, Double>? { \.momentum }
    public static var weightDecay: WritableKeyPath<Self, Double>? { \.weightDecay }

    public var kernelSlots: [String] { ["square_avg", "momentum_buffer", "grad_avg"] }
    public var stateSlots: [String] { ["square_avg"] + (momentum > 0 ? ["momentum_buffer"] : []) + (centered ? ["grad_avg"] : []) }

    /// c0 lr, c1 alpha, c2 1-alpha, c3 eps, c4 weight_decay, c5 momentum; flag A centered, B momentum.
    public func scalars(step t: Int, lr: Double, host: inout [String: Double]) -> UpdateScalars {
        UpdateScalars([Float(lr), Float(alpha), Float(1 - alpha), Float(eps), Float(weightDecay), Float(momentum)],
                      flags: (maximize ? UpdateScalars.maximize : 0) | (centered ? UpdateScalars.flagA : 0)
                          | (momentum > 0 ? UpdateScalars.flagB : 0))
    }

    public func referenceStep(_ x: inout ReferenceOptimizerState, grad: [Float], step t: Int, lr: Double) {
        Reference.rmsprop(self, &x, grad: grad, lr: lr)
    }
}
