import EtaDatasets
import Foundation

/// What a dataset's targets are.
public enum LearningTask: Equatable, Sendable {
    /// Class indices 0..<classes.
    case classification(classes: Int)
    /// Real-valued targets, `outputs` per row.
    case regression(outputs: Int)
}

/// A table of float32 features and targets in memory, with the shape of one sample and, for datasets that ship
/// one, an official test split.
///
/// Sources: a built-in name (`digits`, `iris`, `breast_cancer`, `wine`, `diabetes`, `shakespeare`), `csv:PATH`,
/// `idx:DIR` (MNIST / Fashion-MNIST IDX files, gzipped or raw), `cifar:DIR` (the CIFAR-10 binary batches) or
/// `text:PATH` (a UTF-8 text, character level, for a GPT: ``text``). A bad file throws `EtaError` with exit 65 (66
/// when missing), naming the file and the line or byte offset.
///
/// The official test rows (MNIST's `t10k-*` files, CIFAR-10's `test_batch.bin`) are the last ``testRowCount`` rows:
/// ``DataSplit`` never trains or validates on them, and a ``Trainer`` reports their loss and accuracy at the end.
///
/// ```swift
/// let digits = try Dataset.load("digits")
/// digits.rows          // 1797
/// digits.task          // .classification(classes: 10)
/// digits.sampleShape   // [64]: a table row
/// let mnist = try Dataset.load("idx:data/mnist")
/// mnist.sampleShape    // [1, 28, 28]
/// mnist.testRowCount   // 10000 (rows 60000..<70000)
/// let text = try Dataset.load("shakespeare", context: 128)
/// text.sampleShape     // [128]: token ids, the next 128 ids as targets
/// ```
public struct Dataset: Sendable {
    /// The built-in name, or the file or folder's base name.
    public let name: String
    /// The number of samples, the official test rows included.
    public let rows: Int
    /// Features per sample (the product of ``sampleShape``).
    public let featureCount: Int
    /// The shape of one sample, outermost first: `[channels, height, width]` for images (`[1, 28, 28]` for MNIST,
    /// `[3, 32, 32]` for CIFAR-10), `[featureCount]` for a table row. Each row's features are the sample in this
    /// shape, row-major (NCHW for a batch).
    public let sampleShape: [Int]
    /// Row-major [rows × featureCount].
    public let features: [Float]
    /// Row-major [rows × targetWidth]: class indices for classification.
    public let targets: [Float]
    /// What the targets are.
    public let task: LearningTask
    /// How training scales the features unless told otherwise (`--normalize`).
    public let normalization: Normalization
    /// The official test rows, the last `testRowCount` of ``rows``: never trained or validated on; 0 when the
    /// dataset has no official test split.
    public let testRowCount: Int
    /// The text of a text dataset (`text:PATH`, `shakespeare`); nil for tables and images. A text dataset has no
    /// rows of its own: ``features`` and ``targets`` are empty, ``rows`` is the number of training windows per epoch
    /// (⌊training characters / context⌋), each sample is `context` token ids (``sampleShape`` `[context]`) whose
    /// targets are the next `context` ids, and ``DataSplit`` cuts seeded windows from the text.
    public let text: TextCorpus?

    /// Target values per row: 1 for classification, `outputs` for regression, the context (the next id at every
    /// position) for text.
    public var targetWidth: Int {
        if text != nil { return featureCount }
        if case .regression(let outputs) = task { return outputs }
        return 1
    }

    /// Rows available for training and validation: every row before the official test rows.
    public var trainingRowCount: Int { rows - testRowCount }

    /// Whether the features are standardised with training-split statistics by default.
    public var standardize: Bool { normalization == .standard }

    /// - Parameters:
    ///   - name: The dataset's name, for reports.
    ///   - rows: The number of samples, test rows included.
    ///   - featureCount: Features per sample.
    ///   - features: Row-major [rows × featureCount].
    ///   - targets: Row-major [rows × targetWidth]: class indices for classification.
    ///   - task: What the targets are.
    ///   - normalization: How training scales the features by default.
    ///   - sampleShape: The shape of one sample, whose product is `featureCount`; nil: `[featureCount]`.
    ///   - testRowCount: How many of the last rows are an official test split, in 0...rows.
    public init(
        name: String, rows: Int, featureCount: Int, features: [Float], targets: [Float], task: LearningTask,
        normalization: Normalization = .standard, sampleShape: [Int]? = nil, testRowCount: Int = 0
    ) {
        let shape = sampleShape ?? [featureCount]
        precondition(shape.reduce(1, *) == featureCount, "sample shape \(shape) != \(featureCount) features")
        precondition((0...rows).contains(testRowCount), "test rows \(testRowCount) outside 0...\(rows)")
        self.name = name
        self.rows = rows
        self.featureCount = featureCount
        self.sampleShape = shape
        self.features = features
        self.targets = targets
        self.task = task
        self.normalization = normalization
        self.testRowCount = testRowCount
        self.text = nil
    }

