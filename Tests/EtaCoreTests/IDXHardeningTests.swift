import CZlib
import Foundation
import Testing

@testable import EtaCore

/// gzip of `prefix` followed by `zeros` zero bytes, made in memory at run time (zeros compress ~1000:1).
func gzipped(_ prefix: [UInt8], zeros: Int = 0) -> [UInt8] {
    var stream = z_stream()
    precondition(
        deflateInit2_(
            &stream, 1, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY, ZLIB_VERSION, Int32(MemoryLayout<z_stream>.size))
            == Z_OK)
    defer { deflateEnd(&stream) }
    var output: [UInt8] = []
    var chunk = [UInt8](repeating: 0, count: 1 << 16)
    func feed(_ input: [UInt8], flush: Int32) {
        var input = input
        input.withUnsafeMutableBufferPointer { source in
            stream.next_in = source.baseAddress
            stream.avail_in = uInt(source.count)
            repeat {
                chunk.withUnsafeMutableBufferPointer { target in
                    stream.next_out = target.baseAddress
                    stream.avail_out = uInt(target.count)
                    _ = deflate(&stream, flush)
                }
                output += chunk[0..<(chunk.count - Int(stream.avail_out))]
            } while stream.avail_out == 0
        }
    }
    feed(prefix, flush: Z_NO_FLUSH)
    let block = [UInt8](repeating: 0, count: 1 << 20)
    for _ in 0..<(zeros >> 20) { feed(block, flush: Z_NO_FLUSH) }
    feed([UInt8](repeating: 0, count: zeros & ((1 << 20) - 1)), flush: Z_FINISH)
    return output
}

@Suite("IDX and gzip limits")
struct IDXHardeningTests {
    /// Writes a 3-image 2x2 training pair with `images` (raw bytes of the images file) and a `.gz` choice.
    private func folder(images: [UInt8], gzipImages: Bool = false) throws -> URL {
        let folder = scratchFolder()
        try Data(IDXTests.header(0x0801, [3]) + [7, 0, 9]).write(
            to: folder.appendingPathComponent("train-labels-idx1-ubyte"))
        let name = "train-images-idx3-ubyte" + (gzipImages ? ".gz" : "")
        try Data(images).write(to: folder.appendingPathComponent(name))
        return folder
    }

    @Test("a header whose dimensions overflow is exit 65, not a trap", arguments: [false, true])
    func overflowingHeader(gzip: Bool) throws {
        let header = IDXTests.header(0x0803, [0x8000_0000, 0x0001_0000, 0x0001_0000])
        let folder = try folder(images: gzip ? gzipped(header) : header, gzipImages: gzip)
        expectFailure(65, ["train-images-idx3-ubyte", "declares more than 4294967296 bytes", "limit"]) {
            _ = try Dataset.load("idx:" + folder.path)
        }
    }

    @Test("a zero dimension is exit 65")
    func zeroDimension() throws {
        let folder = try folder(images: IDXTests.header(0x0803, [3, 0, 2]))
        expectFailure(65, ["byte offset 8", "dimension 2", "is 0"]) { _ = try Dataset.load("idx:" + folder.path) }
    }

    /// 100 MB of zeros (a 0.4 MB file) behind a header declaring 3 images of 2x2: reading stops one byte past the 28
    /// declared.
    @Test("a gzip bomb stops at the size the header declares")
    func gzipBomb() throws {
        let bomb = gzipped(IDXTests.header(0x0803, [3, 2, 2]), zeros: 100_000_000)
        #expect(bomb.count < 1_000_000)
        let folder = try folder(images: bomb, gzipImages: true)
        let clock = ContinuousClock()
        let elapsed = clock.measure {
            expectFailure(
                65, ["train-images-idx3-ubyte.gz", "decompresses to more than 28 bytes", "decompression bomb"]
            ) {
                _ = try Dataset.load("idx:" + folder.path)
            }
        }
        #expect(elapsed < .seconds(1), "took \(elapsed)")
    }

    @Test("Gzip.inflate: the limit is asked again at each boundary; corrupt input is exit 65")
    func inflateLimits() throws {
        let stream = gzipped(Array(1...100))
        var asked: [Int] = []
        let whole = try Gzip.inflate(stream, path: "x.gz") { prefix in
            asked.append(prefix.count); return prefix.count < 10 ? 10 : 100
        }
        #expect(whole == Array(1...100))
        #expect(asked == [0, 10])
        expectFailure(65, ["x.gz", "more than 99 bytes"]) { _ = try Gzip.inflate(stream, path: "x.gz") { _ in 99 } }
        expectFailure(65, ["x.gz", "corrupt or truncated"]) {
            _ = try Gzip.inflate(Array(stream.prefix(12)), path: "x.gz") { _ in 100 }
        }
        expectFailure(65, ["x.gz", "corrupt or truncated"]) { _ = try Gzip.inflate([], path: "x.gz") { _ in 100 } }
        expectFailure(65, ["x.gz", "corrupt or truncated"]) {
            _ = try Gzip.inflate(Array("not gzip".utf8), path: "x.gz") { _ in 100 }
        }
    }
}
