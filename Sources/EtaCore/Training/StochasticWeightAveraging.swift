import Foundation

/// Stochastic weight averaging (Izmailov et al. 2018) as `torch.optim.swa_utils` runs it: after `start` epochs of
/// ordinary training, the parameters at the end of every later epoch are folded into an equal average
/// (`AveragedModel`), and from the next epoch the lr follows `SWALR(optimizer, swa_lr, anneal_epochs,
/// anneal_strategy)`: it anneals from the lr in effect at the end of that first averaged epoch to `swa_lr` over
/// `anneal_epochs` epochs, then stays there.
///
/// In PyTorch's loop (`if epoch > swa_start: swa_model.update_parameters(model); swa_scheduler.step()`, epochs from
/// 0) this is `swa_start = start - 1`.
public struct StochasticWeightAveraging: Equatable, Sendable {
    /// How the lr moves from its value at the start of averaging to `swa_lr`.
    public enum Anneal: String, Sendable, CaseIterable {
        /// Half a cosine (`anneal_strategy="cos"`, the default).
        case cos
        /// A straight line (`anneal_strategy="linear"`).
        case linear
    }

    /// Epochs of ordinary training before the first snapshot.
    public var start: Int
    /// The lr averaging runs at, `swa_lr`.
    public var learningRate: Double
    /// Epochs over which the lr anneals to `swa_lr`, `anneal_epochs` (PyTorch's default 10).
    public var annealEpochs = 10
    /// The anneal's shape, `anneal_strategy`.
    public var anneal = Anneal.cos

    /// - Parameters:
    ///   - start: Epochs of ordinary training before the first snapshot.
    ///   - learningRate: The lr averaging runs at.
    public init(start: Int, learningRate: Double) { (self.start, self.learningRate) = (start, learningRate) }

    /// The lr of epoch `epoch` (0-based) once SWALR drives it, or nil while the ordinary schedule does (up to and
    /// including epoch `start`, the first averaged one).
    ///
    /// - Parameters:
    ///   - epoch: The epoch, from 0.
    ///   - initial: The lr in effect at the end of epoch `start` (what SWALR anneals from).
    /// - Returns: `swa_lr · α + initial · (1 − α)` with α the anneal of min(1, k / anneal_epochs), k = epoch − start.
    public func learningRate(epoch: Int, initial: Double) -> Double? {
        let k = epoch - start
        guard k >= 1 else { return nil }
        let t = min(1, Double(k) / Double(max(1, annealEpochs)))
        let alpha = anneal == .cos ? (1 - cos(Double.pi * t)) / 2 : t
        return learningRate * alpha + initial * (1 - alpha)
    }

    /// Whether the parameters at the end of epoch `epoch` (0-based) join the average.
    public func averages(afterEpoch epoch: Int) -> Bool { epoch >= start }

    /// Checks the values PyTorch rejects or that cannot run.
    ///
    /// - Throws: `EtaError` `.usage` naming the bad value.
    public func validate() throws {
        guard start >= 0 else { throw EtaError(.usage, "--swa-start must be >= 0 epochs (got \(start))") }
        guard learningRate > 0 && learningRate.isFinite else {
            throw EtaError(.usage, "--swa-lr must be a positive number (got \(learningRate))")
        }
        guard annealEpochs >= 0 else {
            throw EtaError(.usage, "--swa-anneal-epochs must be >= 0 (got \(annealEpochs))")
        }
    }

    /// The settings as checkpoints record them, e.g. `start=5,lr=0.05,anneal_epochs=10,anneal=cos`.
    public var spec: String {
        "start=\(start),lr=\(learningRate),anneal_epochs=\(annealEpochs),anneal=\(anneal.rawValue)"
    }

    /// Reads ``spec``'s form back.
    ///
    /// - Parameter spec: `start=S,lr=LR,anneal_epochs=K,anneal=cos|linear`.
    /// - Throws: `EtaError` `.dataError` for a malformed record.
    public init(spec: String) throws {
        var values: [String: String] = [:]
        for part in spec.split(separator: ",") {
            let pair = part.split(separator: "=", maxSplits: 1).map(String.init)
            if pair.count == 2 { values[pair[0]] = pair[1] }
        }
        guard let start = values["start"].flatMap(Int.init), let lr = values["lr"].flatMap(Double.init),
            let anneal = values["anneal_epochs"].flatMap(Int.init),
            let strategy = values["anneal"].flatMap(Anneal.init(rawValue:))
        else { throw EtaError(.dataError, "checkpoint metadata 'swa' is malformed: '\(spec)'") }
        self.init(start: start, learningRate: lr)
        (annealEpochs, self.anneal) = (anneal, strategy)
        try validate()
    }
}
