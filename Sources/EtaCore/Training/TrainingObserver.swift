/// Receives what a run does, and can ask it to stop.
public protocol TrainingObserver: AnyObject {
    /// A step's loss was read (every `logEvery` steps and the first).
    ///
    /// - Parameters:
    ///   - trainer: The trainer.
    ///   - step: The logged step.
    func trainer(_ trainer: Trainer, didLog step: StepRecord)
    /// An epoch finished (after its validation pass).
    ///
    /// - Parameters:
    ///   - trainer: The trainer.
    ///   - epoch: The epoch's losses and accuracies.
    func trainer(_ trainer: Trainer, didFinish epoch: EpochRecord)
    /// The divergence guard acted.
    ///
    /// - Parameters:
    ///   - trainer: The trainer.
    ///   - anomaly: What the guard saw and did.
    func trainer(_ trainer: Trainer, didDetect anomaly: AnomalyRecord)
    /// Called after every step with cheap, host-side facts only.
    ///
    /// - Parameters:
    ///   - trainer: The trainer.
    ///   - step: The step just taken, from 1.
    ///   - totalSteps: Steps of the whole run.
    ///   - epoch: The current epoch, from 1.
    func trainer(_ trainer: Trainer, didStep step: Int, of totalSteps: Int, epoch: Int)
    /// Checked after every step; true ends the run cleanly (with a final checkpoint).
    var stopRequested: Bool { get }
}

extension TrainingObserver {
    /// Default: ignores anomalies.
    ///
    /// - Parameters:
    ///   - trainer: The trainer.
    ///   - anomaly: What the guard saw and did.
    public func trainer(_ trainer: Trainer, didDetect anomaly: AnomalyRecord) {}
}
