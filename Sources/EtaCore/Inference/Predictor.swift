import Foundation

/// A trained model as a function of raw input rows: the checkpoint's model (or an average it holds), its training
/// split's normalisation (standardisation statistics carried in the checkpoint, or pixels / 255), and the output
/// layer's link (softmax for cross-entropy, the sigmoid for BCE, the identity for regression).
///
/// ```swift
/// let predictor = try Predictor(checkpoint: try Checkpoint.read(from: url), backend: CPUBackend())
/// let probabilities = try predictor.predict(try predictor.rows(csv: "new.csv"))
/// ```
public final class Predictor {
    /// The model, its weights loaded.
    public let network: Network
    /// Features per input row.
    public let features: Int
    /// The loss the model was trained with (which decides the outputs' link).
    public let loss: LossKind
    /// The normalisation applied to raw rows.
    public let normalization: Normalization
    private let mean: [Float], deviation: [Float]
    private let labelColumn: String?
    private static let batch = 256

    /// - Parameters:
    ///   - checkpoint: A checkpoint of a feature model (MLP, CNN or ResNet; a GPT samples text with `eta sample`).
    ///   - weights: The model's weights or an average the checkpoint holds.
    ///   - backend: The backend to run on.
    /// - Throws: `EtaError` `.usage` for a text model, `.dataError` for a damaged or incomplete checkpoint.
    public init(checkpoint: Checkpoint, weights: Checkpoint.Weights = .model, backend: Backend) throws {
        let spec = try checkpoint.modelSpec()
        guard !spec.readsTokens else {
            throw EtaError(.usage, "the checkpoint holds a gpt model: generate text with eta sample")
        }
        let metadata = checkpoint.metadata
        loss = LossKind(rawValue: metadata["loss"] ?? "") ?? .crossEntropy
        let architecture = try checkpoint.inferenceArchitecture()
        features = architecture.inputShape.count
        network = try Network(
            architecture: architecture, loss: loss, optimizer: try OptimizerConfiguration(spec: "sgd"),
            maxBatch: Self.batch, backend: backend)
        try checkpoint.loadModel(into: network, weights: weights)
        normalization = metadata["normalize"].flatMap(Normalization.init(rawValue:)) ?? .raw
        func array(_ key: String) throws -> [Float] {
            guard let text = metadata[key] else { return [] }
            return try JSONDecoder().decode([Float].self, from: Data(text.utf8))
        }
        (mean, deviation) = (try array("normalize_mean"), try array("normalize_std"))
        guard normalization != .standard || (mean.count == features && deviation.count == features) else {
            throw EtaError(
                .dataError,
                "the checkpoint standardises its inputs but carries no statistics for its \(features) features "
                    + "(it was written before checkpoints held them): retrain to predict from raw rows")
        }
        labelColumn = metadata["label_column"]
    }

    /// The feature rows of a CSV file, row-major: with the model's feature count of columns, or one more (the label
    /// column, by the checkpoint's `--label-column` or else the last, is dropped).
    ///
    /// - Parameter path: The CSV file.
    /// - Returns: rows × ``features`` raw values.
    /// - Throws: `EtaError` `.missingInput` for a missing file, `.dataError` for a malformed CSV or a column count
    ///   that fits neither way (naming both).
    public func rows(csv path: String) throws -> [Float] {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw EtaError(.missingInput, "\(path): no such file")
        }
        let table = try data.withUnsafeBytes { try CSVTable.parse(bytes: $0, file: path, hasHeader: nil) }
        if table.columns == features { return table.values }
        guard table.columns == features + 1 else {
            throw EtaError(
                .dataError,
                "\(path) has \(table.columns) columns; the model takes \(features) features (or \(features + 1) "
                    + "with the label column)")
        }
        var drop = table.columns - 1
        if let labelColumn {
            drop = Int(labelColumn).map { $0 - 1 } ?? table.header?.firstIndex(of: labelColumn) ?? drop
        }
        var values: [Float] = []
        values.reserveCapacity(table.rows * features)
        for row in 0..<table.rows {
            for column in 0..<table.columns where column != drop {
                values.append(table.values[row * table.columns + column])
            }
        }
        return values
    }

    /// The images of an IDX file (MNIST's `*-images-idx3-ubyte[.gz]`), row-major pixel bytes as floats.
    ///
    /// - Parameter path: The IDX images file.
    /// - Returns: images × ``features`` raw values.
    /// - Throws: `EtaError` for a missing, malformed or differently sized file (naming both sizes).
    public func rows(idx path: String) throws -> [Float] {
        let file = try IDXDataset.read(path, dimensions: 3, magic: 0x0803)
        guard file.shape[1] * file.shape[2] == features else {
            throw EtaError(
                .dataError,
                "\(path) holds \(file.shape[1])x\(file.shape[2]) images; the model takes \(features) features")
        }
        return file.bytes.map { Float($0) }
    }

    /// The model's outputs for raw rows: class probabilities (softmax), the probability of class 1 (BCE) or the
    /// regression outputs, one array per row.
    ///
    /// - Parameter raw: rows × ``features`` values as the data files hold them.
    /// - Returns: One output array per row.
    /// - Throws: `EtaError` `.dataError` for a value count that is not a whole number of rows; the backend's error.
    public func predict(_ raw: [Float]) throws -> [[Float]] { try logits(raw).map { Self.link($0, loss) } }

    /// The model's raw outputs (logits, before the link) for raw rows, one array per row.
    ///
    /// - Parameter raw: rows × ``features`` values as the data files hold them.
    /// - Returns: One output array per row.
    /// - Throws: `EtaError` `.dataError` for a value count that is not a whole number of rows; the backend's error.
    public func logits(_ raw: [Float]) throws -> [[Float]] {
        guard raw.count % max(features, 1) == 0 else {
            throw EtaError(.dataError, "\(raw.count) values are not whole rows of \(features) features")
        }
        let rows = raw.count / features
        let input = try network.backend.makeBuffer(count: Self.batch * features)
        var result: [[Float]] = []
        result.reserveCapacity(rows)
        var first = 0
        while first < rows {
            let count = min(Self.batch, rows - first)
            var chunk = Array(raw[(first * features)..<((first + count) * features)])
            for i in chunk.indices {
                let j = i % features
                switch normalization {
                case .standard: chunk[i] = (chunk[i] - mean[j]) / deviation[j]
                case .pixels: chunk[i] /= 255
                case .raw: break
                }
            }
            try network.backend.write(chunk, to: input)
            try network.forward(input: input, inputOffset: 0, rows: count)
            let outputs = try network.readOutputs(rows: count)
            let width = outputs.count / max(count, 1)
            for r in 0..<count { result.append(Array(outputs[(r * width)..<((r + 1) * width)])) }
            first += count
        }
        return result
    }

    static func link(_ logits: [Float], _ loss: LossKind) -> [Float] {
        switch loss {
        case .crossEntropy:
            let top = logits.max() ?? 0
            let exps = logits.map { Foundation.exp(Double($0 - top)) }
            let sum = exps.reduce(0, +)
            return exps.map { Float($0 / sum) }
        case .bce: return logits.map { Float(1 / (1 + Foundation.exp(-Double($0)))) }
        case .mse: return logits
        }
    }
}
