/// A running average of the parameters, kept on the device beside them: PyTorch's `AveragedModel`. Its first update
/// copies the parameters (`n_averaged == 0`); every later one is one fused `lerp_toward` launch over the arena:
/// - ``Kind/exponential(decay:)``, `get_ema_multi_avg_fn(decay)`: `torch.lerp(avg, p, 1 - decay)`, after each step;
/// - ``Kind/equal``, the default SWA average (`get_swa_multi_avg_fn`): `torch.lerp(avg, p, 1 / (n + 1))`, the mean
///   of every snapshot folded in (at the end of each epoch from `--swa-start`).
///
/// BatchNorm's running statistics are not averaged (`use_buffers=False`); SWA recomputes them for its weights at the
/// end (`update_bn`). PyTorch's CPU path averages as avg + (p − avg) / (n + 1), its foreach (GPU) path as the lerp
/// above: the two differ by an ulp or two per update.
public final class ParameterAverage {
    /// How snapshots are weighted.
    public enum Kind: Equatable, Sendable {
        /// An exponential moving average with this decay, in [0, 1].
        case exponential(decay: Double)
        /// The mean of all snapshots (stochastic weight averaging).
        case equal
    }

    /// How snapshots are weighted.
    public let kind: Kind
    /// Updates so far, `n_averaged`.
    public private(set) var updates = 0
    /// The averaged parameters, laid out as the arena's.
    let buffer: DeviceBuffer
    /// Floats in the arena.
    let count: Int
    /// BatchNorm's running statistics recomputed for the averaged weights (SWA's `update_bn`, at the end of the run);
    /// nil before, or without BatchNorm.
    var runningStatistics: [Float]?

    /// - Parameters:
    ///   - kind: How snapshots are weighted.
    ///   - count: Floats in the parameter arena.
    ///   - backend: Where the average lives.
    /// - Throws: `EtaError` `.usage` for a decay outside [0, 1], or the backend's allocation error.
    init(_ kind: Kind, count: Int, backend: Backend) throws {
        if case .exponential(let decay) = kind, !(decay >= 0 && decay <= 1) {
            throw EtaError(.usage, "the EMA decay must be in [0, 1] (got \(decay)); 0.999 is typical")
        }
        (self.kind, self.count) = (kind, count)
        buffer = try backend.makeBuffer(count: max(count, 1))
    }

    /// The EMA decay; nil for an equal average.
    public var decay: Double? {
        if case .exponential(let decay) = kind { return decay }
        return nil
    }

    /// Device bytes the average holds.
    var deviceBytes: Int { max(count, 1) * MemoryLayout<Float>.size }

    /// Folds the parameters into the average.
    func update(from parameters: DeviceBuffer, on backend: Backend) throws {
        // lerp with weight 1 is exactly the parameters: the first update copies them, as AveragedModel does.
        let weight: Float
        switch kind {
        case _ where updates == 0: weight = 1
        case .exponential(let decay): weight = Float(1 - decay)
        // 1 / (n_averaged + 1), a float32 tensor division in PyTorch.
        case .equal: weight = 1 / Float(updates + 1)
        }
        try backend.run(.lerpToward(target: buffer, toward: parameters, count: count, weight: weight))
        updates += 1
    }

    /// The averaged parameters, read back.
    func values(on backend: Backend) throws -> [Float] { try backend.read(buffer, count: count) }

    /// Puts back averaged parameters and their update count (a checkpoint's, or a rollback's snapshot).
    func load(_ values: [Float], updates: Int, on backend: Backend) throws {
        try backend.write(values, to: buffer)
        self.updates = updates
    }
}
