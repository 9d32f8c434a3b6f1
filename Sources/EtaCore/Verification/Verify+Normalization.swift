/// Checks of batch and layer normalisation against the Reference in float64. Bounds are normwise (the worst error
/// over the largest expected magnitude): the kernels sum in float32 over up to a few hundred terms and divide by a
/// square root, so 1e-5 leaves room for that rounding while a wrong formula is off by orders of magnitude.
extension Verify {
    /// Batch-norm shapes: (batch, channels, pixels per image, replicas).
    public static let batchNormShapes = [(2, 3, 5, 1), (4, 8, 1, 1), (3, 2, 9, 2), (1, 4, 49, 1)]
    /// Layer-norm shapes: (rows, cols).
    public static let layerNormShapes = [(1, 1), (3, 8), (17, 33), (64, 128)]

    /// Runs every normalisation check.
    ///
    /// - Parameters:
    ///   - backend: The backend to check.
    ///   - progress: Called with each result as it is made.
    /// - Returns: Every result, in the order made.
    /// - Throws: The backend's error.
    public static func runNormalizationLayers(
        backend: Backend, progress: (VerifyResult) -> Void = { _ in }
    ) throws
        -> [VerifyResult]
    {
        var results: [VerifyResult] = []
        func record(_ result: VerifyResult) { progress(result); results.append(result) }
        for (n, c, pixels, replicas) in batchNormShapes {
            record(try checkBatchNorm(batch: n, channels: c, pixels: pixels, replicas: replicas, backend: backend))
        }
        for (rows, cols) in layerNormShapes { record(try checkLayerNorm(rows: rows, cols: cols, backend: backend)) }
        return results
    }

    /// Batch norm: a training forward (output, running statistics), its backward (input, γ and β gradients) and an
    /// evaluation forward with the updated running statistics, per replica, against `Reference.batchNorm2d`.
    ///
    /// - Parameters:
    ///   - batch: Images per replica.
    ///   - channels: Channels.
    ///   - pixels: Pixels per image (H·W).
    ///   - replicas: Replicas with their own parameters and statistics.
    ///   - backend: The backend to check.
    /// - Returns: The result.
    /// - Throws: The backend's error.
    public static func checkBatchNorm(
        batch: Int, channels: Int, pixels: Int, replicas: Int, backend: Backend
    ) throws -> VerifyResult {
        var random = SplitMix64(seed: UInt64(batch * 1009 + channels * 31 + pixels * 7 + replicas))
        let rows = batch * pixels, block = rows * channels, stride = channels + 3
        let x = random.uniforms(replicas * block).map { $0 * 2 + 0.5 }, dy = random.uniforms(replicas * block)
        // Weights (and running means) of replica r at r·stride, biases (and running variances) after all of them.
        let biasOffset = replicas * stride, varianceOffset = replicas * stride
        var parameters = [Float](repeating: 0, count: 2 * replicas * stride)
        var running = [Float](repeating: 0, count: 2 * replicas * stride)
        for r in 0..<replicas {
            for c in 0..<channels {
                parameters[r * stride + c] = 1 + random.uniform() * 0.5
                parameters[biasOffset + r * stride + c] = random.uniform()
                running[r * stride + c] = random.uniform() * 0.1
                running[varianceOffset + r * stride + c] = 1 + random.uniform() * 0.2
            }
        }
        let weights = try upload(parameters, backend), statistics = try upload(running, backend)
        let input = try upload(x, backend), output = try backend.makeBuffer(count: x.count)
        let gradOutput = try upload(dy, backend), gradInput = try backend.makeBuffer(count: x.count)
        let gradients = try backend.makeBuffer(count: parameters.count),
            saved = try backend.makeBuffer(
                count: replicas * 4 * channels)
        let evaluation = try backend.makeBuffer(count: x.count)
        func command(_ mode: BatchNormCommand.Mode, _ out: DeviceBuffer) -> LayerCommand {
            .batchNorm(
                BatchNormCommand(
                    mode: mode, rows: rows, channels: channels, replicas: replicas, input: DeviceSlice(input),
                    output: DeviceSlice(out), gradOutput: DeviceSlice(gradOutput), weight: DeviceSlice(weights),
                    bias: DeviceSlice(weights, offset: biasOffset), gradWeight: DeviceSlice(gradients),
                    gradBias: DeviceSlice(gradients, offset: biasOffset), parameterStride: stride,
                    runningMean: DeviceSlice(statistics),
                    runningVariance: DeviceSlice(statistics, offset: varianceOffset), runningStride: stride,
                    saved: DeviceSlice(saved)))
        }
        try backend.run(command(.trainingForward, output))
        try backend.run(command(.backward, gradInput))
        try backend.run(command(.evaluationForward, evaluation))
        var comparison = Comparison()
        let (outputs, gradIn, evaluated) = (
            try backend.read(output), try backend.read(gradInput),
            try backend.read(
                evaluation)
        )
        let (grads, stats) = (try backend.read(gradients), try backend.read(statistics))
        for r in 0..<replicas {
            let range = (r * block)..<((r + 1) * block)
            let xr = channelsLast(Array(x[range]), batch: batch, channels: channels, pixels: pixels, inverse: true)
            let dyr = channelsLast(Array(dy[range]), batch: batch, channels: channels, pixels: pixels, inverse: true)
            let gamma = (0..<channels).map { Double(parameters[r * stride + $0]) }
            let beta = (0..<channels).map { Double(parameters[biasOffset + r * stride + $0]) }
            var state = Reference.BatchNormRunning<Double>(channels: channels)
            state.mean = (0..<channels).map { Double(running[r * stride + $0]) }
            state.variance = (0..<channels).map { Double(running[varianceOffset + r * stride + $0]) }
            let forward = Reference.batchNorm2d(
                input: xr.map(Double.init), gamma: gamma, beta: beta, running: &state, batch: batch,
                channels: channels, training: true)
            let backward = Reference.batchNorm2dBackward(
                gradOutput: dyr.map(Double.init), input: xr.map(Double.init), gamma: gamma, mean: forward.mean,
                inverseStd: forward.inverseStd, batch: batch, channels: channels)
            let evaluatedReference = Reference.batchNorm2d(
                input: xr.map(Double.init), gamma: gamma, beta: beta, running: &state, batch: batch,
                channels: channels, training: false)
            let back = { (values: [Float]) in
                channelsLast(Array(values[range]), batch: batch, channels: channels, pixels: pixels, inverse: true)
            }
            let float = { (values: [Double]) in values.map { Float($0) } }
            let slice = { (values: [Float], offset: Int) in
                Array(values[(offset + r * stride)..<(offset + r * stride + channels)])
            }
            comparison.add("output", back(outputs), float(forward.output))
            comparison.add("grad_input", back(gradIn), float(backward.input))
            comparison.add("evaluation", back(evaluated), float(evaluatedReference.output))
            comparison.add("grad_weight", slice(grads, 0), float(backward.gamma))
            comparison.add("grad_bias", slice(grads, biasOffset), float(backward.beta))
            comparison.add("running_mean", slice(stats, 0), float(state.mean))
            comparison.add("running_var", slice(stats, varianceOffset), float(state.variance))
        }
        return comparison.result(
            kernel: "batch_norm",
            configuration: "n=\(batch),c=\(channels),pixels=\(pixels),replicas=\(replicas)", size: x.count,
            normwiseBound: 1e-5)
    }

