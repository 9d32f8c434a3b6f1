/// The graphs of the SPEC kinds, with PyTorch's module names and initialisations (`tools/torch_models.py` builds the
/// same modules, and a test loads Eta's checkpoints into them).
extension ModelSpec {
    /// The layers for flat inputs of `inputs` features and `outputs` model outputs.
    ///
    /// - Parameters:
    ///   - inputs: Features per sample, at least 1.
    ///   - outputs: Model outputs (classes, or regression targets), at least 1.
    /// - Returns: The graph and its parameter layout.
    /// - Throws: `EtaError` `.usage` when the inputs do not suit the model (see ``architecture(inputShape:outputs:)``).
    public func architecture(inputs: Int, outputs: Int) throws -> ModelArchitecture {
        try architecture(inputShape: [inputs], outputs: outputs)
    }

    /// The layers for inputs of one sample's `inputShape` (`[features]`, `[C, H, W]` images, or `[T]` token ids for a
    /// GPT) and `outputs` model outputs (classes, or the vocabulary for a GPT).
    ///
    /// - Parameters:
    ///   - inputShape: One sample's shape, every dimension at least 1.
    ///   - outputs: Model outputs, at least 1.
    /// - Returns: The graph and its parameter layout.
    /// - Throws: `EtaError` `.usage` for empty inputs or outputs, a CNN or ResNet without image inputs or with too
    ///   small images, or a GPT whose input length is not its context.
    public func architecture(inputShape: [Int], outputs: Int) throws -> ModelArchitecture {
        let standard = try standardArchitecture(inputShape: inputShape, outputs: outputs)
        guard case .maximalUpdate(let baseWidth) = parametrization else { return standard }
        return try maximalUpdate(standard, baseWidth: baseWidth, inputShape: inputShape, outputs: outputs)
    }

    private func standardArchitecture(inputShape: [Int], outputs: Int) throws -> ModelArchitecture {
        let features = inputShape.reduce(1, *)
        guard !inputShape.isEmpty, inputShape.allSatisfy({ $0 > 0 }), outputs > 0 else {
            throw EtaError(.usage, "a model needs at least one input and one output")
        }
        switch kind {
        case "cnn", "resnet":
            guard inputShape.count == 3 else {
                throw EtaError(
                    .usage,
                    "\(kind) needs image inputs (C×H×W); these samples have \(features) features: give "
                        + "--input-shape, e.g. --input-shape 1x28x28")
            }
            let image = FeatureShape(height: inputShape[1], width: inputShape[2], channels: inputShape[0])
            var graph = GraphBuilder(input: image)
            if kind == "cnn" {
                try convolutional(&graph, outputs: outputs)
            } else {
                try residual(&graph, outputs: outputs)
            }
            return try ModelArchitecture(nodes: graph.nodes, inputShape: image, inputChannelsFirst: true)
        case "gpt":
            guard inputShape == [context] else {
                throw EtaError(
                    .usage,
                    "gpt with context=\(context) reads \(context) tokens per sample; these samples have \(features) "
                        + "values (use a text dataset, whose windows take the context from the model)")
            }
            var graph = GraphBuilder(input: FeatureShape(height: context, channels: 1))
            transformer(&graph, vocabulary: outputs)
            return try ModelArchitecture(
                nodes: graph.nodes, inputShape: FeatureShape(height: context, channels: 1), readsTokens: true)
        default:
            var graph = GraphBuilder(input: FeatureShape(channels: features))
            let widths = [features] + hidden + [outputs]
            var x = LayerNode.modelInput
            for i in 0..<(widths.count - 1) {
                let bound: Float =
                    weightInit == .kaiming
                    ? (6 / Float(widths[i])).squareRoot() : (6 / Float(widths[i] + widths[i + 1])).squareRoot()
                x = graph.dense(
                    "layer\(i)", x, outputs: widths[i + 1], activation: i == widths.count - 2 ? .identity : activation,
                    weight: .uniform(bound: bound), bias: .constant(0))
            }
            return try ModelArchitecture(
                nodes: graph.nodes, inputShape: FeatureShape(channels: features), weightInit: weightInit)
        }
    }

    /// Per stage: a same-padded convolution, ReLU (BatchNorm first when asked) and 2x2 max pooling; then flatten,
    /// the dense hidden layers with ReLU (and dropout), and the output layer. PyTorch's default initialisation.
    /// Without BatchNorm the convolution's bias and ReLU run after the pooling (``LayerOperation/channelBias(_:)``).
    private func convolutional(_ graph: inout GraphBuilder, outputs: Int) throws {
        var x = LayerNode.modelInput
        for (i, width) in channels.enumerated() {
            let fanIn = graph.shape(x).channels * kernel * kernel
            x = graph.convolution(
                "conv\(i + 1)", x, outputs: width, kernel: kernel, stride: 1, padding: kernel / 2, bias: false,
                activation: .identity, initialization: .pytorch)
            if batchNorm {
                x = graph.batchNorm("bn\(i + 1)", x)
                x = graph.activation("relu\(i + 1)", x, .relu)
                x = try graph.pool("pool\(i + 1)", x, .max, kernel: 2, stride: 2, padding: 0)
            } else {
                // Conv2d, ReLU, MaxPool2d computed as convolution, max pool, then bias and ReLU: the same values.
                x = try graph.pool("pool\(i + 1)", x, .max, kernel: 2, stride: 2, padding: 0)
                x = graph.channelBias("conv\(i + 1)", x, .relu, fanIn: fanIn)
            }
        }
        x = graph.flatten("flatten", x)
        for (j, width) in hidden.enumerated() {
            x = graph.dense("fc\(j + 1)", x, outputs: width, activation: .relu)
            x = graph.dropout("dropout\(j + 1)", x, dropout)
        }
        _ = graph.dense("fc\(hidden.count + 1)", x, outputs: outputs, activation: .identity)
    }

