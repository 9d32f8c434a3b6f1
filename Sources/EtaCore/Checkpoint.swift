import EtaSupport
import Foundation

/// A training checkpoint in the safetensors format: float32 tensors (parameters as `layer0.weight`, ...,
/// optimizer state as `optimizer.exp_avg.layer0.weight`, ...) and Eta's metadata (configuration, step,
/// epoch, position in the epoch, seed, a SHA-256 of the data section) in `__metadata__`.
/// `safetensors.torch.load_file` opens it.
///
/// ```swift
/// try Checkpoint.capture(trainer).write(to: URL(fileURLWithPath: "run/checkpoint-latest.safetensors"))
/// let checkpoint = try Checkpoint.read(from: url)
/// try checkpoint.restore(into: trainer)
/// ```
public struct Checkpoint {
    public struct Tensor: Equatable {
        public var name: String
        public var shape: [Int]
        public var values: [Float]
    }

    public static let format = "eta-checkpoint"
    public static let formatVersion = "1"

    public var tensors: [Tensor]
    public var metadata: [String: String]

    public init(tensors: [Tensor], metadata: [String: String]) {
        self.tensors = tensors
        self.metadata = metadata
    }

    // MARK: Capture and restore

    /// The tensors a trainer's model and optimizer hold, in order.
    static func expectedTensors(_ network: Network) -> [(name: String, shape: [Int])] {
        let entries = network.arena.layout.entries
        return entries.map { ($0.name, $0.shape) }
            + (network.arena.stateSlots + (scheduleFreeBeta(network) != nil ? ["y"] : [])).flatMap { slot in
                entries.map { ("optimizer.\(slot).\($0.name)", $0.shape) }
            }
    }

    /// Schedule-Free's β when the network trains with it: its checkpoints hold x (the averaged iterate, what
    /// evaluation and inference use) as the model's tensors, and y (what training continues from) as `optimizer.y.*`.
    static func scheduleFreeBeta(_ network: Network) -> Double? {
        guard case .family(let c) = network.optimizer.configuration else { return nil }
        return FamilyOptimizer.scheduleFreeBeta(c)
    }

