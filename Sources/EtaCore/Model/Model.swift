/// How to initialise weights (biases start at zero). Both are uniform and seeded, so both backends start
/// from identical weights.
public enum WeightInit: String, CaseIterable, Sendable, Codable {
    /// He et al. 2015, uniform: bound √(6 / fan_in) (torch.nn.init.kaiming_uniform_, nonlinearity "relu").
    case kaiming
    /// Glorot & Bengio 2010, uniform: bound √(6 / (fan_in + fan_out)) (torch.nn.init.xavier_uniform_).
    case xavier
}

/// A model SPEC: `mlp:hidden=128/64,act=relu,init=kaiming`, `softmax` (multinomial logistic regression) or
/// `linear` (linear regression).
///
/// ```swift
/// let spec = try ModelSpec(parsing: "mlp:hidden=128/64,act=tanh")
/// let model = try spec.architecture(inputs: 64, outputs: 10)
/// ```
public struct ModelSpec: Equatable, Sendable {
    /// Widths of the hidden layers (empty for `softmax` and `linear`).
    public var hidden: [Int]
    /// The hidden layers' nonlinearity (the output layer's is the identity).
    public var activation: Activation
    /// How weights are initialised.
    public var weightInit: WeightInit
    /// `mlp`, `softmax` or `linear`.
    public var kind: String

    /// The model kinds a SPEC may name.
    public static let kinds = ["mlp", "softmax", "linear"]

    /// - Parameters:
    ///   - kind: `mlp`, `softmax` or `linear`.
    ///   - hidden: Widths of the hidden layers.
    ///   - activation: The hidden layers' nonlinearity.
    ///   - weightInit: How weights are initialised.
    public init(
        kind: String = "mlp", hidden: [Int] = [128], activation: Activation = .relu, weightInit: WeightInit = .kaiming
    ) {
        self.kind = kind
        self.hidden = hidden
        self.activation = activation
        self.weightInit = weightInit
    }

    /// Parses a model SPEC such as `mlp:hidden=128/64,act=relu,init=kaiming`.
    ///
    /// - Parameter text: `mlp[:hidden=W/W...,act=A,init=I]`, `softmax[:init=I]` or `linear[:init=I]`; W in 1...2²⁴.
    /// - Throws: `EtaError` `.usage` for an unknown kind, key, activation or init, or an invalid width.
    public init(parsing text: String) throws {
        let (name, body) =
            text.firstIndex(of: ":").map { (String(text[..<$0]), String(text[text.index(after: $0)...])) } ?? (text, "")
        let kind = name.lowercased()
        guard Self.kinds.contains(kind) else {
            throw EtaError(
                .usage,
                "unknown model '\(name)' in '\(text)'; valid: "
                    + "mlp:hidden=128/64,act=relu,init=kaiming | softmax | linear"
            )
        }
        self.init(kind: kind, hidden: kind == "mlp" ? [128] : [])
        let validKeys = kind == "mlp" ? ["hidden", "act", "init"] : ["init"]
        for part in body.split(separator: ",") where !part.isEmpty {
            let pieces = part.split(separator: "=", maxSplits: 1).map(String.init)
            guard pieces.count == 2, validKeys.contains(pieces[0]) else {
                throw EtaError(
                    .usage,
                    "invalid part '\(part)' in model '\(text)'; valid keys for \(kind): "
                        + "\(validKeys.joined(separator: ", "))"
                )
            }
            switch pieces[0] {
            case "hidden":
                hidden = try pieces[1].split(separator: "/", omittingEmptySubsequences: false).map {
                    // The cap keeps weight counts (width x width) far from overflow; memory is checked when allocating.
                    guard let width = Int($0), width > 0, width <= 1 << 24 else {
                        throw EtaError(
                            .usage,
                            "invalid hidden width '\($0)' in '\(text)': expected integers in 1...\(1 << 24) like "
                                + "hidden=128/64"
                        )
                    }
                    return width
                }
            case "act": activation = try Activation(name: pieces[1])
            default:
                guard let value = WeightInit(rawValue: pieces[1]) else {
                    throw EtaError(
                        .usage,
                        "invalid init '\(pieces[1])' in '\(text)'; valid: "
                            + "\(WeightInit.allCases.map(\.rawValue).joined(separator: ", "))"
                    )
                }
                weightInit = value
            }
        }
    }

