import EtaBackend
import EtaCL
import Foundation

/// Bytes held by one backend's live buffers: a request is checked against the device's total before it is made,
/// so a model that cannot fit fails with the numbers (exit 64) instead of a CL error at first use (exit 70).
final class AllocationLedger: @unchecked Sendable {
    private let lock = NSLock()
    private var held = 0

    var bytes: Int {
        lock.lock()
        defer { lock.unlock() }
        return held
    }

    /// Adds `bytes` when they fit under `limit`; returns what was held before otherwise.
    func reserve(_ bytes: Int, limit: Int) -> Int? {
        lock.lock()
        defer { lock.unlock() }
        guard held <= limit - bytes else { return held }
        held += bytes
        return nil
    }

    func release(_ bytes: Int) {
        lock.lock()
        held -= bytes
        lock.unlock()
    }
}

extension OpenCLBackend {
    /// The device's `CL_DEVICE_MAX_MEM_ALLOC_SIZE` and `CL_DEVICE_GLOBAL_MEM_SIZE`.
    public var memoryLimits: MemoryLimits {
        let device = context.device
        return MemoryLimits(
            largestBuffer: Int(clamping: device.maxAllocationBytes), total: Int(clamping: device.globalMemoryBytes),
            source: "CL_DEVICE_MAX_MEM_ALLOC_SIZE / CL_DEVICE_GLOBAL_MEM_SIZE")
    }

    /// Reserves `bytes` for a new buffer, or throws a usage error naming the request and the limit it exceeds.
    func reserveAllocation(bytes: Int) throws {
        let limits = memoryLimits
        guard bytes <= limits.largestBuffer else {
            throw EtaError(
                .usage,
                "a buffer of \(MemoryBudget.format(bytes)) exceeds the largest \(info.device) allocates, "
                    + "\(MemoryBudget.format(limits.largestBuffer)) (CL_DEVICE_MAX_MEM_ALLOC_SIZE)")
        }
        if let held = ledger.reserve(bytes, limit: limits.total) {
            throw EtaError(
                .usage,
                "a buffer of \(MemoryBudget.format(bytes)) does not fit: \(MemoryBudget.format(held)) of "
                    + "\(info.device)'s \(MemoryBudget.format(limits.total)) are in use (CL_DEVICE_GLOBAL_MEM_SIZE)")
        }
    }

    /// A device that runs out of memory on allocation or first use (OpenCL allocates lazily) is the same usage error.
    func allocationFailure(_ error: Error, bytes: Int) -> Error {
        guard let cl = error as? CLError,
            [
                "CL_MEM_OBJECT_ALLOCATION_FAILURE", "CL_OUT_OF_RESOURCES", "CL_OUT_OF_HOST_MEMORY",
                "CL_INVALID_BUFFER_SIZE",
            ].contains(cl.statusName)
        else { return error }
        return EtaError(
            .usage,
            "\(info.device) could not allocate a buffer of \(MemoryBudget.format(bytes)) (\(cl.call): "
                + "\(cl.statusName)); "
                + "\(MemoryBudget.format(ledger.bytes)) were in use")
    }
}
