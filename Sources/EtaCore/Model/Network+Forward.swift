/// The forward pass, one node at a time: each layer's device commands over channels-last activations, replica r's
/// block of every workspace after replica r−1's (parameters `replicaSize` apart).
extension Network {
    /// Where node `index` reads input `position`: the batch's input, or an earlier node's output.
    func source(_ index: Int, _ position: Int = 0, _ context: PassContext) -> DeviceSlice {
        let input = architecture.nodes[index].inputs[position]
        return input == LayerNode.modelInput ? context.input : DeviceSlice(plan.nodes[input].value!)
    }

    /// The arena slice of a parameter tensor (replica 0).
    func parameter(_ name: String, in buffer: DeviceBuffer) -> DeviceSlice {
        DeviceSlice(buffer, offset: architecture.layout[name]!.offset)
    }

    /// The running statistic `name` (replica 0).
    func running(_ name: String) -> DeviceSlice {
        DeviceSlice(runningStatistics!, offset: architecture.buffers[name]!.offset)
    }

    /// The window of a convolution or pooling node over its input.
    func window(_ index: Int, kernel: Int, stride: Int, padding: Int) -> WindowGeometry {
        let input = architecture.shape(of: architecture.nodes[index].inputs[0])
        return WindowGeometry(
            channels: input.channels, height: input.height, width: input.width, kernel: kernel, stride: stride,
            padding: padding)
    }

    func forward(node index: Int, _ context: PassContext) throws {
        let node = architecture.nodes[index], buffers = plan.nodes[index], k = replicas, b = context.batch
        let input = architecture.shape(of: node.inputs.first ?? LayerNode.modelInput)
        let value = DeviceSlice(buffers.value!), elements = k * b * node.shape.count
        switch node.operation {
        case .dense(let outputs, let activation, let bias):
            let rows = b * input.positions, fromInput = node.inputs[0] == LayerNode.modelInput
            try product(
                index, rows: rows, inputs: input.channels, outputs: outputs, source: source(index, 0, context),
                sourceStride: fromInput ? 0 : rows * input.channels)
            try biasActivation(index, rows: rows, outputs: outputs, activation: activation, bias: bias)
        case .convolution(let outputs, let kernel, let stride, let padding, let bias, let activation):
            let geometry = window(index, kernel: kernel, stride: stride, padding: padding)
            let fromInput = node.inputs[0] == LayerNode.modelInput, columns = input.channels * kernel * kernel
            let rows = b * node.shape.positions
            try backend.run(
                .patches(
                    PatchCommand(
                        pass: .forward, image: source(index, 0, context),
                        layout: fromInput && architecture.inputChannelsFirst ? .channelsFirst : .channelsLast,
                        patches: DeviceSlice(buffers.work!), images: fromInput ? b : k * b, geometry: geometry)))
            try product(
                index, rows: rows, inputs: columns, outputs: outputs, source: DeviceSlice(buffers.work!),
                sourceStride: fromInput ? 0 : rows * columns)
            if bias || activation != .identity {
                try biasActivation(index, rows: rows, outputs: outputs, activation: activation, bias: bias)
            }
        case .pool(let kind, let kernel, let stride, let padding):
            try backend.run(
                .pool(
                    PoolCommand(
                        kind: kind, pass: .forward, source: source(index, 0, context), destination: value,
                        indices: buffers.work.map { DeviceSlice($0) }, images: k * b,
                        geometry: window(index, kernel: kernel, stride: stride, padding: padding))))
        case .batchNorm:
            try backend.run(
                .batchNorm(batchNorm(index, context, mode: context.training ? .trainingForward : .evaluationForward)))
        case .layerNorm:
            try backend.run(
                .layerNorm(
                    LayerNormCommand(
                        pass: .forward, rows: b * node.shape.positions, cols: node.shape.channels,
                        input: source(index, 0, context), output: value,
                        weight: parameter("\(node.name).weight", in: arena.parameters),
                        bias: parameter("\(node.name).bias", in: arena.parameters), saved: DeviceSlice(buffers.work!))))
        case .channelBias(let activation):
            let z = DeviceSlice(buffers.preactivation!)
            try backend.run(.add(AddCommand(a: source(index, 0, context), destination: z, count: elements)))
            try backend.run(
                .biasActivation(
                    BiasActivationCommand(
                        pass: .forward, z: z, bias: parameter(node.parameters[0].name, in: arena.parameters),
                        activations: value, rows: b * node.shape.positions, cols: node.shape.channels,
                        activation: activation, replicas: k, biasStride: replicaSize)))
        case .activation(let activation):
            try backend.run(
                .biasActivation(
                    BiasActivationCommand(
                        pass: .forward, z: source(index, 0, context), bias: nil, activations: value,
                        rows: k * b * node.shape.positions, cols: node.shape.channels, activation: activation)))
        case .dropout(let p):
            if context.training {
                try dropout(
                    index, p: p, source: source(index, 0, context), destination: value, count: elements / k,
                    accumulate: false)
            } else {
                try backend.run(.add(AddCommand(a: source(index, 0, context), destination: value, count: elements)))
            }
        case .flatten:
            try backend.run(
                .transpose(
                    TransposeCommand(
                        source: source(index, 0, context), destination: value, matrices: k * b,
                        rows: input.positions, cols: input.channels)))
        case .embedding(let vocabulary, let length):
            try backend.run(
                .embedding(
                    EmbeddingCommand(
                        pass: .forward, ids: context.input, rows: b * length, sequenceLength: length,
                        width: node.shape.channels, vocabulary: vocabulary,
                        tokenTable: parameter("token_embedding.weight", in: arena.parameters),
                        positionTable: parameter("position_embedding.weight", in: arena.parameters), output: value)))
        case .attention(let heads):
            try attention(index, context, heads: heads).forward(on: backend)
        case .add:
            try backend.run(
                .add(
                    AddCommand(
                        a: source(index, 0, context), b: source(index, 1, context), destination: value,
                        count: elements)))
        }
    }

