/// A checkpoint's model alone, for inference (`eta sample`): its parameters and running statistics into a network
/// built from the checkpoint's SPEC, with no optimizer state or training position.
extension Checkpoint {
    /// BatchNorm's buffers as PyTorch names them: `running_mean`, `running_var` and the scalar `num_batches_tracked`
    /// (stored as float32; PyTorch's is int64, and `load_state_dict` converts).
    static func runningTensors(_ network: Network) -> [(name: String, shape: [Int], range: Range<Int>?)] {
        let buffers = network.architecture.buffers.entries
        return buffers.map { ($0.name, $0.shape, $0.offset..<($0.offset + $0.count)) }
            + network.architecture.nodes.filter { $0.operation == .batchNorm }.map {
                ("\($0.name).num_batches_tracked", [], nil)
            }
    }

    /// The tensors of the model (PyTorch's state dict): the parameters, then BatchNorm's buffers.
    ///
    /// - Parameter network: The network the tensors are for.
    /// - Returns: Each tensor's name and shape.
    public static func modelTensors(_ network: Network) -> [(name: String, shape: [Int])] {
        network.architecture.layout.entries.map { ($0.name, $0.shape) }
            + runningTensors(network).map { ($0.name, $0.shape) }
    }

    /// Which of a checkpoint's weights to load: the model's, or one of its averages.
    public enum Weights: String, Sendable, CaseIterable {
        /// The trained parameters (Schedule-Free's x).
        case model
        /// The exponential moving average (`--ema`), `ema.*`.
        case ema
        /// The stochastic weight average (`--swa-start`), `swa.*`, with its `update_bn` statistics when it has them.
        case swa

        /// The prefix of the chosen tensors' names.
        var prefix: String { self == .model ? "" : rawValue + "." }
    }

    /// Loads the model's tensors (what evaluation uses: Schedule-Free's x), or an average of them, into `network`,
    /// replica 0, checking every name and shape first. Optimizer tensors are ignored.
    ///
    /// - Parameters:
    ///   - network: A network built from this checkpoint's SPEC.
    ///   - weights: The model's weights or one of its averages; an average's BatchNorm statistics are SWA's
    ///     `update_bn` ones when saved, else the model's.
    /// - Throws: `EtaError` `.dataError` naming a missing tensor, an average the file does not hold, or a shape that
    ///   differs; the backend's error.
    public func loadModel(into network: Network, weights: Weights = .model) throws {
        var present = Dictionary(tensors.map { ($0.name, $0) }, uniquingKeysWith: { first, _ in first })
        if weights != .model {
            let chosen = tensors.filter { $0.name.hasPrefix(weights.prefix) }
            guard !chosen.isEmpty else {
                let option = weights == .ema ? "--ema DECAY" : "--swa-start S --swa-lr LR"
                throw EtaError(
                    .dataError,
                    "the checkpoint holds no \(weights.rawValue) weights (train with \(option) to keep them)")
            }
            for tensor in chosen {
                let name = String(tensor.name.dropFirst(weights.prefix.count))
                present[name] = Tensor(name: name, shape: tensor.shape, values: tensor.values)
            }
        }
        for (name, shape) in Self.modelTensors(network) {
            guard let tensor = present[name] else {
                throw EtaError(.dataError, "checkpoint check 'tensor names': \(name) is missing")
            }
            guard tensor.shape == shape else {
                throw EtaError(
                    .dataError,
                    "checkpoint check 'shape': \(name) is \(tensor.shape) in the file, \(shape) in this model")
            }
        }
        var parameters = try network.arena.download(.parameters)
        for entry in network.architecture.layout.entries {
            parameters.replaceSubrange(entry.offset..<(entry.offset + entry.count), with: present[entry.name]!.values)
        }
        try network.arena.upload(parameters, to: .parameters)
        guard let buffer = network.runningStatistics else { return }
        var running = try network.backend.read(buffer)
        for (name, _, range) in Self.runningTensors(network) {
            if let range { running.replaceSubrange(range, with: present[name]!.values) }
        }
        try network.backend.write(running, to: buffer)
    }

    /// Puts BatchNorm's running statistics and batch count back (names and shapes already checked).
    func restoreRunningStatistics(into network: Network, present: [String: Tensor]) throws {
        if let buffer = network.runningStatistics {
            var running = try network.backend.read(buffer)
            for (name, _, range) in Self.runningTensors(network) {
                guard let range else {
                    let count = present[name]!.values[0]
                    guard count >= 0, count < 0x1p53, count == count.rounded() else {
                        throw EtaError(.dataError, "checkpoint check 'num_batches_tracked': \(name) is \(count)")
                    }
                    network.batchesTracked = Int(count)
                    continue
                }
                running.replaceSubrange(range, with: present[name]!.values)
            }
            try network.backend.write(running, to: buffer)
        }
    }
}

extension Checkpoint {
    /// The model SPEC the file was trained with, its parametrization (μP) included.
    ///
    /// - Returns: The SPEC.
    /// - Throws: `EtaError` `.usage` when the metadata's `model` or `parametrization` does not parse.
    public func modelSpec() throws -> ModelSpec {
        var spec = try ModelSpec(parsing: metadata["model"] ?? "")
        if let text = metadata["parametrization"] { spec.parametrization = try Parametrization(spec: text) }
        return spec
    }

    /// The model's architecture as the file describes it: its SPEC and parametrization, its input shape (the
    /// `input_shape` or `sample_shape` metadata, a GPT's context, or an MLP's first weight), and its outputs (the first
    /// dimension of its last tensor, the output layer's).
    ///
    /// - Returns: The architecture, ready for ``loadModel(into:weights:)``.
    /// - Throws: `EtaError` `.dataError` when the file lacks what it takes to rebuild the model.
    public func inferenceArchitecture() throws -> ModelArchitecture {
        let spec = try modelSpec()
        let shapes = Dictionary(tensors.map { ($0.name, $0.shape) }, uniquingKeysWith: { first, _ in first })
        // A probe of the same SPEC names the output layer (its weight's first dimension is the output count) and,
        // for an MLP, the first layer (its second dimension is the feature count); files may list tensors in any order.
        let probe = try spec.architecture(
            inputShape: spec.readsTokens ? [spec.context] : spec.needsImages ? [1, 8, 8] : [1], outputs: 1)
        let dense = probe.nodes.filter { if case .dense = $0.operation { true } else { false } }
        guard let readout = dense.last, let outputs = shapes["\(readout.name).weight"]?.first else {
            throw EtaError(.dataError, "the checkpoint holds no output layer for its \(spec.kind) model")
        }
        let inputShape: [Int]
        if spec.readsTokens {
            inputShape = [spec.context]
        } else if let text = metadata["input_shape"] ?? metadata["sample_shape"] {
            inputShape = try Dataset.parseShape(text)
        } else if let first = dense.first, !spec.needsImages, let shape = shapes["\(first.name).weight"],
            shape.count == 2
        {
            inputShape = [shape[1]]  // a dense first layer [hidden, features]
        } else {
            throw EtaError(.dataError, "the checkpoint does not say its input shape (no input_shape metadata)")
        }
        // An MLP reads its samples flat, whatever their shape in the data.
        let shape = spec.needsImages || spec.readsTokens ? inputShape : [inputShape.reduce(1, *)]
        return try spec.architecture(inputShape: shape, outputs: outputs)
    }
}
