extension Network {
    /// ‖g‖² of the gradient arena into `stats[gradNormSquared]`.
    ///
    /// - Throws: The backend's error.
    public func measureGradientNorm() throws {
        let (gradients, count) = updatedGradients
        try backend.run(
            .reduce(
                ReduceCommand(
                    source: gradients, sourceOffset: 0, count: count / replicas, squares: true,
                    destination: stats, index: Stat.gradNormSquared.rawValue * replicas, scale: 1,
                    accumulate: false, segments: replicas)))
        if let shard, shard.group.size > 1 {
            // Each rank holds one block of the summed gradient: the norm is the blocks' sum of squares.
            let index = Stat.gradNormSquared.rawValue * replicas
            let blockSum = Double(try backend.read(stats, offset: index, count: 1)[0])
            try backend.write([Float(try shard.sumAcrossRanks([blockSum])[0])], to: stats, offset: index)
        }
    }

    /// The gradients the update reads: the arena's, or with sharded state this rank's block of their sum.
    var updatedGradients: (buffer: DeviceBuffer, count: Int) {
        shard.map { ($0.arena.gradients, $0.arena.layout.count) } ?? (arena.gradients, replicas * replicaSize)
    }

    /// Clips the gradient arena on the device: by value, then by global norm (`clip_grad_norm_` semantics; the
    /// pre-clip norm stays in `stats[gradNormSquared]`, squared). Nothing is read back.
    ///
    /// - Parameters:
    ///   - maxNorm: The largest global L2 norm; nil: no norm clipping.
    ///   - maxValue: The largest absolute value of any element; nil: no value clipping.
    /// - Throws: The backend's error.
    public func clipGradients(maxNorm: Float?, maxValue: Float?) throws {
        let (gradients, count) = updatedGradients
        if let maxValue {
            try backend.run(.clipByValue(gradients: gradients, count: count, clip: maxValue))
        }
        if let maxNorm {
            try measureGradientNorm()
            try backend.run(
                .clipByNorm(
                    gradients: gradients, count: count, stats: stats,
                    normIndex: Stat.gradNormSquared.rawValue * replicas, maxNorm: maxNorm))
        }
    }

    /// Sets the given stats to zero (for every replica).
    ///
    /// - Parameter which: The stats to zero.
    /// - Throws: The backend's error.
    public func resetStats(_ which: [Stat]) throws {
        var values = try backend.read(stats)
        for stat in which { for r in 0..<replicas { values[stat.rawValue * replicas + r] = 0 } }
        try backend.write(values, to: stats)
    }

    /// Reads every stat of replica 0 (waits for the queue).
    ///
    /// - Returns: Each stat's value for replica 0.
    /// - Throws: The backend's error.
    public func readStats() throws -> [Stat: Float] {
        try readReplicaStats().mapValues { $0[0] }
    }

    /// Reads every stat of every replica (waits for the queue).
    ///
    /// - Returns: Each stat's values, one per replica.
    /// - Throws: The backend's error.
    public func readReplicaStats() throws -> [Stat: [Float]] {
        let values = try backend.read(stats)
        return Dictionary(
            uniqueKeysWithValues: Stat.allCases.map { stat in
                (stat, Array(values[(stat.rawValue * replicas)..<((stat.rawValue + 1) * replicas)]))
            })
    }

}

extension Network {
    /// The model's outputs of the last forward pass of `rows` samples (replica 0): per sample and output position, the
    /// logits (or regression outputs), `[rows · outputPositions × outputs]` (waits for the queue).
    ///
    /// - Parameter rows: Samples in the last forward pass.
    /// - Returns: The outputs, row-major.
    /// - Throws: `EtaError` `.usage` for more rows than the workspace holds; the backend's error.
    public func readOutputs(rows: Int) throws -> [Float] {
        guard rows >= 0, rows <= maxBatch else {
            throw EtaError(.usage, "\(rows) rows requested; the network holds at most \(maxBatch)")
        }
        return try backend.read(
            plan.nodes.last!.value!, offset: 0, count: rows * outputPositions * architecture.outputShape.channels)
    }
}

extension Network {
    /// Each node's mean absolute activation over the last forward pass of `rows` samples (replica 0): the `mup`
    /// package's coordinate check reads these (`x.abs().mean()` of every module's output).
    ///
    /// - Parameter rows: Samples in the last forward pass.
    /// - Returns: (node name, mean |activation|) in execution order.
    /// - Throws: `EtaError` `.usage` for more rows than the workspace holds; the backend's error.
    public func activationScales(rows: Int) throws -> [(name: String, meanAbsolute: Double)] {
        guard rows > 0, rows <= maxBatch else {
            throw EtaError(.usage, "\(rows) rows requested; the network holds at most \(maxBatch)")
        }
        return try architecture.nodes.indices.compactMap { index in
            guard let value = plan.nodes[index].value else { return nil }
            let count = rows * architecture.nodes[index].shape.count
            let values = try backend.read(value, offset: 0, count: count)
            return (architecture.nodes[index].name, values.reduce(0.0) { $0 + Double(abs($1)) } / Double(max(count, 1)))
        }
    }
}
