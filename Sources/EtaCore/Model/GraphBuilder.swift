/// Appends layers to a graph, computing each output shape and naming each parameter after PyTorch's module.
struct GraphBuilder {
    /// The weight initialisations of PyTorch's modules.
    enum WeightInitialization {
        /// `nn.Linear`/`nn.Conv2d` defaults: weight and bias U(±1/√fan_in).
        case pytorch
        /// `kaiming_normal_(mode="fan_out", nonlinearity="relu")`: N(0, 2/(out·k·k)) (torchvision's ResNet).
        case kaimingFanOut
    }

    /// One sample of the model's input.
    let input: FeatureShape
    /// The layers so far.
    private(set) var nodes: [LayerNode] = []

    init(input: FeatureShape) { self.input = input }

    /// The per-sample shape of node `index` (or of the input).
    func shape(_ index: Int) -> FeatureShape { index == LayerNode.modelInput ? input : nodes[index].shape }

    private mutating func append(
        _ name: String, _ operation: LayerOperation, _ inputs: [Int], _ shape: FeatureShape,
        _ parameters: [ParameterTensor] = []
    ) -> Int {
        nodes.append(LayerNode(name: name, operation: operation, inputs: inputs, shape: shape, parameters: parameters))
        return nodes.count - 1
    }

    private static func pytorchBound(fanIn: Int) -> ParameterInit {
        .uniform(bound: Float(1 / Double(fanIn).squareRoot()))
    }

    mutating func dense(
        _ name: String, _ x: Int, outputs: Int, activation: Activation, weight: ParameterInit? = nil,
        bias: ParameterInit? = nil
    ) -> Int {
        let inputShape = shape(x), fanIn = inputShape.channels
        return append(
            name, .dense(outputs: outputs, activation: activation, bias: true), [x],
            FeatureShape(height: inputShape.height, width: inputShape.width, channels: outputs),
            [
                ParameterTensor(
                    name: "\(name).weight", shape: [outputs, fanIn],
                    initialization: weight ?? Self.pytorchBound(fanIn: fanIn)),
                ParameterTensor(
                    name: "\(name).bias", shape: [outputs], initialization: bias ?? Self.pytorchBound(fanIn: fanIn)),
            ])
    }

    mutating func convolution(
        _ name: String, _ x: Int, outputs: Int, kernel: Int, stride: Int, padding: Int, bias: Bool,
        activation: Activation, initialization: WeightInitialization
    ) -> Int {
        let s = shape(x), fanIn = s.channels * kernel * kernel
        let weight: ParameterInit =
            initialization == .pytorch
            ? Self.pytorchBound(fanIn: fanIn)
            : .normal(standardDeviation: (2 / Double(outputs * kernel * kernel)).squareRoot())
        var parameters = [
            ParameterTensor(
                name: "\(name).weight", shape: [outputs, s.channels, kernel, kernel], initialization: weight)
        ]
        if bias {
            parameters.append(
                ParameterTensor(name: "\(name).bias", shape: [outputs], initialization: Self.pytorchBound(fanIn: fanIn))
            )
        }
        let output = FeatureShape(
            height: (s.height + 2 * padding - kernel) / stride + 1,
            width: (s.width + 2 * padding - kernel) / stride + 1,
            channels: outputs)
        return append(
            name,
            .convolution(
                outputs: outputs, kernel: kernel, stride: stride, padding: padding, bias: bias, activation: activation),
            [x], output, parameters)
    }

    mutating func pool(
        _ name: String, _ x: Int, _ kind: PoolCommand.Kind, kernel: Int, stride: Int, padding: Int
    ) throws -> Int {
        let s = shape(x)
        let height = (s.height + 2 * padding - kernel) / stride + 1,
            width = (s.width + 2 * padding - kernel) / stride + 1
        guard s.height + 2 * padding >= kernel, s.width + 2 * padding >= kernel, height >= 1, width >= 1 else {
            throw EtaError(
                .usage,
                "\(name): a \(kernel)x\(kernel) pooling window does not fit \(s.height)x\(s.width) feature maps; the "
                    + "images are too small for this many stages (input \(input))")
        }
        return append(
            name, .pool(kind, kernel: kernel, stride: stride, padding: padding), [x],
            FeatureShape(height: height, width: width, channels: s.channels))
    }

    mutating func batchNorm(_ name: String, _ x: Int) -> Int { normalization(name, x, .batchNorm) }

    mutating func layerNorm(_ name: String, _ x: Int) -> Int { normalization(name, x, .layerNorm) }

    /// A normalisation over the channels with PyTorch's affine parameters: weight 1, bias 0.
    private mutating func normalization(_ name: String, _ x: Int, _ operation: LayerOperation) -> Int {
        let c = shape(x).channels
        return append(
            name, operation, [x], shape(x),
            [
                ParameterTensor(name: "\(name).weight", shape: [c], initialization: .constant(1)),
                ParameterTensor(name: "\(name).bias", shape: [c], initialization: .constant(0)),
            ])
    }

    /// The bias (named `module.bias`, PyTorch's init for `fanIn`) and nonlinearity of convolution `module`, applied
    /// to `x`, a max pooling of its output.
    mutating func channelBias(_ module: String, _ x: Int, _ activation: Activation, fanIn: Int) -> Int {
        append(
            module + ".bias+act", .channelBias(activation), [x], shape(x),
            [
                ParameterTensor(
                    name: "\(module).bias", shape: [shape(x).channels], initialization: Self.pytorchBound(fanIn: fanIn))
            ])
    }

    mutating func activation(_ name: String, _ x: Int, _ activation: Activation) -> Int {
        append(name, .activation(activation), [x], shape(x))
    }

    /// A dropout layer, or nothing (returns `x`) when `p` is 0.
    mutating func dropout(_ name: String, _ x: Int, _ p: Double) -> Int {
        p > 0 ? append(name, .dropout(p), [x], shape(x)) : x
    }

    mutating func flatten(_ name: String, _ x: Int) -> Int {
        append(name, .flatten, [x], FeatureShape(channels: shape(x).count))
    }

    mutating func add(_ name: String, _ a: Int, _ b: Int) -> Int { append(name, .add, [a, b], shape(a)) }

    mutating func attention(_ name: String, _ x: Int, heads: Int) -> Int {
        let s = shape(x)
        return append(
            name, .attention(heads: heads), [x],
            FeatureShape(height: s.height, width: s.width, channels: s.channels / 3))
    }

    /// Token and position embeddings of the model's input ids, named as PyTorch's `token_embedding` and
    /// `position_embedding` modules.
    mutating func embedding(vocabulary: Int, context: Int, width: Int) -> Int {
        let normal = ParameterInit.normal(standardDeviation: 0.02)
        return append(
            "embedding", .embedding(vocabulary: vocabulary, context: context), [LayerNode.modelInput],
            FeatureShape(height: context, channels: width),
            [
                ParameterTensor(name: "token_embedding.weight", shape: [vocabulary, width], initialization: normal),
                ParameterTensor(name: "position_embedding.weight", shape: [context, width], initialization: normal),
            ])
    }
}
