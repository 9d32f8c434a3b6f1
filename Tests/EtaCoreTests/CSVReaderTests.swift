import Foundation
import Testing

@testable import EtaCore

/// Writes `bytes` to a fresh scratch file and returns its path.
func scratchFile(_ bytes: [UInt8], name: String = "data.csv") throws -> String {
    let path = scratchFolder().appendingPathComponent(name).path
    try Data(bytes).write(to: URL(fileURLWithPath: path))
    return path
}

func scratchFile(_ text: String, name: String = "data.csv") throws -> String {
    try scratchFile(Array(text.utf8), name: name)
}

@Suite("CSV reader (RFC 4180)")
struct CSVReaderTests {
    @Test("CRLF, CR and LF line endings read the same")
    func lineEndings() throws {
        for ending in ["\n", "\r\n", "\r"] {
            let text = ["a,b,y", "1,2,0", "3,4,1", "5,6,1", ""].joined(separator: ending)
            let dataset = try Dataset.load("csv:" + (try scratchFile(text)))
            #expect(dataset.rows == 3 && dataset.featureCount == 2, "ending \(ending.debugDescription)")
            #expect(dataset.features == [1, 2, 3, 4, 5, 6])
            #expect(dataset.targets == [0, 1, 1])
        }
    }

    @Test("quoted fields: separators, doubled quotes and line breaks inside; quoted numbers")
    func quotedFields() throws {
        let text = "\"x, first\",\"say \"\"hi\"\"\",\"two\r\nlines\",label\r\n\"1.5\", 2 ,\"3\",0\r\n4,5,6,1\r\n"
        let table = try CSVTable.parse(text, file: "q.csv", hasHeader: nil)
        #expect(table.header == ["x, first", "say \"hi\"", "two\nlines", "label"])
        #expect(table.values == [1.5, 2, 3, 0, 4, 5, 6, 1])
        // The header spans lines 1-2, so the data rows start on lines 3 and 4.
        #expect(table.lines == [3, 4])
        let path = try scratchFile(text)
        #expect(try Dataset.load("csv:" + path, labelColumn: "say \"hi\"", task: "regression").targets == [2, 5])
    }

    @Test(
        "header detection: a non-empty field that is not a number",
        arguments: [
            ("1,2\n3,4\n", nil as [String]?), ("a,b\n3,4\n", ["a", "b"]), (",a\n3,4\n", ["", "a"]),
            ("\u{FEFF}x,y\n3,4\n", ["x", "y"]),
        ])
    func headerDetection(text: String, header: [String]?) throws {
        let table = try CSVTable.parse(text, file: "h.csv", hasHeader: nil)
        #expect(table.header == header)
        #expect(table.values.suffix(2) == [3, 4])
    }

    @Test("blank lines and spaces around fields are ignored; whitespace tables split on runs of spaces")
    func whitespace() throws {
        let table = try CSVTable.parse("\n a , b \n\n 1 ,\t2\n   \n3,4", file: "w.csv", hasHeader: nil)
        #expect(table.header == ["a", "b"] && table.values == [1, 2, 3, 4] && table.lines == [4, 6])
        let aligned = try CSVTable.parse("  1   2\t3\n4 5 6\n", file: "s.txt", hasHeader: false, separator: " ")
        #expect(aligned.columns == 3 && aligned.values == [1, 2, 3, 4, 5, 6])
    }

