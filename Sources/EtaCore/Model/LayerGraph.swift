import Foundation

/// One sample's activations: `height·width` positions (pixels, or tokens with width 1) of `channels` features each,
/// stored channels-last, so every activation of a batch is a `[batch·positions × channels]` matrix.
public struct FeatureShape: Equatable, Sendable, CustomStringConvertible {
    /// Rows of positions (image height, or the sequence length).
    public var height: Int
    /// Columns of positions (image width; 1 for sequences and flat features).
    public var width: Int
    /// Features per position.
    public var channels: Int

    /// - Parameters:
    ///   - height: Rows of positions.
    ///   - width: Columns of positions.
    ///   - channels: Features per position.
    public init(height: Int = 1, width: Int = 1, channels: Int) {
        (self.height, self.width, self.channels) = (height, width, channels)
    }

    /// Positions per sample.
    public var positions: Int { height * width }
    /// Floats per sample.
    public var count: Int { height * width * channels }
    /// `CxHxW` (PyTorch's order), or the feature count when flat.
    public var description: String { positions == 1 ? "\(channels)" : "\(channels)x\(height)x\(width)" }
}

/// What a layer computes. Every operation acts on channels-last activations; see ``LayerNode``.
public enum LayerOperation: Equatable, Sendable {
    /// `nn.Linear` on each position, then a nonlinearity: y = act(x Wᵀ + b).
    case dense(outputs: Int, activation: Activation, bias: Bool)
    /// `nn.Conv2d` (square kernel, zero padding), then a nonlinearity.
    case convolution(outputs: Int, kernel: Int, stride: Int, padding: Int, bias: Bool, activation: Activation)
    /// `nn.MaxPool2d` or `nn.AvgPool2d` (a window the size of the image: global average pooling).
    case pool(PoolCommand.Kind, kernel: Int, stride: Int, padding: Int)
    /// `nn.BatchNorm2d` over the channels (momentum 0.1, eps 1e-5).
    case batchNorm
    /// `nn.LayerNorm` over the channels (eps 1e-5).
    case layerNorm
    /// An elementwise nonlinearity.
    case activation(Activation)
    /// y = act(x + b) with one bias per channel: a convolution's bias and nonlinearity applied after max pooling
    /// (max commutes with adding a per-channel constant and with a monotone nonlinearity, so the result is the
    /// same, on a quarter of the elements). The bias keeps the convolution's name (`conv1.bias`).
    case channelBias(Activation)
    /// `nn.Dropout(p)` (the identity in evaluation).
    case dropout(Double)
    /// `nn.Flatten` in PyTorch's `[C·H·W]` order.
    case flatten
    /// Token plus learned position embeddings (`vocabulary` tokens, `context` positions); reads token ids.
    case embedding(vocabulary: Int, context: Int)
    /// Causal multi-head self-attention over a fused `[q | k | v]` input of 3·E channels; E channels out.
    case attention(heads: Int)
    /// The sum of its two inputs (a residual connection).
    case add
}

/// How a parameter tensor starts (drawn from the model's seeded generator in layout order).
public enum ParameterInit: Equatable, Sendable {
    /// Uniform in [−bound, bound).
    case uniform(bound: Float)
    /// Normal with mean 0 (Box–Muller over the same generator).
    case normal(standardDeviation: Double)
    /// Every element equal.
    case constant(Float)
}

/// A trainable tensor of a layer: its PyTorch name (`conv1.weight`), shape and initialisation.
public struct ParameterTensor: Equatable, Sendable {
    /// The state-dict name.
    public var name: String
    /// PyTorch's shape (`[out, in, kh, kw]` for a convolution).
    public var shape: [Int]
    /// How it starts.
    public var initialization: ParameterInit
}

