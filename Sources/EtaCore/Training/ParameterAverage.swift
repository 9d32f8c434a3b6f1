/// An exponential moving average of the parameters, kept on the device beside them: PyTorch's
/// `AveragedModel(model, multi_avg_fn=get_ema_multi_avg_fn(decay))`. Its first update copies the parameters
/// (`n_averaged == 0`); every later one is `torch.lerp(ema, p, 1 - decay)`, i.e. ema = decay·ema + (1 − decay)·p, in
/// one fused launch (the `lerp_toward` kernel) over the whole arena after each optimizer step.
///
/// BatchNorm's running statistics are not averaged (`use_buffers=False`): evaluating the average uses the model's.
public final class ParameterAverage {
    /// The decay, `get_ema_multi_avg_fn(decay)`'s argument, in [0, 1].
    public let decay: Double
    /// Updates so far, `n_averaged`.
    public private(set) var updates = 0
    /// The averaged parameters, laid out as the arena's.
    let buffer: DeviceBuffer
    /// Floats in the arena.
    let count: Int

    /// - Parameters:
    ///   - decay: The decay, in [0, 1].
    ///   - count: Floats in the parameter arena.
    ///   - backend: Where the average lives.
    /// - Throws: `EtaError` `.usage` for a decay outside [0, 1], or the backend's allocation error.
    init(decay: Double, count: Int, backend: Backend) throws {
        guard decay >= 0 && decay <= 1 else {
            throw EtaError(.usage, "the EMA decay must be in [0, 1] (got \(decay)); 0.999 is typical")
        }
        (self.decay, self.count) = (decay, count)
        buffer = try backend.makeBuffer(count: max(count, 1))
    }

    /// Folds the parameters after an optimizer step into the average.
    func update(from parameters: DeviceBuffer, on backend: Backend) throws {
        // lerp with weight 1 is exactly the parameters: the first update copies them, as AveragedModel does.
        let weight: Float = updates == 0 ? 1 : Float(1 - decay)
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
