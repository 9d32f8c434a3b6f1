/// Checks of the transformer kernels (embeddings, causal attention) and of dropout and sums against the Reference.
extension Verify {
    /// Attention shapes: (sequences, heads, tokens, head width).
    public static let attentionShapes = [(1, 1, 1, 1), (2, 2, 5, 3), (1, 4, 17, 8), (3, 1, 9, 16)]

    /// Runs every sequence-kernel check.
    ///
    /// - Parameters:
    ///   - backend: The backend to check.
    ///   - progress: Called with each result as it is made.
    /// - Returns: Every result, in the order made.
    /// - Throws: The backend's error.
    public static func runSequenceLayers(
        backend: Backend, progress: (VerifyResult) -> Void = { _ in }
    ) throws
        -> [VerifyResult]
    {
        var results: [VerifyResult] = []
        func record(_ result: VerifyResult) { progress(result); results.append(result) }
        for (sequences, length, width, vocabulary) in [(1, 1, 1, 1), (2, 5, 3, 7), (4, 16, 8, 65)] {
            record(
                try checkEmbedding(
                    sequences: sequences, length: length, width: width, vocabulary: vocabulary, backend: backend))
        }
        for (sequences, heads, length, width) in attentionShapes {
            record(
                try checkAttention(
                    sequences: sequences, heads: heads, length: length, headWidth: width, backend: backend))
        }
        for p in [0.0, 0.1, 0.5, 1.0] { record(try checkDropout(count: 1000, p: p, backend: backend)) }
        record(try checkAdd(count: 1001, backend: backend))
        return results
    }

    /// Token and position embeddings forward and backward (tables' gradients) against `Reference.embedding` and
    /// `embeddingBackward`; the id list repeats tokens, so the backward sums several rows into one.
    ///
    /// - Parameters:
    ///   - sequences: Sequences.
    ///   - length: Tokens per sequence.
    ///   - width: The embedding width.
    ///   - vocabulary: Token-table rows.
    ///   - backend: The backend to check.
    /// - Returns: The result.
    /// - Throws: The backend's error.
    public static func checkEmbedding(
        sequences: Int, length: Int, width: Int, vocabulary: Int, backend: Backend
    ) throws -> VerifyResult {
        var random = SplitMix64(seed: UInt64(sequences * 97 + length * 13 + width + vocabulary))
        let rows = sequences * length
        let ids = (0..<rows).map { _ in Int(random.next() % UInt64(vocabulary)) }
        let tokens = random.uniforms(vocabulary * width), positions = random.uniforms(length * width)
        let dy = random.uniforms(rows * width)
        let tables = try upload(tokens + positions, backend), idBuffer = try upload(ids.map(Float.init), backend)
        let output = try backend.makeBuffer(count: rows * width), gradOutput = try upload(dy, backend)
        let gradTables = try backend.makeBuffer(count: tokens.count + positions.count)
        for pass in [LayerPass.forward, .backward] {
            let table = pass == .forward ? tables : gradTables
            try backend.run(
                .embedding(
                    EmbeddingCommand(
                        pass: pass, ids: DeviceSlice(idBuffer), rows: rows, sequenceLength: length, width: width,
                        vocabulary: vocabulary, tokenTable: DeviceSlice(table),
                        positionTable: DeviceSlice(table, offset: tokens.count),
                        output: DeviceSlice(pass == .forward ? output : gradOutput))))
        }
        let tokenRows = Reference.embedding(tokens: ids, table: tokens.map(Double.init), dim: width)
        let positionRows = Reference.embedding(
            tokens: (0..<rows).map { $0 % length }, table: positions.map(Double.init), dim: width)
        let gradTokens = Reference.embeddingBackward(
            gradOutput: dy.map(Double.init), tokens: ids, vocabulary: vocabulary, dim: width)
        let gradPositions = Reference.embeddingBackward(
            gradOutput: dy.map(Double.init), tokens: (0..<rows).map { $0 % length }, vocabulary: length, dim: width)
        var comparison = Comparison()
        comparison.add("output", try backend.read(output), zip(tokenRows, positionRows).map { Float($0 + $1) })
        comparison.add("grad_tables", try backend.read(gradTables), (gradTokens + gradPositions).map { Float($0) })
        return comparison.result(
            kernel: "embedding", configuration: "sequences=\(sequences),T=\(length),width=\(width),V=\(vocabulary)",
            size: rows * width, absoluteBound: Double(sequences + 2) * 0x1p-23)
    }

