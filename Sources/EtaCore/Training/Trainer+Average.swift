/// Evaluating the parameters' moving average (`--ema`): the averaged weights take the parameters' place for the
/// validation pass, and the raw ones are put back (through the host, once per epoch: no second device copy).
extension Trainer {
    /// Adds the averages' validation (`--ema`, `--swa-start`) to an epoch's record.
    func validateAverages(into record: inout EpochRecord) throws {
        if let average, let averaged = try validate(average) {
            (record.emaValidationLoss, record.emaValidationAccuracy) = (averaged.loss, averaged.accuracy)
        }
        if let stochasticAverage, let averaged = try validate(stochasticAverage) {
            (record.swaValidationLoss, record.swaValidationAccuracy) = (averaged.loss, averaged.accuracy)
        }
    }

    /// The validation loss and accuracy of averaged parameters; nil before the average's first update or without a
    /// validation split (then nothing is swapped in).
    func validate(_ average: ParameterAverage) throws -> (loss: Float, accuracy: Float?)? {
        guard average.updates > 0, data.validation != nil else { return nil }
        return try withAveragedWeights(average) {
            try data.validate(network, batchSize: configuration.batchSize)?.first.map { ($0.loss, $0.accuracy) }
        }
    }

    /// PyTorch's `update_bn(loader, swa_model)`: BatchNorm's running statistics recomputed for the averaged weights
    /// as a cumulative average (momentum 1/k for the k-th batch, from mean 0 and variance 1) over one training-mode
    /// forward pass of every training batch; kept with the average. Nothing happens without BatchNorm.
    func updateBatchNorm(for average: ParameterAverage) throws {
        guard let running = network.runningStatistics, average.updates > 0 else { return }
        var fresh = try backend.read(running)
        for entry in network.architecture.buffers.entries {
            let start = entry.name.hasSuffix("running_var") ? Float(1) : 0
            fresh.replaceSubrange(
                entry.offset..<(entry.offset + entry.count), with: repeatElement(start, count: entry.count))
        }
        let features = split.dataset.featureCount, rows = split.trainRows.count, batch = configuration.batchSize
        average.runningStatistics = try withAveragedWeights(average) {
            try backend.write(fresh, to: running)
            defer { network.batchNormMomentum = 0.1 }
            for (k, first) in stride(from: 0, to: rows, by: batch).enumerated() {
                network.batchNormMomentum = 1 / Float(k + 1)
                try network.forward(
                    input: data.trainFeatures, inputOffset: first * features, rows: min(batch, rows - first),
                    training: true)
            }
            return try backend.read(running)
        }
    }

    /// Runs `body` with the averaged parameters (and their BatchNorm statistics, once recomputed) in the model's
    /// place, then puts the raw ones back (through the host: no second device copy of the model).
    private func withAveragedWeights<T>(_ average: ParameterAverage, _ body: () throws -> T) throws -> T {
        let raw = try network.arena.download(.parameters)
        let rawRunning = try network.runningStatistics.map { try backend.read($0) }
        let rawTracked = network.batchesTracked
        try backend.run(
            .lerpToward(target: network.arena.parameters, toward: average.buffer, count: average.count, weight: 1))
        if let statistics = average.runningStatistics, let running = network.runningStatistics {
            try backend.write(statistics, to: running)
        }
        func restore() throws {
            try network.arena.upload(raw, to: .parameters)
            if let rawRunning, let running = network.runningStatistics { try backend.write(rawRunning, to: running) }
            network.batchesTracked = rawTracked
        }
        let result: T
        do { result = try body() } catch {
            try restore()
            throw error
        }
        try restore()
        return result
    }
}
