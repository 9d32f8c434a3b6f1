import Foundation

/// `torch.optim.ASGD` (Polyak & Juditsky 1992; Bottou 2010): SGD with a decaying step size eta and a running average
/// `ax` of the iterates that starts after `t0` steps.
///
/// Like PyTorch's, eta and mu are float32 scalars carried between steps: step t uses the eta computed after step
/// t−1 from that step's lr (the first step uses the lr), and the averaging weight mu computed likewise (1 until
/// t0: `ax` copies the parameters).
public struct ASGD: OptimizerRule {
    /// The learning rate, `lr`.
    public var lr = 1e-2
    /// The decay term, `lambd`.
    public var lambd = 1e-4
    /// The power of eta's decay, `alpha`.
    public var alpha = 0.75
    /// The step at which averaging starts, `t0`.
    public var t0 = 1e6
    /// The L2 penalty added to the gradient, `weight_decay`.
    public var weightDecay = 0.0
    /// Maximize the objective instead of minimizing it, `maximize`.
    public var maximize = false

    /// PyTorch's defaults.
    public init() {}

    /// The SPEC name, `asgd`.
    public static let name = "asgd"
    /// The SPEC keys, bound to the properties above, in the order `spec` prints them.
    public static var keys: [HyperparameterKey<Self>] {
        [
            .number("lr", \.lr), .number("lambd", \.lambd), .number("alpha", \.alpha), .number("t0", \.t0),
            .number("weight_decay", \.weightDecay), .flag("maximize", \.maximize),
        ]
    }
    /// A parameter group may override `weight_decay`.
    public static var weightDecay: WritableKeyPath<Self, Double>? { \.weightDecay }

    /// The kernel's state argument: `ax`.
    public var kernelSlots: [String] { ["ax"] }
    /// The state kept: `ax` (eta and mu are host state).
    public var stateSlots: [String] { ["ax"] }

    /// The float32 eta and mu of step t, then those of step t + 1 stored in `host`.
    ///
    /// - Parameters:
    ///   - t: The step, from 1.
    ///   - lr: The scheduled learning rate.
    ///   - host: `eta` and `mu`, read and advanced.
    /// - Returns: c0 1−lambd·eta, c1 −eta, c2 weight_decay, c3 mu; flag A when mu is 1 (`ax` copies the parameters).
    public func scalars(step t: Int, lr: Double, host: inout [String: Double]) -> UpdateScalars {
        let (eta, mu) = Self.advance(step: t, lr: lr, host: &host, lambd: lambd, alpha: alpha, t0: t0)
        return UpdateScalars(
            [Float(1 - lambd * eta), Float(-eta), Float(weightDecay), Float(mu)],
            flags: (maximize ? UpdateScalars.maximize : 0) | (mu == 1 ? UpdateScalars.flagA : 0))
    }

    /// The eta and mu step t uses, and the host state for step t + 1 (PyTorch's float32 scalar tensors).
    static func advance(
        step t: Int, lr: Double, host: inout [String: Double], lambd: Double, alpha: Double, t0: Double
    ) -> (eta: Double, mu: Double) {
        let eta = host["eta"] ?? Double(Float(lr)), mu = host["mu"] ?? 1
        let step = Double(Float(t))
        host["eta"] = Double(Float(lr / pow(1 + lambd * lr * step, alpha)))
        host["mu"] = Double(Float(1 / max(1, step - t0)))
        return (eta, mu)
    }

    /// One step of the Reference's ASGD.
    ///
    /// - Parameters:
    ///   - x: The parameters, `ax` and the host's eta and mu, updated in place.
    ///   - grad: The gradient, one value per parameter.
    ///   - t: The step, from 1.
    ///   - lr: The scheduled learning rate.
    public func referenceStep(_ x: inout ReferenceOptimizerState, grad: [Float], step t: Int, lr: Double) {
        Reference.asgd(self, &x, grad: grad, step: t, lr: lr)
    }
}