    /// Layer norm forward and backward against `Reference.layerNorm` and `layerNormBackward`.
    ///
    /// - Parameters:
    ///   - rows: Rows.
    ///   - cols: The normalised width.
    ///   - backend: The backend to check.
    /// - Returns: The result.
    /// - Throws: The backend's error.
    public static func checkLayerNorm(rows: Int, cols: Int, backend: Backend) throws -> VerifyResult {
        var random = SplitMix64(seed: UInt64(rows * 733 + cols))
        let x = random.uniforms(rows * cols).map { $0 * 3 - 1 }, dy = random.uniforms(rows * cols)
        let gamma = random.uniforms(cols).map { 1 + $0 * 0.5 }, beta = random.uniforms(cols)
        let input = try upload(x, backend), output = try backend.makeBuffer(count: x.count)
        let parameters = try upload(gamma + beta, backend), gradients = try backend.makeBuffer(count: 2 * cols)
        let gradOutput = try upload(dy, backend), gradInput = try backend.makeBuffer(count: x.count)
        let saved = try backend.makeBuffer(count: 2 * rows)
        for pass in [LayerPass.forward, .backward] {
            try backend.run(
                .layerNorm(
                    LayerNormCommand(
                        pass: pass, rows: rows, cols: cols, input: DeviceSlice(input),
                        output: DeviceSlice(pass == .forward ? output : gradInput), gradOutput: DeviceSlice(gradOutput),
                        weight: DeviceSlice(parameters), bias: DeviceSlice(parameters, offset: cols),
                        gradWeight: DeviceSlice(gradients), gradBias: DeviceSlice(gradients, offset: cols),
                        saved: DeviceSlice(saved))))
        }
        let forward = Reference.layerNorm(
            input: x.map(Double.init), gamma: gamma.map(Double.init), beta: beta.map(Double.init), cols: cols)
        let backward = Reference.layerNormBackward(
            gradOutput: dy.map(Double.init), input: x.map(Double.init), gamma: gamma.map(Double.init),
            mean: forward.mean, inverseStd: forward.inverseStd, cols: cols)
        let float = { (values: [Double]) in values.map { Float($0) } }
        var comparison = Comparison()
        comparison.add("output", try backend.read(output), float(forward.output))
        comparison.add("grad_input", try backend.read(gradInput), float(backward.input))
        comparison.add("grad_weight_bias", try backend.read(gradients), float(backward.gamma + backward.beta))
        return comparison.result(
            kernel: "layer_norm", configuration: "rows=\(rows),cols=\(cols)", size: x.count, normwiseBound: 1e-5)
    }
}