    /// He et al. 2016's CIFAR ResNet with torchvision's names and initialisation: a 3x3 stem, stages of basic
    /// blocks (two 3x3 convolutions with BatchNorm; a 1x1 projection where the shape changes), global average pooling
    /// and a linear classifier.
    private func residual(_ graph: inout GraphBuilder, outputs: Int) throws {
        var x = graph.convolution(
            "conv1", LayerNode.modelInput, outputs: width, kernel: 3, stride: 1, padding: 1, bias: false,
            activation: .identity, initialization: .kaimingFanOut)
        x = graph.activation("relu", graph.batchNorm("bn1", x), .relu)
        var channels = width
        for (stage, count) in blocks.enumerated() {
            let stageWidth = width << stage
            for block in 0..<count {
                let stride = stage > 0 && block == 0 ? 2 : 1, prefix = "layer\(stage + 1).\(block)"
                guard graph.shape(x).height >= stride, graph.shape(x).width >= stride else {
                    throw EtaError(
                        .usage,
                        "resnet with \(blocks.count) stages halves \(graph.input.height)x\(graph.input.width) images "
                            + "below 1x1; use fewer stages")
                }
                var branch = graph.convolution(
                    "\(prefix).conv1", x, outputs: stageWidth, kernel: 3, stride: stride, padding: 1, bias: false,
                    activation: .identity, initialization: .kaimingFanOut)
                branch = graph.activation("\(prefix).relu1", graph.batchNorm("\(prefix).bn1", branch), .relu)
                branch = graph.convolution(
                    "\(prefix).conv2", branch, outputs: stageWidth, kernel: 3, stride: 1, padding: 1, bias: false,
                    activation: .identity, initialization: .kaimingFanOut)
                branch = graph.batchNorm("\(prefix).bn2", branch)
                var shortcut = x
                if stride != 1 || channels != stageWidth {
                    shortcut = graph.convolution(
                        "\(prefix).downsample.0", x, outputs: stageWidth, kernel: 1, stride: stride, padding: 0,
                        bias: false, activation: .identity, initialization: .kaimingFanOut)
                    shortcut = graph.batchNorm("\(prefix).downsample.1", shortcut)
                }
                x = graph.activation("\(prefix).relu2", graph.add("\(prefix).add", branch, shortcut), .relu)
                channels = stageWidth
            }
        }
        let last = graph.shape(x)
        guard last.height == last.width else {
            throw EtaError(
                .usage,
                "resnet's global average pooling needs square feature maps; these are \(last.height)x\(last.width)")
        }
        x = try graph.pool("avgpool", x, .average, kernel: last.height, stride: last.height, padding: 0)
        _ = graph.dense("fc", graph.flatten("flatten", x), outputs: outputs, activation: .identity)
    }

    /// A pre-LayerNorm decoder (GPT-2's layout): embeddings, blocks of attention and MLP each behind a LayerNorm and
    /// added back, a final LayerNorm and a linear head; weights N(0, 0.02), biases 0.
    private func transformer(_ graph: inout GraphBuilder, vocabulary: Int) {
        let weight = ParameterInit.normal(standardDeviation: 0.02), zero = ParameterInit.constant(0)
        func linear(_ name: String, _ x: Int, _ outputs: Int, _ activation: Activation = .identity) -> Int {
            graph.dense(name, x, outputs: outputs, activation: activation, weight: weight, bias: zero)
        }
        var x = graph.embedding(vocabulary: vocabulary, context: context, width: embed)
        x = graph.dropout("embedding_dropout", x, dropout)
        for i in 0..<layers {
            let p = "blocks.\(i)"
            var h = linear("\(p).attn.qkv", graph.layerNorm("\(p).ln1", x), 3 * embed)
            h = linear("\(p).attn.proj", graph.attention("\(p).attn", h, heads: heads), embed)
            x = graph.add("\(p).add1", x, graph.dropout("\(p).attn_dropout", h, dropout))
            h = linear("\(p).mlp.fc", graph.layerNorm("\(p).ln2", x), mlpRatio * embed, .gelu)
            h = linear("\(p).mlp.proj", h, embed)
            x = graph.add("\(p).add2", x, graph.dropout("\(p).mlp_dropout", h, dropout))
        }
        _ = linear("head", graph.layerNorm("ln_f", x), vocabulary)
    }
}
