import Foundation

/// How a model's initialisation, output layer and per-tensor learning rates depend on its width.
///
/// `standard` is PyTorch's (SP). `mup:base_width=W` is the Maximal Update Parametrization (Yang et al. 2022) as the
/// `mup` package applies it with `set_base_shapes(model, base)` against the same model at width W: the learning
/// rate tuned at one width then transfers to the others.
public enum Parametrization: Equatable, Sendable {
    /// PyTorch's parametrization.
    case standard
    /// μP relative to the same model whose width (``ModelSpec/width``) is `baseWidth`.
    case maximalUpdate(baseWidth: Int)

    /// Parses `standard` or `mup:base_width=W`.
    ///
    /// - Parameter spec: The text.
    /// - Throws: `EtaError` `.usage` naming what is valid.
    public init(spec: String) throws {
        let text = spec.trimmingCharacters(in: .whitespaces).lowercased()
        if text == "standard" || text == "sp" {
            self = .standard
            return
        }
        let prefix = "mup:base_width="
        guard text.hasPrefix(prefix), let width = Int(text.dropFirst(prefix.count)), width >= 1 else {
            throw EtaError(
                .usage,
                "invalid parametrization '\(spec)': expected standard or mup:base_width=W with W >= 1, e.g. "
                    + "mup:base_width=64")
        }
        self = .maximalUpdate(baseWidth: width)
    }

    /// `standard` or `mup:base_width=W`.
    public var spec: String {
        switch self {
        case .standard: "standard"
        case .maximalUpdate(let width): "mup:base_width=\(width)"
        }
    }
}

/// One tensor's dimensions against the base model's (the `mup` package's `InfShape`): a dimension that differs is
/// "infinite", with width multiplier dim / base dim.
public struct InfiniteShape: Equatable, Sendable {
    /// Each dimension's width multiplier (1 for a finite dimension).
    public let multipliers: [Double]
    /// Which dimensions grow with width.
    public let infinite: [Bool]

    /// The number of infinite dimensions (`ninf`).
    public var count: Int { infinite.filter { $0 }.count }
    /// The last infinite dimension's multiplier (`width_mult`: the fan-in for a matrix), 1 without one.
    public var widthMultiplier: Double { zip(infinite, multipliers).reversed().first { $0.0 }?.1 ?? 1 }
    /// fan-in multiplier / fan-out multiplier of a weight [out, in, ...] (`fanin_fanout_mult_ratio`).
    public var fanInFanOutRatio: Double { multipliers.count >= 2 ? multipliers[1] / multipliers[0] : 1 }
}

/// What μP changes in a model: the readout's input multiplier, the attention scale, and each tensor's infinite
/// dimensions (which decide its initialisation and learning-rate scaling).
public struct MaximalUpdate: Equatable, Sendable {
    /// The base width.
    public let baseWidth: Int
    /// The output layer (MuReadout): its input is multiplied by ``readoutMultiplier``.
    public let readout: String
    /// 1 / (the readout weight's fan-in multiplier).
    public let readoutMultiplier: Float
    /// Attention's score scale: 1/d_head times √(base d_head), so the base model keeps 1/√d_head.
    public let attentionScale: Float?
    /// Every tensor's infinite dimensions, by name.
    public let shapes: [String: InfiniteShape]
}

extension ModelSpec {
    /// The width μP scales: the first hidden width (MLP), the first convolution's channels (CNN), the first stage's
    /// width (ResNet) or the embedding width (GPT); nil for models without one (softmax, linear).
    public var scalingWidth: Int? {
        switch kind {
        case "mlp": hidden.first
        case "cnn": channels.first
        case "resnet": width
        case "gpt": embed
        default: nil
        }
    }