    @Test(
        "malformed CSV exits 65 naming the line and column",
        arguments: [
            ("x,y\n1,2\n3,\u{0}4\n", ":3: column 2", "NUL byte"),
            ("x,y\n1,\"2\u{0}\"\n", ":2: column 2", "NUL byte"),
            ("x,y\n1,2\n,4\n", ":3: column 1 is empty", "missing values are not supported"),
            ("x,y\n1,2\n3,\n", ":3: column 2 is empty", "finite number"),
            ("x,y\n1,\"2\n3,4\n", ":2:", "never closed"),
            ("x,y\n1,\"2\"x\n", ":2:", "unexpected 'x' after a quoted field"),
            ("x,y\n1,2\n3,4,5\n", ":3:", "ragged row: 3 or more fields, expected 2"),
            ("x,y\n1,2\n3,1e39\n", ":3: column 2", "'1e39' is not a finite number"),
            ("a,b,c,y\n1,2,3\n", ":2:", "ragged row: 3 fields, expected 4"),
            ("\n\n  \n", "", "no data rows"),
        ])
    func malformed(text: String, location: String, what: String) throws {
        let path = try scratchFile(text)
        expectFailure(65, [path + location, what]) { _ = try Dataset.load("csv:" + path, task: "regression") }
    }

    @Test("UTF-16 text is refused with a hint")
    func utf16() throws {
        let path = try scratchFile([0xFF, 0xFE] + Array("x,y\n".utf16).flatMap { [UInt8($0), 0] })
        expectFailure(65, [path, "UTF-16", "UTF-8"]) { _ = try Dataset.load("csv:" + path) }
    }

    @Test(
        "class labels are integers below 100,000; a larger one is exit 65 naming the row, value and range",
        arguments: ["auto", "classification"])
    func boundedLabels(task: String) throws {
        let path = try scratchFile("a,label\n1,0\n2,1\n3,500000\n4,1\n")
        expectFailure(65, [path + ":4:", "label 500000 is out of range", "0..<100000", "regression task"]) {
            _ = try Dataset.load("csv:" + path, task: task)
        }
        let huge = try scratchFile("a,label\n1,0\n2,1e30\n")
        expectFailure(65, [huge + ":3:", "out of range"]) {
            _ = try Dataset.load("csv:" + huge, task: "classification")
        }
        // Regression takes any finite value.
        #expect(try Dataset.load("csv:" + path, task: "regression").targets == [0, 1, 500000, 1])
        let largest = try scratchFile("a,label\n1,0\n2,99999\n")
        #expect(try Dataset.load("csv:" + largest, task: "classification").task == .classification(classes: 100_000))
    }

    /// Exact equality (0 ULP): the reader promises the correctly rounded float, as `Float(String)` (strtof) gives.
    @Test("numbers parse to the correctly rounded float, like Float(String)")
    func numbers() {
        let tricky = [
            "0", "-0", "1", "+2", ".5", "5.", "1E3", "1e-3", "0.1", "0.30000001192092896", "16777217", "16777219",
            "1.00000005960464477539", "1.000000059604644775390625", "3.4028235e38", "3.4028236e38", "1e-45", "1.4e-45",
            "1.17549435e-38", "123456789012345678901234567890", "0.000000000000000000000000000001", "9007199254740993",
            "4.2e22", "4.2e23", "0x1p3", "00000000000000000000000000000001.5", "1.0000000000000000000001",
        ]
        for text in tricky { #expect(parsed(text) == Float(text), "\(text)") }
        for text in ["", "-", ".", "e5", "1e", "1e+", "1.2.3", "1,5", "- 1", "1 2", "abc"] {
            #expect(parsed(text) == nil, "\(text)")
        }
        // Random bit patterns, written shortest (description) and with 9, 12 and 17 significant digits.
        var state: UInt64 = 0x9E37_79B9_7F4A_7C15
        for _ in 0..<20_000 {
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            let value = Float(bitPattern: UInt32(truncatingIfNeeded: state >> 32))
            guard value.isFinite else { continue }
            for text in [
                value.description, String(format: "%.9g", value), String(format: "%.12e", Double(value)),
                String(format: "%.17g", Double(value)),
            ] {
                #expect(parsed(text) == Float(text), "\(text)")
            }
        }
    }

    private func parsed(_ text: String) -> Float? {
        let bytes = Array(text.utf8)
        return bytes.withUnsafeBufferPointer { CSVTable.number($0) }
    }
}
