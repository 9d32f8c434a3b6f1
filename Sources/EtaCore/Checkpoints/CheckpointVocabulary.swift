/// A text run's checkpoint carries its vocabulary (metadata `vocabulary`: the characters concatenated in id order)
/// and its validation batches (`val_batches`), so a sampler can decode without the training file and a resume on
/// other text fails rather than read ids as other characters.
extension Checkpoint {
    /// The vocabulary of the text run this checkpoint comes from: ids to characters for encoding a prompt and
    /// decoding generated ids; nil when it was not trained on a text dataset.
    ///
    /// ```swift
    /// let checkpoint = try Checkpoint.read(from: URL(fileURLWithPath: "run/checkpoint-latest.safetensors"))
    /// if let vocabulary = checkpoint.vocabulary {
    ///     let prompt = try vocabulary.encode("ROMEO:")   // ids; exit 64 for a character the text never had
    ///     print(vocabulary.decode(prompt))
    /// }
    /// ```
    public var vocabulary: TextVocabulary? {
        metadata["vocabulary"].flatMap { try? TextVocabulary(serialized: $0) }
    }

    /// The metadata a text run adds to its checkpoints; empty for other runs.
    static func textMetadata(_ trainer: Trainer) -> [String: String] {
        guard let text = trainer.split.dataset.text else { return [:] }
        return [
            "vocabulary": text.vocabulary.serialized,
            "val_batches": String(trainer.configuration.validationBatches),
        ]
    }

    /// Exit 65 unless the checkpoint's vocabulary is `trainer`'s: a text run resumes only on text with the same
    /// characters (the same ids), and a run on other data only from a checkpoint without one.
    public func checkVocabulary(against trainer: Trainer) throws {
        let saved = metadata["vocabulary"].flatMap { try? TextVocabulary(serialized: $0) }
        let current = trainer.split.dataset.text?.vocabulary
        guard saved != current else { return }
        let dataset = trainer.split.dataset.name
        func describe(_ vocabulary: TextVocabulary?) -> String {
            vocabulary.map { "\($0.count) characters \(TextVocabulary.preview($0.scalars))" }
                ?? "none (not a text dataset)"
        }
        var message =
            "checkpoint check 'vocabulary': the checkpoint's vocabulary is \(describe(saved)); this dataset's "
            + "(\(dataset)) is \(describe(current))"
        if let saved, let current {
            let missing = saved.scalars.filter { current.id(of: $0) == nil }
            let added = current.scalars.filter { saved.id(of: $0) == nil }
            if !missing.isEmpty { message += "; missing here: \(TextVocabulary.preview(missing))" }
            if !added.isEmpty { message += "; new here: \(TextVocabulary.preview(added))" }
        }
        throw EtaError(.dataError, message + " (ids would name other characters: resume on the same text)")
    }
}
