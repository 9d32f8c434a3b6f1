/// `torch.optim.Adagrad` (Duchi et al., JMLR 2011).
public struct Adagrad: OptimizerRule {
    /// The learning rate, `lr`.
    public var lr = 1e-2
    /// The learning-rate decay: step t uses lr / (1 + (t − 1)·lr_decay), `lr_decay`.
    public var lrDecay = 0.0
    /// The L2 penalty added to the gradient, `weight_decay`.
    public var weightDecay = 0.0
    /// The value the `sum` state starts at, `initial_accumulator_value`.
    public var initialAccumulatorValue = 0.0
    /// The term added to the denominator for numerical stability, `eps`.
    public var eps = 1e-10
    /// Maximize the objective instead of minimizing it, `maximize`.
    public var maximize = false

    /// PyTorch's defaults.
    public init() {}

    /// The SPEC name, `adagrad`.
    public static let name = "adagrad"
    /// The SPEC keys, bound to the properties above, in the order `spec` prints them.
    public static var keys: [HyperparameterKey<Self>] {
        [
            .number("lr", \.lr), .number("lr_decay", \.lrDecay), .number("weight_decay", \.weightDecay),
            .number("initial_accumulator_value", \.initialAccumulatorValue), .number("eps", \.eps),
            .flag("maximize", \.maximize),
        ]
    }
    /// A parameter group may override `weight_decay`.
    public static var weightDecay: WritableKeyPath<Self, Double>? { \.weightDecay }

    /// The kernel's state arguments: `sum`.
    public var kernelSlots: [String] { ["sum"] }
    /// The state kept: `sum`.
    public var stateSlots: [String] { ["sum"] }
    /// Every slot (`sum`) starts at `initial_accumulator_value`.
    ///
    /// - Parameter slot: The state slot.
    /// - Returns: `initialAccumulatorValue` as a float.
    public func initialValue(ofSlot slot: String) -> Float { Float(initialAccumulatorValue) }

    /// c0 clr = lr / (1 + (t-1)·lr_decay), c1 eps, c2 weight_decay.
    ///
    /// - Parameters:
    ///   - t: The step, from 1.
    ///   - lr: The scheduled learning rate.
    ///   - host: Host state between steps (unused).
    /// - Returns: The kernel's scalars and flags.
    public func scalars(step t: Int, lr: Double, host: inout [String: Double]) -> UpdateScalars {
        UpdateScalars(
            [Float(lr / (1 + Double(t - 1) * lrDecay)), Float(eps), Float(weightDecay)],
            flags: maximize ? UpdateScalars.maximize : 0)
    }

    /// One step of the Reference's Adagrad.
    ///
    /// - Parameters:
    ///   - x: The parameters and state, updated in place.
    ///   - grad: The gradient, one value per parameter.
    ///   - t: The step, from 1.
    ///   - lr: The scheduled learning rate.
    public func referenceStep(_ x: inout ReferenceOptimizerState, grad: [Float], step t: Int, lr: Double) {
        Reference.adagrad(self, &x, grad: grad, step: t, lr: lr)
    }
}
