import EtaBackend
import EtaCL

/// One argument of a deep-layer kernel, in the order of its `NAME_PARAMS` (`Kernels/deep/signatures.cl`).
enum KernelArgument {
    case buffer(Buffer)
    case index(Int)
    case flag(Bool)
    case number(Float)
    case word(UInt32)
    case counter(UInt64)
}

/// The deep-model layers on OpenCL: the kernels of `Kernels/deep.cl` (bodies shared with the CPU loops), one work-item
/// per index of each kernel's range.
extension OpenCLBackend {
    /// The kernel names of `Kernels/deep.cl` (the list in `deep/signatures.cl`).
    static let deepKernelNames = [
        "im2col", "col2im", "pool_forward", "pool_backward", "transpose", "batch_norm_statistics",
        "batch_norm_normalize", "batch_norm_backward_sums", "batch_norm_backward_input", "layer_norm_forward",
        "layer_norm_backward_input", "layer_norm_backward_parameters", "embedding_forward",
        "embedding_backward_tokens", "embedding_backward_positions", "heads_permute", "causal_softmax_forward",
        "causal_softmax_backward", "dropout", "add", "muon_momentum", "scale_by_norm", "muon_apply",
        "adafactor_rows", "adafactor_cols", "adafactor_direction", "adafactor_apply",
    ]

    /// Sets `arguments` in order and launches `count` work-items of `name` (nothing when `count` is 0).
    func launch(_ name: String, count: Int, _ arguments: [KernelArgument], trace: String? = nil) throws {
        guard count > 0 else { return }
        let kernel = deepKernels[name]!
        try kernel.setArgument(0, UInt64(count))
        for (index, argument) in arguments.enumerated() {
            switch argument {
            case .buffer(let buffer): try kernel.setArgument(index + 1, buffer)
            case .index(let value): try kernel.setArgument(index + 1, UInt64(value))
            case .flag(let value): try kernel.setArgument(index + 1, Int32(value ? 1 : 0))
            case .number(let value): try kernel.setArgument(index + 1, value)
            case .word(let value): try kernel.setArgument(index + 1, value)
            case .counter(let value): try kernel.setArgument(index + 1, value)
            }
        }
        try enqueue(kernel, global: count, local: kernel.localSize(preferred: preferredLocalSize), name: trace ?? name)
    }

    /// A slice as its buffer and offset arguments.
    func slice(_ s: DeviceSlice) -> [KernelArgument] { [.buffer(device(s.buffer)), .index(s.offset)] }

    private func window(_ g: WindowGeometry) -> [KernelArgument] {
        [g.channels, g.height, g.width, g.kernel, g.stride, g.padding, g.outputHeight, g.outputWidth].map { .index($0) }
    }

