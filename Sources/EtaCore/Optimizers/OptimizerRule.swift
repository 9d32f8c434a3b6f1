/// What an optimizer is: typed hyperparameters (PyTorch's names and defaults), the state it keeps, the scalars one
/// step hands its fused kernel, and what it supports. Each optimizer is one value type conforming to this protocol
/// (`SGD`, `Adam`, `Lion`, ...); its arithmetic lives once below the seam (`Kernels/updates/`), and its
/// independent oracle in the `Reference`.
///
/// Adding an optimizer: one file here with its rule, one line in ``OptimizerConfiguration/rules``, its kernel body,
/// its Reference step and its fixture cases (README, "Adding an optimizer").
public protocol OptimizerRule: Sendable, Equatable {
    /// The SPEC name, e.g. `adamw`.
    static var name: String { get }
    /// The SPEC keys, bound to this type's properties, in the order `spec` prints them.
    static var keys: [HyperparameterKey<Self>] { get }
    /// What this optimizer supports beyond a plain update.
    static var capabilities: OptimizerCapabilities { get }
    /// PyTorch's (or the reference package's) defaults.
    init()

    /// The configured learning rate.
    var lr: Double { get set }
    /// The update kernel (`Kernels/updates/`), e.g. `adam_update`.
    var kernel: String { get }
    /// The kernel's state arguments s0, s1, s2 in order; a slot this configuration does not hold is passed as absent.
    var kernelSlots: [String] { get }
    /// State slots, by PyTorch's names, that an arena must hold for this configuration.
    var stateSlots: [String] { get }
    /// The value a slot starts at (Adagrad's accumulator starts at initial_accumulator_value).
    ///
    /// - Parameter slot: A state slot, by PyTorch's name.
    /// - Returns: The slot's starting value (0 unless the rule says otherwise).
    func initialValue(ofSlot slot: String) -> Float
    /// The kernel scalars of step `t` (1-based) at learning rate `lr`; `host` carries host-side state between steps
    /// (NAdam's mu_product, Schedule-Free's weight sum), saved with checkpoints.
    ///
    /// - Parameters:
    ///   - t: The step, from 1.
    ///   - lr: The scheduled learning rate (the configured `lr` without a schedule).
    ///   - host: The optimizer's host state (per parameter group or sweep replica), read and updated.
    /// - Returns: The kernel's c0…c11 and flags (for a two-pass optimizer, the first pass's).
    func scalars(step t: Int, lr: Double, host: inout [String: Double]) -> UpdateScalars
    /// Checks relations between keys a range cannot express (SGD's nesterov needs momentum); `spec` names the input.
    ///
    /// - Parameter spec: The SPEC as the user gave it, for the message.
    /// - Throws: `EtaError` `.usage` naming the conflicting keys.
    func validate(spec: String) throws
    /// Two-pass optimizers (sums over the arena between passes); nil: one fused pass.
    var twoPass: TwoPass<Self>? { get }
    /// The key a momentum-cycling schedule drives: `momentum` where the optimizer has one, else `beta1`.
    static var cycledMomentum: WritableKeyPath<Self, Double>? { get }
    /// The weight decay a parameter group may override; nil for optimizers without one.
    static var weightDecay: WritableKeyPath<Self, Double>? { get }
    /// Schedule-Free's averaging β: the parameters hold y, evaluation uses x = lerp(y, z, 1 − 1/β).
    var averagingBeta: Double? { get }
    /// Bytes read and written per parameter by one step of a two-pass optimizer (float32); nil for one pass.
    var twoPassBytesPerParameter: Int? { get }
    /// One step of the plain Swift oracle (`Reference`), written from the reference implementation, not the kernel.
    ///
    /// - Parameters:
    ///   - x: The parameters, state slots and host state, updated in place.
    ///   - grad: The gradient, one value per parameter.
    ///   - t: The step, from 1.
    ///   - lr: The scheduled learning rate.
    func referenceStep(_ x: inout ReferenceOptimizerState, grad: [Float], step t: Int, lr: Double)
}

/// What an optimizer supports besides one update of the whole arena.
public struct OptimizerCapabilities: Sendable, Equatable {
    /// Parameter groups (per-tensor lr scale and weight decay in the same launch).
    public var parameterGroups = true
    /// Sweep replicas (K learning rates in one launch).
    public var sweepReplicas = true
    /// bf16/fp16 state and parameter storage.
    public var compactStorage = true

    /// - Parameters:
    ///   - parameterGroups: Per-tensor lr scale and weight decay in the same launch.
    ///   - sweepReplicas: K learning rates in one launch.
    ///   - compactStorage: bf16/fp16 state and parameter storage.
    public init(parameterGroups: Bool = true, sweepReplicas: Bool = true, compactStorage: Bool = true) {
        (self.parameterGroups, self.sweepReplicas, self.compactStorage) = (
            parameterGroups, sweepReplicas, compactStorage
        )
    }