    /// Z = X Wᵀ for a dense layer or a convolution's patches (`rows` per replica), into the pre-activation or the
    /// output; `sourceStride` 0 when every replica reads the same input.
    private func product(
        _ index: Int, rows: Int, inputs: Int, outputs: Int, source: DeviceSlice, sourceStride: Int
    ) throws {
        let buffers = plan.nodes[index]
        try backend.run(
            .gemm(
                MatrixMultiply(
                    transposeB: true, m: rows, n: outputs, k: inputs,
                    alpha: architecture.inputMultiplier(ofNode: index),
                    a: source.buffer, aOffset: source.offset,
                    lda: inputs, b: arena.parameters,
                    bOffset: architecture.layout["\(architecture.nodes[index].name).weight"]!.offset, ldb: inputs,
                    c: buffers.preactivation ?? buffers.value!, ldc: outputs, batch: replicas, strideA: sourceStride,
                    strideB: replicaSize, strideC: rows * outputs)))
    }

    /// Z += bias and A = act(Z) in one pass (A is Z's buffer for the identity).
    private func biasActivation(_ index: Int, rows: Int, outputs: Int, activation: Activation, bias: Bool) throws {
        let buffers = plan.nodes[index], name = architecture.nodes[index].name
        try backend.run(
            .biasActivation(
                BiasActivationCommand(
                    pass: .forward, z: DeviceSlice(buffers.preactivation ?? buffers.value!),
                    bias: bias ? parameter("\(name).bias", in: arena.parameters) : nil,
                    activations: DeviceSlice(buffers.value!), rows: rows, cols: outputs, activation: activation,
                    replicas: replicas, biasStride: replicaSize)))
    }

    /// A BatchNorm node's command in `mode` (its backward reads the output gradient and writes the input's).
    func batchNorm(_ index: Int, _ context: PassContext, mode: BatchNormCommand.Mode) -> BatchNormCommand {
        let node = architecture.nodes[index], buffers = plan.nodes[index]
        let backward = mode == .backward, input = node.inputs[0]
        return BatchNormCommand(
            mode: mode, rows: context.batch * node.shape.positions, channels: node.shape.channels, replicas: replicas,
            input: source(index, 0, context),
            output: DeviceSlice(backward ? plan.nodes[input].gradient! : buffers.value!),
            gradOutput: backward ? DeviceSlice(buffers.gradient!) : nil,
            weight: parameter("\(node.name).weight", in: arena.parameters),
            bias: parameter("\(node.name).bias", in: arena.parameters),
            gradWeight: backward ? parameter("\(node.name).weight", in: arena.gradients) : nil,
            gradBias: backward ? parameter("\(node.name).bias", in: arena.gradients) : nil,
            parameterStride: replicaSize, runningMean: running("\(node.name).running_mean"),
            runningVariance: running("\(node.name).running_var"), runningStride: runningStride,
            saved: DeviceSlice(buffers.work!), momentum: batchNormMomentum,
            accumulateParameters: context.accumulateGradients,
            accumulateInput: backward && plan.accumulates[index][0])
    }

    /// A dropout node's mask applied from `source` to `destination` (the same mask forward and backward), per replica
    /// over its `count` elements, so every replica draws the mask a separate run would.
    func dropout(
        _ index: Int, p: Double, source: DeviceSlice, destination: DeviceSlice, count: Int, accumulate: Bool
    ) throws {
        for r in 0..<replicas {
            try backend.run(
                .dropout(
                    DropoutCommand(
                        source: DeviceSlice(source.buffer, offset: source.offset + r * count),
                        destination: DeviceSlice(destination.buffer, offset: destination.offset + r * count),
                        count: count, threshold: Reference.dropoutThreshold(p: p),
                        scale: p < 1 ? Float(1 / (1 - p)) : 0, seed: seed, stream: UInt64(index), step: dropoutCounter,
                        accumulate: accumulate)))
        }
    }

    /// An attention node's launch over its input (the fused projection) and output.
    func attention(_ index: Int, _ context: PassContext, heads: Int) -> AttentionLaunch {
        let node = architecture.nodes[index], buffers = plan.nodes[index]
        var launch = AttentionLaunch(
            sequences: context.batch, sequenceLength: node.shape.positions, heads: heads,
            headWidth: node.shape.channels / heads, qkv: source(index, 0, context), output: DeviceSlice(buffers.value!),
            saved: DeviceSlice(buffers.work!), scratch: DeviceSlice(plan.attentionScratch!))
        launch.scoreScale = architecture.maximalUpdate?.attentionScale
        return launch
    }
}
