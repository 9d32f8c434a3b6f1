/// `torch.optim.RMSprop` (Hinton, Coursera lecture 6.5, 2012): centered and momentum variants.
public struct RMSprop: OptimizerRule {
    /// The learning rate, `lr`.
    public var lr = 1e-2
    /// The smoothing constant of the squared gradient's running average, `alpha`.
    public var alpha = 0.99
    /// The term added to the denominator for numerical stability, `eps`.
    public var eps = 1e-8
    /// The L2 penalty added to the gradient, `weight_decay`.
    public var weightDecay = 0.0
    /// The momentum factor, `momentum`; 0 keeps no momentum buffer.
    public var momentum = 0.0
    /// Normalise by the gradient's estimated variance (keeps `grad_avg`), `centered`.
    public var centered = false
    /// Maximize the objective instead of minimizing it, `maximize`.
    public var maximize = false

    /// PyTorch's defaults.
    public init() {}

    /// The SPEC name, `rmsprop`.
    public static let name = "rmsprop"
    /// The SPEC keys, bound to the properties above, in the order `spec` prints them.
    public static var keys: [HyperparameterKey<Self>] {
        [
            .number("lr", \.lr), .number("alpha", \.alpha, 0...1, "in [0, 1]"), .number("eps", \.eps),
            .number("weight_decay", \.weightDecay), .number("momentum", \.momentum), .flag("centered", \.centered),
            .flag("maximize", \.maximize),
        ]
    }
    /// A momentum-cycling schedule drives `momentum`.
    public static var cycledMomentum: WritableKeyPath<Self, Double>? { \.momentum }
    /// A parameter group may override `weight_decay`.
    public static var weightDecay: WritableKeyPath<Self, Double>? { \.weightDecay }

    /// The kernel's state arguments: `square_avg`, `momentum_buffer`, `grad_avg`.
    public var kernelSlots: [String] { ["square_avg", "momentum_buffer", "grad_avg"] }
    /// The state kept: `square_avg`, `momentum_buffer` when momentum > 0, and `grad_avg` when centered.
    public var stateSlots: [String] {
        ["square_avg"] + (momentum > 0 ? ["momentum_buffer"] : []) + (centered ? ["grad_avg"] : [])
    }

    /// c0 lr, c1 alpha, c2 1-alpha, c3 eps, c4 weight_decay, c5 momentum; flag A centered, B momentum.
    ///
    /// - Parameters:
    ///   - t: The step, from 1.
    ///   - lr: The scheduled learning rate.
    ///   - host: Host state between steps (unused).
    /// - Returns: The kernel's scalars and flags.
    public func scalars(step t: Int, lr: Double, host: inout [String: Double]) -> UpdateScalars {
        UpdateScalars(
            [Float(lr), Float(alpha), Float(1 - alpha), Float(eps), Float(weightDecay), Float(momentum)],
            flags: (maximize ? UpdateScalars.maximize : 0) | (centered ? UpdateScalars.flagA : 0)
                | (momentum > 0 ? UpdateScalars.flagB : 0))
    }

    /// One step of the Reference's RMSprop.
    ///
    /// - Parameters:
    ///   - x: The parameters and state, updated in place.
    ///   - grad: The gradient, one value per parameter.
    ///   - t: The step, from 1.
    ///   - lr: The scheduled learning rate.
    public func referenceStep(_ x: inout ReferenceOptimizerState, grad: [Float], step t: Int, lr: Double) {
        Reference.rmsprop(self, &x, grad: grad, lr: lr)
    }
}
