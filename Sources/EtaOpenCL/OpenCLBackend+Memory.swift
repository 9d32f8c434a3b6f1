import EtaCL
import EtaCore

extension OpenCLBackend {
    /// The device's `CL_DEVICE_MAX_MEM_ALLOC_SIZE` and `CL_DEVICE_GLOBAL_MEM_SIZE`.
    public var memoryLimits: MemoryLimits {
        let device = context.device
        return MemoryLimits(largestBuffer: Int(clamping: device.maxAllocationBytes), total: Int(clamping: device.globalMemoryBytes),
                            source: "CL_DEVICE_MAX_MEM_ALLOC_SIZE / CL_DEVICE_GLOBAL_MEM_SIZE")
    }

    /// A buffer the device cannot hold is a usage error naming the request and the limit, not a CL failure (exit 70).
    func checkAllocation(bytes: Int) throws {
        let limits = memoryLimits
        guard bytes <= limits.largestBuffer else {
            throw EtaError(.usage, "a buffer of \(MemoryBudget.format(bytes)) exceeds the largest \(info.device) allocates, "
                           + "\(MemoryBudget.format(limits.largestBuffer)) (CL_DEVICE_MAX_MEM_ALLOC_SIZE)")
        }
    }
}
