import Foundation

/// An epoch metric a run watches: for the best checkpoint and for early stopping.
public enum EpochMetric: String, CaseIterable, Sendable, Codable {
    /// The validation loss (the training loss when there is no validation split).
    case valLoss = "val_loss"
    /// The validation accuracy (classification).
    case valAccuracy = "val_accuracy"
    /// The epoch's mean training loss.
    case trainLoss = "train_loss"
    /// The epoch's training accuracy (classification).
    case trainAccuracy = "train_accuracy"

    /// Whether larger is better (the accuracies).
    public var maximizes: Bool { self == .valAccuracy || self == .trainAccuracy }

    /// The metric's value in `record`, nil when the run does not have it (accuracy of a regression).
    ///
    /// - Parameter record: A finished epoch.
    /// - Returns: The value.
    public func value(in record: EpochRecord) -> Float? {
        switch self {
        case .valLoss: record.validationLoss ?? record.trainLoss
        case .valAccuracy: record.validationAccuracy
        case .trainLoss: record.trainLoss
        case .trainAccuracy: record.trainAccuracy
        }
    }
}

/// Keras' `EarlyStopping` (monitor, min_delta, patience) and `ModelCheckpoint(save_best_only=True)` in one tracker:
/// an epoch improves when its metric beats the best by more than `minDelta` (below it for losses, above for
/// accuracies); the run stops after `patience` epochs in a row without improvement.
///
/// On a 5,000-row MNIST CSV the default MLP's validation loss is lowest at epoch 1 while its accuracy creeps up for
/// 30 epochs: which metric decides is the user's choice, and it is named in every output.
public struct EarlyStopping: Equatable, Sendable {
    /// The metric watched.
    public var metric: EpochMetric
    /// Epochs without improvement before stopping; nil: never stop (only the best checkpoint is tracked).
    public var patience: Int?
    /// The smallest change that counts as an improvement.
    public var minDelta: Double

    /// A metric's best value and the epoch that reached it.
    public struct Best: Equatable, Sendable {
        /// The value.
        public let value: Float
        /// The epoch, from 1.
        public let epoch: Int
    }

    /// The best value so far and its epoch.
    public private(set) var best: Best?
    /// Epochs in a row without improvement.
    public private(set) var wait = 0

    /// - Parameters:
    ///   - metric: The metric watched.
    ///   - patience: Epochs without improvement before stopping; nil: never.
    ///   - minDelta: The smallest change that counts, at least 0.
    public init(metric: EpochMetric = .valLoss, patience: Int? = nil, minDelta: Double = 0) {
        (self.metric, self.patience, self.minDelta) = (metric, patience, minDelta)
    }

    /// Parses `PATIENCE[,min_delta=D][,metric=M]`.
    ///
    /// - Parameter spec: The text of `--early-stop`.
    /// - Throws: `EtaError` `.usage` naming the bad part and what is valid.
    public init(spec: String) throws {
        let parts = spec.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
        guard let first = parts.first, let patience = Int(first), patience >= 1 else {
            throw EtaError(
                .usage,
                "invalid --early-stop '\(spec)': expected PATIENCE[,min_delta=D][,metric=M] with PATIENCE >= 1, e.g. "
                    + "5,min_delta=0.001,metric=val_loss")
        }
        self.init(patience: patience)
        for part in parts.dropFirst() {
            let kv = part.split(separator: "=", maxSplits: 1).map(String.init)
            switch (kv.first, kv.count) {
            case ("min_delta", 2):
                guard let value = Double(kv[1]), value.isFinite, value >= 0 else {
                    throw EtaError(.usage, "invalid min_delta '\(kv[1])' in --early-stop: a finite number >= 0")
                }
                minDelta = value
            case ("metric", 2):
                guard let value = EpochMetric(rawValue: kv[1]) else {
                    throw EtaError(
                        .usage,
                        "invalid metric '\(kv[1])' in --early-stop; valid: "
                            + EpochMetric.allCases.map(\.rawValue).joined(separator: ", "))
                }
                metric = value
            default:
                throw EtaError(.usage, "unknown part '\(part)' in --early-stop; valid keys: min_delta, metric")
            }
        }
    }

    /// Takes a finished epoch: whether it is the best so far (the first with a finite value is).
    ///
    /// - Parameter record: The epoch.
    /// - Returns: True when it improved on the best by more than `minDelta`.
    public mutating func observe(_ record: EpochRecord) -> Bool {
        guard let value = metric.value(in: record), value.isFinite else {
            wait += 1
            return false
        }
        let improved =
            best.map {
                metric.maximizes
                    ? Double(value) > Double($0.value) + minDelta : Double(value) < Double($0.value) - minDelta
            }
            ?? true
        if improved {
            best = Best(value: value, epoch: record.epoch)
            wait = 0
        } else {
            wait += 1
        }
        return improved
    }

    /// Whether the run should stop: `patience` epochs without improvement.
    public var shouldStop: Bool { patience.map { wait >= $0 } ?? false }

    /// The tracker's state for a checkpoint: `best,epoch,wait` (empty best: `nan,0,wait`).
    public var state: String { "\(best?.value ?? .nan),\(best?.epoch ?? 0),\(wait)" }

    /// Restores ``state``.
    ///
    /// - Parameter text: A checkpoint's `early_stop_state`.
    /// - Returns: False when the text is malformed.
    public mutating func restore(state text: String) -> Bool {
        let parts = text.split(separator: ",").map(String.init)
        guard parts.count == 3, let value = Float(parts[0]), let epoch = Int(parts[1]), let wait = Int(parts[2]),
            epoch >= 0, wait >= 0
        else { return false }
        best = value.isNaN ? nil : Best(value: value, epoch: epoch)
        self.wait = wait
        return true
    }
}
