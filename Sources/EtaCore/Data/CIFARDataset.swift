import Foundation

/// The CIFAR-10 binary version in a folder (`cifar:DIR`, as `cifar-10-binary.tar.gz` extracts: `DIR` may be the
/// `cifar-10-batches-bin` folder or the folder holding it): `data_batch_1.bin` ... `data_batch_5.bin` (any that are
/// present, at least one, in numeric order) for training and validation, and `test_batch.bin` as the official test
/// split (the dataset's last rows, never trained on).
///
/// Each file is a run of 3,073-byte records: one label byte (0...9), then a 32x32 image as three 1,024-byte planes,
/// red, green and blue, each row-major: exactly the [3, 32, 32] (CHW) sample shape, kept as 0...255
/// (`Normalization.pixels` scales it).
enum CIFARDataset {
    /// Bytes in one record: the label and 3 x 32 x 32 pixels.
    static let recordBytes = 1 + pixelBytes
    static let pixelBytes = 3 * 32 * 32
    /// The largest batch file read: 4 GiB, over 100 times a CIFAR-10 batch (30.7 MB).
    static let maximumFileBytes = 1 << 32

    static func load(directory: String) throws -> Dataset {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: directory, isDirectory: &isDirectory), isDirectory.boolValue else {
            throw EtaError(
                .missingInput, "\(directory): no such folder (cifar: takes the folder of the CIFAR-10 binary batches)")
        }
        var folder = directory
        var trainFiles = batchFiles(in: folder)
        let nested = (directory as NSString).appendingPathComponent("cifar-10-batches-bin")
        if trainFiles.isEmpty && FileManager.default.fileExists(atPath: nested) {
            folder = nested
            trainFiles = batchFiles(in: folder)
        }
        let testFile = (folder as NSString).appendingPathComponent("test_batch.bin")
        let missingTest = !FileManager.default.fileExists(atPath: testFile)
        guard !trainFiles.isEmpty, !missingTest else {
            let missing = [
                trainFiles.isEmpty ? "data_batch_1.bin ... data_batch_5.bin (at least one)" : nil,
                missingTest ? "test_batch.bin" : nil,
            ].compactMap { $0 }
            let cifar100 = FileManager.default.fileExists(
                atPath: (folder as NSString).appendingPathComponent("train.bin"))
            throw EtaError(
                .missingInput,
                "\(folder): missing \(missing.joined(separator: " and ")): cifar: reads the CIFAR-10 binary version "
                    + "(cifar-10-binary.tar.gz, extracted)"
                    + (cifar100 ? "; train.bin and test.bin are CIFAR-100's, which is not supported" : "")
            )
        }
        var features: [Float] = []
        var labels: [Float] = []
        var testRows = 0
        for path in trainFiles.map({ (folder as NSString).appendingPathComponent($0) }) + [testFile] {
            let before = labels.count
            try read(path, features: &features, labels: &labels)
            if path == testFile { testRows = labels.count - before }
        }
        return Dataset(
            name: URL(fileURLWithPath: directory).lastPathComponent, rows: labels.count, featureCount: pixelBytes,
            features: features, targets: labels, task: .classification(classes: 10), normalization: .pixels,
            sampleShape: [3, 32, 32], testRowCount: testRows)
    }

    /// The `data_batch_N.bin` names in `folder`, by N.
    static func batchFiles(in folder: String) -> [String] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: folder)) ?? []
        let numbered = names.compactMap { name -> (Int, String)? in
            guard name.hasPrefix("data_batch_"), name.hasSuffix(".bin") else { return nil }
            let digits = name.dropFirst("data_batch_".count).dropLast(".bin".count)
            guard !digits.isEmpty, digits.allSatisfy(\.isASCII), let number = Int(digits), number >= 0 else {
                return nil
            }
            return (number, name)
        }
        return numbered.sorted { $0.0 < $1.0 }.map(\.1)
    }

    /// Appends one batch file's records, checking its size and every label.
    static func read(_ path: String, features: inout [Float], labels: inout [Float]) throws {
        guard let data = try? Data(contentsOf: URL(fileURLWithPath: path), options: .alwaysMapped) else {
            throw EtaError(.missingInput, "\(path): cannot be read")
        }
        guard !data.isEmpty else {
            throw EtaError(.dataError, "\(path): byte offset 0: the file is empty; expected 3073-byte records")
        }
        guard data.count <= maximumFileBytes else {
            throw EtaError(
                .dataError, "\(path): \(data.count) bytes, more than the 4 GiB a CIFAR batch file may hold")
        }
        let records = data.count / recordBytes
        guard data.count % recordBytes == 0 else {
            throw EtaError(
                .dataError,
                "\(path): truncated at byte offset \(records * recordBytes): the last record has "
                    + "\(data.count % recordBytes) of \(recordBytes) bytes (1 label byte + 3072 pixel bytes per image)"
            )
        }
        features.reserveCapacity(features.count + records * pixelBytes)
        labels.reserveCapacity(labels.count + records)
        try data.withUnsafeBytes { (bytes: UnsafeRawBufferPointer) in
            for record in 0..<records {
                let offset = record * recordBytes
                let label = bytes[offset]
                guard label < 10 else {
                    throw EtaError(
                        .dataError,
                        "\(path): byte offset \(offset): label \(label) of record \(record) is out of range 0...9 "
                            + "(CIFAR-10 has 10 classes)"
                    )
                }
                labels.append(Float(label))
                for index in (offset + 1)..<(offset + recordBytes) { features.append(Float(bytes[index])) }
            }
        }
    }
}
