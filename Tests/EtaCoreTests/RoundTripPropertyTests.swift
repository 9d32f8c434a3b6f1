import Foundation
import PropertyBased
import Testing

@testable import EtaCore

/// Any finite float, from its bit pattern: every exponent range, subnormals and signed zero included.
let anyFiniteFloat = Gen<UInt32>.value(in: 0...UInt32.max).compactMap { bits -> Float? in
    let value = Float(bitPattern: bits)
    return value.isFinite ? value : nil
}

/// Text with the characters that need escaping in JSON and quoting in CSV.
let awkwardText = Gen<Character?>.element(of: Array("ab7 ,;\"\\\n\r\té€😀") as [Character]).map { $0! }.string(
    of: 0...12)

@Suite("Round trips (property-based)")
struct RoundTripPropertyTests {
    /// 0 ULP: a float written with its shortest round-trip digits (or 9 significant digits) reads back exactly.
    @Test("a CSV of random floats, randomly quoted and spaced, with LF or CRLF, reads back equal")
    func csvRoundTrip() async throws {
        await propertyCheck(
            count: 200, input: anyFiniteFloat.array(of: 1...60), Gen.int(in: 1...5), Gen.bool.array(of: 60),
            Gen.int(in: 0...2), awkwardText
        ) { values, columns, quoted, style, headerName in
            let rows = values.count / columns
            guard rows > 0 else { return }
            let kept = Array(values.prefix(rows * columns))
            let ending = style == 1 ? "\r\n" : "\n"
            func quote(_ text: String) -> String { "\"" + text.replacingOccurrences(of: "\"", with: "\"\"") + "\"" }
            var text = (0..<columns).map { quote(headerName + "\($0)") }.joined(separator: ",") + ending
            for row in 0..<rows {
                let cells = (0..<columns).map { column -> String in
                    let index = row * columns + column
                    let number = style == 2 ? String(format: "%.9g", kept[index]) : kept[index].description
                    return quoted[index] ? quote(number) : (style == 2 ? " \(number) " : number)
                }
                text += cells.joined(separator: ",") + ending
            }
            let table = try CSVTable.parse(text, file: "round-trip.csv", hasHeader: true)
            #expect(table.values.map(\.bitPattern) == kept.map(\.bitPattern))
            #expect(table.rows == rows && table.columns == columns)
            // Inside quotes everything is kept, a CRLF read as LF.
            #expect(
                table.header
                    == (0..<columns).map { (headerName + "\($0)").replacingOccurrences(of: "\r\n", with: "\n") })
        }
    }

    /// 0 ULP: a checkpoint stores float32 bits, so reading gives back exactly what was written.
    @Test("a checkpoint written then read gives back its tensors and metadata")
    func checkpointRoundTrip() async throws {
        let folder = scratchFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        await propertyCheck(
            count: 100, input: anyFiniteFloat.array(of: 0...40), Gen.int(in: 1...4), awkwardText, awkwardText
        ) {
            values, pieces, key, value in
            var tensors: [Checkpoint.Tensor] = []
            var rest = values[...]
            for index in 0..<pieces {
                let take = index == pieces - 1 ? rest.count : rest.count / 2
                let part = Array(rest.prefix(take))
                rest = rest.dropFirst(take)
                let shape = part.count % 2 == 0 && part.count > 0 ? [2, part.count / 2] : [part.count]
                tensors.append(Checkpoint.Tensor(name: "layer\(index).weight", shape: shape, values: part))
            }
            let metadata = ["format": Checkpoint.format, "note " + key: value]
            let url = folder.appendingPathComponent("checkpoint.safetensors")
            try Checkpoint(tensors: tensors, metadata: metadata).write(to: url)
            let read = try Checkpoint.read(from: url)
            #expect(read.tensors.map(\.name) == tensors.map(\.name))
            #expect(read.tensors.map(\.shape) == tensors.map(\.shape))
            #expect(read.tensors.map { $0.values.map(\.bitPattern) } == tensors.map { $0.values.map(\.bitPattern) })
            #expect(read.metadata.filter { $0.key != "sha256" } == metadata)
        }
        #expect(try FileManager.default.contentsOfDirectory(atPath: folder.path) == ["checkpoint.safetensors"])
    }
}
