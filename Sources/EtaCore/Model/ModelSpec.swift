/// How to initialise an MLP's weights (biases start at zero). Both are uniform and seeded, so both backends start
/// from identical weights.
public enum WeightInit: String, CaseIterable, Sendable, Codable {
    /// He et al. 2015, uniform: bound √(6 / fan_in) (torch.nn.init.kaiming_uniform_, nonlinearity "relu").
    case kaiming
    /// Glorot & Bengio 2010, uniform: bound √(6 / (fan_in + fan_out)) (torch.nn.init.xavier_uniform_).
    case xavier
}

/// A model SPEC: `mlp:hidden=128/64,act=relu,init=kaiming`, `softmax` (multinomial logistic regression), `linear`
/// (linear regression), `cnn:channels=32/64,kernel=3,hidden=128[,batchnorm=true][,dropout=P]`,
/// `resnet:blocks=2/2/2,width=16` or `gpt:layers=4,heads=4,embed=128,context=128[,mlp=4][,dropout=0]`.
///
/// ```swift
/// let spec = try ModelSpec(parsing: "mlp:hidden=128/64,act=tanh")
/// let model = try spec.architecture(inputs: 64, outputs: 10)
/// ```
public struct ModelSpec: Equatable, Sendable {
    /// `mlp`, `softmax`, `linear`, `cnn`, `resnet` or `gpt`.
    public var kind: String
    /// Widths of the dense hidden layers (MLP; the CNN's dense layers after flattening).
    public var hidden: [Int]
    /// The MLP's hidden nonlinearity (the output layer's is the identity).
    public var activation: Activation
    /// How MLP weights are initialised (the other kinds use PyTorch's initialisation for their modules).
    public var weightInit: WeightInit
    /// CNN: output channels of each convolution stage.
    public var channels = [32, 64]
    /// CNN: the convolutions' (odd) kernel size.
    public var kernel = 3
    /// CNN: BatchNorm after each convolution (whose bias is then dropped).
    public var batchNorm = false
    /// CNN and GPT: the dropout probability (CNN: after each hidden dense layer; GPT: after the embeddings and each
    /// residual branch).
    public var dropout = 0.0
    /// ResNet: basic blocks per stage (each stage after the first halves the resolution and doubles the width).
    public var blocks = [2, 2, 2]
    /// ResNet: the first stage's width.
    public var width = 16
    /// GPT: decoder blocks, attention heads, embedding width, context length and the MLP's width ratio.
    public var layers = 4, heads = 4, embed = 128, context = 128, mlpRatio = 4
    /// Standard or μP (`--parametrization`; kept in checkpoints as `parametrization`, not in the SPEC text).
    public var parametrization = Parametrization.standard

    /// The model kinds a SPEC may name.
    public static let kinds = ["mlp", "softmax", "linear", "cnn", "resnet", "gpt"]
    /// One example per kind, for error messages and `--help`.
    public static let examples =
        "mlp:hidden=128/64,act=relu,init=kaiming | softmax | linear | cnn:channels=32/64,kernel=3,hidden=128"
        + "[,batchnorm=true][,dropout=P] | resnet:blocks=2/2/2,width=16 | "
        + "gpt:layers=4,heads=4,embed=128,context=128[,mlp=4][,dropout=0]"

    /// - Parameters:
    ///   - kind: A model kind.
    ///   - hidden: Widths of the hidden layers.
    ///   - activation: The hidden layers' nonlinearity.
    ///   - weightInit: How MLP weights are initialised.
    public init(
        kind: String = "mlp", hidden: [Int] = [128], activation: Activation = .relu, weightInit: WeightInit = .kaiming
    ) {
        self.kind = kind
        self.hidden = hidden
        self.activation = activation
        self.weightInit = weightInit
    }

    /// The keys each kind accepts.
    static func validKeys(_ kind: String) -> [String] {
        switch kind {
        case "mlp": ["hidden", "act", "init"]
        case "cnn": ["channels", "kernel", "hidden", "batchnorm", "dropout"]
        case "resnet": ["blocks", "width"]
        case "gpt": ["layers", "heads", "embed", "context", "mlp", "dropout"]
        default: ["init"]
        }
    }

