import CZlib
import Foundation

/// MNIST-style IDX files in a folder: `train-images-idx3-ubyte` and `train-labels-idx1-ubyte` (optionally
/// `.gz`), plus the `t10k-` pair when present (appended after the training rows). Images are unsigned bytes
/// scaled to [0, 1]; labels must be 0...9.
///
/// Layout (big-endian): magic `00 00 08 03` (images: ubyte, 3 dims) or `00 00 08 01` (labels), then one
/// 32-bit count per dimension, then the bytes.
enum IDXDataset {
    static func load(directory: String) throws -> Dataset {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: directory, isDirectory: &isDirectory), isDirectory.boolValue else {
            throw EtaError(.missingInput, "\(directory): no such folder (idx: takes a folder of MNIST IDX files)")
        }
        var features: [Float] = []
        var labels: [Float] = []
        var featureCount = 0
        var foundAny = false
        for prefix in ["train", "t10k"] {
            let imagesPath = try find(directory, "\(prefix)-images-idx3-ubyte", required: prefix == "train")
            let labelsPath = try find(directory, "\(prefix)-labels-idx1-ubyte", required: imagesPath != nil)
            guard let imagesPath, let labelsPath else { continue }
            foundAny = true
            let images = try read(imagesPath, dimensions: 3, magic: 0x0803)
            let labelFile = try read(labelsPath, dimensions: 1, magic: 0x0801)
            guard images.shape[0] == labelFile.shape[0] else {
                throw EtaError(.dataError, "\(imagesPath) has \(images.shape[0]) images but \(labelsPath) has \(labelFile.shape[0]) labels")
            }
            let pixels = images.shape[1] * images.shape[2]
            if featureCount != 0 && featureCount != pixels {
                throw EtaError(.dataError, "\(imagesPath): images are \(images.shape[1])x\(images.shape[2]), unlike the training images")
            }
            featureCount = pixels
            features += images.bytes.map { Float($0) / 255 }
            for (index, label) in labelFile.bytes.enumerated() {
                guard label < 10 else {
                    throw EtaError(.dataError, "\(labelsPath): byte offset \(labelFile.dataOffset + index): label \(label) is out of range 0...9")
                }
                labels.append(Float(label))
            }
        }
        guard foundAny else { throw EtaError(.missingInput, "\(directory): no train-images-idx3-ubyte[.gz]") }
        return Dataset(name: URL(fileURLWithPath: directory).lastPathComponent, rows: labels.count, featureCount: featureCount,
                       features: features, targets: labels, task: .classification(classes: 10), standardize: false)
    }

    private static func find(_ directory: String, _ base: String, required: Bool) throws -> String? {
        for candidate in [base, base + ".gz"] {
            let path = (directory as NSString).appendingPathComponent(candidate)
            if FileManager.default.fileExists(atPath: path) { return path }
        }
        if required { throw EtaError(.missingInput, "\(directory): missing \(base) (or \(base).gz)") }
        return nil
    }

    struct File {
        var shape: [Int]
        var bytes: ArraySlice<UInt8>
        var dataOffset: Int
    }

    /// Reads and checks one IDX file (decompressing `.gz`).
    static func read(_ path: String, dimensions: Int, magic: UInt32) throws -> File {
        guard let raw = FileManager.default.contents(atPath: path) else { throw EtaError(.missingInput, "\(path): cannot be read") }
        let bytes = path.hasSuffix(".gz") ? try gunzip([UInt8](raw), path: path) : [UInt8](raw)
        func word(_ offset: Int) throws -> UInt32 {
            guard offset + 4 <= bytes.count else {
                throw EtaError(.dataError, "\(path): truncated at byte offset \(bytes.count): the header needs \(offset + 4) bytes")
            }
            return bytes[offset..<(offset + 4)].reduce(UInt32(0)) { $0 << 8 | UInt32($1) }
        }
        let found = try word(0)
        guard found == magic else {
            throw EtaError(.dataError, "\(path): byte offset 0: wrong IDX magic 0x\(String(found, radix: 16, uppercase: true)), expected 0x\(String(magic, radix: 16, uppercase: true)) (\(dimensions == 3 ? "images" : "labels"))")
        }
        let shape = try (0..<dimensions).map { Int(try word(4 + 4 * $0)) }
        let dataOffset = 4 + 4 * dimensions
        let expected = shape.reduce(1, *)
        guard bytes.count - dataOffset >= expected else {
            throw EtaError(.dataError, "\(path): truncated at byte offset \(bytes.count): shape \(shape) needs \(dataOffset + expected) bytes")
        }
        return File(shape: shape, bytes: bytes[dataOffset..<(dataOffset + expected)], dataOffset: dataOffset)
    }

    /// Decompresses a gzip stream with zlib.
    static func gunzip(_ input: [UInt8], path: String) throws -> [UInt8] {
        var stream = z_stream()
        guard inflateInit2_(&stream, 15 + 32, ZLIB_VERSION, Int32(MemoryLayout<z_stream>.size)) == Z_OK else {
            throw EtaError(.software, "zlib could not start")
        }
        defer { inflateEnd(&stream) }
        var output = [UInt8]()
        var chunk = [UInt8](repeating: 0, count: 1 << 20)
        var input = input
        let status: Int32 = input.withUnsafeMutableBufferPointer { source in
            stream.next_in = source.baseAddress
            stream.avail_in = uInt(source.count)
            var result = Z_OK
            repeat {
                result = chunk.withUnsafeMutableBufferPointer { target in
                    stream.next_out = target.baseAddress
                    stream.avail_out = uInt(target.count)
                    return inflate(&stream, Z_NO_FLUSH)
                }
                output.append(contentsOf: chunk[0..<(chunk.count - Int(stream.avail_out))])
            } while result == Z_OK
            return result
        }
        guard status == Z_STREAM_END else {
            throw EtaError(.dataError, "\(path): corrupt or truncated gzip stream near compressed byte offset \(stream.total_in)")
        }
        return output
    }
}
