/// The backward pass, one node at a time in reverse: from each node's output gradient into its parameters' gradients
/// (overwritten, or added with `accumulateGradients`) and its inputs' gradients (overwritten by the first layer that
/// reaches them, added by the others; the model's input gets none).
extension Network {
    func backward(node index: Int, _ context: PassContext) throws {
        let node = architecture.nodes[index], buffers = plan.nodes[index], k = replicas, b = context.batch
        let input = architecture.shape(of: node.inputs.first ?? LayerNode.modelInput)
        let gradient = DeviceSlice(buffers.gradient!), elements = k * b * node.shape.count
        let fromInput = node.inputs.first == LayerNode.modelInput
        /// The gradient of input `position` and whether to add to it.
        func target(_ position: Int = 0) -> (slice: DeviceSlice, accumulate: Bool) {
            (DeviceSlice(plan.nodes[node.inputs[position]].gradient!), plan.accumulates[index][position])
        }
        switch node.operation {
        case .dense(let outputs, let activation, let bias):
            let rows = b * input.positions
            try biasActivationBackward(index, rows: rows, outputs: outputs, activation: activation, bias: bias, context)
            try weightGradient(
                index, rows: rows, inputs: input.channels, outputs: outputs, source: source(index, 0, context),
                sourceStride: fromInput ? 0 : rows * input.channels, context)
            if !fromInput {
                let (slice, accumulate) = target()
                try inputGradient(
                    index, rows: rows, inputs: input.channels, outputs: outputs, into: slice, accumulate: accumulate)
            }
        case .convolution(let outputs, let kernel, let stride, let padding, let bias, let activation):
            let rows = b * node.shape.positions, columns = input.channels * kernel * kernel
            if bias || activation != .identity {
                try biasActivationBackward(
                    index, rows: rows, outputs: outputs, activation: activation, bias: bias, context)
            }
            try weightGradient(
                index, rows: rows, inputs: columns, outputs: outputs, source: DeviceSlice(buffers.work!),
                sourceStride: fromInput ? 0 : rows * columns, context)
            if !fromInput {
                let (slice, accumulate) = target()
                try inputGradient(
                    index, rows: rows, inputs: columns, outputs: outputs, into: DeviceSlice(plan.patchGradient!),
                    accumulate: false)
                try backend.run(
                    .patches(
                        PatchCommand(
                            pass: .backward, image: slice, layout: .channelsLast,
                            patches: DeviceSlice(plan.patchGradient!), images: k * b,
                            geometry: window(index, kernel: kernel, stride: stride, padding: padding),
                            accumulate: accumulate)))
            }
        case .pool(let kind, let kernel, let stride, let padding):
            let (slice, accumulate) = target()
            try backend.run(
                .pool(
                    PoolCommand(
                        kind: kind, pass: .backward, source: gradient, destination: slice,
                        indices: buffers.work.map { DeviceSlice($0) }, images: k * b,
                        geometry: window(index, kernel: kernel, stride: stride, padding: padding),
                        accumulate: accumulate)))
        case .batchNorm:
            try backend.run(.batchNorm(batchNorm(index, context, mode: .backward)))
        case .layerNorm:
            let (slice, accumulate) = target()
            try backend.run(
                .layerNorm(
                    LayerNormCommand(
                        pass: .backward, rows: b * node.shape.positions, cols: node.shape.channels,
                        input: source(index, 0, context), output: slice, gradOutput: gradient,
                        weight: parameter("\(node.name).weight", in: arena.parameters),
                        bias: parameter("\(node.name).bias", in: arena.parameters),
                        gradWeight: parameter("\(node.name).weight", in: arena.gradients),
                        gradBias: parameter("\(node.name).bias", in: arena.gradients),
                        saved: DeviceSlice(buffers.work!),
                        accumulateParameters: context.accumulateGradients, accumulateInput: accumulate)))
        case .channelBias(let activation):
            let (slice, accumulate) = target()
            if accumulate {
                throw EtaError(.software, "\(node.name): its input is read by another layer too")
            }
            try backend.run(
                .biasActivation(
                    BiasActivationCommand(
                        pass: .backward, z: DeviceSlice(buffers.preactivation!),
                        bias: parameter(node.parameters[0].name, in: arena.gradients), activations: gradient,
                        gradZ: slice, rows: b * node.shape.positions, cols: node.shape.channels,
                        activation: activation, replicas: k, biasStride: replicaSize,
                        accumulate: context.accumulateGradients)))
        case .activation(let activation):
            try backend.run(
                .biasActivation(
                    BiasActivationCommand(
                        pass: .backward, z: source(index, 0, context), bias: nil, activations: gradient,
                        gradZ: target().slice, rows: k * b * node.shape.positions, cols: node.shape.channels,
                        activation: activation)))
        case .dropout(let p):
            let (slice, accumulate) = target()
            try dropout(index, p: p, source: gradient, destination: slice, count: elements / k, accumulate: accumulate)
        case .flatten:
            let (slice, accumulate) = target()
            try backend.run(
                .transpose(
                    TransposeCommand(
                        source: gradient, destination: slice, matrices: k * b, rows: input.channels,
                        cols: input.positions, accumulate: accumulate)))
        case .embedding(let vocabulary, let length):
            try backend.run(
                .embedding(
                    EmbeddingCommand(
                        pass: .backward, ids: context.input, rows: b * length, sequenceLength: length,
                        width: node.shape.channels, vocabulary: vocabulary,
                        tokenTable: parameter("token_embedding.weight", in: arena.gradients),
                        positionTable: parameter("position_embedding.weight", in: arena.gradients), output: gradient,
                        accumulate: context.accumulateGradients)))
        case .attention(let heads):
            let (slice, accumulate) = target()
            try attention(index, context, heads: heads).backward(
                gradOutput: gradient, gradQKV: slice, accumulate: accumulate, on: backend)
        case .add:
            for position in node.inputs.indices {
                let (slice, accumulate) = target(position)
                try backend.run(
                    .add(AddCommand(a: gradient, destination: slice, count: elements, accumulate: accumulate)))
            }
        }
    }

