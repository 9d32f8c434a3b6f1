import EtaCore
import Foundation

/// A seeded mutation fuzzer for builds without libFuzzer: each run takes a corpus file, applies a few random
/// edits (bit flips, interesting bytes, insertions, deletions, duplicated or spliced chunks) and runs the
/// target. The same seed and run count replay the same inputs.
enum MutationDriver {
    static func main(_ arguments: [String], scratch: URL) -> Int32 {
        var runs = 10_000, seed: UInt64 = 1
        var positional: [String] = []
        var index = 0
        while index < arguments.count {
            let argument = arguments[index]
            if argument == "--runs" || argument == "--seed", index + 1 < arguments.count {
                if argument == "--runs" {
                    runs = Int(arguments[index + 1]) ?? runs
                } else {
                    seed = UInt64(arguments[index + 1]) ?? seed
                }
                index += 2
            } else {
                positional.append(argument)
                index += 1
            }
        }
        guard positional.count == 2, let target = FuzzTarget(rawValue: positional[0]) else {
            print(
                "usage: EtaFuzz TARGET CORPUS_DIR [--runs N] [--seed S]; TARGET: "
                    + "\(FuzzTarget.allCases.map(\.rawValue).joined(separator: ", "))"
            )
            return 64
        }
        let folder = URL(fileURLWithPath: positional[1])
        let names = ((try? FileManager.default.contentsOfDirectory(atPath: folder.path)) ?? []).sorted()
        var corpus = names.compactMap { try? [UInt8](Data(contentsOf: folder.appendingPathComponent($0))) }
        if corpus.isEmpty { corpus = [[]] }
        var random = SplitMix64(seed: seed)
        let start = Date()
        // The seeds as they are first (regression inputs among them), then mutated.
        for input in corpus { target.run(input, scratch: scratch) }
        for _ in 0..<runs {
            var input = corpus[Int(random.next() % UInt64(corpus.count))]
            for _ in 0...(random.next() % 4) { mutate(&input, corpus: corpus, random: &random) }
            target.run(input, scratch: scratch)
        }
        print(
            "EtaFuzz \(target.rawValue): \(runs) runs from \(corpus.count) corpus files, seed \(seed), no failure "
                + "(\(String(format: "%.1f", Date().timeIntervalSince(start))) s)"
        )
        return 0
    }

    /// Bytes that parsers treat specially: separators, quotes, line ends, NUL, signs, digits, boundaries.
    static let interesting: [UInt8] =
        Array(",\"\r\n\0-+.eE09:=/ \t{}[]".utf8) + [0x7F, 0x80, 0xFF, 0xFE, 0xEF, 0xBB, 0xBF]

    static func mutate(_ input: inout [UInt8], corpus: [[UInt8]], random: inout SplitMix64) {
        let position = input.isEmpty ? 0 : Int(random.next() % UInt64(input.count))
        switch random.next() % 7 {
        case 0 where !input.isEmpty: input[position] ^= UInt8(1) << (random.next() % 8)
        case 1 where !input.isEmpty: input[position] = interesting[Int(random.next() % UInt64(interesting.count))]
        case 2: input.insert(interesting[Int(random.next() % UInt64(interesting.count))], at: position)
        case 3 where !input.isEmpty:
            input.removeSubrange(position..<min(input.count, position + 1 + Int(random.next() % 16)))
        case 4 where !input.isEmpty:
            let chunk = input[position..<min(input.count, position + 1 + Int(random.next() % 64))]
            input.insert(contentsOf: chunk, at: Int(random.next() % UInt64(input.count + 1)))
        case 5:
            let other = corpus[Int(random.next() % UInt64(corpus.count))]
            input = Array(input.prefix(position)) + other.suffix(Int(random.next() % UInt64(other.count + 1)))
        default:
            // A 32-bit boundary value over four bytes: the big-endian counts in IDX headers, lengths elsewhere.
            let values: [UInt32] = [0, 1, 0x7FFF_FFFF, 0x8000_0000, 0xFFFF_FFFF, 0x0001_0000]
            let value = values[Int(random.next() % UInt64(values.count))]
            let bytes = (0..<4).map { UInt8(truncatingIfNeeded: value >> (24 - 8 * UInt32($0))) }
            if input.count >= position + 4 {
                input.replaceSubrange(position..<(position + 4), with: bytes)
            } else {
                input += bytes
            }
        }
    }
}
