import Foundation

/// A parsed numeric CSV table.
///
/// The dialect is RFC 4180 as Excel, Python's `csv` module, pandas and numpy write it: records end in LF, CRLF
/// or CR; a field may be quoted (`"1.5"`, `"a, b"`, `"say ""hi"""`, with line breaks inside); spaces around a
/// field are ignored; blank lines are skipped; a UTF-8 byte-order mark is skipped. Every data cell must be a
/// finite number. A NUL byte, a stray quote or UTF-16 text is a data error (exit 65) naming the line and column.
struct CSVTable {
    var header: [String]?
    var rows: Int
    var columns: Int
    var values: [Float]
    /// The 1-based file line where each data row starts, for error messages.
    var lines: [Int]

    /// Parses numeric rows from text; see `parse(bytes:file:hasHeader:separator:)`.
    static func parse(_ text: String, file: String, hasHeader: Bool?, separator: Character = ",") throws -> CSVTable {
        var text = text
        return try text.withUTF8 { utf8 in
            try parse(bytes: UnsafeRawBufferPointer(utf8), file: file, hasHeader: hasHeader, separator: separator)
        }
    }

    /// Parses numeric rows. `hasHeader` nil detects a header: a first record with a non-empty field that is not
    /// a number. A space `separator` splits on runs of spaces and tabs (whitespace-aligned tables).
    static func parse(
        bytes: UnsafeRawBufferPointer, file: String, hasHeader: Bool?, separator: Character = ","
    ) throws -> CSVTable {
        guard let separatorByte = separator.asciiValue else { preconditionFailure("CSV separators are ASCII") }
        if bytes.starts(with: [0xFF, 0xFE]) || bytes.starts(with: [0xFE, 0xFF]) {
            throw EtaError(.dataError, "\(file): UTF-16 text (byte-order mark at byte 0): save the CSV as UTF-8")
        }
        let bomLength = bytes.starts(with: [0xEF, 0xBB, 0xBF]) ? 3 : 0
        guard bytes.count > bomLength, let base = bytes.baseAddress?.assumingMemoryBound(to: UInt8.self) else {
            throw EtaError(.dataError, "\(file): no data rows (the file is empty)")
        }
        var reader = CSVRecordReader(
            start: base + bomLength, end: base + bytes.count, separator: separatorByte, file: file)
        var table = CSVTable(header: nil, rows: 0, columns: 0, values: [], lines: [])
        table.values.reserveCapacity(bytes.count / 4)

        // The first record decides whether there is a header, so its fields are kept as bytes.
        var first: [[UInt8]] = []
        guard let firstLine = try reader.readRecord(onField: { field, _ in first.append(Array(field)) }) else {
            throw EtaError(.dataError, "\(file): no data rows (the file has only blank lines)")
        }
        let isHeader =
            hasHeader
            ?? first.contains { field in
                !field.isEmpty && field.withUnsafeBufferPointer { number($0) } == nil
            }
        // Every row is as wide as the first, a detected header included: one wider than its rows would name columns
        // that do not exist (a label column among them). A header the caller declares (scikit-learn's
        // `rows,features,names...` line of the built-in files) is metadata of another width.
        if !isHeader || hasHeader == nil { table.columns = first.count }
        if isHeader {
            table.header = first.map { String(decoding: $0, as: UTF8.self) }
        } else {
            for (column, field) in first.enumerated() {
                try field.withUnsafeBufferPointer {
                    table.values.append(try cell($0, file: file, line: firstLine, column: column))
                }
            }
            table.lines.append(firstLine)
        }

        while true {
            var count = 0
            let columns = table.columns
            let line = try reader.readRecord { field, fieldLine in
                if columns > 0 && count >= columns { throw Self.ragged(file, fieldLine, count + 1, columns) }
                table.values.append(try cell(field, file: file, line: fieldLine, column: count))
                count += 1
            }
            guard let line else { break }
            if table.columns == 0 { table.columns = count }
            guard count == table.columns else { throw Self.ragged(file, line, count, table.columns) }
            table.lines.append(line)
        }
        guard table.columns > 0, !table.lines.isEmpty else { throw EtaError(.dataError, "\(file): no data rows") }
        table.rows = table.lines.count
        return table
    }

    private static func ragged(_ file: String, _ line: Int, _ fields: Int, _ columns: Int) -> EtaError {
        EtaError(
            .dataError,
            "\(file):\(line): ragged row: \(fields)\(fields > columns ? " or more" : "") fields, expected \(columns) "
                + "like the first row"
        )
    }

    /// A field's number, or nil.
    static func number(_ field: UnsafeBufferPointer<UInt8>) -> Float? {
        guard let start = field.baseAddress else { return nil }
        return CSVNumber.parse(start, start + field.count)
    }

    /// A data cell: a finite number, else an error naming the line and 1-based column.
    @inline(__always)
    static func cell(_ field: UnsafeBufferPointer<UInt8>, file: String, line: Int, column: Int) throws -> Float {
        if let value = number(field), value.isFinite { return value }
        if field.isEmpty {
            throw EtaError(
                .dataError,
                "\(file):\(line): column \(column + 1) is empty: every cell must be a finite number (missing values "
                    + "are not supported)"
            )
        }
        let shown = String(decoding: field.prefix(40), as: UTF8.self) + (field.count > 40 ? "..." : "")
        throw EtaError(.dataError, "\(file):\(line): column \(column + 1): '\(shown)' is not a finite number")
    }
}
