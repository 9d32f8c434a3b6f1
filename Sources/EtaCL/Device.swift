import COpenCL

/// One OpenCL device and the properties Eta reports and tunes by.
public struct Device: @unchecked Sendable {
    let id: cl_device_id
    /// The platform this device belongs to.
    public let platform: Platform

    /// The kind of device, from `CL_DEVICE_TYPE`.
    public enum Kind: String, Sendable { case gpu, cpu, accelerator, other }

    private func bytes(_ name: Int32) throws -> [UInt8] {
        try queryInfo("clGetDeviceInfo") { clGetDeviceInfo(id, cl_device_info(name), $0, $1, $2) }
    }
    private func string(_ name: Int32) -> String { (try? infoString(bytes(name))) ?? "?" }
    private func scalar<T: FixedWidthInteger>(_ name: Int32, _ type: T.Type) -> T {
        (try? infoScalar(bytes(name), as: T.self)) ?? 0
    }

    /// `CL_DEVICE_NAME`.
    public var name: String { string(CL_DEVICE_NAME) }
    /// `CL_DEVICE_VENDOR`.
    public var vendor: String { string(CL_DEVICE_VENDOR) }
    /// `CL_DRIVER_VERSION`: part of the program-cache key.
    public var driverVersion: String { string(CL_DRIVER_VERSION) }
    /// `CL_DEVICE_VERSION`, e.g. "OpenCL 3.0 PoCL HSTR: ...".
    public var version: String { string(CL_DEVICE_VERSION) }
    /// `CL_DEVICE_OPENCL_C_VERSION`, e.g. "OpenCL C 1.2 PoCL".
    public var openCLCVersion: String { string(CL_DEVICE_OPENCL_C_VERSION) }
    /// `CL_DEVICE_MAX_COMPUTE_UNITS`.
    public var computeUnits: Int { Int(scalar(CL_DEVICE_MAX_COMPUTE_UNITS, cl_uint.self)) }
    /// `CL_DEVICE_GLOBAL_MEM_SIZE`, in bytes.
    public var globalMemoryBytes: UInt64 { scalar(CL_DEVICE_GLOBAL_MEM_SIZE, cl_ulong.self) }
    /// `CL_DEVICE_MAX_MEM_ALLOC_SIZE`, in bytes: the largest single buffer.
    public var maxAllocationBytes: UInt64 { scalar(CL_DEVICE_MAX_MEM_ALLOC_SIZE, cl_ulong.self) }
    /// `CL_DEVICE_MAX_WORK_GROUP_SIZE`.
    public var maxWorkGroupSize: Int { Int(scalar(CL_DEVICE_MAX_WORK_GROUP_SIZE, Int.self)) }
    /// Whether single-precision divide and sqrt can be built correctly rounded
    /// (`CL_FP_CORRECTLY_ROUNDED_DIVIDE_SQRT` in `CL_DEVICE_SINGLE_FP_CONFIG`).
    public var supportsCorrectlyRoundedDivideSqrt: Bool {
        scalar(CL_DEVICE_SINGLE_FP_CONFIG, cl_ulong.self) & cl_ulong(CL_FP_CORRECTLY_ROUNDED_DIVIDE_SQRT) != 0
    }

    /// Whether this is the Oclgrind simulator (an OpenCL 1.2 interpreter that checks memory accesses): a
    /// correctness tool, never picked unless asked for by name, and one that needs `Buffer.fill`'s workaround.
    public var isSimulator: Bool { platform.name == "Oclgrind" }

    /// `CL_DEVICE_TYPE`, reduced to the kind Eta's device choice cares about.
    public var kind: Kind {
        let type = scalar(CL_DEVICE_TYPE, cl_device_type.self)
        if type & cl_device_type(CL_DEVICE_TYPE_GPU) != 0 { return .gpu }
        if type & cl_device_type(CL_DEVICE_TYPE_CPU) != 0 { return .cpu }
        if type & cl_device_type(CL_DEVICE_TYPE_ACCELERATOR) != 0 { return .accelerator }
        return .other
    }
}