    /// A text dataset: `corpus` read in windows of `context` characters (inputs) and the `context` characters after
    /// each input's first (targets), for a GPT with that context; its classes are the vocabulary.
    ///
    /// - Parameters:
    ///   - corpus: The text.
    ///   - context: Characters per sample, the GPT's context (at least 1).
    /// - Throws: `EtaError` `.usage` for a context below 1; `.dataError` when either part of the text has fewer than
    ///   `context + 2` characters (naming both counts).
    public init(text corpus: TextCorpus, context: Int) throws {
        guard context >= 1 else {
            throw EtaError(.usage, "a text dataset needs a context of at least 1 (got \(context))")
        }
        let (training, validation) = (corpus.trainingIDs.count, corpus.validationIDs.count)
        guard training >= context + 2, validation >= context + 2 else {
            throw EtaError(
                .dataError,
                "\(corpus.name): \(corpus.characterCount) characters are too few for windows of context + 1 = "
                    + "\(context + 1): the training part (the first 90%) has \(training) and the validation part (the "
                    + "last 10%) \(validation); each needs at least context + 2 = \(context + 2) (give a longer text or "
                    + "a smaller context)")
        }
        name = corpus.name
        rows = training / context
        featureCount = context
        sampleShape = [context]
        features = []
        targets = []
        task = .classification(classes: corpus.vocabulary.count)
        normalization = .raw
        testRowCount = 0
        text = corpus
    }

    /// A table whose features training standardises (`standardize` true) or takes as they are (false), as
    /// ``init(name:rows:featureCount:features:targets:task:normalization:sampleShape:testRowCount:)`` with
    /// `.standard` or `.raw`.
    ///
    /// - Parameters:
    ///   - name: The dataset's name, for reports.
    ///   - rows: The number of samples.
    ///   - featureCount: Features per sample.
    ///   - features: Row-major [rows × featureCount].
    ///   - targets: Row-major [rows × targetWidth]: class indices for classification.
    ///   - task: What the targets are.
    ///   - standardize: Whether training should standardise the features (false for values already in [0, 1]).
    public init(
        name: String, rows: Int, featureCount: Int, features: [Float], targets: [Float], task: LearningTask,
        standardize: Bool
    ) {
        self.init(
            name: name, rows: rows, featureCount: featureCount, features: features, targets: targets, task: task,
            normalization: standardize ? .standard : .raw)
    }

    /// The built-in datasets and what they are.
    public static let builtIn: [(name: String, description: String)] = [
        ("digits", "UCI optdigits 8x8 handwritten digits, 1797 rows, 64 features, 10 classes (default)"),
        ("iris", "Fisher's iris, 150 rows, 4 features, 3 classes"),
        ("breast_cancer", "Wisconsin diagnostic breast cancer, 569 rows, 30 features, 2 classes"),
        ("wine", "UCI wine recognition, 178 rows, 13 features, 3 classes"),
        ("diabetes", "diabetes progression, 442 rows, 10 features, regression"),
        ("shakespeare", "eight of Shakespeare's plays, 1,036,349 characters, character-level text for gpt models"),
    ]

    /// The attribution line the README and `eta train --help` carry.
    public static let attribution = """
        Built-in datasets: UCI Machine Learning Repository (CC BY 4.0) via scikit-learn (BSD-3-Clause): optdigits \
        (Alpaydin, Kaynak), iris (Fisher), breast cancer Wisconsin (Street, Wolberg, Mangasarian), wine (Forina et \
        al.), diabetes (Efron, Hastie, Johnstone, Tibshirani). shakespeare: public-domain plays (Globe edition, \
        via Project Gutenberg) from the Open Knowledge Foundation's shakespeare 0.6 package. See Data/NOTICE.md.
        """

    /// Whether `source` names a text dataset (`text:PATH` or `shakespeare`).
    ///
    /// - Parameter source: A dataset source.
    /// - Returns: True for text sources.
    public static func isText(_ source: String) -> Bool { source.hasPrefix("text:") || source == "shakespeare" }

