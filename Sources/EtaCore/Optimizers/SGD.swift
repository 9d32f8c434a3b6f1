/// SGD with `torch.optim.SGD`'s names and defaults: momentum, dampening, Nesterov, L2 weight decay, maximize.
///
/// Momentum SGD is due to Polyak (1964); Nesterov momentum to Nesterov (1983) in the form of
/// Sutskever et al., "On the importance of initialization and momentum in deep learning" (ICML 2013).
public struct SGD: OptimizerRule, Codable {
    /// The learning rate, `lr`.
    public var lr = 1e-3
    /// The momentum factor, `momentum`; 0 keeps no momentum buffer.
    public var momentum = 0.0
    /// The dampening of the gradient added to the momentum buffer, `dampening`.
    public var dampening = 0.0
    /// The L2 penalty added to the gradient, `weight_decay`.
    public var weightDecay = 0.0
    /// Nesterov momentum, `nesterov`; needs momentum > 0 and dampening 0.
    public var nesterov = false
    /// Maximize the objective instead of minimizing it, `maximize`.
    public var maximize = false

    /// PyTorch's defaults.
    public init() {}

    /// The given hyperparameters (PyTorch's names and defaults).
    ///
    /// - Parameters:
    ///   - lr: The learning rate.
    ///   - momentum: The momentum factor; 0 keeps no momentum buffer.
    ///   - dampening: The dampening of the gradient added to the momentum buffer.
    ///   - weightDecay: The L2 penalty added to the gradient.
    ///   - nesterov: Nesterov momentum (needs momentum > 0 and dampening 0; see ``validate(spec:)``).
    ///   - maximize: Maximize the objective instead of minimizing it.
    public init(
        lr: Double = 1e-3, momentum: Double = 0, dampening: Double = 0, weightDecay: Double = 0,
        nesterov: Bool = false, maximize: Bool = false
    ) {
        (self.lr, self.momentum, self.dampening, self.weightDecay) = (lr, momentum, dampening, weightDecay)
        (self.nesterov, self.maximize) = (nesterov, maximize)
    }

    /// The SPEC name, `sgd`.
    public static let name = "sgd"
    /// The SPEC keys, bound to the properties above, in the order `spec` prints them.
    public static var keys: [HyperparameterKey<Self>] {
        [
            .number("lr", \.lr), .number("momentum", \.momentum),
            .number(
                "dampening", \.dampening, -Double.greatestFiniteMagnitude...Double.greatestFiniteMagnitude, "finite"),
            .number("weight_decay", \.weightDecay), .flag("nesterov", \.nesterov), .flag("maximize", \.maximize),
        ]
    }
    /// A momentum-cycling schedule drives `momentum`.
    public static var cycledMomentum: WritableKeyPath<Self, Double>? { \.momentum }
    /// A parameter group may override `weight_decay`.
    public static var weightDecay: WritableKeyPath<Self, Double>? { \.weightDecay }

    /// The kernel's state arguments: `momentum_buffer`.
    public var kernelSlots: [String] { ["momentum_buffer"] }
    /// The state kept: `momentum_buffer` when momentum is nonzero, else none.
    public var stateSlots: [String] { momentum != 0 ? ["momentum_buffer"] : [] }

    /// Rejects `nesterov` without momentum or with dampening, as PyTorch does.
    ///
    /// - Parameter spec: The SPEC, quoted in the message.
    /// - Throws: `EtaError` `.usage` naming both values.
    public func validate(spec: String) throws {
        if nesterov && (momentum <= 0 || dampening != 0) {
            throw EtaError(
                .usage,
                "invalid SPEC '\(spec)': nesterov=true requires momentum > 0 and dampening = 0 (got "
                    + "momentum=\(momentum), dampening=\(dampening))"
            )
        }
    }

    /// c0 lr, c1 weight_decay, c2 momentum, c3 1-dampening; flag A momentum, B nesterov, C first step (the buffer
    /// starts as the gradient). Python computes these in double; the kernel takes float.
    ///
    /// - Parameters:
    ///   - t: The step, from 1.
    ///   - lr: The scheduled learning rate.
    ///   - host: Host state between steps (unused).
    /// - Returns: The kernel's scalars and flags.
    public func scalars(step t: Int, lr: Double, host: inout [String: Double]) -> UpdateScalars {
        let flags =
            (maximize ? UpdateScalars.maximize : 0) | (momentum != 0 ? UpdateScalars.flagA : 0)
            | (nesterov ? UpdateScalars.flagB : 0) | (t == 1 ? UpdateScalars.flagC : 0)
        return UpdateScalars([Float(lr), Float(weightDecay), Float(momentum), Float(1 - dampening)], flags: flags)
    }

    /// One step of the Reference's SGD.
    ///
    /// - Parameters:
    ///   - x: The parameters and state, updated in place.
    ///   - grad: The gradient, one value per parameter.
    ///   - t: The step, from 1.
    ///   - lr: The scheduled learning rate.
    public func referenceStep(_ x: inout ReferenceOptimizerState, grad: [Float], step t: Int, lr: Double) {
        var buffer = x.state["momentum_buffer"] ?? []
        Reference.sgd(param: &x.param, grad: grad, momentumBuffer: &buffer, hyper: self, step: t, lr: lr)
        if momentum != 0 { x.state["momentum_buffer"] = buffer }
    }
}

/// The name SGD's hyperparameters had before every optimizer became one ``OptimizerRule``.
public typealias SGDHyperparameters = SGD
