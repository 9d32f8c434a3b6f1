/// The parameters' moving average (`--ema`) in checkpoints: one `ema.<tensor>` per model tensor, and its decay and
/// update count in the metadata (`ema_decay`, `ema_updates`), so a resume continues the average bit for bit and
/// inference can choose the averaged weights.
extension Checkpoint {
    /// The prefix of the averaged tensors' names.
    public static let averagePrefix = "ema."

    /// The averaged parameters as tensors, and their metadata; empty without an average.
    static func averageContents(_ trainer: Trainer) throws -> (tensors: [Tensor], metadata: [String: String]) {
        guard let average = trainer.average else { return ([], [:]) }
        let values = try average.values(on: trainer.backend)
        let tensors = trainer.network.arena.layout.entries.map { entry in
            Tensor(
                name: averagePrefix + entry.name, shape: entry.shape,
                values: Array(values[entry.offset..<(entry.offset + entry.count)]))
        }
        return (tensors, ["ema_decay": String(average.decay), "ema_updates": String(average.updates)])
    }

    /// Whether a tensor name is an averaged parameter's.
    static func isAverage(_ name: String) -> Bool { name.hasPrefix(averagePrefix) }

    /// Loads the file's average into `trainer`'s, when both have one; a run with an average resumed from a file
    /// without one starts its average afresh at the next step.
    func restoreAverage(into trainer: Trainer, present: [String: Tensor]) throws {
        guard let average = trainer.average, let text = metadata["ema_updates"] else { return }
        guard let updates = Int(text), updates >= 0 else {
            throw EtaError(.dataError, "checkpoint check 'ema': ema_updates '\(text)' is not a count")
        }
        let layout = trainer.network.arena.layout
        var values = [Float](repeating: 0, count: layout.count)
        for entry in layout.entries {
            guard let tensor = present[Self.averagePrefix + entry.name], tensor.shape == entry.shape else {
                throw EtaError(
                    .dataError,
                    "checkpoint check 'ema': \(Self.averagePrefix + entry.name) is missing or not \(entry.shape)")
            }
            values.replaceSubrange(entry.offset..<(entry.offset + entry.count), with: tensor.values)
        }
        try average.load(values, updates: updates, on: trainer.backend)
    }
}
