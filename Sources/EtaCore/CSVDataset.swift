import Foundation

/// A parsed numeric CSV table.
struct CSVTable {
    var header: [String]?
    var rows: Int
    var columns: Int
    var values: [Float]
    /// The 1-based file line of each data row, for error messages.
    var lines: [Int]

    /// A field as a number: parsed directly (the common case), trimmed of spaces only when that fails.
    static func number(_ field: Substring) -> Float? {
        Float(field) ?? Float(field.trimmingCharacters(in: .whitespaces))
    }

    /// Parses numeric rows. `hasHeader` nil detects a header: a first line with a field that is not a number.
    static func parse(_ text: String, file: String, hasHeader: Bool?, separator: Character = ",") throws -> CSVTable {
        var header: [String]?
        var values: [Float] = []
        var lines: [Int] = []
        var columns = -1
        var lineNumber = 0
        for rawLine in text.split(separator: "\n", omittingEmptySubsequences: false) {
            lineNumber += 1
            let line = rawLine.hasSuffix("\r") ? rawLine.dropLast() : rawLine
            if line.allSatisfy({ $0 == " " || $0 == "\t" }) { continue }
            let fields = separator == " "
                ? line.split(separator: " ", omittingEmptySubsequences: true)
                : line.split(separator: separator, omittingEmptySubsequences: false)
            if lines.isEmpty && header == nil {
                let isHeader = hasHeader ?? fields.contains { Self.number($0) == nil }
                if isHeader { header = fields.map { $0.trimmingCharacters(in: .whitespaces) }; continue }
            }
            if columns < 0 { columns = fields.count }
            guard fields.count == columns else {
                throw EtaError(.dataError, "\(file):\(lineNumber): ragged row: \(fields.count) fields, expected \(columns) like the first data row")
            }
            for (index, field) in fields.enumerated() {
                guard let value = Self.number(field), value.isFinite else {
                    throw EtaError(.dataError, "\(file):\(lineNumber): column \(index + 1): '\(field.trimmingCharacters(in: .whitespaces))' is not a finite number")
                }
                values.append(value)
            }
            lines.append(lineNumber)
        }
        guard columns > 0, !lines.isEmpty else { throw EtaError(.dataError, "\(file): no data rows") }
        return CSVTable(header: header, rows: lines.count, columns: columns, values: values, lines: lines)
    }
}

/// User CSV files: `csv:PATH`, a header detected, the label in `--label-column` (a name or 1-based index;
/// default the last column).
enum CSVDataset {
    static func load(path: String, labelColumn: String?, task: String) throws -> Dataset {
        guard FileManager.default.fileExists(atPath: path) else {
            throw EtaError(.missingInput, "\(path): no such file")
        }
        guard let data = FileManager.default.contents(atPath: path) else {
            throw EtaError(.missingInput, "\(path): cannot be read")
        }
        guard let text = String(data: data, encoding: .utf8) else { throw EtaError(.dataError, "\(path): not UTF-8 text") }
        let table = try CSVTable.parse(text, file: path, hasHeader: nil)
        let labelIndex: Int
        if let labelColumn {
            if let index = Int(labelColumn) {
                guard (1...table.columns).contains(index) else {
                    throw EtaError(.usage, "--label-column \(index): \(path) has columns 1..\(table.columns)")
                }
                labelIndex = index - 1
            } else if let index = table.header?.firstIndex(of: labelColumn) {
                labelIndex = index
            } else {
                throw EtaError(.usage, "--label-column '\(labelColumn)': no such column in \(path); columns: \(table.header?.joined(separator: ", ") ?? "(no header) 1..\(table.columns)")")
            }
        } else {
            labelIndex = table.columns - 1
        }
        guard table.columns >= 2 else { throw EtaError(.dataError, "\(path): needs at least one feature column and a label column") }
        let name = URL(fileURLWithPath: path).deletingPathExtension().lastPathComponent
        return try make(table: table, name: name, labelIndex: labelIndex, task: task, file: path, classes: nil)
    }

    /// Splits a table into features and the label column; classification labels must be class indices.
    static func make(table: CSVTable, name: String, labelIndex: Int, task: String, file: String, classes: Int?) throws -> Dataset {
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
        default: throw EtaError(.usage, "--task '\(task)': valid values are auto, classification, regression")
        }
        if kind == "regression" {
            return Dataset(name: name, rows: table.rows, featureCount: table.columns - 1, features: features, targets: labels,
                           task: .regression(outputs: 1))
        }
        let classCount = classes ?? (Int(labels.max() ?? 0) + 1)
        for (row, label) in labels.enumerated() where !(label >= 0 && label == label.rounded() && Int(label) < classCount) {
            throw EtaError(.dataError, "\(file):\(table.lines[row]): label \(label) is out of range: expected a class index 0..\(classCount - 1)")
        }
        return Dataset(name: name, rows: table.rows, featureCount: table.columns - 1, features: features, targets: labels,
                       task: .classification(classes: classCount))
    }
}