    func runDeep(_ layer: LayerCommand) throws {
        switch layer {
        case .patches(let c):
            let g = c.geometry, last = KernelArgument.flag(c.layout == .channelsLast)
            if c.pass == .forward {
                try launch(
                    "im2col", count: c.images * g.outputHeight,
                    slice(c.image) + slice(c.patches) + window(g) + [last])
            } else {
                try launch(
                    "col2im", count: c.images * g.height,
                    slice(c.image) + slice(c.patches) + window(g) + [last, .flag(c.accumulate)])
            }
        case .pool(let c):
            let g = c.geometry, indices = c.indices.map(slice) ?? slice(c.destination)
            if c.pass == .forward {
                try launch(
                    "pool_forward", count: c.images * g.outputHeight,
                    slice(c.source) + slice(c.destination) + indices + window(g) + [.flag(c.kind == .max)],
                    trace: layer.kernelName)
            } else {
                try launch(
                    "pool_backward", count: c.images * g.height,
                    slice(c.source) + slice(c.destination) + indices + window(g)
                        + [.flag(c.kind == .max), .flag(c.accumulate)], trace: layer.kernelName)
            }
        case .transpose(let c):
            try launch(
                "transpose", count: c.matrices * c.rows,
                slice(c.source) + slice(c.destination) + [.index(c.rows), .index(c.cols), .flag(c.accumulate)])
        case .batchNorm(let c): try runBatchNorm(c)
        case .layerNorm(let c): try runLayerNorm(c)
        case .embedding(let c):
            let shape: [KernelArgument] =
                slice(c.ids) + [c.rows, c.sequenceLength, c.width, c.vocabulary].map { .index($0) }
                + [.index(c.tokenTable.offset), .index(c.positionTable.offset), .buffer(device(c.tokenTable.buffer))]
            if c.pass == .forward {
                try launch("embedding_forward", count: c.rows * c.width, shape + slice(c.output))
            } else {
                try launch(
                    "embedding_backward_tokens", count: c.width, shape + slice(c.output) + [.flag(c.accumulate)])
                try launch(
                    "embedding_backward_positions", count: c.sequenceLength * c.width,
                    shape + slice(c.output) + [.flag(c.accumulate)])
            }
        case .heads(let c):
            try launch(
                "heads_permute", count: c.sequences * c.sequenceLength,
                slice(c.fused) + slice(c.split) + [c.sequenceLength, c.heads, c.headWidth, c.parts].map { .index($0) }
                    + [.flag(c.pass == .forward), .flag(c.accumulate)], trace: layer.kernelName)
        case .causalSoftmax(let c) where c.pass == .forward:
            try launch(
                "causal_softmax_forward", count: c.rows,
                slice(c.scores) + [.index(c.sequenceLength), .number(c.scale)])
        case .causalSoftmax(let c):
            try launch(
                "causal_softmax_backward", count: c.rows,
                slice(c.scores) + slice(c.gradients!) + [.index(c.sequenceLength), .number(c.scale)])
        case .dropout(let c):
            try launch(
                "dropout", count: c.count,
                slice(c.source) + slice(c.destination)
                    + [.word(c.threshold), .number(c.scale), .counter(c.seed), .counter(c.stream), .counter(c.step)]
                    + [.flag(c.accumulate)])
        case .add(let c):
            try launch(
                "add", count: c.count,
                slice(c.a) + slice(c.b ?? c.a) + [.flag(c.b != nil)] + slice(c.destination) + [.flag(c.accumulate)])
        case .tensorUpdate(let c): try runTensorUpdate(c)
        default: preconditionFailure("runDeep got \(layer.kernelName)")
        }
    }

    private func runBatchNorm(_ c: BatchNormCommand) throws {
        let columns = c.replicas * c.channels, elements = columns * c.rows
        let norm: [KernelArgument] =
            [
                .index(c.rows), .index(c.channels), .buffer(device(c.weight.buffer)), .index(c.weight.offset),
                .index(c.bias.offset), .index(c.parameterStride),
            ] + slice(c.saved) + [.number(c.epsilon)]
        let running: [KernelArgument] = [
            .buffer(device(c.runningMean.buffer)), .index(c.runningMean.offset), .index(c.runningVariance.offset),
            .index(c.runningStride),
        ]
        switch c.mode {
        case .trainingForward, .evaluationForward:
            if c.mode == .trainingForward {
                try launch(
                    "batch_norm_statistics", count: columns, slice(c.input) + norm + running + [.number(c.momentum)])
            }
            try launch(
                "batch_norm_normalize", count: elements,
                slice(c.input) + slice(c.output) + norm + running + [.flag(c.mode == .evaluationForward)])
        case .backward:
            try launch(
                "batch_norm_backward_sums", count: columns,
                slice(c.input) + slice(c.gradOutput!) + norm
                    + [.buffer(device(c.gradWeight!.buffer)), .flag(c.accumulateParameters)])
            try launch(
                "batch_norm_backward_input", count: elements,
                slice(c.input) + slice(c.gradOutput!) + slice(c.output) + norm + [.flag(c.accumulateInput)])
        }
    }

    private func runLayerNorm(_ c: LayerNormCommand) throws {
        func norm(weight: Int, bias: Int) -> [KernelArgument] {
            [.index(c.rows), .index(c.cols), .buffer(device(c.weight.buffer)), .index(weight), .index(bias)]
                + slice(c.saved) + [.number(c.epsilon)]
        }
        let parameters = norm(weight: c.weight.offset, bias: c.bias.offset)
        if c.pass == .forward {
            try launch("layer_norm_forward", count: c.rows, slice(c.input) + slice(c.output) + parameters)
            return
        }
        try launch(
            "layer_norm_backward_input", count: c.rows,
            slice(c.input) + slice(c.gradOutput!) + slice(c.output) + parameters + [.flag(c.accumulateInput)])
        try launch(
            "layer_norm_backward_parameters", count: c.cols,
            slice(c.input) + slice(c.gradOutput!) + norm(weight: c.gradWeight!.offset, bias: c.gradBias!.offset)
                + [.buffer(device(c.gradWeight!.buffer)), .flag(c.accumulateParameters)])
    }
}