/// One node of a model: an operation on the outputs of earlier nodes (or the model's input), with its parameters
/// named after PyTorch's modules.
public struct LayerNode: Equatable, Sendable {
    /// The module's name (`conv1`, `layer1.0.bn1`, `blocks.0.attn.qkv`); parameter names extend it.
    public var name: String
    /// What it computes.
    public var operation: LayerOperation
    /// The nodes it reads, by index; ``LayerNode/modelInput`` is the model's input.
    public var inputs: [Int]
    /// One sample's output.
    public var shape: FeatureShape
    /// Its trainable tensors, in PyTorch's state-dict order.
    public var parameters: [ParameterTensor]

    /// The index that names the model's input among a node's inputs.
    public static let modelInput = -1
}

/// A model as a graph of layers (a sequence with residual branches), with where each parameter lives.
///
/// ```swift
/// let model = try ModelSpec(parsing: "cnn:channels=8/16,hidden=32").architecture(inputShape: [1, 28, 28], outputs: 10)
/// model.layout["conv1.weight"]!.shape   // [8, 1, 3, 3]
/// ```
public struct ModelArchitecture: Equatable, Sendable {
    /// The layers in execution order; each reads only earlier ones.
    public let nodes: [LayerNode]
    /// One sample of the model's input.
    public let inputShape: FeatureShape
    /// Whether the input is stored channels-first (images as the data files hold them) rather than channels-last.
    public let inputChannelsFirst: Bool
    /// Whether the input holds token ids.
    public let readsTokens: Bool
    /// How MLP weights were asked to start (reports and checkpoints).
    public let weightInit: WeightInit
    /// Where each parameter lies (tensors aligned to ``GroupLayout/chunk``).
    public let layout: TensorLayout
    /// Non-trainable state (BatchNorm running statistics): `bn1.running_mean`, `bn1.running_var`, ...
    public let buffers: TensorLayout
    /// μP's changes (readout multiplier, attention scale, infinite shapes); nil for the standard parametrization.
    public internal(set) var maximalUpdate: MaximalUpdate?

    /// The factor a dense node's input is multiplied by: μP's readout multiplier for the output layer, else 1.
    ///
    /// - Parameter index: A node index.
    /// - Returns: The factor.
    public func inputMultiplier(ofNode index: Int) -> Float {
        guard let maximalUpdate, nodes[index].name == maximalUpdate.readout else { return 1 }
        return maximalUpdate.readoutMultiplier
    }

    /// - Parameters:
    ///   - nodes: The layers in execution order.
    ///   - inputShape: One sample of the input.
    ///   - inputChannelsFirst: Whether the input is channels-first.
    ///   - readsTokens: Whether the input holds token ids.
    ///   - weightInit: The MLP initialisation named in the SPEC.
    /// - Throws: `EtaError` `.usage` when the layout cannot be built (a repeated name).
    public init(
        nodes: [LayerNode], inputShape: FeatureShape, inputChannelsFirst: Bool = false, readsTokens: Bool = false,
        weightInit: WeightInit = .kaiming
    ) throws {
        self.nodes = nodes
        self.inputShape = inputShape
        self.inputChannelsFirst = inputChannelsFirst
        self.readsTokens = readsTokens
        self.weightInit = weightInit
        layout = try TensorLayout(
            nodes.flatMap { $0.parameters.map { ($0.name, $0.shape) } }, alignment: GroupLayout.chunk)
        buffers = try TensorLayout(
            nodes.filter { $0.operation == .batchNorm }.flatMap { node in
                [
                    ("\(node.name).running_mean", [node.shape.channels]),
                    ("\(node.name).running_var", [node.shape.channels]),
                ]
            })
    }

    /// One sample's output (the last node's).
    public var outputShape: FeatureShape { nodes.last!.shape }

    /// The shape a node reads from input `index` (the model's input or an earlier node's output).
    ///
    /// - Parameter index: A node index or ``LayerNode/modelInput``.
    /// - Returns: That tensor's per-sample shape.
    public func shape(of index: Int) -> FeatureShape { index == LayerNode.modelInput ? inputShape : nodes[index].shape }

