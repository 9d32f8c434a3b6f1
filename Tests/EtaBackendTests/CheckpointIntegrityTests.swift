import Foundation
import Testing

@testable import Eta
@testable import EtaCore
@testable import EtaSupport

/// The checkpoint checks against damaged and hostile files: the whole-file checksum, the range of every
/// metadata field and tensor shape, format-1 files, the data digest and the temporaries of killed writes.
@Suite("Checkpoint integrity")
struct CheckpointIntegrityTests {
    static func sample() throws -> (Trainer, URL) { try CheckpointTests.sample() }

    /// Changes the value of metadata `key` in the file's bytes in place, keeping its length (nothing else moves).
    static func edit(_ url: URL, key: String, _ change: (String) -> String) throws {
        var bytes = [UInt8](try Data(contentsOf: url))
        let keyBytes = Array("\"\(key)\": \"".utf8)
        let start =
            try #require(
                (0...(bytes.count - keyBytes.count)).first { bytes[$0..<($0 + keyBytes.count)].elementsEqual(keyBytes) }
            ) + keyBytes.count
        let end = try #require(bytes[start...].firstIndex(of: UInt8(ascii: "\"")))
        let old = String(decoding: bytes[start..<end], as: UTF8.self), new = change(old)
        #expect(new != old && new.utf8.count == old.utf8.count, "\(key): \(old) -> \(new)")
        bytes.replaceSubrange(start..<end, with: Array(new.utf8))
        try Data(bytes).write(to: url)
    }

    /// Writes the checkpoint at `url` back with `change` applied to its metadata and a valid checksum over it:
    /// what a deliberate edit (or a bug in another writer) produces.
    static func rewrite(_ url: URL, _ change: (inout [String: String]) -> Void) throws {
        var checkpoint = try Checkpoint.read(from: url)
        change(&checkpoint.metadata)
        try checkpoint.serialized().write(to: url)
    }

    /// The safetensors layout of format 1 (the release before whole-file checksums): sorted metadata with a
    /// SHA-256 of the data section only.
    static func formatOne(_ checkpoint: Checkpoint, version: String = "1") -> Data {
        var data: [UInt8] = []
        var entries: [(String, JSON)] = []
        for tensor in checkpoint.tensors {
            let begin = data.count
            tensor.values.withUnsafeBytes { data.append(contentsOf: $0) }
            entries.append(
                (
                    tensor.name,
                    .object([
                        ("dtype", .string("F32")), ("shape", .array(tensor.shape.map(JSON.int))),
                        ("data_offsets", .array([.int(begin), .int(data.count)])),
                    ])
                ))
        }
        var metadata = checkpoint.metadata
        metadata["file_sha256"] = nil
        metadata["data_sha256"] = nil
        metadata["format_version"] = version
        metadata["sha256"] = SHA256.hex(of: data)
        let header =
            [("__metadata__", JSON.object(metadata.sorted { $0.key < $1.key }.map { ($0.key, .string($0.value)) }))]
            + entries
        var headerBytes = Array(JSON.object(header).rendered.utf8)
        while headerBytes.count % 8 != 0 { headerBytes.append(0x20) }
        var file: [UInt8] = []
        withUnsafeBytes(of: UInt64(headerBytes.count).littleEndian) { file.append(contentsOf: $0) }
        return Data(file + headerBytes + data)
    }

    static func expectDataError(_ url: URL, mentioning check: String, sourceLocation: SourceLocation = #_sourceLocation)
    {
        do {
            _ = try Checkpoint.read(from: url)
            Issue.record("a bad checkpoint was accepted (\(check))", sourceLocation: sourceLocation)
        } catch let error as EtaError {
            #expect(error.exitCode == 65, "\(error)", sourceLocation: sourceLocation)
            #expect(
                error.message.contains("checkpoint check '\(check)' failed"), "\(error.message)",
                sourceLocation: sourceLocation)
        } catch {
            Issue.record("unexpected \(error)", sourceLocation: sourceLocation)
        }
    }

    @Test(
        "a changed metadata value fails the checksum",
        arguments: ["lr_scale", "optimizer", "seed", "step", "format_version", "data_sha256"])
    func flippedMetadata(key: String) throws {
        let (_, url) = try Self.sample()
        try Self.edit(url, key: key) { value in
            switch key {
            case "lr_scale": return value.replacingOccurrences(of: "1.0", with: "9.0")  // the guard's lr multiplier
            case "optimizer": return value.replacingOccurrences(of: "lr=0.002", with: "lr=0.009")  // the optimizer's lr
            case "format_version": return "1"  // a downgrade to format 1
            default: return (value.first == "1" ? "2" : "1") + value.dropFirst()  // seed, step, digest
            }
        }
        Self.expectDataError(url, mentioning: "checksum")
    }

    /// Every 5th byte of the header and 64 bytes spread over the data, each flipped alone: 'checksum' every time.
    @Test("a flipped bit anywhere in the file fails the checksum")
    func flippedAnywhere() throws {
        let (_, url) = try Self.sample()
        let original = [UInt8](try Data(contentsOf: url))
        let headerEnd = 8 + Int(original[0]) + (Int(original[1]) << 8)  // the sample's header is under 64 KiB
        let positions =
            Array(stride(from: 0, to: headerEnd, by: 5))
            + (0..<64).map { headerEnd + $0 * (original.count - headerEnd) / 64 }
        for (index, position) in positions.enumerated() {
            var bytes = original
            bytes[position] ^= UInt8(1 << (index % 7))
            try Data(bytes).write(to: url)
            Self.expectDataError(url, mentioning: "checksum")
        }
    }

    @Test(
        "a checkpoint with a valid checksum but an out-of-range field is refused naming the field",
        arguments: [
            ("seed", "abc"), ("seed", "-1"), ("seed", "9223372036854775808"), ("epoch", "9223372036854775807"),
            ("step", "9223372036854775807"), ("step", "-3"),
            ("skipped_steps", "-100"), ("skipped_steps", "999999"), ("lr_scale", "9.0"), ("lr_scale", "nan"),
            ("lr_scale", "0"),
            ("batch_size", "0"), ("val_fraction", "1.5"), ("epochs", "9223372036854775807"), ("log_every", "0"),
            ("accumulate", "0"), ("accumulate_mode", "avg"), ("schedule_interval", "hour"), ("state_dtype", "fp8"),
            ("backend", "tpu"), ("task", "ranking"), ("loss", "hinge"), ("train_loss_sum_bits", "1ffffffff"),
            ("optimizer", "adam:lr=abc"), ("optimizer", "sgd:lr=0.1"), ("model", "mlp:hidden=x"),
            ("schedule", "cosine:t_max=-1x"),
            ("optimizer_host_state", "{\"d\": \"x\"}"), ("plateau_state", "[1]"), ("data_sha256", "abc"),
            ("batch_in_epoch", "1e3"),
        ])
    func outOfRange(key: String, value: String) throws {
        let (_, url) = try Self.sample()
        try Self.rewrite(url) { $0[key] = value }
        Self.expectDataError(url, mentioning: key)
    }

    @Test(
        "a format-2 checkpoint without one of its fields is refused naming it",
        arguments: ["seed", "step", "lr_scale", "data_sha256"])
    func missingField(key: String) throws {
        let (_, url) = try Self.sample()
        try Self.rewrite(url) { $0[key] = nil }
        Self.expectDataError(url, mentioning: key)
    }

    @Test(
        "huge, negative or overflowing shapes are refused, without a trap",
        arguments: [
            [1 << 62], [1 << 62, 4], [1 << 31, 1 << 31, 4], [-1, 2], [3], [1],
        ])
    func hostileShape(shape: [Int]) throws {
        let (_, url) = try Self.sample()
        var checkpoint = try Checkpoint.read(from: url)
        checkpoint.tensors.append(Checkpoint.Tensor(name: "zz.hostile", shape: shape, values: [1, 2]))
        try checkpoint.serialized().write(to: url)
        Self.expectDataError(url, mentioning: "shape")
    }

    /// Replaces `old` by `new` (same length) in the file's header and seals the file with a valid checksum again.
    static func resealed(_ file: Data, replacing old: String, with new: String) throws -> Data {
        var bytes = [UInt8](file)
        let oldBytes = Array(old.utf8)
        let at = try #require(
            (0...(bytes.count - oldBytes.count)).first { bytes[$0..<($0 + oldBytes.count)].elementsEqual(oldBytes) })
        bytes.replaceSubrange(at..<(at + oldBytes.count), with: Array(new.utf8))
        bytes.replaceSubrange(Checkpoint.digestSlot, with: Array(Checkpoint.fileDigest(bytes).utf8))
        return Data(bytes)
    }

    @Test("tensors that overlap or leave a gap are refused")
    func offsets() throws {
        let (_, url) = try Self.sample()
        var checkpoint = try Checkpoint.read(from: url)
        checkpoint.tensors = [
            Checkpoint.Tensor(name: "a", shape: [2], values: [1, 2]),
            Checkpoint.Tensor(name: "b", shape: [1], values: [3]),
        ]
        let file = checkpoint.serialized()
        try file.write(to: url)
        #expect(try Checkpoint.read(from: url).tensors == checkpoint.tensors)
        // b moves onto a's second float: a [0, 8], b [4, 8].
        try Self.resealed(file, replacing: "[8, 12]", with: "[4, 8] ").write(to: url)
        Self.expectDataError(url, mentioning: "data_offsets")
        // a shrinks to one float: bytes 4..<8 belong to no tensor.
        try Self.resealed(
            file, replacing: "\"shape\": [2], \"data_offsets\": [0, 8]",
            with: "\"shape\": [1], \"data_offsets\": [0, 4]"
        ).write(to: url)
        Self.expectDataError(url, mentioning: "data_offsets")
    }

    @Test("format-1 files of the previous release are read, and resume")
    func formatOne() throws {
        let (trainer, url) = try Self.sample()
        let current = try Checkpoint.read(from: url)
        try Self.formatOne(current).write(to: url)
        let old = try Checkpoint.read(from: url)
        #expect(old.metadata["format_version"] == "1")
        #expect(old.tensors == current.tensors)
        #expect(old.dataMismatch(with: trainer) == nil, "format 1 holds no data digest")
        let restored = try Trainer(configuration: trainer.configuration, backend: Backends.cpu)
        try old.restore(into: restored)
        #expect(try restored.network.arena.download(.parameters) == trainer.network.arena.download(.parameters))
        #expect(restored.position == trainer.position)

        var damaged = [UInt8](try Data(contentsOf: url))
        damaged[damaged.count - 3] ^= 0x04
        try Data(damaged).write(to: url)
        Self.expectDataError(url, mentioning: "checksum")

        var hostile = current
        hostile.metadata["seed"] = "abc"
        try Self.formatOne(hostile).write(to: url)
        Self.expectDataError(url, mentioning: "seed")
        try Self.formatOne(current, version: "7").write(to: url)
        Self.expectDataError(url, mentioning: "format_version")
    }

    @Test("what was read serialises to a file that reads back the same")
    func stableBytes() throws {
        let (_, url) = try Self.sample()
        let first = try Checkpoint.read(from: url)
        let bytes = first.serialized()  // tensors now in name order, as read returns them
        try bytes.write(to: url)
        let second = try Checkpoint.read(from: url)
        #expect(second.tensors == first.tensors)
        #expect(second.metadata == first.metadata.merging(["file_sha256": second.metadata["file_sha256"]!]) { $1 })
        #expect(second.serialized() == bytes)
    }

    @Test("a position past the end of this run's epoch is refused on restore")
    func positionPastEpoch() throws {
        let (trainer, url) = try Self.sample()
        try Self.rewrite(url) { $0["batch_in_epoch"] = "1000" }
        let checkpoint = try Checkpoint.read(from: url)
        do {
            try checkpoint.restore(into: try Trainer(configuration: trainer.configuration, backend: Backends.cpu))
            Issue.record("restored a position past the epoch")
        } catch let error as EtaError {
            #expect(error.exitCode == 65 && error.message.contains("'batch_in_epoch'"), "\(error)")
        }
    }

    @Test("resuming on other data is reported; the same data is not")
    func dataDigest() throws {
        let (trainer, url) = try Self.sample()
        let checkpoint = try Checkpoint.read(from: url)
        let dataset = trainer.split.dataset
        #expect(checkpoint.metadata["data_sha256"] == dataset.contentDigest())
        #expect(checkpoint.dataMismatch(with: trainer) == nil)
        #expect(
            checkpoint.dataMismatch(with: try Trainer(configuration: trainer.configuration, backend: Backends.cpu))
                == nil)
        var features = dataset.features
        features[5] += 0.5
        let changed = Dataset(
            name: dataset.name, rows: dataset.rows, featureCount: dataset.featureCount, features: features,
            targets: dataset.targets, task: dataset.task, normalization: dataset.normalization)
        let other = try Trainer(configuration: trainer.configuration, dataset: changed, backend: Backends.cpu)
        try checkpoint.restore(into: other)
        let note = try #require(checkpoint.dataMismatch(with: other))
        #expect(note.contains(dataset.contentDigest()) && note.contains(changed.contentDigest()), "\(note)")
    }

    @Test("temporaries of killed writes are removed; those of live processes are kept")
    func staleTemporaries() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("eta-tmp-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        let target = folder.appendingPathComponent("checkpoint-latest.safetensors")
        // A process that has exited and been reaped: its id names no process now.
        let finished = Process()
        finished.executableURL = URL(fileURLWithPath: "/bin/true")
        try finished.run()
        finished.waitUntilExit()
        let dead = finished.processIdentifier, me = getpid(), parent = getppid()
        let names = [
            ".checkpoint-latest.safetensors.\(dead).123.tmp",  // killed run: removed
            ".checkpoint-latest.safetensors.\(me).77.tmp",  // this process, from before it started: removed
            ".checkpoint-latest.safetensors.\(me).78.tmp",  // this process, just now: kept
            ".checkpoint-latest.safetensors.\(parent).9.tmp",  // a live process: kept
            ".checkpoint-latest.safetensors.x\(dead).1.tmp",  // not PID.N: kept
            ".other.safetensors.\(dead).5.tmp",  // another file's: kept
        ]
        for name in names { try Data("partial".utf8).write(to: folder.appendingPathComponent(name)) }
        try FileManager.default.setAttributes(
            [.modificationDate: Date(timeIntervalSinceNow: -3600)],
            ofItemAtPath: folder.appendingPathComponent(names[1]).path)
        let (trainer, _) = try Self.sample()
        try Checkpoint.capture(trainer).write(to: target)
        let left = Set(try FileManager.default.contentsOfDirectory(atPath: folder.path))
        #expect(left == Set(["checkpoint-latest.safetensors"] + names[2...]), "\(left.sorted())")
        #expect(AtomicFile.removeStaleTemporaries(for: target).isEmpty)
        _ = try Checkpoint.read(from: target)
    }
}
