import EtaSupport
import Foundation

/// A training checkpoint in the safetensors format: float32 tensors (parameters as `layer0.weight`, ...,
/// optimizer state as `optimizer.exp_avg.layer0.weight`, ...) and Eta's metadata (configuration, step,
/// epoch, position in the epoch, seed, the training data's SHA-256, and the SHA-256 of the file itself) in
/// `__metadata__`.
/// `safetensors.torch.load_file` opens it.
///
/// ```swift
/// try Checkpoint.capture(trainer).write(to: URL(fileURLWithPath: "run/checkpoint-latest.safetensors"))
/// let checkpoint = try Checkpoint.read(from: url)
/// try checkpoint.restore(into: trainer)
/// ```
public struct Checkpoint {
    /// One named float32 tensor of the file.
    public struct Tensor: Equatable {
        /// The tensor's name, e.g. `layer0.weight` or `optimizer.exp_avg.layer0.weight`.
        public var name: String
        /// Its dimensions.
        public var shape: [Int]
        /// Its values, row-major.
        public var values: [Float]
    }

    /// The `format` metadata value every Eta checkpoint carries.
    public static let format = "eta-checkpoint"
    /// The format version this Eta writes (it also reads version 1).
    public static let formatVersion = "2"

    /// The tensors, in file order.
    public var tensors: [Tensor]
    /// The `__metadata__` strings.
    public var metadata: [String: String]

    /// - Parameters:
    ///   - tensors: The tensors, in file order.
    ///   - metadata: The `__metadata__` strings (`format_version` and `file_sha256` are set when serialising).
    public init(tensors: [Tensor], metadata: [String: String]) {
        self.tensors = tensors
        self.metadata = metadata
    }

    // MARK: Capture and restore

    /// The tensors a trainer's model and optimizer hold, in order.
    static func expectedTensors(_ network: Network) -> [(name: String, shape: [Int])] {
        let entries = network.arena.layout.entries
        return entries.map { ($0.name, $0.shape) } + runningTensors(network).map { ($0.name, $0.shape) }
            + (network.optimizer.configuration.stateSlots + (scheduleFreeBeta(network) != nil ? ["y"] : [])).flatMap {
                slot in
                entries.map { ("optimizer.\(slot).\($0.name)", $0.shape) }
            }
            + network.optimizer.tensorStateEntries(layout: network.arena.layout).map {
                ("optimizer.\($0.name)", $0.shape)
            }
    }

    /// Schedule-Free's β when the network trains with it: its checkpoints hold x (the averaged iterate, what
    /// evaluation and inference use) as the model's tensors, and y (what training continues from) as `optimizer.y.*`.
    static func scheduleFreeBeta(_ network: Network) -> Double? {
        network.optimizer.configuration.averagingBeta
    }

