/// An optimizer whose step works on whole tensors (Muon's Newton–Schulz iteration on matrices, Adafactor's factored
/// second moments): the host launches its pieces per tensor (`Kernels/deep/matrix.cl`, GEMMs, reductions), and its
/// state has per-tensor shapes, kept by the ``Optimizer`` rather than in the arena's slots.
///
/// Tensors it does not update itself (Muon's vectors) take its ``auxiliary`` optimizer, an ordinary
/// ``OptimizerRule`` run over a compact arena of those tensors.
public protocol TensorwiseRule: OptimizerRule {
    /// Whether this optimizer updates a tensor of `shape` itself; the others go to ``auxiliary``.
    ///
    /// - Parameter shape: A parameter tensor's dimensions.
    /// - Returns: True for the tensors it updates.
    static func updates(shape: [Int]) -> Bool
    /// The state tensors kept for a tensor of `shape` that it updates, by PyTorch's names and shapes.
    ///
    /// - Parameter shape: The parameter tensor's dimensions.
    /// - Returns: (slot, shape) pairs.
    func stateTensors(forShape shape: [Int]) -> [(slot: String, shape: [Int])]
    /// Scratch floats one tensor's step needs.
    ///
    /// - Parameter shape: The parameter tensor's dimensions.
    /// - Returns: Floats of scratch memory.
    func scratchCount(forShape shape: [Int]) -> Int
    /// The optimizer of the tensors it does not update; nil when it updates them all.
    var auxiliary: OptimizerConfiguration? { get }
    /// Launches one step of one tensor.
    ///
    /// - Parameters:
    ///   - tensor: The tensor, its state and scratch.
    ///   - t: The step, from 1.
    ///   - lr: The scheduled learning rate.
    /// - Throws: The backend's error.
    func launchStep(_ tensor: TensorwiseLaunch, step t: Int, lr: Double) throws
    /// One step of the Reference for one tensor it updates.
    ///
    /// - Parameters:
    ///   - param: The tensor's parameters, updated in place.
    ///   - grad: Its gradient.
    ///   - shape: Its dimensions.
    ///   - state: Its state tensors by slot, created at zero when absent.
    ///   - t: The step, from 1.
    ///   - lr: The scheduled learning rate.
    func referenceTensorStep(
        param: inout [Float], grad: [Float], shape: [Int], state: inout [String: [Float]], step t: Int, lr: Double)
}

/// What one tensor's step of a ``TensorwiseRule`` launches on: the backend, the tensor's parameters and gradient, its
/// state slices, and scratch.
public struct TensorwiseLaunch {
    /// The backend of the arena.
    public let backend: Backend
    /// The tensor's dimensions.
    public let shape: [Int]
    /// Its parameters and gradient in the arena.
    public let parameters: DeviceSlice, gradients: DeviceSlice
    /// Its state tensors by slot.
    public let state: [String: DeviceSlice]
    /// Scratch: at least ``TensorwiseRule/scratchCount(forShape:)`` floats.
    public let scratch: DeviceBuffer
    /// Squared norms and per-matrix means: at least 2 + (matrices in the tensor) floats.
    public let stats: DeviceBuffer

    /// Elements of the tensor.
    public var count: Int { shape.reduce(1, *) }

    /// Runs a launch on the backend.
    func run(_ command: TensorUpdateCommand) throws { try backend.run(.tensorUpdate(command)) }

    /// target[0..<count] = source[0..<count].
    func copy(_ source: DeviceSlice, to target: DeviceSlice, count: Int) throws {
        try backend.run(.add(AddCommand(a: source, destination: target, count: count)))
    }

    /// stats[index] = Σ values², or the per-segment sums scaled by `scale` into stats[index...].
    func sumOfSquares(_ values: DeviceSlice, count: Int, into index: Int) throws {
        try backend.run(
            .reduce(
                ReduceCommand(
                    source: values.buffer, sourceOffset: values.offset, count: count, squares: true,
                    destination: stats, index: index, scale: 1, accumulate: false)))
    }
}

