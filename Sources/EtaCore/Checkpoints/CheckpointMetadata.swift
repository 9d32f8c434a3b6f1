import Foundation

/// The checks `Checkpoint.read` applies to what a file says about itself: every `__metadata__` field by type
/// and range, and every tensor's dtype, shape and data offsets. The values are untrusted until these pass;
/// afterwards `Int(metadata["step"]!)!` and the trainer's arithmetic on it (`step + 1`, steps × epochs) cannot trap.
enum CheckpointMetadata {
    /// The largest step, epoch or batch position a checkpoint may hold: 2^53 − 1, the largest integer a Double
    /// (in which the schedules compute) holds exactly, and far from `Int.max` for the trainer's `step + 1`.
    static let maximumPosition = (1 << 53) - 1
    /// The largest epoch count, batch size, log interval or accumulation (`Int32.max`): products such as steps
    /// per epoch × epochs stay far below `Int.max`.
    static let maximumCount = Int(Int32.max)

    /// Fields every checkpoint, of either format, holds: the position and the optimizer's name.
    static let positionKeys: Set<String> = [
        "step", "epoch", "batch_in_epoch", "train_loss_sum_bits", "train_correct_bits", "optimizer_kind",
    ]
    /// Fields `Checkpoint.capture` always writes to a format-2 file; the checksum proves they were not dropped.
    static let formatTwoKeys = positionKeys.union([
        "eta_version", "optimizer", "model", "loss", "dataset", "task", "seed", "batch_size", "val_fraction", "epochs",
        "log_every", "accumulate", "accumulate_mode", "schedule", "schedule_interval", "skipped_steps", "lr_scale",
        "backend", "state_dtype", "data_sha256",
    ])

    /// Throws `EtaError(.dataError)` naming the first field that is missing or out of range, the check being
    /// the field's name: `<source>: checkpoint check 'seed' failed: 'seed' is "abc"; valid: ...`.
    static func validate(_ metadata: [String: String], source: String) throws {
        let required = metadata["format_version"] == "1" ? positionKeys : formatTwoKeys
        if let missing = required.sorted().first(where: { metadata[$0] == nil }) {
            throw EtaError(
                .dataError, "\(source): checkpoint check '\(missing)' failed: the metadata has no '\(missing)'")
        }
        for (key, text) in metadata.sorted(by: { $0.key < $1.key }) {
            if let valid = problem(key: key, text: text, metadata: metadata) {
                let shown = text.count > 80 ? String(text.prefix(80)) + "..." : text
                throw EtaError(
                    .dataError, "\(source): checkpoint check '\(key)' failed: '\(key)' is \"\(shown)\"; valid: \(valid)"
                )
            }
        }
    }

    /// The position the metadata holds, each field range-checked as `validate` does.
    static func position(_ metadata: [String: String], source: String) throws -> TrainingPosition {
        for key in [
            "step", "epoch", "batch_in_epoch", "train_loss_sum_bits", "train_correct_bits", "skipped_steps", "lr_scale",
        ] {
            guard let text = metadata[key] else {
                if key == "skipped_steps" || key == "lr_scale" { continue }  // absent from early format-1 files
                throw EtaError(.dataError, "\(source): checkpoint check '\(key)' failed: the metadata has no '\(key)'")
            }
            if let valid = problem(key: key, text: text, metadata: metadata) {
                throw EtaError(
                    .dataError,
                    "\(source): checkpoint check '\(key)' failed: '\(key)' is \"\(text.prefix(80))\"; valid: \(valid)")
            }
        }
        // Every force-unwrap below was checked just above.
        var position = TrainingPosition(
            step: Int(metadata["step"]!)!, epoch: Int(metadata["epoch"]!)!,
            batchInEpoch: Int(metadata["batch_in_epoch"]!)!,
            trainLossSum: Float(bitPattern: UInt32(metadata["train_loss_sum_bits"]!, radix: 16)!),
            trainCorrect: Float(bitPattern: UInt32(metadata["train_correct_bits"]!, radix: 16)!))
        position.skippedSteps = metadata["skipped_steps"].flatMap(Int.init) ?? 0
        position.learningRateScale = metadata["lr_scale"].flatMap(Double.init) ?? 1
        return position
    }