    /// Everything needed to continue `trainer` bit for bit.
    ///
    /// - Parameter trainer: The trainer to save.
    /// - Returns: The model's tensors (Schedule-Free's x), the optimizer state, and the metadata.
    /// - Throws: The backend's error from reading the arena back.
    public static func capture(_ trainer: Trainer) throws -> Checkpoint {
        let network = trainer.network
        let arena = network.arena
        var tensors: [Tensor] = []
        let parameters = try arena.download(.parameters)
        var model = parameters
        if let beta = scheduleFreeBeta(network), network.optimizer.step > 0 {
            // x = lerp(y, z, 1 − 1/β), as Optimizer.evaluationMode computes it on the device.
            let z = try arena.download(.state("z")), weight = Float(1 - 1 / beta)
            for i in model.indices { model[i] = Reference.lerp(parameters[i], z[i], weight) }
        }
        for entry in arena.layout.entries {
            tensors.append(
                Tensor(
                    name: entry.name, shape: entry.shape,
                    values: Array(model[entry.offset..<(entry.offset + entry.count)])))
        }
        try trainer.averageRunningStatistics()
        let running = try network.runningStatistics.map { try trainer.backend.read($0) } ?? []
        for (name, shape, range) in runningTensors(network) {
            tensors.append(
                Tensor(
                    name: name, shape: shape,
                    values: range.map { Array(running[$0]) } ?? [Float(network.batchesTracked)]))
        }
        for slot in network.optimizer.configuration.stateSlots + (scheduleFreeBeta(network) != nil ? ["y"] : []) {
            let values = slot == "y" ? parameters : try trainer.optimizerState(slot)
            for entry in arena.layout.entries {
                tensors.append(
                    Tensor(
                        name: "optimizer.\(slot).\(entry.name)", shape: entry.shape,
                        values: Array(values[entry.offset..<(entry.offset + entry.count)])))
            }
        }
        let tensorState = try network.optimizer.downloadTensorState(arena)
        for (name, shape) in network.optimizer.tensorStateEntries(layout: arena.layout) {
            tensors.append(Tensor(name: "optimizer.\(name)", shape: shape, values: tensorState[name]!))
        }
        let averaged = try averageContents(trainer)
        tensors += averaged.tensors
        let c = trainer.configuration, p = trainer.position
        var metadata: [String: String] = [
            "format": format, "format_version": formatVersion, "eta_version": EtaVersion.current,
            "optimizer": c.optimizer.spec, "optimizer_kind": c.optimizer.name, "model": c.model.spec,
            "loss": network.loss.rawValue, "dataset": c.dataset, "task": c.task, "seed": String(c.seed),
            "batch_size": String(c.batchSize), "val_fraction": String(c.validationFraction), "epochs": String(c.epochs),
            "log_every": String(c.logEvery), "accumulate": String(c.accumulationSteps),
            "accumulate_mode": c.accumulationMean ? "mean" : "sum", "schedule": c.scheduleSpec ?? "none",
            "schedule_interval": c.scheduleInterval.rawValue,
            "step": String(p.step), "epoch": String(p.epoch), "batch_in_epoch": String(p.batchInEpoch),
            "train_loss_sum_bits": String(p.trainLossSum.bitPattern, radix: 16),
            "train_correct_bits": String(p.trainCorrect.bitPattern, radix: 16),
            "skipped_steps": String(p.skippedSteps), "lr_scale": String(p.learningRateScale),
            "backend": trainer.backend.info.kind.rawValue, "data_sha256": dataDigest(of: trainer),
        ]
        if let label = c.labelColumn { metadata["label_column"] = label }
        if let shape = c.inputShape { metadata["input_shape"] = Dataset.shapeText(shape) }
        // The normalisation the split applied (the dataset's default when none was asked for): prediction needs it.
        metadata["normalize"] = (c.normalization ?? trainer.split.normalization).rawValue
        if let steps = c.steps { metadata["steps"] = String(steps) }
        metadata["state_dtype"] = c.stateType.rawValue
        metadata["world_size"] = String(trainer.processGroup.size)
        if !c.parameterGroups.isEmpty {
            metadata["param_groups"] = c.parameterGroups.map { g in
                "\(g.pattern):lr_scale=\(g.lrScale)" + (g.weightDecay.map { ",weight_decay=\($0)" } ?? "")
            }.joined(separator: ";")
        }
        if let warmup = c.warmupSpec { metadata["warmup"] = warmup }
        if let aux = c.optimizer.auxiliary { metadata["aux_optimizer"] = aux.spec }
        if c.model.parametrization != .standard { metadata["parametrization"] = c.model.parametrization.spec }
        metadata.merge(trainer.watchMetadata) { _, watch in watch }
        if trainer.split.dataset.text == nil {
            metadata["sample_shape"] = Dataset.shapeText(trainer.split.dataset.sampleShape)
        }
        if !trainer.split.mean.isEmpty {
            // The training split's standardisation, so prediction applies it to raw rows (Predictor).
            metadata["normalize_mean"] = "[" + trainer.split.mean.map { "\($0)" }.joined(separator: ",") + "]"
            metadata["normalize_std"] =
                "[" + trainer.split.standardDeviation.map { "\($0)" }.joined(separator: ",") + "]"
        }
        metadata.merge(textMetadata(trainer)) { _, text in text }
        metadata.merge(averaged.metadata) { _, average in average }
        let hostState = network.optimizer.hostState
        // Sorted keys: the same state gives the same bytes (a Dictionary's order changes from process to process).
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        if !hostState.isEmpty, let json = try? encoder.encode(hostState) {
            metadata["optimizer_host_state"] = String(decoding: json, as: UTF8.self)
        }
        if let plateau = trainer.schedulePlan.plateau, let json = try? encoder.encode(plateau) {
            metadata["plateau_state"] = String(decoding: json, as: UTF8.self)
        }
        return Checkpoint(tensors: tensors, metadata: metadata)
    }

    /// The position saved in the metadata, range-checked (see `CheckpointMetadata`).
    ///
    /// - Returns: The step, epoch, batch in the epoch and the epoch's running sums.
    /// - Throws: `EtaError` `.dataError` for a missing or out-of-range field.
    public func position() throws -> TrainingPosition {
        try CheckpointMetadata.position(metadata, source: "checkpoint metadata")
    }