extension TensorwiseRule {
    /// A tensor's dimensions as (matrices, rows, cols) for a factored view: the last two dimensions.
    static func matrixView(_ shape: [Int]) -> (matrices: Int, rows: Int, cols: Int) {
        let rows = shape.count >= 2 ? shape[shape.count - 2] : 1
        let cols = shape.last ?? 1
        return (shape.dropLast(2).reduce(1, *), rows, cols)
    }

    /// The label reports give the step: `muon_per_tensor` (no single kernel runs it).
    public var kernel: String { Self.name + "_per_tensor" }
    /// Tensorwise rules keep no per-element arena slots (their state is per tensor).
    public var kernelSlots: [String] { [] }
    /// Tensorwise rules keep no per-element arena slots (their state is per tensor).
    public var stateSlots: [String] { [] }
    /// Unused: the step is launched per tensor.
    public func scalars(step t: Int, lr: Double, host: inout [String: Double]) -> UpdateScalars { UpdateScalars([]) }
    /// Float32 parameters and state, one model per run: no groups, replicas or 16-bit storage.
    public static var capabilities: OptimizerCapabilities { .wholeArena }
    /// No auxiliary optimizer unless the rule says so.
    public var auxiliary: OptimizerConfiguration? { nil }
}

extension OptimizerConfiguration {
    /// The auxiliary optimizer of a tensorwise rule that has one (Muon's), else nil.
    public var auxiliary: OptimizerConfiguration? { (rule as? any TensorwiseRule)?.auxiliary }

    /// This configuration with `auxiliary` as Muon's optimizer of the tensors with fewer than two dimensions.
    ///
    /// - Parameter auxiliary: An elementwise optimizer (not Muon, Adafactor or Schedule-Free).
    /// - Returns: The configuration.
    /// - Throws: `EtaError` `.usage` when this optimizer takes no auxiliary optimizer, or `auxiliary` cannot be one.
    public func withAuxiliary(_ auxiliary: OptimizerConfiguration) throws -> OptimizerConfiguration {
        guard var muon = rule as? Muon else {
            throw EtaError(
                .usage, "--aux-optimizer applies to muon only (its optimizer of non-matrix tensors); got \(name)")
        }
        guard !(auxiliary.rule is any TensorwiseRule), auxiliary.averagingBeta == nil else {
            throw EtaError(
                .usage,
                "the auxiliary optimizer cannot be \(auxiliary.name): it must be an elementwise optimizer such as "
                    + "adamw, adam, sgd or lion")
        }
        muon.auxiliary = auxiliary
        return OptimizerConfiguration(muon)
    }
}

extension OptimizerConfiguration {
    /// Device bytes a tensorwise optimizer allocates for `layout` besides the arena: its per-tensor state, scratch for
    /// the largest tensor and the auxiliary optimizer's compact arena; 0 for other optimizers.
    ///
    /// - Parameter layout: The model's tensors.
    /// - Returns: Bytes.
    public func tensorwiseBytes(layout: TensorLayout) -> Int {
        guard let rule = rule as? any TensorwiseRule else { return 0 }
        let kind = type(of: rule)
        let updated = layout.entries.filter { kind.updates(shape: $0.shape) }
        let others = layout.entries.filter { !kind.updates(shape: $0.shape) }.reduce(0) { $0 + $1.count }
        let state = Optimizer.tensorStateEntries(rule, layout: layout, auxiliary: false).reduce(0) {
            $0 + $1.shape.reduce(1, *)
        }
        let scratch = updated.map { rule.scratchCount(forShape: $0.shape) }.max() ?? 0
        let auxiliary = rule.auxiliary.map { others * (3 + $0.stateSlots.count) } ?? 0
        return 4 * (state + scratch + auxiliary)
    }
}