    /// dZ = dA ⊙ act'(Z) in place in the output gradient, and the bias gradient (Σ rows dZ) in the same pass.
    private func biasActivationBackward(
        _ index: Int, rows: Int, outputs: Int, activation: Activation, bias: Bool, _ context: PassContext
    ) throws {
        let buffers = plan.nodes[index], name = architecture.nodes[index].name
        try backend.run(
            .biasActivation(
                BiasActivationCommand(
                    pass: .backward, z: DeviceSlice(buffers.preactivation ?? buffers.value!),
                    bias: bias ? parameter("\(name).bias", in: arena.gradients) : nil,
                    activations: DeviceSlice(buffers.gradient!), gradZ: DeviceSlice(buffers.gradient!), rows: rows,
                    cols: outputs, activation: activation, replicas: replicas, biasStride: replicaSize,
                    accumulate: context.accumulateGradients)))
    }

    /// dW = dZᵀ · X, straight into the gradient arena.
    private func weightGradient(
        _ index: Int, rows: Int, inputs: Int, outputs: Int, source: DeviceSlice, sourceStride: Int,
        _ context: PassContext
    ) throws {
        try backend.run(
            .gemm(
                MatrixMultiply(
                    transposeA: true, m: outputs, n: inputs, k: rows,
                    alpha: architecture.inputMultiplier(ofNode: index),
                    a: plan.nodes[index].gradient!, lda: outputs,
                    b: source.buffer, bOffset: source.offset, ldb: inputs, beta: context.accumulateGradients ? 1 : 0,
                    c: arena.gradients,
                    cOffset: architecture.layout["\(architecture.nodes[index].name).weight"]!.offset,
                    ldc: inputs, batch: replicas, strideA: rows * outputs, strideB: sourceStride,
                    strideC: replicaSize)))
    }

    /// dX = dZ · W (a dense layer's input gradient, or a convolution's patch gradient).
    private func inputGradient(
        _ index: Int, rows: Int, inputs: Int, outputs: Int, into target: DeviceSlice, accumulate: Bool
    ) throws {
        try backend.run(
            .gemm(
                MatrixMultiply(
                    m: rows, n: inputs, k: outputs, alpha: architecture.inputMultiplier(ofNode: index),
                    a: plan.nodes[index].gradient!, lda: outputs, b: arena.parameters,
                    bOffset: architecture.layout["\(architecture.nodes[index].name).weight"]!.offset, ldb: inputs,
                    beta: accumulate ? 1 : 0, c: target.buffer, cOffset: target.offset, ldc: inputs, batch: replicas,
                    strideA: rows * outputs, strideB: replicaSize, strideC: rows * inputs)))
    }
}
