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
    public var hidden: [Int]
    public var activation: Activation
    public var weightInit: WeightInit
    /// `mlp`, `softmax` or `linear`.
    public var kind: String

    public static let kinds = ["mlp", "softmax", "linear"]

    public init(kind: String = "mlp", hidden: [Int] = [128], activation: Activation = .relu, weightInit: WeightInit = .kaiming) {
        self.kind = kind
        self.hidden = hidden
        self.activation = activation
        self.weightInit = weightInit
    }

    public init(parsing text: String) throws {
        let (name, body) = text.firstIndex(of: ":").map { (String(text[..<$0]), String(text[text.index(after: $0)...])) } ?? (text, "")
        let kind = name.lowercased()
        guard Self.kinds.contains(kind) else {
            throw EtaError(.usage, "unknown model '\(name)' in '\(text)'; valid: mlp:hidden=128/64,act=relu,init=kaiming | softmax | linear")
        }
        self.init(kind: kind, hidden: kind == "mlp" ? [128] : [])
        let validKeys = kind == "mlp" ? ["hidden", "act", "init"] : ["init"]
        for part in body.split(separator: ",") where !part.isEmpty {
            let pieces = part.split(separator: "=", maxSplits: 1).map(String.init)
            guard pieces.count == 2, validKeys.contains(pieces[0]) else {
                throw EtaError(.usage, "invalid part '\(part)' in model '\(text)'; valid keys for \(kind): \(validKeys.joined(separator: ", "))")
            }
            switch pieces[0] {
            case "hidden":
                hidden = try pieces[1].split(separator: "/", omittingEmptySubsequences: false).map {
                    // The cap keeps weight counts (width x width) far from overflow; memory is checked when allocating.
                    guard let width = Int($0), width > 0, width <= 1 << 24 else {
                        throw EtaError(.usage, "invalid hidden width '\($0)' in '\(text)': expected integers in 1...\(1 << 24) like hidden=128/64")
                    }
                    return width
                }
            case "act": activation = try Activation(name: pieces[1])
            default:
                guard let value = WeightInit(rawValue: pieces[1]) else {
                    throw EtaError(.usage, "invalid init '\(pieces[1])' in '\(text)'; valid: \(WeightInit.allCases.map(\.rawValue).joined(separator: ", "))")
                }
                weightInit = value
            }
        }
    }

    /// The canonical SPEC.
    public var spec: String {
        kind == "mlp" ? "mlp:hidden=\(hidden.map(String.init).joined(separator: "/")),act=\(activation.name),init=\(weightInit.rawValue)"
                      : "\(kind):init=\(weightInit.rawValue)"
    }

    /// The layers for `inputs` features and `outputs` model outputs.
    public func architecture(inputs: Int, outputs: Int) throws -> ModelArchitecture {
        guard inputs > 0, outputs > 0 else { throw EtaError(.usage, "a model needs at least one input and one output") }
        let widths = [inputs] + hidden + [outputs]
        let layers = (0..<(widths.count - 1)).map { i in
            DenseLayer(inputs: widths[i], outputs: widths[i + 1], activation: i == widths.count - 2 ? .identity : activation)
        }
        return try ModelArchitecture(layers: layers, weightInit: weightInit)
    }
}

/// One fully connected layer: y = act(x Wᵀ + b) with W [outputs × inputs] (PyTorch's `nn.Linear` layout).
public struct DenseLayer: Equatable, Sendable {
    public let inputs: Int
    public let outputs: Int
    public let activation: Activation
}

/// A stack of dense layers and where each tensor lives in the parameter arena (`layer0.weight`, `layer0.bias`, ...).
public struct ModelArchitecture: Equatable, Sendable {
    public let layers: [DenseLayer]
    public let weightInit: WeightInit
    public let layout: TensorLayout

    public init(layers: [DenseLayer], weightInit: WeightInit) throws {
        self.layers = layers
        self.weightInit = weightInit
        layout = try TensorLayout(layers.enumerated().flatMap { index, layer in
            [("layer\(index).weight", [layer.outputs, layer.inputs]), ("layer\(index).bias", [layer.outputs])]
        }, alignment: UpdateGroups.chunk)
    }

    /// Offsets of layer `i`'s weight and bias in the arena.
    public func offsets(_ i: Int) -> (weight: Int, bias: Int) {
        (layout["layer\(i).weight"]!.offset, layout["layer\(i).bias"]!.offset)
    }

    /// Seeded initial parameters for the whole arena.
    public func initialParameters(seed: UInt64) -> [Float] {
        var random = SplitMix64(seed: seed ^ 0x5EED_0F_E7A)
        var values = [Float](repeating: 0, count: layout.count)
        for (i, layer) in layers.enumerated() {
            let bound: Float = weightInit == .kaiming
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
    public mutating func uniform() -> Float { Float(Int32(truncatingIfNeeded: next() >> 32)) / 2_147_483_648 }
}
