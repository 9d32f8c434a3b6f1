import EtaCore
import Foundation
import SwiftProtobuf

/// Writes a TensorBoard event file: TFRecord framing (little-endian length, masked CRC-32C of the length, the
/// serialized `Event`, masked CRC-32C of the data) around `Event` protobufs (`tools/protos/tensorboard_event.proto`):
/// the file version first, then scalar and histogram summaries by step. TensorBoard reads every file of a run's folder
/// whose name contains `tfevents`; a sweep writes one folder per replica, which TensorBoard shows as runs.
///
/// ```swift
/// let board = try TensorBoardWriter(directory: "runs/adam")
/// try board.scalars([("train/loss", 2.30), ("train/lr", 1e-3)], step: 1)
/// try board.close()
/// ```
public final class TensorBoardWriter {
    /// The event file.
    public let path: String
    private let file: OutputFile

    /// Creates the run's folder and a new event file in it (`events.out.tfevents.SECONDS.HOST.PID`), starting with the
    /// file version.
    ///
    /// - Parameter directory: The run's folder, created when missing.
    /// - Throws: `EtaError` `.ioError` when the folder or the file cannot be created or written.
    public init(directory: String) throws {
        let seconds = Int(Date().timeIntervalSince1970)
        let host = ProcessInfo.processInfo.hostName.split(separator: ".").first.map(String.init) ?? "localhost"
        path =
            URL(fileURLWithPath: directory).appendingPathComponent(
                "events.out.tfevents.\(seconds).\(host).\(ProcessInfo.processInfo.processIdentifier)"
            ).path
        file = try OutputFile(creating: path)
        var event = Eta_Tensorboard_Event()
        event.wallTime = Date().timeIntervalSince1970
        event.fileVersion = "brain.Event:2"
        try write(event)
    }

    /// One event of scalar summaries at `step` (non-finite values are written as they are: TensorBoard shows them).
    ///
    /// - Parameters:
    ///   - values: (tag, value) pairs, e.g. `("train/loss", 2.3)`.
    ///   - step: The step they belong to.
    /// - Throws: `EtaError` `.ioError` when the file cannot be written.
    public func scalars(_ values: [(tag: String, value: Double)], step: Int) throws {
        guard !values.isEmpty else { return }
        var summary = Eta_Tensorboard_Summary()
        summary.value = values.map { tag, value in
            var entry = Eta_Tensorboard_Summary.Value()
            entry.tag = tag
            entry.simpleValue = Float(value)
            return entry
        }
        try write(summary: summary, step: step)
    }

    /// A histogram summary of `values` at `step`: min, max, count, sum, sum of squares and 30 equal-width buckets
    /// between the extremes (one bucket when they are equal).
    ///
    /// - Parameters:
    ///   - tag: The tag, e.g. `parameters/layer0.weight`.
    ///   - values: The values (non-finite ones are left out).
    ///   - step: The step.
    /// - Throws: `EtaError` `.ioError` when the file cannot be written.
    public func histogram(_ tag: String, values: [Float], step: Int) throws {
        var entry = Eta_Tensorboard_Summary.Value()
        entry.tag = tag
        entry.histo = Self.histogram(values)
        var summary = Eta_Tensorboard_Summary()
        summary.value = [entry]
        try write(summary: summary, step: step)
    }

    /// The histogram of the finite `values`.
    static func histogram(_ values: [Float]) -> Eta_Tensorboard_HistogramProto {
        let finite = values.filter(\.isFinite).map(Double.init)
        var histogram = Eta_Tensorboard_HistogramProto()
        guard let low = finite.min(), let high = finite.max() else { return histogram }
        histogram.min = low
        histogram.max = high
        histogram.num = Double(finite.count)
        histogram.sum = finite.reduce(0, +)
        histogram.sumSquares = finite.reduce(0) { $0 + $1 * $1 }
        let buckets = high > low ? 30 : 1
        let width = (high - low) / Double(buckets)
        var counts = [Double](repeating: 0, count: buckets)
        for value in finite { counts[min(buckets - 1, width > 0 ? Int((value - low) / width) : 0)] += 1 }
        histogram.bucketLimit = (1...buckets).map { $0 == buckets ? high : low + Double($0) * width }
        histogram.bucket = counts
        return histogram
    }

    /// Flushes and closes the file.
    ///
    /// - Throws: `EtaError` `.ioError` when the file cannot be flushed.
    public func close() throws { try file.close() }

    private func write(summary: Eta_Tensorboard_Summary, step: Int) throws {
        var event = Eta_Tensorboard_Event()
        event.wallTime = Date().timeIntervalSince1970
        event.step = Int64(step)
        event.summary = summary
        try write(event)
    }

    private func write(_ event: Eta_Tensorboard_Event) throws {
        let data: [UInt8]
        do { data = try event.serializedBytes() } catch {
            throw EtaError(.software, "cannot encode a TensorBoard event: \(error)")
        }
        try file.write(Self.record(data))
    }

    /// One TFRecord: length, its masked CRC-32C, the data, its masked CRC-32C (little-endian throughout).
    static func record(_ data: [UInt8]) -> [UInt8] {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(data.count + 16)
        let length = littleEndian(UInt64(data.count))
        bytes += length
        bytes += littleEndian(CRC32C.masked(length))
        bytes += data
        bytes += littleEndian(CRC32C.masked(data))
        return bytes
    }

    private static func littleEndian<T: FixedWidthInteger>(_ value: T) -> [UInt8] {
        withUnsafeBytes(of: value.littleEndian) { Array($0) }
    }
}

extension OutputFile {
    func write(_ bytes: [UInt8]) throws { try bytes.withUnsafeBytes { try write($0) } }
}

/// CRC-32C (Castagnoli, reflected polynomial 0x82F63B78), as TFRecord frames use it, with TensorFlow's mask.
enum CRC32C {
    static let table: [UInt32] = (0..<256).map { index in
        var crc = UInt32(index)
        for _ in 0..<8 { crc = crc & 1 != 0 ? (crc >> 1) ^ 0x82F6_3B78 : crc >> 1 }
        return crc
    }

    /// The CRC-32C of `bytes` (0xE3069283 for "123456789").
    static func checksum(_ bytes: [UInt8]) -> UInt32 {
        var crc: UInt32 = 0xFFFF_FFFF
        for byte in bytes { crc = table[Int((crc ^ UInt32(byte)) & 0xFF)] ^ (crc >> 8) }
        return crc ^ 0xFFFF_FFFF
    }

    /// TensorFlow's masking: rotate right by 15 bits, add 0xa282ead8.
    static func masked(_ bytes: [UInt8]) -> UInt32 {
        let crc = checksum(bytes)
        return ((crc >> 15) | (crc << 17)) &+ 0xA282_EAD8
    }
}
