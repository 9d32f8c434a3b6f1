/// Early stopping and the best checkpoint, after each full epoch.
extension Trainer {
    /// Updates the best checkpoint's tracker (writing the best checkpoint when it improved) and early stopping.
    ///
    /// - Parameter record: A full epoch's record.
    /// - Returns: Whether early stopping ends the run now.
    /// - Throws: The best checkpoint handler's error.
    func watchEpoch(_ record: EpochRecord) throws -> Bool {
        if bestCheckpointHandler != nil, bestTracker.observe(record) { try bestCheckpointHandler?(self, record) }
        guard var stopping = earlyStopping else { return false }
        _ = stopping.observe(record)
        earlyStopping = stopping
        return stopping.shouldStop
    }

    /// The early stopping and best-checkpoint state a checkpoint keeps (`early_stop_state`, `best_state`).
    var watchMetadata: [String: String] {
        var metadata: [String: String] = [:]
        if let earlyStopping {
            metadata["early_stop"] =
                "\(earlyStopping.patience ?? 0),min_delta=\(earlyStopping.minDelta),metric=\(earlyStopping.metric.rawValue)"
            metadata["early_stop_state"] = earlyStopping.state
        }
        if bestCheckpointHandler != nil {
            metadata["best_metric"] = bestTracker.metric.rawValue
            metadata["best_state"] = bestTracker.state
        }
        return metadata
    }

    /// Restores the trackers from a checkpoint's metadata (a run resumed with the same options continues them).
    ///
    /// - Parameter metadata: The checkpoint's metadata.
    func restoreWatches(_ metadata: [String: String]) {
        if let text = metadata["early_stop_state"], var stopping = earlyStopping, stopping.restore(state: text),
            metadata["early_stop"].flatMap({ try? EarlyStopping(spec: $0) })?.metric == stopping.metric
        {
            earlyStopping = stopping
        }
        if let text = metadata["best_state"], metadata["best_metric"] == bestTracker.metric.rawValue {
            _ = bestTracker.restore(state: text)
        }
    }
}

extension Trainer {
    /// The model as it stands on the validation rows and the official test rows (nil for a split the data lacks):
    /// mean loss and accuracy (nil for regression), as a training epoch's validation measures them.
    ///
    /// - Returns: Validation and test results.
    /// - Throws: The backend's error.
    public func evaluate() throws -> (
        validation: (loss: Float, accuracy: Float?)?, test: (loss: Float, accuracy: Float?)?
    ) {
        try synchronizeInitialState()
        try averageRunningStatistics()
        return (
            try data.validate(network, batchSize: configuration.batchSize)?.first,
            try data.test(network, batchSize: configuration.batchSize)?.first
        )
    }
}
