/// A checkpoint's model alone, for inference (`eta sample`): its parameters and running statistics into a network
/// built from the checkpoint's SPEC, with no optimizer state or training position.
extension Checkpoint {
    /// The tensors of the model (PyTorch's state dict): the parameters, then BatchNorm's buffers.
    ///
    /// - Parameter network: The network the tensors are for.
    /// - Returns: Each tensor's name and shape.
    public static func modelTensors(_ network: Network) -> [(name: String, shape: [Int])] {
        network.architecture.layout.entries.map { ($0.name, $0.shape) }
            + runningTensors(network).map { ($0.name, $0.shape) }
    }

    /// Loads the model's tensors (what evaluation uses: Schedule-Free's x) into `network`, replica 0, checking every
    /// name and shape first. Optimizer tensors are ignored.
    ///
    /// - Parameter network: A network built from this checkpoint's SPEC.
    /// - Throws: `EtaError` `.dataError` naming a missing tensor or a shape that differs; the backend's error.
    public func loadModel(into network: Network) throws {
        let present = Dictionary(tensors.map { ($0.name, $0) }, uniquingKeysWith: { first, _ in first })
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
}