    /// The canonical SPEC.
    public var spec: String {
        kind == "mlp"
            ? "mlp:hidden=\(hidden.map(String.init).joined(separator: "/")),"
                + "act=\(activation.name),init=\(weightInit.rawValue)"
            : "\(kind):init=\(weightInit.rawValue)"
    }

    /// The layers for `inputs` features and `outputs` model outputs.
    ///
    /// - Parameters:
    ///   - inputs: Features per sample, at least 1.
    ///   - outputs: Model outputs (classes, or regression targets), at least 1.
    /// - Returns: The layers and their parameter layout.
    /// - Throws: `EtaError` `.usage` when `inputs` or `outputs` is below 1.
    public func architecture(inputs: Int, outputs: Int) throws -> ModelArchitecture {
        guard inputs > 0, outputs > 0 else { throw EtaError(.usage, "a model needs at least one input and one output") }
        let widths = [inputs] + hidden + [outputs]
        let layers = (0..<(widths.count - 1)).map { i in
            DenseLayer(
                inputs: widths[i], outputs: widths[i + 1], activation: i == widths.count - 2 ? .identity : activation)
        }
        return try ModelArchitecture(layers: layers, weightInit: weightInit)
    }
}

/// One fully connected layer: y = act(x Wᵀ + b) with W [outputs × inputs] (PyTorch's `nn.Linear` layout).
public struct DenseLayer: Equatable, Sendable {
    /// Features in.
    public let inputs: Int
    /// Features out.
    public let outputs: Int
    /// The nonlinearity applied to the output.
    public let activation: Activation
}

/// A stack of dense layers and where each tensor lives in the parameter arena (`layer0.weight`, `layer0.bias`, ...).
public struct ModelArchitecture: Equatable, Sendable {
    /// The layers, input first.
    public let layers: [DenseLayer]
    /// How weights are initialised.
    public let weightInit: WeightInit
    /// Where each layer's weight and bias lie (tensors aligned to ``GroupLayout/chunk``).
    public let layout: TensorLayout

    /// - Parameters:
    ///   - layers: The layers, input first.
    ///   - weightInit: How weights are initialised.
    /// - Throws: `EtaError` `.usage` when the layout cannot be built.
    public init(layers: [DenseLayer], weightInit: WeightInit) throws {
        self.layers = layers
        self.weightInit = weightInit
        layout = try TensorLayout(
            layers.enumerated().flatMap { index, layer in
                [("layer\(index).weight", [layer.outputs, layer.inputs]), ("layer\(index).bias", [layer.outputs])]
            }, alignment: GroupLayout.chunk)
    }

    /// Offsets of layer `i`'s weight and bias in the arena.
    ///
    /// - Parameter i: The layer's index, from 0.
    /// - Returns: The first element of its weight and of its bias.
    public func offsets(_ i: Int) -> (weight: Int, bias: Int) {
        (layout["layer\(i).weight"]!.offset, layout["layer\(i).bias"]!.offset)
    }

    /// Seeded initial parameters for the whole arena.
    ///
    /// - Parameter seed: The seed; the same seed gives the same weights on every backend.
    /// - Returns: The whole arena: uniform weights within the init's bound, zero biases and padding.
    public func initialParameters(seed: UInt64) -> [Float] {
        var random = SplitMix64(seed: seed ^ 0x5EED_0F_E7A)
        var values = [Float](repeating: 0, count: layout.count)
        for (i, layer) in layers.enumerated() {
            let bound: Float =
                weightInit == .kaiming
                ? (6 / Float(layer.inputs)).squareRoot()
                : (6 / Float(layer.inputs + layer.outputs)).squareRoot()
            let offset = offsets(i).weight
            for j in 0..<(layer.inputs * layer.outputs) { values[offset + j] = random.uniform() * bound }
        }
        return values
    }

    /// Multiply-adds of one forward pass per sample.
    public var multiplyAddsPerSample: Int { layers.reduce(0) { $0 + $1.inputs * $1.outputs } }
}

extension SplitMix64 {
    /// One float uniform in [−1, 1).
    ///
    /// - Returns: The next value.
    public mutating func uniform() -> Float { Float(Int32(truncatingIfNeeded: next() >> 32)) / 2_147_483_648 }
}