    /// Loads a dataset from a source string; `labelColumn` and `task` apply to CSV files, `context` to text.
    ///
    /// - Parameters:
    ///   - source: A built-in name, `csv:PATH`, `idx:DIR`, `cifar:DIR` or `text:PATH`.
    ///   - labelColumn: The CSV's label column, a header name or a 1-based index; nil: the last column.
    ///   - task: `auto`, `classification` or `regression` (CSV only; `auto` decides from the labels).
    ///   - inputShape: Read each row as a sample of this shape (``reshaped(to:)``); nil: the source's own shape.
    ///   - context: Text datasets: characters per sample, the GPT's context (``ModelSpec/context``); nil for a model
    ///     that is not a GPT, with which a text source is a usage error.
    /// - Returns: The dataset in memory.
    /// - Throws: `EtaError` `.usage` for an unknown source, task or label column, an input shape that does not fit,
    ///   or a text source without a context; `.missingInput` for a missing file or folder; `.dataError` for a
    ///   malformed file, naming the file and the line or byte offset.
    public static func load(
        _ source: String, labelColumn: String? = nil, task: String = "auto", inputShape: [Int]? = nil,
        context: Int? = nil
    ) throws -> Dataset {
        if isText(source) {
            guard let context else {
                throw EtaError(.usage, textNeedsGPT(source))
            }
            if let labelColumn {
                throw EtaError(.usage, "a label column ('\(labelColumn)') applies to csv: datasets only, not \(source)")
            }
            let corpus =
                source == "shakespeare"
                ? try TextCorpus.shakespeare() : try TextCorpus.load(path: String(source.dropFirst(5)))
            let dataset = try Dataset(text: corpus, context: context)
            return try inputShape.map { try dataset.reshaped(to: $0) } ?? dataset
        }
        let dataset = try loadSource(source, labelColumn: labelColumn, task: task)
        return try inputShape.map { try dataset.reshaped(to: $0) } ?? dataset
    }

    /// The usage message for a text dataset with a model that is not a GPT.
    static func textNeedsGPT(_ source: String) -> String {
        "text datasets need a gpt model (--dataset \(source)): the model reads token ids and its context sets the "
            + "window length, e.g. --model gpt:layers=4,heads=4,embed=128,context=128"
    }

    private static func loadSource(_ source: String, labelColumn: String?, task: String) throws -> Dataset {
        if source.hasPrefix("csv:") {
            return try CSVDataset.load(path: String(source.dropFirst(4)), labelColumn: labelColumn, task: task)
        }
        if source.hasPrefix("idx:") {
            return try IDXDataset.load(directory: String(source.dropFirst(4)))
        }
        if source.hasPrefix("cifar:") {
            return try CIFARDataset.load(directory: String(source.dropFirst(6)))
        }
        if let labelColumn {
            throw EtaError(
                .usage, "a label column ('\(labelColumn)') applies to csv: datasets only; '\(source)' is not one")
        }
        switch source {
        case "digits":
            // Pixels are counts 0...16: scaled to [0, 1] rather than standardised, so rare pixels stay bounded.
            let digits = try embedded("digits.csv", name: "digits", header: false, classes: 10)
            return Dataset(
                name: "digits", rows: digits.rows, featureCount: digits.featureCount,
                features: digits.features.map { $0 / 16 },
                targets: digits.targets, task: digits.task, normalization: .raw)
        case "iris": return try embedded("iris.csv", name: "iris", header: true, classes: 3)
        case "breast_cancer": return try embedded("breast_cancer.csv", name: "breast_cancer", header: true, classes: 2)
        case "wine": return try embedded("wine_data.csv", name: "wine", header: true, classes: 3)
        case "diabetes": return try diabetes()
        default:
            throw EtaError(
                .usage,
                "unknown dataset '\(source)'; valid: \(builtIn.map(\.name).joined(separator: ", ")), csv:PATH, idx:DIR, "
                    + "cifar:DIR, text:PATH")
        }
    }

    /// A scikit-learn CSV: features then the label; `header` skips its `rows,features,names...` line.
    private static func embedded(_ file: String, name: String, header: Bool, classes: Int) throws -> Dataset {
        let table = try CSVTable.parse(Datasets.embedded[file]!, file: file, hasHeader: header ? true : false)
        return try CSVDataset.make(
            table: table, name: name, labelIndex: table.columns - 1, task: "classification", file: file,
            classes: classes)
    }

    private static func diabetes() throws -> Dataset {
        let features = try CSVTable.parse(
            Datasets.embedded["diabetes_data_raw.csv"]!, file: "diabetes_data_raw.csv",
            hasHeader: false, separator: " ")
        let targets = try CSVTable.parse(
            Datasets.embedded["diabetes_target.csv"]!, file: "diabetes_target.csv", hasHeader: false)
        return Dataset(
            name: "diabetes", rows: features.rows, featureCount: features.columns, features: features.values,
            targets: targets.values, task: .regression(outputs: 1))
    }
}
