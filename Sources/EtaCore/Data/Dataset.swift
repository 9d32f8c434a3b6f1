import EtaDatasets
import Foundation

/// What a dataset's targets are.
public enum LearningTask: Equatable, Sendable {
    /// Class indices 0..<classes.
    case classification(classes: Int)
    /// Real-valued targets, `outputs` per row.
    case regression(outputs: Int)
}

/// A table of float32 features and targets in memory.
///
/// Sources: a built-in name (`digits`, `iris`, `breast_cancer`, `wine`, `diabetes`), `csv:PATH` or
/// `idx:DIR` (MNIST / Fashion-MNIST IDX files, gzipped or raw). A bad file throws `EtaError` with exit 65
/// (66 when missing), naming the file and the line or byte offset.
///
/// ```swift
/// let digits = try Dataset.load("digits")
/// digits.rows      // 1797
/// digits.task      // .classification(classes: 10)
/// ```
public struct Dataset: Sendable {
    /// The built-in name, or the file or folder's base name.
    public let name: String
    /// The number of samples.
    public let rows: Int
    /// Features per sample.
    public let featureCount: Int
    /// Row-major [rows × featureCount].
    public let features: [Float]
    /// Row-major [rows × targetWidth]: class indices for classification.
    public let targets: [Float]
    /// What the targets are.
    public let task: LearningTask
    /// Whether features should be standardised with training-split statistics (pixels, in digits and IDX
    /// images, are scaled to [0, 1] instead).
    public let standardize: Bool

    /// Target values per row: 1 for classification, `outputs` for regression.
    public var targetWidth: Int {
        if case .regression(let outputs) = task { return outputs }
        return 1
    }

    /// - Parameters:
    ///   - name: The dataset's name, for reports.
    ///   - rows: The number of samples.
    ///   - featureCount: Features per sample.
    ///   - features: Row-major [rows × featureCount].
    ///   - targets: Row-major [rows × targetWidth]: class indices for classification.
    ///   - task: What the targets are.
    ///   - standardize: Whether training should standardise the features (false for pixels already in [0, 1]).
    public init(
        name: String, rows: Int, featureCount: Int, features: [Float], targets: [Float], task: LearningTask,
        standardize: Bool = true
    ) {
        self.name = name
        self.rows = rows
        self.featureCount = featureCount
        self.features = features
        self.targets = targets
        self.task = task
        self.standardize = standardize
    }

    /// The built-in datasets and what they are.
    public static let builtIn: [(name: String, description: String)] = [
        ("digits", "UCI optdigits 8x8 handwritten digits, 1797 rows, 64 features, 10 classes (default)"),
        ("iris", "Fisher's iris, 150 rows, 4 features, 3 classes"),
        ("breast_cancer", "Wisconsin diagnostic breast cancer, 569 rows, 30 features, 2 classes"),
        ("wine", "UCI wine recognition, 178 rows, 13 features, 3 classes"),
        ("diabetes", "diabetes progression, 442 rows, 10 features, regression"),
    ]

    /// The attribution line the README and `eta train --help` carry.
    public static let attribution = """
        Built-in datasets: UCI Machine Learning Repository (CC BY 4.0) via scikit-learn (BSD-3-Clause): optdigits \
        (Alpaydin, Kaynak), iris (Fisher), breast cancer Wisconsin (Street, Wolberg, Mangasarian), wine (Forina et \
        al.), diabetes (Efron, Hastie, Johnstone, Tibshirani). See Data/NOTICE.md.
        """

    /// Loads a dataset from a source string; `labelColumn` and `task` apply to CSV files.
    ///
    /// - Parameters:
    ///   - source: A built-in name, `csv:PATH` or `idx:DIR`.
    ///   - labelColumn: The CSV's label column, a header name or a 1-based index; nil: the last column.
    ///   - task: `auto`, `classification` or `regression` (CSV only; `auto` decides from the labels).
    /// - Returns: The dataset in memory.
    /// - Throws: `EtaError` `.usage` for an unknown source, task or label column; `.missingInput` for a missing file
    ///   or folder; `.dataError` for a malformed file, naming the file and the line or byte offset.
    public static func load(_ source: String, labelColumn: String? = nil, task: String = "auto") throws -> Dataset {
        if source.hasPrefix("csv:") {
            return try CSVDataset.load(path: String(source.dropFirst(4)), labelColumn: labelColumn, task: task)
        }
        if source.hasPrefix("idx:") {
            return try IDXDataset.load(directory: String(source.dropFirst(4)))
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
                targets: digits.targets, task: digits.task, standardize: false)
        case "iris": return try embedded("iris.csv", name: "iris", header: true, classes: 3)
        case "breast_cancer": return try embedded("breast_cancer.csv", name: "breast_cancer", header: true, classes: 2)
        case "wine": return try embedded("wine_data.csv", name: "wine", header: true, classes: 3)
        case "diabetes": return try diabetes()
        default:
            throw EtaError(
                .usage,
                "unknown dataset '\(source)'; valid: \(builtIn.map(\.name).joined(separator: ", ")), csv:PATH, idx:DIR")
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