    /// What is valid for `key` when `text` is not, or nil when it is (and for keys this release does not know).
    static func problem(key: String, text: String, metadata: [String: String]) -> String? {
        func integer(_ range: ClosedRange<Int>) -> String? {
            Int(text).map(range.contains) == true ? nil : "an integer in \(range.lowerBound)...\(range.upperBound)"
        }
        func oneOf(_ values: [String]) -> String? { values.contains(text) ? nil : values.joined(separator: ", ") }
        func parses(_ parse: (String) throws -> Void) -> String? {
            do { try parse(text); return nil } catch { return "a SPEC this eta parses (\(error))" }
        }
        switch key {
        case "format": return oneOf([Checkpoint.format])
        case "format_version": return oneOf(["1", Checkpoint.formatVersion])
        case "step", "epoch", "batch_in_epoch": return integer(0...maximumPosition)
        case "skipped_steps":
            // The optimizer's own count is step − skipped_steps.
            let step = metadata["step"].flatMap(Int.init).map { min(max($0, 0), maximumPosition) } ?? maximumPosition
            return integer(0...step)
        case "epochs", "val_batches": return integer(0...maximumCount)
        case "vocabulary":
            do { _ = try TextVocabulary(serialized: text); return nil } catch {
                return "the characters of a vocabulary in increasing code-point order, each once"
            }
        case "batch_size", "log_every", "accumulate", "world_size": return integer(1...maximumCount)
        case "steps": return integer(0...maximumPosition)
        case "normalize": return oneOf(Normalization.allCases.map(\.rawValue))
        case "input_shape": return parses { _ = try Dataset.parseShape($0) }
        case "seed":
            // Not all of UInt64: `eta train` logs the seed as a JSON integer (an Int), and no run with a larger
            // seed gets as far as writing a checkpoint.
            return UInt64(text).map { $0 <= UInt64(Int.max) } == true ? nil : "an integer in 0...\(Int.max)"
        case "val_fraction":
            return Double(text).map { $0 >= 0 && $0 < 1 } == true ? nil : "a number in [0, 1)"
        case "lr_scale":
            return Double(text).map { $0 > 0 && $0 <= 1 } == true
                ? nil : "a number in (0, 1] (the divergence guard only lowers it)"
        case "train_loss_sum_bits", "train_correct_bits":
            return text.count <= 8 && text.allSatisfy(\.isHexDigit) && UInt32(text, radix: 16) != nil
                ? nil : "1 to 8 hex digits (a float32's bits)"
        case "file_sha256", "sha256", "data_sha256":
            return text.count == 64 && text.utf8.allSatisfy({ (48...57).contains($0) || (97...102).contains($0) })
                ? nil : "64 lowercase hex digits"
        case "accumulate_mode": return oneOf(["mean", "sum"])
        case "schedule_interval": return oneOf(ScheduleInterval.allCases.map(\.rawValue))
        case "state_dtype": return oneOf(StorageType.allCases.map(\.rawValue))
        case "backend": return oneOf([BackendKind.cpu.rawValue, BackendKind.opencl.rawValue])
        case "task": return oneOf(["auto", "classification", "regression"])
        case "loss": return oneOf(LossKind.allCases.map(\.rawValue))
        case "optimizer_kind", "dataset": return text.isEmpty ? "a non-empty name" : nil
        case "optimizer":
            if let problem = parses({ _ = try OptimizerConfiguration(spec: $0) }) { return problem }
            let name = (try? OptimizerConfiguration(spec: text))?.name
            return metadata["optimizer_kind"].map { $0 == name } == false
                ? "a SPEC of the optimizer_kind '\(metadata["optimizer_kind"]!)'" : nil
        case "aux_optimizer":
            return parses {
                _ = try OptimizerConfiguration(spec: "muon").withAuxiliary(OptimizerConfiguration(spec: $0))
            }
        case "model": return parses { _ = try ModelSpec(parsing: $0) }
        case "parametrization": return parses { _ = try Parametrization(spec: $0) }
        case "sample_shape": return parses { _ = try Dataset.parseShape($0) }
        case "normalize_mean", "normalize_std":
            let values = try? JSONDecoder().decode([Float].self, from: Data(text.utf8))
            return values.map { $0.allSatisfy(\.isFinite) && (key == "normalize_mean" || $0.allSatisfy { $0 > 0 }) }
                == true ? nil : "a JSON array of finite numbers (deviations > 0)"
        case "early_stop": return parses { _ = try EarlyStopping(spec: $0) }
        case "best_metric": return oneOf(EpochMetric.allCases.map(\.rawValue))
        case "early_stop_state", "best_state":
            var tracker = EarlyStopping()
            return tracker.restore(state: text) ? nil : "best,epoch,wait (a float and two counts)"
        case "schedule": return text == "none" ? nil : parses { _ = try Schedule(spec: $0) }
        case "warmup": return parses { _ = try Schedule(spec: $0) }
        case "param_groups":
            return parses { try $0.split(separator: ";").forEach { _ = try ParameterGroup(spec: String($0)) } }
        case "optimizer_host_state":
            let state = try? JSONDecoder().decode([String: Double].self, from: Data(text.utf8))
            return state.map { $0.values.allSatisfy(\.isFinite) } == true ? nil : "a JSON object of finite numbers"
        case "plateau_state":
            guard let state = try? JSONDecoder().decode(PlateauState.self, from: Data(text.utf8)) else {
                return "a JSON plateau state"
            }
            let counts = [state.patience, state.cooldown, state.badSteps, state.cooldownCounter]
            let reals = [state.factor, state.threshold, state.minLR, state.eps, state.learningRate]
            guard ["min", "max"].contains(state.mode), ["rel", "abs"].contains(state.thresholdMode),
                counts.allSatisfy((0...maximumCount).contains), reals.allSatisfy({ $0.isFinite && $0 >= 0 }),
                !state.best.isNaN
            else {
                return
                    "a plateau state with mode min|max, threshold_mode rel|abs, counts in 0...\(maximumCount), finite "
                    + "non-negative rates"
            }
            return nil
        default: return nil  // label_column, eta_version and keys a later release adds: free text
        }
    }

