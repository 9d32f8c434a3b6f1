/// Receives what a run does, and can ask it to stop.
public protocol TrainingObserver: AnyObject {
    func trainer(_ trainer: Trainer, didLog step: StepRecord)
    func trainer(_ trainer: Trainer, didFinish epoch: EpochRecord)
    /// The divergence guard acted.
    func trainer(_ trainer: Trainer, didDetect anomaly: AnomalyRecord)
    /// Called after every step with cheap, host-side facts only.
    func trainer(_ trainer: Trainer, didStep step: Int, of totalSteps: Int, epoch: Int)
    /// Checked after every step; true ends the run cleanly (with a final checkpoint).
    var stopRequested: Bool { get }
}

extension TrainingObserver {
    public func trainer(_ trainer: Trainer, didDetect anomaly: AnomalyRecord) {}
}
