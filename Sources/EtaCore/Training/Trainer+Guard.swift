/// The divergence guard: at every checked step (every `logEvery` steps, before the update is applied) a
/// non-finite loss, or one above `spikeFactor` times its running average, is an anomaly handled by `policy`.
public struct DivergenceGuard: Sendable {
    /// What the guard does with an anomaly.
    public enum Policy: String, Sendable, CaseIterable {
        /// End the run with status `diverged` (exit 75).
        case abort
        /// Drop this step's update (parameters and optimizer state untouched); too many in a row aborts.
        case skip
        /// Restore the last good in-memory snapshot and scale the lr by `backoff`; too many rollbacks abort.
        case rollback
    }

    /// What to do with an anomaly.
    public var policy = Policy.abort
    /// Loss above this multiple of its running average (EMA, β 0.9) is a spike; nil turns spike detection off.
    public var spikeFactor: Double?
    /// The lr multiplier of each rollback.
    public var backoff = 0.5
    /// Rollbacks allowed before the run aborts.
    public var maxRollbacks = 3
    /// Skips in a row allowed before the run aborts.
    public var maxConsecutiveSkips = 10

    /// The defaults: abort on a non-finite loss, no spike detection.
    public init() {}
}

/// What a run does when a step's gradients are not all finite.
public enum NonFiniteGradientPolicy: String, Sendable, CaseIterable {
    /// No per-step check (nothing is read back between logged steps).
    case off
    /// Drop the update: parameters and optimizer state untouched, the step counted in `skippedSteps`; more than
    /// `DivergenceGuard.maxConsecutiveSkips` in a row aborts.
    case skip
    /// End the run as diverged (exit 75), naming the step and the first tensor holding a non-finite gradient.
    case abort
}

/// An anomaly the guard saw, and what it did.
public struct AnomalyRecord: Sendable {
    /// The step the anomaly was seen at, from 1.
    public let step: Int
    /// The epoch, from 1.
    public let epoch: Int
    /// `non_finite_loss`, `loss_spike`, `non_finite_gradient` or `non_finite_epoch_loss` (an epoch whose mean loss is
    /// NaN or infinite).
    public let kind: String
    /// The checked loss (NaN for a non-finite gradient).
    public let loss: Float
    /// The loss's running average before this step; nil before the first check.
    public let runningAverage: Double?
    /// `abort`, `skip` or `rollback`.
    public let action: String
    /// The lr multiplier after the action.
    public let learningRateScale: Double
    /// For a rollback: the step it went back to.
    public let restoredStep: Int?
    /// For non-finite gradients: the first tensor (in layout order) holding one.
    public var tensor: String? = nil
}

extension Trainer {
    enum GuardOutcome { case abort, skipped, rolledBack }

    /// Measures ‖g‖² on the device (unless clipping by norm just did) and reads the stats: a NaN or ∞ norm means
    /// some gradient element is (or the squares overflow float32, a norm above ~1.8e19).
    func gradientStats() throws -> [Network.Stat: Float] {
        if configuration.clipGradNorm == nil { try network.measureGradientNorm() }
        return try network.readStats()
    }

    /// The skip or abort of a step whose gradients are not finite. Skipping touches nothing on the device.
    func handleNonFiniteGradients(step: Int, batches: Int, observer: TrainingObserver?) throws -> GuardOutcome {
        var action = configuration.nonFiniteGradients
        if action == .skip && consecutiveGradientSkips >= configuration.divergenceGuard.maxConsecutiveSkips {
            action = .abort
        }
        var tensor: String?
        if action == .abort {
            // The rare path: find which tensor, from the gradients on the host.
            let gradients = try network.arena.download(.gradients)
            tensor =
                network.arena.layout.entries.first { entry in
                    gradients[entry.offset..<(entry.offset + entry.count)].contains { !$0.isFinite }
                }?.name
        } else {
            consecutiveGradientSkips += 1
            position.skippedSteps += 1
            position.step = step
            position.batchInEpoch += batches
        }
        var record = AnomalyRecord(
            step: step, epoch: position.epoch + 1, kind: "non_finite_gradient", loss: .nan,
            runningAverage: runningLoss, action: action == .abort ? "abort" : "skip",
            learningRateScale: position.learningRateScale, restoredStep: nil)
        record.tensor = tensor
        observer?.trainer(self, didDetect: record)
        return action == .abort ? .abort : .skipped
    }

    /// The anomaly a checked loss shows, if any.
    func anomaly(_ loss: Float) -> String? {
        if !loss.isFinite { return "non_finite_loss" }
        if let factor = configuration.divergenceGuard.spikeFactor, let average = runningLoss,
            Double(loss) > factor * average
        {
            return "loss_spike"
        }
        return nil
    }

    func handleAnomaly(
        _ kind: String, loss: Float, step: Int, batches: Int, observer: TrainingObserver?
    ) throws -> GuardOutcome {
        let rule = configuration.divergenceGuard
        var action = rule.policy
        if action == .skip && consecutiveSkips >= rule.maxConsecutiveSkips { action = .abort }
        if action == .rollback && (rollbacks >= rule.maxRollbacks || goodSnapshot == nil) { action = .abort }
        var restoredStep: Int?
        switch action {
        case .abort: break
        case .skip:
            consecutiveSkips += 1
            position.skippedSteps += 1
            position.step = step
            position.batchInEpoch += batches
        case .rollback:
            rollbacks += 1
            let scale = position.learningRateScale * rule.backoff
            try goodSnapshot!.restore(into: self)
            position.learningRateScale = scale
            restoredStep = position.step
            runningLoss = nil
        }
        observer?.trainer(
            self,
            didDetect: AnomalyRecord(
                step: step, epoch: position.epoch + 1, kind: kind, loss: loss,
                runningAverage: runningLoss, action: action.rawValue,
                learningRateScale: position.learningRateScale, restoredStep: restoredStep))
        switch action {
        case .abort: return .abort
        case .skip: return .skipped
        case .rollback: return .rolledBack
        }
    }

    /// The epoch's training or validation loss when it is NaN or infinite.
    func nonFiniteEpochLoss(_ record: EpochRecord) -> Float? {
        if !record.trainLoss.isFinite { return record.trainLoss }
        if let loss = record.validationLoss, !loss.isFinite { return loss }
        return nil
    }

    func reportNonFiniteEpoch(_ record: EpochRecord, loss: Float, observer: TrainingObserver?) {
        observer?.trainer(
            self,
            didDetect: AnomalyRecord(
                step: position.step, epoch: record.epoch, kind: "non_finite_epoch_loss",
                loss: loss, runningAverage: runningLoss, action: "abort",
                learningRateScale: position.learningRateScale, restoredStep: nil))
    }
}
