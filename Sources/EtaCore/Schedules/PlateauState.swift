/// `ReduceLROnPlateau`'s state, stepped with one metric at a time, exactly as PyTorch does: "better" by
/// mode and threshold mode, a patience counter, a cooldown, a floor, and no change smaller than eps.
///
/// ```swift
/// var plateau = PlateauState(Schedule.Plateau(), learningRate: 0.1)
/// for loss in [1.0, 1.0, 1.0] { plateau.step(metric: loss) }
/// plateau.learningRate   // 0.1 until patience (10) bad steps have passed
/// ```
public struct PlateauState: Equatable, Sendable, Codable {
    /// `min` or `max`; `rel` or `abs`.
    public let mode: String, thresholdMode: String
    /// The schedule's factor, threshold, min_lr and eps.
    public let factor: Double, threshold: Double, minLR: Double, eps: Double
    /// The schedule's patience and cooldown, in steps.
    public let patience: Int, cooldown: Int
    /// The current learning rate.
    public private(set) var learningRate: Double
    /// The best metric so far (±∞ before the first).
    public private(set) var best: Double
    /// Metrics since the last improvement.
    public private(set) var badSteps = 0
    /// Steps of cooldown left.
    public private(set) var cooldownCounter = 0

    /// - Parameters:
    ///   - p: The schedule's settings.
    ///   - learningRate: The starting learning rate (the optimizer's).
    public init(_ p: Schedule.Plateau, learningRate: Double) {
        (mode, thresholdMode, factor, threshold, minLR, eps) = (
            p.mode, p.thresholdMode, p.factor, p.threshold, p.minLR, p.eps
        )
        (patience, cooldown) = (p.patience, p.cooldown)
        self.learningRate = learningRate
        best = p.mode == "min" ? .infinity : -.infinity
    }

    func isBetter(_ a: Double) -> Bool {
        switch (mode, thresholdMode) {
        case ("min", "rel"): return a < best * (1 - threshold)
        case ("min", _): return a < best - threshold
        case (_, "rel"): return a > best * (threshold + 1)
        default: return a > best + threshold
        }
    }

    /// Observes one metric value.
    ///
    /// - Parameter metric: The metric (e.g. the validation loss).
    public mutating func step(metric: Double) {
        if isBetter(metric) {
            best = metric
            badSteps = 0
        } else {
            badSteps += 1
        }
        if cooldownCounter > 0 {
            cooldownCounter -= 1
            badSteps = 0
        }
        if badSteps > patience {
            let reduced = max(learningRate * factor, minLR)
            if learningRate - reduced > eps { learningRate = reduced }
            cooldownCounter = cooldown
            badSteps = 0
        }
    }
}
