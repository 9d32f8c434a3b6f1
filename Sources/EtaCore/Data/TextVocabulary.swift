/// A character-level vocabulary: ids 0..<count for the distinct Unicode scalars (code points) of a training text,
/// sorted by code point, as Python's `sorted(set(text))` orders a `str`.
///
/// Checkpoints of text runs carry it (``Checkpoint/vocabulary``), so generation can encode a prompt and decode the
/// model's ids without the training file.
///
/// ```swift
/// let vocabulary = TextVocabulary(of: "hello world")
/// vocabulary.characters              // [" ", "d", "e", "h", "l", "o", "r", "w"]
/// try vocabulary.encode("hold")      // [3, 5, 4, 1]
/// vocabulary.decode([3, 2, 4, 4, 5]) // "hello"
/// ```
public struct TextVocabulary: Equatable, Sendable {
    /// The characters, one Unicode scalar per id, in increasing code-point order.
    public let scalars: [Unicode.Scalar]

    /// The number of ids.
    public var count: Int { scalars.count }

    /// The characters as strings (each one Unicode scalar), indexed by id.
    public var characters: [String] { scalars.map { String($0) } }

    /// The vocabulary of `text`: its distinct Unicode scalars, sorted by code point.
    ///
    /// - Parameter text: Any text.
    public init<S: Sequence>(of text: S) where S.Element == Unicode.Scalar {
        scalars = Set(text).sorted { $0.value < $1.value }
    }

    /// The vocabulary of `text`'s Unicode scalars.
    ///
    /// - Parameter text: Any text.
    public init(of text: String) { self.init(of: text.unicodeScalars) }

    /// A vocabulary from its characters in id order.
    ///
    /// - Parameter scalars: At least one scalar, in strictly increasing code-point order.
    /// - Throws: `EtaError` `.dataError` when the list is empty, unsorted or repeats a character.
    public init(scalars: [Unicode.Scalar]) throws {
        guard !scalars.isEmpty else { throw EtaError(.dataError, "a vocabulary needs at least one character") }
        for i in scalars.indices.dropFirst() where scalars[i - 1].value >= scalars[i].value {
            throw EtaError(
                .dataError,
                "vocabulary entries \(i - 1) and \(i) (\(Self.describe(scalars[i - 1])), \(Self.describe(scalars[i]))) "
                    + "are not in increasing code-point order")
        }
        self.scalars = scalars
    }

    /// The form checkpoints store (metadata key `vocabulary`): the characters concatenated in id order, so Python's
    /// `list(metadata["vocabulary"])` gives the same list.
    public var serialized: String {
        var text = ""
        text.unicodeScalars.append(contentsOf: scalars)
        return text
    }

    /// Reads ``serialized`` back.
    ///
    /// - Parameter serialized: The characters in id order.
    /// - Throws: `EtaError` `.dataError` when the text is empty or not in strictly increasing code-point order.
    public init(serialized: String) throws {
        try self.init(scalars: Array(serialized.unicodeScalars))
    }

    /// The id of `scalar`, or nil when it is not in the vocabulary.
    ///
    /// - Parameter scalar: A character.
    /// - Returns: Its id in 0..<count.
    public func id(of scalar: Unicode.Scalar) -> Int? {
        var (low, high) = (0, scalars.count)
        while low < high {
            let middle = (low + high) / 2
            if scalars[middle].value < scalar.value { low = middle + 1 } else { high = middle }
        }
        return low < scalars.count && scalars[low] == scalar ? low : nil
    }

    /// The ids of `text`'s Unicode scalars.
    ///
    /// - Parameter text: Text whose every character is in the vocabulary.
    /// - Returns: One id per Unicode scalar.
    /// - Throws: `EtaError` `.usage` naming the first character that is not in the vocabulary, and its offset.
    public func encode(_ text: String) throws -> [Int] {
        var ids: [Int] = []
        for (offset, scalar) in text.unicodeScalars.enumerated() {
            guard let id = id(of: scalar) else {
                throw EtaError(
                    .usage,
                    "character \(Self.describe(scalar)) at offset \(offset) is not in the vocabulary of \(count) "
                        + "characters (\(Self.preview(scalars)))")
            }
            ids.append(id)
        }
        return ids
    }

    /// The text of `ids`.
    ///
    /// - Parameter ids: Ids in 0..<count (others decode as U+FFFD, the replacement character).
    /// - Returns: The characters, concatenated.
    public func decode<S: Sequence>(_ ids: S) -> String where S.Element == Int {
        var text = ""
        for id in ids { text.unicodeScalars.append(scalars.indices.contains(id) ? scalars[id] : "\u{FFFD}") }
        return text
    }

    /// `'a' (U+0061)`, with control characters escaped: `'\n' (U+000A)`.
    static func describe(_ scalar: Unicode.Scalar) -> String {
        "'\(scalar.escaped(asASCII: false))' (U+\(String(scalar.value, radix: 16, uppercase: true).leftPadded(4)))"
    }

    /// Characters as an escaped string, cut to about 120 characters.
    static func preview(_ scalars: [Unicode.Scalar]) -> String {
        let shown = scalars.prefix(120).map { $0.escaped(asASCII: false) }.joined()
        return "\"" + shown + (scalars.count > 120 ? "...\" (\(scalars.count) in all)" : "\"")
    }
}

extension String {
    fileprivate func leftPadded(_ width: Int) -> String {
        count >= width ? self : String(repeating: "0", count: width - count) + self
    }
}