    /// The dense layers of an MLP (every node, for the `mlp`, `softmax` and `linear` kinds), for the Reference.
    public var layers: [DenseLayer] {
        nodes.compactMap { node in
            guard case .dense(let outputs, let activation, _) = node.operation else { return nil }
            return DenseLayer(
                inputs: shape(of: node.inputs[0]).channels, outputs: outputs, activation: activation, name: node.name)
        }
    }

    /// Offsets of the i-th dense layer's weight and bias in the arena.
    ///
    /// - Parameter i: The dense layer's index among ``layers``, from 0.
    /// - Returns: The first element of its weight and of its bias.
    public func offsets(_ i: Int) -> (weight: Int, bias: Int) {
        let name = layers[i].name
        return (layout["\(name).weight"]!.offset, layout["\(name).bias"]!.offset)
    }

    /// Seeded initial parameters for the whole arena: each tensor in layout order draws from one SplitMix64
    /// generator, so the same seed gives the same weights on every backend.
    ///
    /// - Parameter seed: The seed.
    /// - Returns: The whole arena, padding zero.
    public func initialParameters(seed: UInt64) -> [Float] {
        var random = SplitMix64(seed: seed ^ 0x5EED_0F_E7A)
        var values = [Float](repeating: 0, count: layout.count)
        for tensor in nodes.flatMap(\.parameters) {
            let entry = layout[tensor.name]!
            switch tensor.initialization {
            case .uniform(let bound):
                for j in 0..<entry.count { values[entry.offset + j] = random.uniform() * bound }
            case .normal(let deviation):
                for j in 0..<entry.count { values[entry.offset + j] = Float(random.normal() * deviation) }
            case .constant(let value):
                for j in 0..<entry.count { values[entry.offset + j] = value }
            }
        }
        return values
    }

    /// The running statistics' initial values: means 0, variances 1 (PyTorch's).
    public var initialBuffers: [Float] {
        var values = [Float](repeating: 0, count: buffers.count)
        for entry in buffers.entries where entry.name.hasSuffix(".running_var") {
            for j in 0..<entry.count { values[entry.offset + j] = 1 }
        }
        return values
    }

    /// Multiply-adds of one forward pass per sample (dense layers and convolutions).
    public var multiplyAddsPerSample: Int {
        nodes.reduce(0) { total, node in
            let input = shape(of: node.inputs.first ?? LayerNode.modelInput)
            switch node.operation {
            case .dense(let outputs, _, _): return total + input.positions * input.channels * outputs
            case .convolution(let outputs, let kernel, _, _, _, _):
                return total + node.shape.positions * outputs * input.channels * kernel * kernel
            default: return total
            }
        }
    }
}

/// One fully connected layer of an MLP: y = act(x Wᵀ + b) with W [outputs × inputs] (PyTorch's `nn.Linear` layout).
public struct DenseLayer: Equatable, Sendable {
    /// Features in.
    public let inputs: Int
    /// Features out.
    public let outputs: Int
    /// The nonlinearity applied to the output.
    public let activation: Activation
    /// The module's name (`layer0`).
    public var name = ""
}

extension SplitMix64 {
    /// One float uniform in [−1, 1).
    ///
    /// - Returns: The next value.
    public mutating func uniform() -> Float { Float(Int32(truncatingIfNeeded: next() >> 32)) / 2_147_483_648 }

    /// One standard normal value (Box–Muller from two 53-bit uniforms; the second value is not kept, so each call
    /// takes two draws).
    ///
    /// - Returns: The next value.
    public mutating func normal() -> Double {
        let u1 = (Double(next() >> 11) + 1) * 0x1p-53, u2 = Double(next() >> 11) * 0x1p-53
        return (-2 * Foundation.log(u1)).squareRoot() * Foundation.cos(2 * Double.pi * u2)
    }
}