    /// Everything needed to continue `trainer` bit for bit.
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
            tensors.append(Tensor(name: entry.name, shape: entry.shape, values: Array(model[entry.offset..<(entry.offset + entry.count)])))
        }
        for slot in arena.stateSlots + (scheduleFreeBeta(network) != nil ? ["y"] : []) {
            let values = slot == "y" ? parameters : try arena.download(.state(slot))
            for entry in arena.layout.entries {
                tensors.append(Tensor(name: "optimizer.\(slot).\(entry.name)", shape: entry.shape,
                                      values: Array(values[entry.offset..<(entry.offset + entry.count)])))
            }
        }
        let c = trainer.configuration, p = trainer.position
        var metadata: [String: String] = [
            "format": format, "format_version": formatVersion, "eta_version": EtaVersion.current,
            "optimizer": c.optimizer.spec, "optimizer_kind": c.optimizer.name, "model": c.model.spec,
            "loss": network.loss.rawValue, "dataset": c.dataset, "task": c.task, "seed": String(c.seed),
            "batch_size": String(c.batchSize), "val_fraction": String(c.validationFraction), "epochs": String(c.epochs),
            "log_every": String(c.logEvery), "accumulate": String(c.accumulationSteps),
            "accumulate_mode": c.accumulationMean ? "mean" : "sum", "schedule": c.scheduleSpec ?? "none", "schedule_interval": c.scheduleInterval.rawValue,
            "step": String(p.step), "epoch": String(p.epoch), "batch_in_epoch": String(p.batchInEpoch),
            "train_loss_sum_bits": String(p.trainLossSum.bitPattern, radix: 16),
            "train_correct_bits": String(p.trainCorrect.bitPattern, radix: 16),
            "skipped_steps": String(p.skippedSteps), "lr_scale": String(p.learningRateScale),
            "backend": trainer.backend.info.kind.rawValue,
        ]
        if let label = c.labelColumn { metadata["label_column"] = label }
        metadata["state_dtype"] = c.stateType.rawValue
        if !c.parameterGroups.isEmpty {
            metadata["param_groups"] = c.parameterGroups.map { g in
                "\(g.pattern):lr_scale=\(g.lrScale)" + (g.weightDecay.map { ",weight_decay=\($0)" } ?? "")
            }.joined(separator: ";")
        }
        if let warmup = c.warmupSpec { metadata["warmup"] = warmup }
        let hostState = network.optimizer.hostState
        if !hostState.isEmpty, let json = try? JSONEncoder().encode(hostState) {
            metadata["optimizer_host_state"] = String(decoding: json, as: UTF8.self)
        }
        if let plateau = trainer.schedulePlan.plateau, let json = try? JSONEncoder().encode(plateau) {
            metadata["plateau_state"] = String(decoding: json, as: UTF8.self)
        }
        return Checkpoint(tensors: tensors, metadata: metadata)
    }

    /// The position saved in the metadata.
    public func position() throws -> TrainingPosition {
        func integer(_ key: String) throws -> Int {
            guard let text = metadata[key], let value = Int(text), value >= 0 else {
                throw EtaError(.dataError, "checkpoint metadata: '\(key)' is missing or not a non-negative integer")
            }
            return value
        }
        func bits(_ key: String) throws -> Float {
            guard let text = metadata[key], let value = UInt32(text, radix: 16) else {
                throw EtaError(.dataError, "checkpoint metadata: '\(key)' is missing or malformed")
            }
            return Float(bitPattern: value)
        }
        var position = TrainingPosition(step: try integer("step"), epoch: try integer("epoch"), batchInEpoch: try integer("batch_in_epoch"),
                                        trainLossSum: try bits("train_loss_sum_bits"), trainCorrect: try bits("train_correct_bits"))
        position.skippedSteps = metadata["skipped_steps"].flatMap(Int.init) ?? 0
        position.learningRateScale = metadata["lr_scale"].flatMap(Double.init) ?? 1
        return position
    }

    /// Checks this checkpoint against `trainer`'s model and optimizer and loads parameters, state and position.
    /// A mismatch throws `EtaError(.dataError)` (exit 65) naming the check that failed.
    public func restore(into trainer: Trainer) throws {
        let network = trainer.network
        let kind = metadata["optimizer_kind"] ?? "?"
        guard kind == trainer.configuration.optimizer.name else {
            throw EtaError(.dataError, "checkpoint check 'optimizer': the file holds \(kind) state; this run's optimizer is \(trainer.configuration.optimizer.name)")
        }
        let expected = Self.expectedTensors(network)
        let present = Dictionary(tensors.map { ($0.name, $0) }, uniquingKeysWith: { first, _ in first })
        let missing = expected.map(\.name).filter { present[$0] == nil }
        let unexpected = tensors.map(\.name).filter { name in !expected.contains { $0.name == name } }
        guard missing.isEmpty, unexpected.isEmpty else {
            throw EtaError(.dataError, "checkpoint check 'tensor names': missing [\(missing.joined(separator: ", "))], unexpected [\(unexpected.joined(separator: ", "))]")
        }
        for (name, shape) in expected where present[name]!.shape != shape {
            throw EtaError(.dataError, "checkpoint check 'shape': \(name) is \(present[name]!.shape) in the file, \(shape) in this model")
        }
        let layout = network.arena.layout
        // Padding between aligned tensors is not saved: it keeps the fresh arena's values.
        func arenaValues(prefix: String, role: ParameterArena.Role) throws -> [Float] {
            var values = try network.arena.download(role)
            for entry in layout.entries {
                values.replaceSubrange(entry.offset..<(entry.offset + entry.count), with: present[prefix + entry.name]!.values)
            }
            return values
        }
        let position = try position()
        var plateau: PlateauState?
        if let text = metadata["plateau_state"] {
            guard let decoded = try? JSONDecoder().decode(PlateauState.self, from: Data(text.utf8)) else {
                throw EtaError(.dataError, "checkpoint check 'schedule': the plateau state in the metadata is malformed")
            }
            guard trainer.schedulePlan.plateau != nil else {
                throw EtaError(.dataError, "checkpoint check 'schedule': the file holds plateau state; this run's schedule is not plateau")
            }
            plateau = decoded
        }
        // Schedule-Free continues from y; the model tensors hold x.
        try network.arena.upload(arenaValues(prefix: Self.scheduleFreeBeta(network) != nil ? "optimizer.y." : "", role: .parameters), to: .parameters)
        for slot in network.arena.stateSlots {
            try network.arena.upload(arenaValues(prefix: "optimizer.\(slot).", role: .state(slot)), to: .state(slot))
        }
        try trainer.restore(position: position)
        if plateau != nil { trainer.restore(plateau: plateau) }
        if let text = metadata["optimizer_host_state"] {
            guard let state = try? JSONDecoder().decode([String: Double].self, from: Data(text.utf8)) else {
                throw EtaError(.dataError, "checkpoint check 'optimizer': its host state in the metadata is malformed")
            }
            network.optimizer.hostState = state
        }
    }

    // MARK: safetensors

    /// The safetensors bytes: an 8-byte little-endian header length, the JSON header (space-padded to 8 bytes),
    /// then the tensors' little-endian float32 data.
    public func serialized() -> Data {
        var data = Data()
        var offsets: [(String, [Int], Int, Int)] = []
        for tensor in tensors {
            let begin = data.count
            tensor.values.withUnsafeBytes { data.append(contentsOf: $0) }
            offsets.append((tensor.name, tensor.shape, begin, data.count))
        }
        var metadata = self.metadata
        metadata["sha256"] = SHA256.hex(of: [UInt8](data))
        var pairs: [(String, JSON)] = [("__metadata__", .object(metadata.sorted { $0.key < $1.key }.map { ($0.key, .string($0.value)) }))]
        for (name, shape, begin, end) in offsets {
            pairs.append((name, .object([("dtype", .string("F32")), ("shape", .array(shape.map(JSON.int))),
                                         ("data_offsets", .array([.int(begin), .int(end)]))])))
        }
        var header = Array(JSON.object(pairs).rendered.utf8)
        while header.count % 8 != 0 { header.append(0x20) }
        var output = Data()
        var length = UInt64(header.count).littleEndian
        withUnsafeBytes(of: &length) { output.append(contentsOf: $0) }
        output.append(contentsOf: header)
        output.append(data)
        return output
    }

    /// Writes atomically: a temporary file beside `url`, fsync, rename.
    public func write(to url: URL) throws {
        do { try AtomicFile.write(serialized(), to: url) } catch {
            throw EtaError(.ioError, "cannot write checkpoint \(url.path): \(error)")
        }
    }

    /// Reads and checks a checkpoint: the safetensors structure, dtypes, offsets, Eta's format tag and the
    /// data checksum. Missing file: exit 66; anything damaged: exit 65 naming the check.
    public static func read(from url: URL) throws -> Checkpoint {
        guard FileManager.default.fileExists(atPath: url.path) else { throw EtaError(.missingInput, "\(url.path): no such checkpoint file") }
        guard let data = FileManager.default.contents(atPath: url.path) else { throw EtaError(.missingInput, "\(url.path): cannot be read") }
        let bytes = [UInt8](data)
        func fail(_ check: String, _ why: String) -> EtaError { EtaError(.dataError, "\(url.path): checkpoint check '\(check)' failed: \(why)") }
        guard bytes.count >= 8 else { throw fail("format", "\(bytes.count) bytes is too short for a safetensors file (truncated?)") }
        let headerLength = bytes[0..<8].enumerated().reduce(UInt64(0)) { $0 | UInt64($1.element) << (8 * UInt64($1.offset)) }
        guard headerLength <= UInt64(bytes.count - 8), headerLength < 100_000_000 else {
            throw fail("format", "header length \(headerLength) exceeds the file's \(bytes.count) bytes (truncated or not safetensors)")
        }
        let headerEnd = 8 + Int(headerLength)
        guard let object = try? JSONSerialization.jsonObject(with: Data(bytes[8..<headerEnd])), let header = object as? [String: Any] else {
            throw fail("format", "the header is not a JSON object")
        }
        let metadata = header["__metadata__"] as? [String: String] ?? [:]
        guard metadata["format"] == format else {
            throw fail("format", "not an Eta checkpoint (metadata format '\(metadata["format"] ?? "none")', expected '\(format)')")
        }
        let payload = Data(bytes[headerEnd...])
        guard metadata["sha256"] == SHA256.hex(of: [UInt8](payload)) else {
            throw fail("checksum", "the data section's SHA-256 differs from the one recorded (damaged or truncated file)")
        }
        var tensors: [Tensor] = []
        for (name, value) in header where name != "__metadata__" {
            guard let entry = value as? [String: Any], let dtype = entry["dtype"] as? String,
                  let shape = entry["shape"] as? [Int], let offsets = entry["data_offsets"] as? [Int], offsets.count == 2 else {
                throw fail("format", "tensor '\(name)' has a malformed header entry")
            }
            guard dtype == "F32" else { throw fail("dtype", "tensor '\(name)' is \(dtype); Eta checkpoints hold F32") }
            let count = shape.reduce(1, *)
            guard shape.allSatisfy({ $0 >= 0 }), offsets[0] >= 0, offsets[1] <= payload.count, offsets[1] - offsets[0] == count * 4 else {
                throw fail("shape", "tensor '\(name)' with shape \(shape) does not match its data offsets \(offsets)")
            }
            let values = payload.subdata(in: (payload.startIndex + offsets[0])..<(payload.startIndex + offsets[1])).withUnsafeBytes {
                Array($0.bindMemory(to: Float.self))
            }
            tensors.append(Tensor(name: name, shape: shape, values: values))
        }
        return Checkpoint(tensors: tensors.sorted { $0.name < $1.name }, metadata: metadata)
    }
}