    /// Causal attention forward and backward as the network runs it (``AttentionLaunch``: head permutes, batched GEMMs,
    /// the causal softmax) against `Reference.causalAttention` and `causalAttentionBackward` (which take per-head
    /// `[T, D]` slices).
    ///
    /// - Parameters:
    ///   - sequences: Sequences.
    ///   - heads: Heads.
    ///   - length: Tokens per sequence.
    ///   - headWidth: Width per head.
    ///   - backend: The backend to check.
    /// - Returns: The result.
    /// - Throws: The backend's error.
    public static func checkAttention(
        sequences: Int, heads: Int, length: Int, headWidth: Int, backend: Backend
    ) throws -> VerifyResult {
        var random = SplitMix64(seed: UInt64(sequences * 503 + heads * 37 + length * 5 + headWidth))
        let embed = heads * headWidth, rows = sequences * length
        let qkv = random.uniforms(rows * 3 * embed).map { $0 * 2 }, dy = random.uniforms(rows * embed)
        let qkvBuffer = try upload(qkv, backend), output = try backend.makeBuffer(count: rows * embed)
        let gradOutput = try upload(dy, backend), gradQKV = try backend.makeBuffer(count: qkv.count)
        let saved = try backend.makeBuffer(
            count: AttentionLaunch.savedFloats(
                sequences: sequences, sequenceLength: length, heads: heads, headWidth: headWidth))
        let scratch = try backend.makeBuffer(
            count: AttentionLaunch.scratchFloats(
                sequences: sequences, sequenceLength: length, heads: heads, headWidth: headWidth))
        let launch = AttentionLaunch(
            sequences: sequences, sequenceLength: length, heads: heads, headWidth: headWidth,
            qkv: DeviceSlice(qkvBuffer), output: DeviceSlice(output), saved: DeviceSlice(saved),
            scratch: DeviceSlice(scratch))
        try launch.forward(on: backend)
        try launch.backward(
            gradOutput: DeviceSlice(gradOutput), gradQKV: DeviceSlice(gradQKV), accumulate: false, on: backend)
        // Per (sequence, head) slices [T, D] of column block `part` (0 q, 1 k, 2 v) of a [rows, parts·E] matrix.
        func slices(_ values: [Float], parts: Int, part: Int) -> [Double] {
            var result: [Double] = []
            for s in 0..<sequences {
                for h in 0..<heads {
                    for t in 0..<length {
                        let first = (s * length + t) * parts * embed + part * embed + h * headWidth
                        result += values[first..<(first + headWidth)].map(Double.init)
                    }
                }
            }
            return result
        }
        let (q, k, v) = (slices(qkv, parts: 3, part: 0), slices(qkv, parts: 3, part: 1), slices(qkv, parts: 3, part: 2))
        let forward = Reference.causalAttention(query: q, key: k, value: v, heads: sequences * heads, length: length)
        let backward = Reference.causalAttentionBackward(
            gradOutput: slices(dy, parts: 1, part: 0), query: q, key: k, value: v,
            probabilities: forward.probabilities, heads: sequences * heads, length: length)
        let gradients = try backend.read(gradQKV)
        var comparison = Comparison()
        comparison.add(
            "output", slices(try backend.read(output), parts: 1, part: 0).map { Float($0) },
            forward.output.map { Float($0) })
        for (part, expected) in [backward.query, backward.key, backward.value].enumerated() {
            comparison.add(
                ["grad_q", "grad_k", "grad_v"][part], slices(gradients, parts: 3, part: part).map { Float($0) },
                expected.map { Float($0) })
        }
        return comparison.result(
            kernel: "attention",
            configuration: "sequences=\(sequences),heads=\(heads),T=\(length),D=\(headWidth)", size: rows * embed,
            normwiseBound: 1e-5)
    }

    /// Dropout forward then backward (the same mask) against `Reference.dropout`: exact.
    ///
    /// - Parameters:
    ///   - count: Elements.
    ///   - p: The drop probability.
    ///   - backend: The backend to check.
    /// - Returns: The result.
    /// - Throws: The backend's error.
    public static func checkDropout(count: Int, p: Double, backend: Backend) throws -> VerifyResult {
        var random = SplitMix64(seed: UInt64(count) &+ UInt64(p * 1000))
        let x = random.uniforms(count), (seed, stream, step): (UInt64, UInt64, UInt64) = (42, 3, 7)
        let input = try upload(x, backend), output = try backend.makeBuffer(count: count)
        let scale: Float = p < 1 ? Float(1 / (1 - p)) : 0
        try backend.run(
            .dropout(
                DropoutCommand(
                    source: DeviceSlice(input), destination: DeviceSlice(output), count: count,
                    threshold: Reference.dropoutThreshold(p: p), scale: scale, seed: seed, stream: stream, step: step)))
        let expected = Reference.dropout(input: x, p: p, seed: seed, stream: stream, step: step)
        var comparison = Comparison()
        comparison.add("output", try backend.read(output), expected.output)
        return comparison.result(kernel: "dropout", configuration: "p=\(p)", size: count)
    }

    /// Sums and accumulation: destination = a + b, then destination += a (exact).
    ///
    /// - Parameters:
    ///   - count: Elements.
    ///   - backend: The backend to check.
    /// - Returns: The result.
    /// - Throws: The backend's error.
    public static func checkAdd(count: Int, backend: Backend) throws -> VerifyResult {
        var random = SplitMix64(seed: UInt64(count))
        let a = random.uniforms(count), b = random.uniforms(count)
        let (aBuffer, bBuffer, destination) = (
            try upload(a, backend), try upload(b, backend),
            try backend.makeBuffer(
                count: count)
        )
        try backend.run(
            .add(
                AddCommand(
                    a: DeviceSlice(aBuffer), b: DeviceSlice(bBuffer), destination: DeviceSlice(destination),
                    count: count)))
        try backend.run(
            .add(
                AddCommand(
                    a: DeviceSlice(aBuffer), destination: DeviceSlice(destination), count: count, accumulate: true)))
        var comparison = Comparison()
        comparison.add("sum", try backend.read(destination), (0..<count).map { (a[$0] + b[$0]) + a[$0] })
        return comparison.result(kernel: "add", configuration: "count=\(count)", size: count)
    }
}
