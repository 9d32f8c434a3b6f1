/// `torch.optim.Adadelta` (Zeiler, arXiv:1212.5701).
public struct Adadelta: OptimizerRule {
    public var lr = 1.0
    public var rho = 0.9
    public var eps = 1e-6
    public var weightDecay = 0.0
    public var maximize = false

    public init() {}

    public static let name = "adadelta"
    public static var keys: [HyperparameterKey<Self>] {
        [.number("lr", \.lr), .number("rho", \.rho, 0...1, "in [0, 1]"), .number("eps", \.eps),
         .number("weight_decay", \.weightDecay), .flag("maximize", \.maximize)]
    }
    public static var weightDecay: WritableKeyPath<Self, Double>? { \.weightDecay }

    public var kernelSlots: [String] { ["square_avg", "acc_delta"] }
    public var stateSlots: [String] { ["square_avg", "acc_delta"] }

    /// c0 lr, c1 rho, c2 1-rho, c3 eps, c4 weight_decay.
    public func scalars(step t: Int, lr: Double, host: inout [String: Double]) -> UpdateScalars {
        UpdateScalars([Float(lr), Float(rho), Float(1 - rho), Float(eps), Float(weightDecay)], flags: maximize ? UpdateScalars.maximize : 0)
    }

    public func referenceStep(_ x: inout ReferenceOptimizerState, grad: [Float], step t: Int, lr: Double) {
        Reference.adadelta(self, &x, grad: grad, lr: lr)
    }
}