    /// Checks this checkpoint against `trainer`'s model and optimizer and loads parameters, state and position.
    /// A mismatch throws `EtaError(.dataError)` (exit 65) naming the check that failed.
    ///
    /// - Parameter trainer: A trainer built with the checkpoint's configuration.
    /// - Throws: `EtaError` `.dataError` naming the failed check (optimizer, tensor names, shapes, position, schedule
    ///   or host state), or the backend's error.
    public func restore(into trainer: Trainer) throws {
        let network = trainer.network
        let kind = metadata["optimizer_kind"] ?? "?"
        guard kind == trainer.configuration.optimizer.name else {
            throw EtaError(
                .dataError,
                "checkpoint check 'optimizer': the file holds \(kind) state; this run's optimizer is "
                    + "\(trainer.configuration.optimizer.name)"
            )
        }
        try checkVocabulary(against: trainer)
        let expected = Self.expectedTensors(network)
        let present = Dictionary(tensors.map { ($0.name, $0) }, uniquingKeysWith: { first, _ in first })
        let missing = expected.map(\.name).filter { present[$0] == nil }
        let unexpected = tensors.map(\.name).filter { name in
            !Self.isAverage(name) && !expected.contains { $0.name == name }
        }
        guard missing.isEmpty, unexpected.isEmpty else {
            throw EtaError(
                .dataError,
                "checkpoint check 'tensor names': missing [\(missing.joined(separator: ", "))], unexpected "
                    + "[\(unexpected.joined(separator: ", "))]"
            )
        }
        for (name, shape) in expected where present[name]!.shape != shape {
            throw EtaError(
                .dataError,
                "checkpoint check 'shape': \(name) is \(present[name]!.shape) in the file, \(shape) in this model")
        }
        let layout = network.arena.layout
        // Padding between aligned tensors is not saved: it keeps the fresh arena's values.
        func arenaValues(prefix: String, role: ParameterArena.Role) throws -> [Float] {
            var values = try network.arena.download(role)
            for entry in layout.entries {
                values.replaceSubrange(
                    entry.offset..<(entry.offset + entry.count), with: present[prefix + entry.name]!.values)
            }
            return values
        }
        var position = try position()
        // The saved sums are the job's: rank 0 carries them, so the ranks' sums add up to them.
        if !trainer.processGroup.isPrimary { (position.trainLossSum, position.trainCorrect) = (0, 0) }
        guard position.batchInEpoch <= trainer.batchesPerEpoch else {
            throw EtaError(
                .dataError,
                "checkpoint check 'batch_in_epoch': the file's position is batch \(position.batchInEpoch) of an epoch; "
                    + "this run has \(trainer.batchesPerEpoch) batches per epoch"
            )
        }
        var plateau: PlateauState?
        if let text = metadata["plateau_state"] {
            guard let decoded = try? JSONDecoder().decode(PlateauState.self, from: Data(text.utf8)) else {
                throw EtaError(
                    .dataError, "checkpoint check 'schedule': the plateau state in the metadata is malformed")
            }
            guard trainer.schedulePlan.plateau != nil else {
                throw EtaError(
                    .dataError,
                    "checkpoint check 'schedule': the file holds plateau state; this run's schedule is not plateau")
            }
            plateau = decoded
        }
        // Schedule-Free continues from y; the model tensors hold x.
        try network.arena.upload(
            arenaValues(prefix: Self.scheduleFreeBeta(network) != nil ? "optimizer.y." : "", role: .parameters),
            to: .parameters)
        for slot in network.optimizer.configuration.stateSlots {
            var values = try trainer.optimizerState(slot)
            for entry in layout.entries {
                values.replaceSubrange(
                    entry.offset..<(entry.offset + entry.count),
                    with: present["optimizer.\(slot).\(entry.name)"]!.values)
            }
            try trainer.loadOptimizerState(values, slot: slot)
        }
        let tensorState = network.optimizer.tensorStateEntries(layout: layout).map {
            ($0.name, present["optimizer.\($0.name)"]!.values)
        }
        try network.optimizer.uploadTensorState(Dictionary(uniqueKeysWithValues: tensorState), arena: network.arena)
        try restoreRunningStatistics(into: network, present: present)
        try restoreAverages(into: trainer, present: present)
        try trainer.restore(position: position)
        if plateau != nil { trainer.restore(plateau: plateau) }
        trainer.restoreWatches(metadata)
        if let text = metadata["optimizer_host_state"] {
            guard let state = try? JSONDecoder().decode([String: Double].self, from: Data(text.utf8)) else {
                throw EtaError(.dataError, "checkpoint check 'optimizer': its host state in the metadata is malformed")
            }
            network.optimizer.hostState = state
        }
    }

