import EtaSupport
import Foundation

extension Dataset {
    /// SHA-256 of the data as loaded (before standardisation): the row, feature and target counts, then the
    /// features' and the targets' float32 bytes; for a text dataset, its vocabulary and both parts' ids. Two datasets
    /// with the same digest train identically.
    ///
    /// ```swift
    /// let digest = try Dataset.load("iris").contentDigest()   // 64 lowercase hex digits
    /// ```
    ///
    /// - Returns: 64 lowercase hex digits.
    public func contentDigest() -> String {
        var hasher = SHA256()
        if let text {
            // The characters (the vocabulary and both parts' ids), whatever the context that windows them.
            hasher.update(Array("eta-text-1".utf8))
            hasher.update(Array(text.vocabulary.serialized.utf8))
            for ids in [text.trainingIDs, text.validationIDs] {
                withUnsafeBytes(of: UInt64(ids.count).littleEndian) { hasher.update(Array($0)) }
                ids.withUnsafeBytes { hasher.update(Array($0)) }
            }
            return Checkpoint.hex(hasher.finalize())
        }
        hasher.update(Array("eta-dataset-1".utf8))
        for count in [rows, featureCount, targetWidth] {
            withUnsafeBytes(of: UInt64(count).littleEndian) { hasher.update(Array($0)) }
        }
        for values in [features, targets] {
            values.withUnsafeBytes { raw in
                // In slices, so a large dataset is not copied whole.
                for start in stride(from: 0, to: raw.count, by: 1 << 20) {
                    hasher.update(Array(raw[start..<min(start + (1 << 20), raw.count)]))
                }
            }
        }
        return Checkpoint.hex(hasher.finalize())
    }
}

extension Checkpoint {
    /// A note when this checkpoint was trained on other data than `trainer`'s, nil when the data is the same
    /// or the checkpoint predates data digests. Resuming on changed data is allowed (a deliberately updated
    /// file), but the continuation is then no longer the run the checkpoint came from.
    ///
    /// ```swift
    /// try checkpoint.restore(into: trainer)
    /// if let note = checkpoint.dataMismatch(with: trainer) { print("eta: note: \(note)") }
    /// ```
    ///
    /// - Parameter trainer: The trainer being resumed.
    /// - Returns: A note naming both digests, or nil.
    public func dataMismatch(with trainer: Trainer) -> String? {
        guard let recorded = metadata["data_sha256"] else { return nil }
        let current = Self.dataDigest(of: trainer)
        guard recorded != current else { return nil }
        return
            "the checkpoint was trained on data with SHA-256 \(recorded); this dataset's "
            + "(\(trainer.split.dataset.name)) is \(current)"
    }

    /// `trainer`'s dataset digest, computed once per trainer: a run checkpoints every epoch, and hashing a large
    /// dataset each time would cost as much as an epoch.
    static func dataDigest(of trainer: Trainer) -> String {
        DataDigestCache.shared.digest(of: trainer)
    }
}

/// The dataset digest of the most recent trainers, held weakly so a freed trainer's address cannot be mistaken
/// for a new one's.
private final class DataDigestCache: @unchecked Sendable {
    static let shared = DataDigestCache()
    private struct Entry { weak var trainer: Trainer?; let digest: String }
    private var entries: [Entry] = []
    private let lock = NSLock()

    func digest(of trainer: Trainer) -> String {
        lock.lock()
        if let hit = entries.first(where: { $0.trainer === trainer }) { lock.unlock(); return hit.digest }
        lock.unlock()
        let digest = trainer.split.dataset.contentDigest()
        lock.lock()
        entries.removeAll { $0.trainer == nil }
        entries.append(Entry(trainer: trainer, digest: digest))
        if entries.count > 16 { entries.removeFirst() }
        lock.unlock()
        return digest
    }
}
