/// The parameters' averages in checkpoints: the moving average (`--ema`) as `ema.<tensor>` with `ema_decay` and
/// `ema_updates`, the stochastic weight average (`--swa-start`) as `swa.<tensor>` with `swa` (its settings) and
/// `swa_updates`, so a resume continues them bit for bit and inference can choose averaged weights.
extension Checkpoint {
    /// The prefix of the moving average's tensors.
    public static let averagePrefix = "ema."
    /// The prefix of the stochastic weight average's tensors.
    public static let stochasticAveragePrefix = "swa."

    /// The trainer's averages with their tensor-name prefixes and metadata keys.
    static func averages(_ trainer: Trainer) -> [(prefix: String, updatesKey: String, average: ParameterAverage)] {
        [
            trainer.average.map { (averagePrefix, "ema_updates", $0) },
            trainer.stochasticAverage.map { (stochasticAveragePrefix, "swa_updates", $0) },
        ].compactMap { $0 }
    }

    /// The averaged parameters as tensors, and their metadata; empty without averages.
    static func averageContents(_ trainer: Trainer) throws -> (tensors: [Tensor], metadata: [String: String]) {
        var tensors: [Tensor] = []
        var metadata: [String: String] = [:]
        for (prefix, updatesKey, average) in averages(trainer) {
            let values = try average.values(on: trainer.backend)
            tensors += trainer.network.arena.layout.entries.map { entry in
                Tensor(
                    name: prefix + entry.name, shape: entry.shape,
                    values: Array(values[entry.offset..<(entry.offset + entry.count)]))
            }
            metadata[updatesKey] = String(average.updates)
            if let statistics = average.runningStatistics {
                // update_bn's statistics for the averaged weights, under the model's buffer names.
                tensors += trainer.network.architecture.buffers.entries.map { entry in
                    Tensor(
                        name: prefix + entry.name, shape: entry.shape,
                        values: Array(statistics[entry.offset..<(entry.offset + entry.count)]))
                }
            }
        }
        if let decay = trainer.average?.decay { metadata["ema_decay"] = String(decay) }
        if let swa = trainer.configuration.swa { metadata["swa"] = swa.spec }
        return (tensors, metadata)
    }

    /// Whether a tensor name is an averaged parameter's.
    static func isAverage(_ name: String) -> Bool {
        name.hasPrefix(averagePrefix) || name.hasPrefix(stochasticAveragePrefix)
    }

    /// Loads the file's averages into `trainer`'s, where both have one; a run with an average resumed from a file
    /// without it starts that average afresh.
    func restoreAverages(into trainer: Trainer, present: [String: Tensor]) throws {
        let layout = trainer.network.arena.layout
        for (prefix, updatesKey, average) in Self.averages(trainer) {
            guard let text = metadata[updatesKey] else { continue }
            guard let updates = Int(text), updates >= 0 else {
                throw EtaError(.dataError, "checkpoint check 'averages': \(updatesKey) '\(text)' is not a count")
            }
            var values = [Float](repeating: 0, count: layout.count)
            for entry in layout.entries {
                guard let tensor = present[prefix + entry.name], tensor.shape == entry.shape else {
                    throw EtaError(
                        .dataError,
                        "checkpoint check 'averages': \(prefix + entry.name) is missing or not \(entry.shape)")
                }
                values.replaceSubrange(entry.offset..<(entry.offset + entry.count), with: tensor.values)
            }
            try average.load(values, updates: updates, on: trainer.backend)
            let buffers = trainer.network.architecture.buffers
            if !buffers.entries.isEmpty, buffers.entries.allSatisfy({ present[prefix + $0.name] != nil }) {
                var statistics = [Float](repeating: 0, count: buffers.count)
                for entry in buffers.entries {
                    statistics.replaceSubrange(
                        entry.offset..<(entry.offset + entry.count), with: present[prefix + entry.name]!.values)
                }
                average.runningStatistics = statistics
            }
        }
    }
}
