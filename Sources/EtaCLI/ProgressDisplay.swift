import Dispatch
import Eta
import Foundation

/// Progress on stderr (a bar redrawn at most 10 times a second on a terminal, a line per epoch when piped)
/// and the log records.
final class ProgressDisplay: TrainingObserver {
    private let trainer: Trainer
    private let log: TrainingLog
    private let quiet: Bool
    private let interrupt: InterruptFlag
    private let failure: OutputFailure
    /// The last anomaly the guard reported (for the closing message).
    private(set) var lastAnomaly: AnomalyRecord?
    private let terminal = isatty(STDERR_FILENO) == 1
    private let start = DispatchTime.now().uptimeNanoseconds
    private var lastDraw: UInt64 = 0
    private var lastLoss: Float?
    private var lastRate = 0.0
    private var startStep: Int
    private var drewBar = false

    init(trainer: Trainer, log: TrainingLog, quiet: Bool, interrupt: InterruptFlag, failure: OutputFailure) {
        self.trainer = trainer
        self.failure = failure
        self.log = log
        self.quiet = quiet
        self.interrupt = interrupt
        startStep = trainer.position.step
    }

    var stopRequested: Bool { interrupt.isRaised || failure.error != nil }

    func trainer(_ trainer: Trainer, didLog step: StepRecord) {
        failure.attempt { try log.step(step) }
        lastLoss = step.loss
        lastRate = step.learningRate
    }

    func trainer(_ trainer: Trainer, didDetect anomaly: AnomalyRecord) {
        var fields: [(String, JSON)] = [
            ("step", .int(anomaly.step)), ("epoch", .int(anomaly.epoch)), ("kind", .string(anomaly.kind)),
            ("loss", .float(anomaly.loss)), ("action", .string(anomaly.action)),
            ("lr_scale", .double(anomaly.learningRateScale)),
        ]
        if let average = anomaly.runningAverage { fields.append(("running_average", .double(average))) }
        if let restored = anomaly.restoredStep { fields.append(("restored_step", .int(restored))) }
        if let tensor = anomaly.tensor { fields.append(("tensor", .string(tensor))) }
        lastAnomaly = anomaly
        failure.attempt { try log.event("anomaly", fields) }
        if terminal && drewBar { Console.err("\r\u{1B}[2K") }
        let detail =
            anomaly.kind == "non_finite_gradient"
            ? anomaly.tensor.map { "in tensor \($0)" } ?? "gradient norm not finite"
            : "loss \(anomaly.loss)"
        Console.note(
            "eta: anomaly at step \(anomaly.step): \(anomaly.kind) (\(detail)); action \(anomaly.action)"
                + (anomaly.restoredStep.map { ", back to step \($0), lr x\(anomaly.learningRateScale)" } ?? ""))
    }

    func trainer(_ trainer: Trainer, didFinish epoch: EpochRecord) {
        failure.attempt { try log.epoch(epoch) }
        guard !quiet else { return }
        var line =
            "epoch \(epoch.epoch)/\(trainer.plannedEpochs): train loss "
            + "\(String(format: "%.4f", epoch.trainLoss))"
        if let accuracy = epoch.trainAccuracy { line += String(format: " acc %.2f%%", 100 * accuracy) }
        if let loss = epoch.validationLoss { line += String(format: ", val loss %.4f", loss) }
        if let accuracy = epoch.validationAccuracy { line += String(format: " acc %.2f%%", 100 * accuracy) }
        if let bits = epoch.validationBitsPerCharacter { line += String(format: " (%.4f bpc)", bits) }
        if let loss = epoch.emaValidationLoss { line += String(format: ", ema val loss %.4f", loss) }
        if let accuracy = epoch.emaValidationAccuracy { line += String(format: " acc %.2f%%", 100 * accuracy) }
        if let loss = epoch.swaValidationLoss { line += String(format: ", swa val loss %.4f", loss) }
        if let accuracy = epoch.swaValidationAccuracy { line += String(format: " acc %.2f%%", 100 * accuracy) }
        line += String(format: " (%.2f s)", epoch.seconds) + (epoch.partial ? " (partial: --steps)" : "")
        if terminal && drewBar { Console.err("\r\u{1B}[2K") }
        if !terminal || epoch.epoch == trainer.plannedEpochs
            || epoch.epoch % max(1, trainer.plannedEpochs / 20) == 0
        {
            Console.note(line)
        }
    }

    func trainer(_ trainer: Trainer, didStep step: Int, of totalSteps: Int, epoch: Int) {
        guard terminal && !quiet else { return }
        let now = DispatchTime.now().uptimeNanoseconds
        guard now - lastDraw >= 100_000_000 || step == totalSteps else { return }
        lastDraw = now
        let elapsed = Double(now - start) * 1e-9
        let done = step - startStep
        let samplesPerSecond =
            elapsed > 0 ? Double(done) * Double(trainer.configuration.bufferRows(trainer.split)) / elapsed : 0
        let remaining = done > 0 ? elapsed / Double(done) * Double(totalSteps - step) : 0
        let width = 24
        let filled = totalSteps > 0 ? width * step / totalSteps : width
        let bar = String(repeating: "#", count: filled) + String(repeating: ".", count: width - filled)
        let loss = lastLoss.map { String(format: "%.4f", $0) } ?? "-"
        let text =
            "\r\u{1B}[2Kepoch \(epoch)/\(trainer.plannedEpochs) [\(bar)] \(step)/\(totalSteps) loss \(loss) lr "
            + String(format: "%.2e %.0f samples/s ", lastRate, samplesPerSecond) + clock(elapsed) + "<"
            + clock(remaining)
        Console.err(text)
        drewBar = true
    }

    func finish() {
        if terminal && drewBar && !quiet { Console.err("\r\u{1B}[2K") }
    }

    private func clock(_ seconds: Double) -> String {
        let s = Int(seconds.rounded())
        return String(format: "%02d:%02d", s / 60, s % 60)
    }
}