    /// Parses a model SPEC such as `mlp:hidden=128/64,act=relu,init=kaiming` or `cnn:channels=32/64,hidden=128`.
    ///
    /// - Parameter text: A SPEC of one of the ``kinds`` (see ``examples``).
    /// - Throws: `EtaError` `.usage` for an unknown kind or key, or a value out of its range, naming what is valid.
    public init(parsing text: String) throws {
        let (name, body) =
            text.firstIndex(of: ":").map { (String(text[..<$0]), String(text[text.index(after: $0)...])) } ?? (text, "")
        let kind = name.lowercased()
        guard Self.kinds.contains(kind) else {
            throw EtaError(.usage, "unknown model '\(name)' in '\(text)'; valid: \(Self.examples)")
        }
        self.init(kind: kind, hidden: kind == "mlp" || kind == "cnn" ? [128] : [])
        let validKeys = Self.validKeys(kind)
        for part in body.split(separator: ",") where !part.isEmpty {
            let pieces = part.split(separator: "=", maxSplits: 1).map(String.init)
            guard pieces.count == 2, validKeys.contains(pieces[0]) else {
                throw EtaError(
                    .usage,
                    "invalid part '\(part)' in model '\(text)'; valid keys for \(kind): "
                        + "\(validKeys.joined(separator: ", "))")
            }
            try set(pieces[0], pieces[1], in: text)
        }
        if kind == "gpt" && embed % heads != 0 {
            throw EtaError(
                .usage, "embed=\(embed) is not a multiple of heads=\(heads) in '\(text)': each head takes embed/heads")
        }
    }

    private mutating func set(_ key: String, _ value: String, in text: String) throws {
        // Caps keep products (width x width, channels x kernel²) far from overflow; memory is checked on allocation.
        func integer(_ range: ClosedRange<Int>) throws -> Int {
            guard let number = Int(value), range.contains(number) else {
                throw EtaError(
                    .usage,
                    "invalid \(key) '\(value)' in '\(text)': expected an integer in \(range.lowerBound)..."
                        + "\(range.upperBound)")
            }
            return number
        }
        func list(_ range: ClosedRange<Int>, example: String) throws -> [Int] {
            try value.split(separator: "/", omittingEmptySubsequences: false).map {
                guard let number = Int($0), range.contains(number) else {
                    throw EtaError(
                        .usage,
                        "invalid \(key == "hidden" ? "hidden width" : "\(key) entry") '\($0)' in '\(text)': expected "
                            + "integers in \(range.lowerBound)...\(range.upperBound) like \(key)=\(example)")
                }
                return number
            }
        }
        func probability() throws -> Double {
            guard let p = Double(value), p >= 0, p < 1 else {
                throw EtaError(.usage, "invalid \(key) '\(value)' in '\(text)': expected a probability in [0, 1)")
            }
            return p
        }
        switch key {
        case "hidden": hidden = try list(1...(1 << 24), example: "128/64")
        case "act": activation = try Activation(name: value)
        case "init":
            guard let parsed = WeightInit(rawValue: value) else {
                throw EtaError(
                    .usage,
                    "invalid init '\(value)' in '\(text)'; valid: "
                        + "\(WeightInit.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            weightInit = parsed
        case "channels": channels = try list(1...4096, example: "32/64")
        case "kernel":
            kernel = try integer(1...15)
            guard kernel % 2 == 1 else {
                throw EtaError(.usage, "invalid kernel \(kernel) in '\(text)': same padding needs an odd kernel size")
            }
        case "batchnorm":
            guard let flag = Bool(value) else {
                throw EtaError(.usage, "invalid batchnorm '\(value)' in '\(text)': expected true or false")
            }
            batchNorm = flag
        case "dropout": dropout = try probability()
        case "blocks": blocks = try list(1...64, example: "2/2/2")
        case "width": width = try integer(1...1024)
        case "layers": layers = try integer(1...256)
        case "heads": heads = try integer(1...256)
        case "embed": embed = try integer(1...16_384)
        case "context": context = try integer(1...8192)
        default: mlpRatio = try integer(1...16)
        }
    }

    /// The canonical SPEC.
    public var spec: String {
        let joined = { (values: [Int]) in values.map(String.init).joined(separator: "/") }
        switch kind {
        case "mlp":
            return "mlp:hidden=\(joined(hidden)),act=\(activation.name),init=\(weightInit.rawValue)"
        case "cnn":
            return "cnn:channels=\(joined(channels)),kernel=\(kernel),hidden=\(joined(hidden)),batchnorm=\(batchNorm)"
                + ",dropout=\(dropout)"
        case "resnet": return "resnet:blocks=\(joined(blocks)),width=\(width)"
        case "gpt":
            return "gpt:layers=\(layers),heads=\(heads),embed=\(embed),context=\(context),mlp=\(mlpRatio)"
                + ",dropout=\(dropout)"
        default: return "\(kind):init=\(weightInit.rawValue)"
        }
    }

    /// Whether the model reads token ids (a GPT) rather than features.
    public var readsTokens: Bool { kind == "gpt" }
    /// Whether the model needs image inputs (C×H×W).
    public var needsImages: Bool { kind == "cnn" || kind == "resnet" }
}