    // MARK: safetensors

    /// The bytes the header of every format-2 file begins with; the file's SHA-256 (64 lowercase hex digits)
    /// follows at once, so a reader finds it at a fixed offset without trusting anything else in the file.
    static let digestPrefix = Array(#"{"__metadata__": {"file_sha256": ""#.utf8)
    /// Where the file's SHA-256 lies in a format-2 file: after the 8-byte header length and `digestPrefix`.
    static let digestSlot = (8 + digestPrefix.count)..<(8 + digestPrefix.count + 64)

    /// The safetensors bytes: an 8-byte little-endian header length, the JSON header (space-padded to 8 bytes),
    /// then the tensors' little-endian float32 data. `file_sha256`, the first metadata key, is the SHA-256 of
    /// the whole file with its own 64 digits read as `0`s: a flipped byte anywhere fails `read`'s 'checksum'.
    ///
    /// - Returns: The whole file.
    public func serialized() -> Data {
        // Offsets first, so the tensors' bytes are copied once, straight into the file.
        var offsets: [(String, [Int], Int, Int)] = []
        var dataCount = 0
        for tensor in tensors {
            let begin = dataCount
            dataCount += tensor.values.count * MemoryLayout<Float>.size
            offsets.append((tensor.name, tensor.shape, begin, dataCount))
        }
        var metadata = self.metadata
        metadata["format_version"] = Self.formatVersion
        metadata["sha256"] = nil
        metadata["file_sha256"] = nil
        let fields =
            [("file_sha256", JSON.string(String(repeating: "0", count: 64)))]
            + metadata.sorted { $0.key < $1.key }.map { ($0.key, JSON.string($0.value)) }
        var pairs: [(String, JSON)] = [("__metadata__", .object(fields))]
        for (name, shape, begin, end) in offsets {
            pairs.append(
                (
                    name,
                    .object([
                        ("dtype", .string("F32")), ("shape", .array(shape.map(JSON.int))),
                        ("data_offsets", .array([.int(begin), .int(end)])),
                    ])
                ))
        }
        var header = Array(JSON.object(pairs).rendered.utf8)
        precondition(header.starts(with: Self.digestPrefix), "the header must open with the digest slot")
        while header.count % 8 != 0 { header.append(0x20) }
        var file: [UInt8] = []
        file.reserveCapacity(8 + header.count + dataCount)
        withUnsafeBytes(of: UInt64(header.count).littleEndian) { file.append(contentsOf: $0) }
        file.append(contentsOf: header)
        for tensor in tensors { tensor.values.withUnsafeBytes { file.append(contentsOf: $0) } }
        file.replaceSubrange(Self.digestSlot, with: Array(Self.fileDigest(file).utf8))
        return Data(file)
    }

    /// SHA-256 of `file` with its digest slot read as 64 `0`s.
    static func fileDigest(_ file: [UInt8]) -> String {
        var hasher = SHA256()
        file.withUnsafeBytes { raw in
            hasher.update(UnsafeRawBufferPointer(rebasing: raw[..<digestSlot.lowerBound]))
            hasher.update([UInt8](repeating: UInt8(ascii: "0"), count: digestSlot.count))
            hasher.update(UnsafeRawBufferPointer(rebasing: raw[digestSlot.upperBound...]))
        }
        return hex(hasher.finalize())
    }

    /// A digest as lowercase hex, two digits a byte.
    static func hex(_ digest: [UInt8]) -> String {
        digest.map { ($0 < 16 ? "0" : "") + String($0, radix: 16) }.joined()
    }

    /// Writes atomically: a temporary file beside `url`, fsync, rename. First removes the temporaries that
    /// killed runs left beside `url`.
    ///
    /// - Parameter url: The file to write; its folder is created if missing.
    /// - Throws: `EtaError` `.ioError` naming the file and the system's reason.
    public func write(to url: URL) throws {
        AtomicFile.removeStaleTemporaries(for: url)
        try OutputFile.replace(url.path, with: serialized(), what: "checkpoint")
    }

    /// Reads and checks a checkpoint: the whole-file checksum (format 2; format-1 files of earlier releases are
    /// read with their data checksum), the safetensors structure, dtypes, shapes and offsets, and every metadata
    /// field's type and range. Missing file: exit 66; anything damaged or out of range: exit 65 naming the check.
    ///
    /// - Parameter url: The checkpoint file.
    /// - Returns: The tensors and metadata.
    /// - Throws: `EtaError` `.missingInput` for a missing or unreadable file; `.dataError` naming the failed check.
    public static func read(from url: URL) throws -> Checkpoint {
        guard FileManager.default.fileExists(atPath: url.path) else {
            throw EtaError(.missingInput, "\(url.path): no such checkpoint file")
        }
        guard let data = FileManager.default.contents(atPath: url.path) else {
            throw EtaError(.missingInput, "\(url.path): cannot be read")
        }
        return try read(bytes: [UInt8](data), path: url.path)
    }

    /// Checks a checkpoint's bytes as ``read(from:)`` does (a file read elsewhere: rank 0 of a distributed job).
    ///
    /// - Parameters:
    ///   - bytes: The file's contents.
    ///   - path: Where they came from, for messages.
    /// - Returns: The tensors and metadata.
    /// - Throws: `EtaError` `.dataError` naming the failed check.
    public static func read(bytes: [UInt8], path: String) throws -> Checkpoint {
        func fail(_ check: String, _ why: String) -> EtaError {
            EtaError(.dataError, "\(path): checkpoint check '\(check)' failed: \(why)")
        }
        guard bytes.count >= 8 else {
            throw fail("format", "\(bytes.count) bytes is too short for a safetensors file (truncated?)")
        }
        let headerLength = bytes[0..<8].enumerated().reduce(UInt64(0)) {
            $0 | UInt64($1.element) << (8 * UInt64($1.offset))
        }
        guard headerLength <= UInt64(bytes.count - 8), headerLength < 100_000_000 else {
            throw fail(
                hasDigestSlot(bytes) ? "checksum" : "format",
                "header length \(headerLength) exceeds the file's \(bytes.count) bytes (truncated or not safetensors)")
        }
        let headerEnd = 8 + Int(headerLength)
        // A format-2 header (or one a byte or two from it) is checked whole before anything in it is believed.
        let hasFileDigest = hasDigestSlot(bytes)
        if hasFileDigest {
            let recorded = String(decoding: bytes[digestSlot], as: UTF8.self)
            guard headerEnd > digestSlot.upperBound, bytes[8..<digestSlot.lowerBound].elementsEqual(digestPrefix),
                recorded == fileDigest(bytes)
            else {
                throw fail(
                    "checksum", "the file's SHA-256 differs from the one recorded in it (damaged or truncated file)")
            }
        }
        guard let object = try? JSONSerialization.jsonObject(with: Data(bytes[8..<headerEnd])),
            let header = object as? [String: Any]
        else {
            throw fail("format", "the header is not a JSON object")
        }
        guard let metadata = header["__metadata__"] as? [String: String] else {
            throw fail("format", "not an Eta checkpoint (no '__metadata__' object of strings)")
        }
        guard metadata["format"] == format else {
            throw fail(
                "format",
                "not an Eta checkpoint (metadata format '\(metadata["format"] ?? "none")', expected '\(format)')")
        }
        let version = metadata["format_version"] ?? "none"
        let payload = bytes[headerEnd...]
        switch version {
        case formatVersion where hasFileDigest: break
        case "1" where !hasFileDigest && metadata["file_sha256"] == nil:
            // Written by a release before whole-file checksums: only its data section is covered.
            guard metadata["sha256"] == SHA256.hex(of: payload) else {
                throw fail(
                    "checksum", "the data section's SHA-256 differs from the one recorded (damaged or truncated file)")
            }
        case formatVersion, "1":
            throw fail(
                "checksum",
                "the file checksum of format \(version) is missing or not where Eta writes it (damaged header)")
        default:
            throw fail(
                "format_version",
                "format version '\(version)' is not one this eta reads (1 and \(formatVersion)); "
                    + "a newer eta may read it"
            )
        }
        try CheckpointMetadata.validate(metadata, source: path)
        let tensors = try CheckpointMetadata.tensors(header, payload: payload, source: path)
        return Checkpoint(tensors: tensors, metadata: metadata)
    }

    /// Whether `file` opens like a format-2 checkpoint: the header's first bytes are `digestPrefix` up to two
    /// flipped bytes. Format-1 files open with another key and are far from it.
    static func hasDigestSlot(_ file: [UInt8]) -> Bool {
        guard file.count >= digestSlot.upperBound else { return false }
        let differences = zip(file[8..<digestSlot.lowerBound], digestPrefix).filter { $0 != $1 }.count
        return differences <= 2
    }
}
