import Eta
import Foundation

/// `eta train --tensorboard DIR`: forwards every event to the run's own observer (progress, JSONL) and writes the
/// same values to a TensorBoard event file: per logged step `train/loss`, `train/lr`, `train/grad_norm` (and `train/d`
/// for Prodigy and D-Adaptation); per epoch `epoch/train_loss`, `epoch/train_accuracy`, `epoch/val_loss`,
/// `epoch/val_accuracy` (and the averages'); parameter histograms `parameters/NAME` every `histogramEvery` steps
/// and at each epoch's end. A failed write is recorded like any other output's (exit 74 at the end).
final class TensorBoardObserver: TrainingObserver {
    let inner: TrainingObserver
    let writer: TensorBoardWriter
    let histogramEvery: Int?
    let failure: OutputFailure

    init(inner: TrainingObserver, writer: TensorBoardWriter, histogramEvery: Int?, failure: OutputFailure) {
        (self.inner, self.writer, self.histogramEvery, self.failure) = (inner, writer, histogramEvery, failure)
    }

    func trainer(_ trainer: Trainer, didLog step: StepRecord) {
        inner.trainer(trainer, didLog: step)
        var values: [(tag: String, value: Double)] = [
            ("train/loss", Double(step.loss)), ("train/lr", step.learningRate),
            ("train/grad_norm", Double(step.gradNorm)),
        ]
        if let d = step.stepSizeEstimate { values.append(("train/d", d)) }
        failure.attempt { try writer.scalars(values, step: step.step) }
    }

    func trainer(_ trainer: Trainer, didFinish epoch: EpochRecord) {
        inner.trainer(trainer, didFinish: epoch)
        let values: [(String, Float?)] = [
            ("epoch/train_loss", epoch.trainLoss), ("epoch/train_accuracy", epoch.trainAccuracy),
            ("epoch/val_loss", epoch.validationLoss), ("epoch/val_accuracy", epoch.validationAccuracy),
            ("epoch/ema_val_loss", epoch.emaValidationLoss), ("epoch/swa_val_loss", epoch.swaValidationLoss),
        ]
        failure.attempt {
            try writer.scalars(values.compactMap { tag, value in value.map { (tag, Double($0)) } }, step: epoch.step)
            try histograms(trainer, step: epoch.step)
        }
    }

    func trainer(_ trainer: Trainer, didDetect anomaly: AnomalyRecord) { inner.trainer(trainer, didDetect: anomaly) }

    func trainer(_ trainer: Trainer, didStep step: Int, of totalSteps: Int, epoch: Int) {
        inner.trainer(trainer, didStep: step, of: totalSteps, epoch: epoch)
        if let every = histogramEvery, every > 0, step % every == 0 {
            failure.attempt { try histograms(trainer, step: step) }
        }
    }

    var stopRequested: Bool { inner.stopRequested }

    /// One histogram per parameter tensor (read back from the device).
    private func histograms(_ trainer: Trainer, step: Int) throws {
        let arena = trainer.network.arena
        let values = try arena.download(.parameters)
        for entry in arena.layout.entries where entry.count > 0 {
            try writer.histogram(
                "parameters/\(entry.name)", values: Array(values[entry.offset..<(entry.offset + entry.count)]),
                step: step)
        }
    }
}
