import CZlib
import Foundation

/// MNIST-style IDX files in a folder: `train-images-idx3-ubyte` and `train-labels-idx1-ubyte` (or
/// `train-images.idx3-ubyte` and `train-labels.idx1-ubyte`; optionally `.gz`) for training and validation, plus the
/// `t10k-` pair, when present, as the official test split (the dataset's last rows, never trained on). Images are
/// unsigned bytes, kept as 0...255 (`Normalization.pixels` scales them), of shape [1, rows, columns]; labels must be
/// 0...9.
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
        var imageShape: [Int] = []
        var testRows = 0
        for prefix in ["train", "t10k"] {
            let imagesPath = try find(directory, "\(prefix)-images-idx3-ubyte", required: prefix == "train")
            let labelsPath = try find(directory, "\(prefix)-labels-idx1-ubyte", required: imagesPath != nil)
            guard let imagesPath, let labelsPath else { continue }
            let images = try read(imagesPath, dimensions: 3, magic: 0x0803)
            let labelFile = try read(labelsPath, dimensions: 1, magic: 0x0801)
            guard images.shape[0] == labelFile.shape[0] else {
                throw EtaError(
                    .dataError,
                    "\(imagesPath) has \(images.shape[0]) images but \(labelsPath) has \(labelFile.shape[0]) labels")
            }
            let shape = [1, images.shape[1], images.shape[2]]
            if !imageShape.isEmpty && imageShape != shape {
                throw EtaError(
                    .dataError,
                    "\(imagesPath): images are \(images.shape[1])x\(images.shape[2]), unlike the training images "
                        + "(\(imageShape[1])x\(imageShape[2]))"
                )
            }
            imageShape = shape
            features += images.bytes.map { Float($0) }
            for (index, label) in labelFile.bytes.enumerated() {
                guard label < 10 else {
                    throw EtaError(
                        .dataError,
                        "\(labelsPath): byte offset \(labelFile.dataOffset + index): label \(label) "
                            + "is out of range 0...9"
                    )
                }
                labels.append(Float(label))
            }
            if prefix == "t10k" { testRows = labelFile.shape[0] }
        }
        return Dataset(
            name: URL(fileURLWithPath: directory).lastPathComponent, rows: labels.count,
            featureCount: imageShape[1] * imageShape[2], features: features, targets: labels,
            task: .classification(classes: 10), normalization: .pixels, sampleShape: imageShape, testRowCount: testRows)
    }

    private static func find(_ directory: String, _ base: String, required: Bool) throws -> String? {
        // Both namings in circulation: `train-images-idx3-ubyte` (the original files) and `train-images.idx3-ubyte`.
        let dotted = base.replacingOccurrences(of: "-idx", with: ".idx")
        for candidate in [base, base + ".gz", dotted, dotted + ".gz"] {
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

    /// The most data bytes one IDX file may declare: 4 GiB, some 80 times MNIST's training images (each byte
    /// becomes a 4-byte float in memory). A header past it is damaged or hostile, and is refused before any
    /// allocation.
    static let maximumDataBytes = 1 << 32

    /// Reads and checks one IDX file. A `.gz` file is decompressed only as far as its header declares: a
    /// stream that goes on past that fails instead of filling memory.
    static func read(_ path: String, dimensions: Int, magic: UInt32) throws -> File {
        guard let raw = FileManager.default.contents(atPath: path) else {
            throw EtaError(.missingInput, "\(path): cannot be read")
        }
        let dataOffset = 4 + 4 * dimensions
        let bytes: [UInt8]
        if path.hasSuffix(".gz") {
            bytes = try Gzip.inflate([UInt8](raw), path: path) { prefix in
                guard prefix.count >= dataOffset else { return dataOffset }
                return dataOffset + (try header(prefix, path: path, dimensions: dimensions, magic: magic).byteCount)
            }
        } else {
            bytes = [UInt8](raw)
        }
        let (shape, expected) = try header(bytes, path: path, dimensions: dimensions, magic: magic)
        guard bytes.count - dataOffset >= expected else {
            throw EtaError(
                .dataError,
                "\(path): truncated at byte offset \(bytes.count): shape \(shape) needs \(dataOffset + expected) bytes")
        }
        return File(shape: shape, bytes: bytes[dataOffset..<(dataOffset + expected)], dataOffset: dataOffset)
    }

    /// The header's shape and the data bytes it declares, range-checked: every dimension at least 1 and the
    /// product within `maximumDataBytes`, computed without overflow.
    static func header(
        _ bytes: [UInt8], path: String, dimensions: Int, magic: UInt32
    ) throws -> (shape: [Int], byteCount: Int) {
        func word(_ offset: Int) throws -> UInt32 {
            guard offset + 4 <= bytes.count else {
                throw EtaError(
                    .dataError, "\(path): truncated at byte offset \(bytes.count): the header needs \(offset + 4) bytes"
                )
            }
            return bytes[offset..<(offset + 4)].reduce(UInt32(0)) { $0 << 8 | UInt32($1) }
        }
        let found = try word(0)
        guard found == magic else {
            throw EtaError(
                .dataError,
                "\(path): byte offset 0: wrong IDX magic 0x\(String(found, radix: 16, uppercase: true)), expected "
                    + "0x\(String(magic, radix: 16, uppercase: true)) (\(dimensions == 3 ? "images" : "labels"))"
            )
        }
        let shape = try (0..<dimensions).map { Int(try word(4 + 4 * $0)) }
        var byteCount = 1
        for (index, size) in shape.enumerated() {
            guard size > 0 else {
                throw EtaError(
                    .dataError,
                    "\(path): byte offset \(4 + 4 * index): dimension \(index + 1) of shape \(shape) is 0; every "
                        + "dimension must be at least 1"
                )
            }
            let (product, overflow) = byteCount.multipliedReportingOverflow(by: size)
            guard !overflow, product <= maximumDataBytes else {
                throw EtaError(
                    .dataError,
                    "\(path): shape \(shape) declares more than \(maximumDataBytes) bytes (4 GiB), the limit for an "
                        + "IDX file: a damaged header?"
                )
            }
            byteCount = product
        }
        return (shape, byteCount)
    }
}
