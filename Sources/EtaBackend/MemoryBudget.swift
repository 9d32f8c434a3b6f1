import Foundation

/// What a backend can allocate: its largest single buffer and its whole memory.
public struct MemoryLimits: Sendable, Equatable {
    /// The largest single buffer, in bytes (OpenCL's `CL_DEVICE_MAX_MEM_ALLOC_SIZE`).
    public var largestBuffer: Int
    /// All buffers together, in bytes (`CL_DEVICE_GLOBAL_MEM_SIZE`; the host's available memory on the CPU).
    public var total: Int
    /// Where the figures come from, for messages.
    public var source: String

    /// Limits in bytes, and where they come from (named in messages).
    ///
    /// - Parameters:
    ///   - largestBuffer: The largest single buffer, in bytes.
    ///   - total: All buffers together, in bytes.
    ///   - source: Where the figures come from, e.g. `CL_DEVICE_GLOBAL_MEM_SIZE`.
    public init(largestBuffer: Int, total: Int, source: String) {
        self.largestBuffer = largestBuffer
        self.total = total
        self.source = source
    }
}

/// Sizes every large allocation from what a run needs and checks it against the device's and the host's memory
/// before anything is allocated, so an impossible request is exit 64 naming the request and the limit, never an
/// OOM kill, a swap storm or a trap on an overflowing multiplication.
///
/// ```swift
/// let bytes = try MemoryBudget.floatBytes(parameters, copies: 4, what: "--params \(parameters)")
/// try MemoryBudget.check(what: "--params \(parameters)", hostBytes: bytes, deviceBuffers: [bytes], on: backend)
/// ```
public enum MemoryBudget {
    /// `count` float32 values times `copies`, in bytes; an overflow is a usage error naming `what`.
    ///
    /// - Parameters:
    ///   - count: Float32 values, at least 0.
    ///   - copies: How many buffers of `count` values, at least 0.
    ///   - what: The request in the user's terms (e.g. `--params 1000000`), for the message.
    /// - Returns: The bytes.
    /// - Throws: `EtaError` `.usage` for a negative count or an overflowing product.
    public static func floatBytes(_ count: Int, copies: Int = 1, what: String) throws -> Int {
        guard count >= 0, copies >= 0 else { throw EtaError(.usage, "\(what): a size must be >= 0 (got \(count))") }
        let (elements, overflow1) = count.multipliedReportingOverflow(by: copies)
        let (bytes, overflow2) = elements.multipliedReportingOverflow(by: MemoryLayout<Float>.size)
        guard !overflow1, !overflow2 else {
            throw EtaError(
                .usage, "\(what): \(count) float32 values x \(copies) is more bytes than any machine addresses")
        }
        return bytes
    }

    /// Adds byte counts, saturating instead of trapping (a saturated total fails every check).
    ///
    /// - Parameter values: Byte counts.
    /// - Returns: Their sum, or `Int.max` when it overflows.
    public static func sum(_ values: [Int]) -> Int {
        values.reduce(0) { total, value in
            let (next, overflow) = total.addingReportingOverflow(value)
            return overflow ? Int.max : next
        }
    }

    /// The host's memory available for new allocations now (Linux `MemAvailable`), nil where unknown.
    ///
    /// - Returns: Bytes, or nil when `/proc/meminfo` cannot be read.
    public static func hostAvailableBytes() -> Int? {
        guard let text = try? String(contentsOfFile: "/proc/meminfo", encoding: .utf8) else { return nil }
        for line in text.split(separator: "\n") where line.hasPrefix("MemAvailable:") {
            let fields = line.split(separator: " ")
            if fields.count >= 2, let kilobytes = Int(fields[1]) { return kilobytes * 1024 }
        }
        return nil
    }

    /// The host's limits as a `MemoryLimits` (the CPU backend's memory).
    ///
    /// - Returns: The available memory as both the largest buffer and the total (`Int.max` where unknown).
    public static func hostLimits() -> MemoryLimits {
        let available = hostAvailableBytes() ?? Int.max
        return MemoryLimits(
            largestBuffer: available, total: available, source: "the host's available memory (MemAvailable)")
    }

    /// Checks a plan before allocating: `hostBytes` of host arrays against the host's available memory, and each
    /// of `deviceBuffers` (bytes) against the backend's largest buffer, and their sum against its total.
    ///
    /// - Parameters:
    ///   - what: The request in the user's terms, for the message.
    ///   - hostBytes: Host memory the run will allocate, in bytes.
    ///   - deviceBuffers: The size of every device buffer it will allocate, in bytes.
    ///   - backend: The backend whose ``MemoryLimits`` apply.
    /// - Throws: `EtaError` `.usage` naming the request and the limit it exceeds.
    public static func check(what: String, hostBytes: Int, deviceBuffers: [Int], on backend: Backend) throws {
        if let available = hostAvailableBytes(), hostBytes > available {
            throw EtaError(
                .usage, "\(what) needs \(format(hostBytes)) of host memory; \(format(available)) is available")
        }
        let limits = backend.memoryLimits
        if let largest = deviceBuffers.max(), largest > limits.largestBuffer {
            throw EtaError(
                .usage,
                "\(what) needs a buffer of \(format(largest)); the largest \(backend.info.device) allows is "
                    + "\(format(limits.largestBuffer)) (\(limits.source))")
        }
        let total = sum(deviceBuffers)
        if total > limits.total {
            throw EtaError(
                .usage,
                "\(what) needs \(format(total)) of device memory in \(deviceBuffers.count) buffers; "
                    + "\(backend.info.device) has \(format(limits.total)) (\(limits.source))")
        }
    }

    /// `16.0 GB (16000000000 bytes)`.
    ///
    /// - Parameter bytes: A byte count.
    /// - Returns: Gigabytes (10⁹ bytes) to one decimal, and the exact count.
    public static func format(_ bytes: Int) -> String {
        String(format: "%.1f GB (%ld bytes)", Double(bytes) / 1e9, bytes)
    }
}

/// Bounds on counts a user gives that each cost memory or time per unit (steps recorded, iterations, repeats):
/// far above any real use, far below what would exhaust memory or overflow arithmetic.
public enum RunLimits {
    /// Steps `eta explore` and `eta schedule` record, and LR-range-test iterations.
    public static let steps = 10_000_000
    /// Timed repetitions of `eta bench`.
    public static let repeats = 1_000_000

    /// Throws a usage error unless `value` is in `range`, naming the option and the valid range.
    ///
    /// - Parameters:
    ///   - value: The value the user gave.
    ///   - range: The valid values.
    ///   - option: The option's name, e.g. `--steps`.
    /// - Throws: `EtaError` `.usage` when `value` is out of `range`.
    public static func check(_ value: Int, in range: ClosedRange<Int>, option: String) throws {
        guard range.contains(value) else {
            throw EtaError(.usage, "\(option) must be in \(range.lowerBound)...\(range.upperBound) (got \(value))")
        }
    }
}