    /// The same model with every width scaled by `base / scalingWidth` (hidden widths, channels, the embedding).
    ///
    /// - Parameter base: The width the first one becomes.
    /// - Returns: The scaled model (standard parametrization).
    /// - Throws: `EtaError` `.usage` when the model has no width or a width does not scale to a whole number.
    public func scaled(toWidth base: Int) throws -> ModelSpec {
        guard let width = scalingWidth else {
            throw EtaError(.usage, "\(kind) has no width to scale; μP and --widths apply to mlp, cnn, resnet and gpt")
        }
        func scale(_ value: Int, _ what: String) throws -> Int {
            guard (value * base) % width == 0, value * base / width >= 1 else {
                throw EtaError(
                    .usage,
                    "width \(base) does not scale \(spec): its \(what) \(value) × \(base)/\(width) is not a whole "
                        + "number >= 1")
            }
            return value * base / width
        }
        var copy = self
        copy.parametrization = .standard
        switch kind {
        case "mlp": copy.hidden = try hidden.map { try scale($0, "hidden width") }
        case "cnn":
            copy.channels = try channels.map { try scale($0, "channels") }
            copy.hidden = try hidden.map { try scale($0, "hidden width") }
        case "resnet": copy.width = base
        default:
            copy.embed = base
            guard base % heads == 0 else {
                throw EtaError(.usage, "width \(base) is not a multiple of the \(heads) attention heads")
            }
        }
        return copy
    }

    /// Applies μP to `architecture` (this SPEC at its width) against the base model: infinite shapes, initialisation
    /// (tensors with at most one infinite dimension start as in the base model; those with two, the base's scale
    /// divided by √(fan-in multiplier): `mup.init` and MuReadout's rescaling), the readout multiplier and the attention
    /// scale.
    func maximalUpdate(
        _ architecture: ModelArchitecture, baseWidth: Int, inputShape: [Int], outputs: Int
    ) throws -> ModelArchitecture {
        let base = try scaled(toWidth: baseWidth).architecture(inputShape: inputShape, outputs: outputs)
        let baseTensors = Dictionary(uniqueKeysWithValues: base.nodes.flatMap(\.parameters).map { ($0.name, $0) })
        var shapes: [String: InfiniteShape] = [:]
        var nodes = architecture.nodes
        for n in nodes.indices {
            for p in nodes[n].parameters.indices {
                let tensor = nodes[n].parameters[p], baseTensor = baseTensors[tensor.name]!
                let multipliers = zip(tensor.shape, baseTensor.shape).map { Double($0) / Double($1) }
                let shape = InfiniteShape(multipliers: multipliers, infinite: multipliers.map { $0 != 1 })
                shapes[tensor.name] = shape
                guard shape.count > 0 else { continue }
                guard shape.count <= 2 else {
                    throw EtaError(
                        .usage, "μP handles at most two infinite dimensions; \(tensor.name) has \(shape.count)")
                }
                var initialization = baseTensor.initialization
                if shape.count == 2 {
                    let factor = 1 / shape.widthMultiplier.squareRoot()
                    switch initialization {
                    case .uniform(let bound): initialization = .uniform(bound: bound * Float(factor))
                    case .normal(let deviation): initialization = .normal(standardDeviation: deviation * factor)
                    case .constant: break
                    }
                }
                nodes[n].parameters[p].initialization = initialization
            }
        }
        guard let readout = nodes.last(where: { if case .dense = $0.operation { true } else { false } }),
            let readoutShape = shapes["\(readout.name).weight"]
        else { throw EtaError(.usage, "μP needs a dense output layer") }
        let attentionScale: Float? =
            kind == "gpt"
            ? Float((Double(baseWidth / heads)).squareRoot() / Double(embed / heads)) : nil
        var result = try ModelArchitecture(
            nodes: nodes, inputShape: architecture.inputShape, inputChannelsFirst: architecture.inputChannelsFirst,
            readsTokens: architecture.readsTokens, weightInit: architecture.weightInit)
        result.maximalUpdate = MaximalUpdate(
            baseWidth: baseWidth, readout: readout.name,
            readoutMultiplier: Float(1 / readoutShape.widthMultiplier), attentionScale: attentionScale,
            shapes: shapes)
        return result
    }
}
