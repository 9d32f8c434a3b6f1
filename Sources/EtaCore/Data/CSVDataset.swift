import Foundation

/// User CSV files: `csv:PATH`, a header detected, the label in the label column (a header name or a 1-based
/// index; default the last column).
enum CSVDataset {
    static func load(path: String, labelColumn: String?, task: String) throws -> Dataset {
        guard FileManager.default.fileExists(atPath: path) else {
            throw EtaError(.missingInput, "\(path): no such file")
        }
        // Mapped, not copied: the parser reads the bytes once.
        guard let data = try? Data(contentsOf: URL(fileURLWithPath: path), options: .alwaysMapped) else {
            throw EtaError(.missingInput, "\(path): cannot be read")
        }
        let table = try data.withUnsafeBytes { try CSVTable.parse(bytes: $0, file: path, hasHeader: nil) }
        let labelIndex: Int
        if let labelColumn {
            if let index = Int(labelColumn) {
                guard (1...table.columns).contains(index) else {
                    throw EtaError(.usage, "label column \(index): \(path) has columns 1..\(table.columns)")
                }
                labelIndex = index - 1
            } else if let index = table.header?.firstIndex(of: labelColumn) {
                labelIndex = index
            } else {
                throw EtaError(
                    .usage,
                    "label column '\(labelColumn)': no such column in \(path); columns: "
                        + "\(table.header?.joined(separator: ", ") ?? "(no header) 1..\(table.columns)")"
                )
            }
        } else {
            labelIndex = table.columns - 1
        }
        guard table.columns >= 2 else {
            throw EtaError(.dataError, "\(path): needs at least one feature column and a label column")
        }
        let name = URL(fileURLWithPath: path).deletingPathExtension().lastPathComponent
        return try make(table: table, name: name, labelIndex: labelIndex, task: task, file: path, classes: nil)
    }

    /// Splits a table into features and the label column; classification labels must be class indices.
    static func make(
        table: CSVTable, name: String, labelIndex: Int, task: String, file: String, classes: Int?
    ) throws -> Dataset {
        var features: [Float] = []
        features.reserveCapacity(table.rows * (table.columns - 1))
        var labels: [Float] = []
        for row in 0..<table.rows {
            for column in 0..<table.columns {
                let value = table.values[row * table.columns + column]
                if column == labelIndex { labels.append(value) } else { features.append(value) }
            }
        }
        let integral = labels.allSatisfy { $0 >= 0 && $0 == $0.rounded() }
        let distinct = Set(labels).count
        let kind: String
        switch task {
        case "classification", "regression": kind = task
        // Class indices: non-negative integers, at most 100 distinct values, and some value repeats.
        case "auto": kind = integral && distinct <= 100 && distinct < table.rows ? "classification" : "regression"
        default: throw EtaError(.usage, "task '\(task)': valid values are auto, classification, regression")
        }
        if kind == "regression" {
            return Dataset(
                name: name, rows: table.rows, featureCount: table.columns - 1, features: features, targets: labels,
                task: .regression(outputs: 1))
        }
        let limit = classes ?? maximumClassCount
        for (row, label) in labels.enumerated() where !(label >= 0 && label == label.rounded() && label < Float(limit))
        {
            let valid =
                classes == nil
                ? "class labels are integers 0..<\(limit) (at most \(limit) classes; use the regression task for "
                    + "real-valued targets)"
                : "expected a class index 0..\(limit - 1)"
            throw EtaError(.dataError, "\(file):\(table.lines[row]): label \(display(label)) is out of range: \(valid)")
        }
        // Every label is now an integer below `limit`, so the conversion cannot trap.
        let classCount = classes ?? (Int(labels.max() ?? 0) + 1)
        return Dataset(
            name: name, rows: table.rows, featureCount: table.columns - 1, features: features, targets: labels,
            task: .classification(classes: classCount))
    }

    /// The most classes a CSV may define (largest label + 1). Labels index the output layer, so a label of
    /// 500,000 would mean a 500,001-wide layer (1.8 GB at 1,000 hidden units); a typo or an ID column is far
    /// likelier than that many classes, and 100,000 is well above any labelled benchmark (ImageNet-21k: 21,841).
    static let maximumClassCount = 100_000

    /// A label as written: integers without a fraction.
    private static func display(_ label: Float) -> String {
        label == label.rounded() && abs(label) < 1e15 ? String(Int64(label)) : "\(label)"
    }
}