    /// The tensors the header lists, checked: F32, non-negative dimensions whose product × 4 neither overflows
    /// nor differs from the data offsets' span, offsets inside the data section, tensors back to back.
    static func tensors(
        _ header: [String: Any], payload: ArraySlice<UInt8>, source: String
    ) throws -> [Checkpoint.Tensor] {
        func fail(_ check: String, _ why: String) -> EtaError {
            EtaError(.dataError, "\(source): checkpoint check '\(check)' failed: \(why)")
        }
        var tensors: [(tensor: Checkpoint.Tensor, begin: Int, end: Int)] = []
        for (name, value) in header where name != "__metadata__" {
            guard let entry = value as? [String: Any], let dtype = entry["dtype"] as? String,
                let shape = entry["shape"] as? [Int], let offsets = entry["data_offsets"] as? [Int], offsets.count == 2
            else {
                throw fail("format", "tensor '\(name)' has a malformed header entry")
            }
            guard dtype == "F32" else { throw fail("dtype", "tensor '\(name)' is \(dtype); Eta checkpoints hold F32") }
            var count = 1, overflow = false
            for dimension in shape where !overflow {
                guard dimension >= 0 else {
                    throw fail("shape", "tensor '\(name)' has a negative dimension in \(shape)")
                }
                (count, overflow) = count.multipliedReportingOverflow(by: dimension)
            }
            let (byteCount, byteOverflow) = count.multipliedReportingOverflow(by: 4)
            guard !overflow, !byteOverflow, byteCount <= payload.count else {
                throw fail(
                    "shape",
                    "tensor '\(name)' with shape \(shape) needs more bytes than the file's \(payload.count)-byte data "
                        + "section"
                )
            }
            let (begin, end) = (offsets[0], offsets[1])
            guard begin >= 0, begin <= end, end <= payload.count, end - begin == byteCount else {
                throw fail(
                    "shape",
                    "tensor '\(name)' with shape \(shape) does not match its data offsets \(offsets) in "
                        + "\(payload.count) bytes"
                )
            }
            let values = Array(payload[(payload.startIndex + begin)..<(payload.startIndex + end)]).withUnsafeBytes {
                Array($0.bindMemory(to: Float.self))
            }
            tensors.append((Checkpoint.Tensor(name: name, shape: shape, values: values), begin, end))
        }
        // safetensors lays tensors back to back from offset 0 to the end of the file.
        var expectedBegin = 0
        for entry in tensors.sorted(by: { ($0.begin, $0.end) < ($1.begin, $1.end) }) {
            guard entry.begin == expectedBegin else {
                throw fail(
                    "data_offsets",
                    "tensor '\(entry.tensor.name)' begins at \(entry.begin), not at \(expectedBegin) where the "
                        + "previous one ends"
                )
            }
            expectedBegin = entry.end
        }
        guard expectedBegin == payload.count else {
            throw fail(
                "data_offsets", "the tensors end at byte \(expectedBegin) of a \(payload.count)-byte data section")
        }
        return tensors.map(\.tensor).sorted { $0.name < $1.name }
    }
}