    /// A plain one-pass optimizer: groups, replicas and 16-bit storage.
    public static let all = OptimizerCapabilities()

    /// A two-pass optimizer whose step depends on sums over the whole arena (LAMB, Prodigy, D-Adaptation): one
    /// launch per step over one float32 arena, so no groups, replicas or 16-bit storage.
    public static let wholeArena = OptimizerCapabilities(
        parameterGroups: false, sweepReplicas: false, compactStorage: false)
}

/// The first pass of a two-pass optimizer (block kernels): it updates the moments and writes two partial sums per
/// block of the arena.
public struct TwoPass<Rule: OptimizerRule>: Sendable {
    /// The block kernel of the first pass.
    public let accumulateKernel: String
    /// Its state arguments s0…s3 in order.
    public let accumulateSlots: [String]
    /// Blocks never straddle a tensor, and the second pass reads its tensor's sums on the device (LAMB).
    public let perTensor: Bool
    /// Global estimates (Prodigy, D-Adaptation): given the two sums over the arena (in double) and the step's lr,
    /// updates the host state (d) and returns the second pass's scalars; nil skips the second pass, as the
    /// reference packages return early when the denominator sum is 0. nil: the second pass is a block kernel too.
    public let finish: (@Sendable (Rule, [Double], Double, inout [String: Double]) -> UpdateScalars?)?

    /// - Parameters:
    ///   - accumulateKernel: The block kernel of the first pass, e.g. `lamb_moments`.
    ///   - accumulateSlots: Its state arguments s0…s3 in order.
    ///   - perTensor: Whether blocks stop at tensor boundaries and the second pass reads the sums on the device.
    ///   - finish: Computes the second pass's scalars from the two sums on the host; nil when the second pass is a
    ///     block kernel that reads the sums itself.
    public init(
        accumulateKernel: String, accumulateSlots: [String], perTensor: Bool,
        finish: (@Sendable (Rule, [Double], Double, inout [String: Double]) -> UpdateScalars?)?
    ) {
        (self.accumulateKernel, self.accumulateSlots, self.perTensor, self.finish) = (
            accumulateKernel, accumulateSlots, perTensor, finish
        )
    }
}

/// The Reference's view of one optimizer's run: parameters, state slots, host state, and LAMB's norm groups.
public struct ReferenceOptimizerState {
    /// The parameters, updated in place by each step.
    public var param: [Float]
    /// The state slots by PyTorch's name, one value per parameter each.
    public var state: [String: [Float]]
    /// Host state carried between steps (NAdam's `mu_product`, Prodigy's `d`).
    public var host: [String: Double]
    /// The tensors (norm groups) of the arena.
    public var tensors: [Range<Int>]
    /// The tensors' dimensions (what a ``TensorwiseRule`` factors or orthogonalises); 1-D by default.
    public var shapes: [[Int]]

    /// - Parameters:
    ///   - param: The initial parameters.
    ///   - state: The initial state slots (every slot in the rule's `stateSlots`).
    ///   - host: The initial host state.
    ///   - tensors: The norm groups; nil: the whole arena is one tensor.
    ///   - shapes: The tensors' dimensions, one per tensor; nil: each tensor is a vector.
    public init(
        param: [Float], state: [String: [Float]] = [:], host: [String: Double] = [:], tensors: [Range<Int>]? = nil,
        shapes: [[Int]]? = nil
    ) {
        (self.param, self.state, self.host) = (param, state, host)
        self.tensors = tensors ?? [param.indices]
        self.shapes = shapes ?? self.tensors.map { [$0.count] }
    }
}

extension OptimizerRule {
    /// Default: the SPEC name followed by `_update`, e.g. `lion_update`.
    public var kernel: String { Self.name + "_update" }
    /// Default: every slot starts at 0.
    ///
    /// - Parameter slot: A state slot.
    /// - Returns: 0.
    public func initialValue(ofSlot slot: String) -> Float { 0 }
    /// Default: any combination of keys is valid.
    ///
    /// - Parameter spec: The SPEC, unused.
    /// - Throws: Nothing; a rule with relations between keys overrides this.
    public func validate(spec: String) throws {}
    /// Default: one fused pass.
    public var twoPass: TwoPass<Self>? { nil }
    /// Default: no averaging (not Schedule-Free).
    public var averagingBeta: Double? { nil }
    /// Default: nil (one pass).
    public var twoPassBytesPerParameter: Int? { nil }
    /// Default: groups, replicas and 16-bit storage.
    public static var capabilities: OptimizerCapabilities { .all }
    /// Default: no key to cycle.
    public static var cycledMomentum: WritableKeyPath<Self, Double>? { nil }
    /// Default: no weight decay.
    public static var weightDecay: WritableKeyPath<Self, Double>? { nil }
}
