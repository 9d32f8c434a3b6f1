import Foundation

/// `torch.optim.Rprop` (Riedmiller & Braun 1993): each element keeps its own step size, grown by `etaplus` while
/// the gradient keeps its sign and shrunk by `etaminus` when it flips (that step then skips the element), clamped to
/// [`step_size_min`, `step_size_max`]; the parameter moves by the step size against the gradient's sign.
///
/// The lr only sets the step sizes' starting value (at the first step, as PyTorch does): a schedule changes nothing.
public struct Rprop: OptimizerRule {
    /// The initial step size, `lr`.
    public var lr = 1e-2
    /// The factor a step size shrinks by on a sign change, `etas[0]`.
    public var etaminus = 0.5
    /// The factor a step size grows by while the sign holds, `etas[1]`.
    public var etaplus = 1.2
    /// The smallest step size, `step_sizes[0]`.
    public var stepSizeMin = 1e-6
    /// The largest step size, `step_sizes[1]`.
    public var stepSizeMax = 50.0
    /// Maximize the objective instead of minimizing it, `maximize`.
    public var maximize = false

    /// PyTorch's defaults.
    public init() {}

    /// The SPEC name, `rprop`.
    public static let name = "rprop"
    /// The SPEC keys (PyTorch's `etas` and `step_sizes` pairs as two keys each), in the order `spec` prints them.
    public static var keys: [HyperparameterKey<Self>] {
        [
            .number("lr", \.lr), .number("etaminus", \.etaminus, 0...1, "in (0, 1)"),
            .number("etaplus", \.etaplus, 1...Double.greatestFiniteMagnitude, "> 1"),
            .number("step_size_min", \.stepSizeMin), .number("step_size_max", \.stepSizeMax),
            .flag("maximize", \.maximize),
        ]
    }

    /// The kernel's state arguments: `prev`, `step_size`.
    public var kernelSlots: [String] { ["prev", "step_size"] }
    /// The state kept: `prev` and `step_size`.
    public var stateSlots: [String] { ["prev", "step_size"] }

    /// Rejects etas and step sizes PyTorch rejects (`0 < etaminus < 1 < etaplus`) and an empty step-size range.
    ///
    /// - Parameter spec: The SPEC, quoted in the message.
    /// - Throws: `EtaError` `.usage` naming the values.
    public func validate(spec: String) throws {
        guard etaminus > 0 && etaminus < 1 && etaplus > 1 else {
            throw EtaError(
                .usage,
                "invalid SPEC '\(spec)': Rprop needs 0 < etaminus < 1 < etaplus (got etaminus=\(etaminus), "
                    + "etaplus=\(etaplus))")
        }
        guard stepSizeMin <= stepSizeMax else {
            throw EtaError(
                .usage,
                "invalid SPEC '\(spec)': step_size_min (\(stepSizeMin)) must not exceed step_size_max "
                    + "(\(stepSizeMax))")
        }
    }

    /// c0 etaminus, c1 etaplus, c2 step_size_min, c3 step_size_max, c4 lr; flag A on the first step (the step sizes
    /// start at lr).
    ///
    /// - Parameters:
    ///   - t: The step, from 1.
    ///   - lr: The scheduled learning rate (used at step 1 only).
    ///   - host: Host state between steps (unused).
    /// - Returns: The kernel's scalars and flags.
    public func scalars(step t: Int, lr: Double, host: inout [String: Double]) -> UpdateScalars {
        UpdateScalars(
            [Float(etaminus), Float(etaplus), Float(stepSizeMin), Float(stepSizeMax), Float(lr)],
            flags: (maximize ? UpdateScalars.maximize : 0) | (t == 1 ? UpdateScalars.flagA : 0))
    }

    /// One step of the Reference's Rprop.
    ///
    /// - Parameters:
    ///   - x: The parameters and state, updated in place.
    ///   - grad: The gradient, one value per parameter.
    ///   - t: The step, from 1.
    ///   - lr: The scheduled learning rate.
    public func referenceStep(_ x: inout ReferenceOptimizerState, grad: [Float], step t: Int, lr: Double) {
        Reference.rprop(self, &x, grad: grad, step: t, lr: lr)
    }
}
