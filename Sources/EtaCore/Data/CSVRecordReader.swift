/// An RFC 4180 state machine over a byte buffer: hands out one record's fields at a time, without copying
/// unquoted fields (quoted ones are unescaped into a scratch buffer).
struct CSVRecordReader {
    private var cursor: UnsafePointer<UInt8>
    private let end: UnsafePointer<UInt8>
    private let separator: UInt8
    private let file: String
    /// The 1-based line the cursor is on.
    private(set) var line = 1
    private var scratch: [UInt8] = []

    private static let quote = UInt8(ascii: "\""), space = UInt8(ascii: " "), tab = UInt8(ascii: "\t")
    private static let lineFeed = UInt8(ascii: "\n"), carriageReturn = UInt8(ascii: "\r")

    init(start: UnsafePointer<UInt8>, end: UnsafePointer<UInt8>, separator: UInt8, file: String) {
        self.cursor = start
        self.end = end
        self.separator = separator
        self.file = file
    }

    /// Reads the next non-blank record, calling `onField` with each field (trimmed of surrounding spaces and
    /// tabs, quotes removed) and the line the field starts on. Returns the record's first line, or nil at the
    /// end of the input.
    @inline(__always)
    mutating func readRecord(onField: (UnsafeBufferPointer<UInt8>, Int) throws -> Void) throws -> Int? {
        // Blank lines (nothing but spaces and tabs) are skipped.
        while true {
            skipSpaces()
            guard cursor < end else { return nil }
            if !endOfLine() { break }
        }
        let recordLine = line
        let whitespaceSeparated = separator == Self.space
        var column = 0
        while true {
            skipSpaces()
            let fieldLine = line
            if cursor < end, cursor.pointee == Self.quote {
                try readQuoted(column: column)
                try scratch.withUnsafeBufferPointer { try onField($0, fieldLine) }
            } else {
                let start = cursor
                while cursor < end {
                    let byte = cursor.pointee
                    if byte == separator || byte == Self.lineFeed || byte == Self.carriageReturn { break }
                    if byte == 0 { throw nulError(column: column) }
                    if whitespaceSeparated && byte == Self.tab { break }
                    cursor += 1
                }
                var stop = cursor
                while stop > start, stop[-1] == Self.space || stop[-1] == Self.tab { stop -= 1 }
                try onField(UnsafeBufferPointer(start: start, count: stop - start), fieldLine)
            }
            skipSpaces()
            if cursor == end || endOfLine() { return recordLine }
            column += 1
            if cursor.pointee == separator {
                cursor += 1
            } else if !whitespaceSeparated {
                throw EtaError(
                    .dataError,
                    "\(file):\(line): unexpected \(describe(cursor.pointee)) after a quoted field: a quoted field ends "
                        + "at its closing quote (write a quote inside one as \"\")"
                )
            }
        }
    }

    /// Consumes one line ending (LF, CRLF or CR) if the cursor is on one.
    @inline(__always)
    private mutating func endOfLine() -> Bool {
        guard cursor < end else { return false }
        if cursor.pointee == Self.lineFeed {
            cursor += 1
        } else if cursor.pointee == Self.carriageReturn {
            cursor += 1
            if cursor < end, cursor.pointee == Self.lineFeed { cursor += 1 }
        } else {
            return false
        }
        line += 1
        return true
    }

    @inline(__always)
    private mutating func skipSpaces() {
        while cursor < end, cursor.pointee == Self.space || (cursor.pointee == Self.tab && separator != Self.tab) {
            cursor += 1
        }
    }

    /// Unescapes the quoted field at the cursor into `scratch`, leaving the cursor after the closing quote.
    private mutating func readQuoted(column: Int) throws {
        let openingLine = line
        scratch.removeAll(keepingCapacity: true)
        cursor += 1
        while cursor < end {
            let byte = cursor.pointee
            cursor += 1
            switch byte {
            case Self.quote:
                guard cursor < end, cursor.pointee == Self.quote else { return }
                scratch.append(Self.quote)
                cursor += 1
            case 0:
                throw nulError(column: column)
            case Self.lineFeed:
                line += 1
                scratch.append(byte)
            case Self.carriageReturn:
                if cursor < end, cursor.pointee == Self.lineFeed { continue }
                line += 1
                scratch.append(byte)
            default:
                scratch.append(byte)
            }
        }
        throw EtaError(.dataError, "\(file):\(openingLine): a quoted field opened here is never closed (a missing \")")
    }

    private func nulError(column: Int) -> EtaError {
        EtaError(
            .dataError,
            "\(file):\(line): column \(column + 1): a NUL byte (0x00) inside a cell: CSV cells are UTF-8 text (is this "
                + "a binary or UTF-16 file?)"
        )
    }

    private func describe(_ byte: UInt8) -> String {
        (0x21...0x7E).contains(byte)
            ? "'\(Character(Unicode.Scalar(byte)))'" : "byte 0x\(String(byte, radix: 16, uppercase: true))"
    }
}
