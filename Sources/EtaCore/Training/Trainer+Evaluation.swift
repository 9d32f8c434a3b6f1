import Dispatch

extension Trainer {
    /// Seconds since `start` (a `DispatchTime` uptime in nanoseconds).
    static func seconds(since start: UInt64) -> Double {
        Double(DispatchTime.now().uptimeNanoseconds - start) * 1e-9
    }

    /// The record of an epoch the step count ends part-way: the training loss and accuracy over the rows trained on
    /// so far, and a validation pass. The position stays within the epoch, its running sums saved in it (as when a
    /// run is stopped), so a checkpoint continues the epoch; nil when no row of the epoch was trained on yet.
    func finishPartialEpoch(seconds: Double) throws -> EpochRecord? {
        let rowsSeen = min(position.batchInEpoch * globalBatchSize, split.trainRows.count)
        guard rowsSeen > 0 else { return nil }
        (position.trainLossSum, position.trainCorrect) = try reducedTrainingSums()
        try averageRunningStatistics()
        // Schedule-Free evaluates at x and returns to y by a second interpolation, which rounds: the parameters are
        // put back as they were, so the checkpoint written next continues exactly as an uninterrupted run.
        let saved =
            network.optimizer.configuration.averagingBeta != nil ? try network.arena.download(.parameters) : nil
        let validation = try data.validate(network, batchSize: configuration.batchSize)?.first
        if let saved { try network.arena.upload(saved, to: .parameters) }
        let n = Float(rowsSeen)
        var record = EpochRecord(
            epoch: position.epoch + 1, step: position.step, trainLoss: position.trainLossSum / n,
            trainAccuracy: network.loss != .mse ? position.trainCorrect / n : nil,
            validationLoss: validation?.loss, validationAccuracy: validation?.accuracy, seconds: seconds)
        record.partial = true
        record.perCharacter = split.dataset.text != nil
        try validateAverages(into: &record)
        return record
    }
}
