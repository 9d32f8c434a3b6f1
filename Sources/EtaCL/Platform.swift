import COpenCL

/// An installed OpenCL platform (an ICD such as PoCL or a GPU vendor's driver).
public struct Platform: @unchecked Sendable {
    let id: cl_platform_id

    /// Every platform the ICD loader finds; empty when none is installed.
    ///
    /// ```swift
    /// for platform in try Platform.all() { print(platform.name, try platform.devices().count) }
    /// ```
    ///
    /// - Returns: The platforms in the loader's order.
    /// - Throws: `CLError` naming `clGetPlatformIDs` for a failure other than "no platform".
    public static func all() throws -> [Platform] {
        var count: cl_uint = 0
        let status = clGetPlatformIDs(0, nil, &count)
        // The ICD loader answers CL_PLATFORM_NOT_FOUND_KHR when no vendor ICD is installed: that is "none".
        if status == -1001 || count == 0 { return [] }
        try check(status, "clGetPlatformIDs")
        var ids = [cl_platform_id?](repeating: nil, count: Int(count))
        try check(clGetPlatformIDs(count, &ids, nil), "clGetPlatformIDs")
        return ids.compactMap { $0 }.map(Platform.init(id:))
    }

    private func info(_ name: Int32) throws -> String {
        infoString(try queryInfo("clGetPlatformInfo") { clGetPlatformInfo(id, cl_platform_info(name), $0, $1, $2) })
    }

    /// `CL_PLATFORM_NAME`, e.g. "Portable Computing Language".
    public var name: String { (try? info(CL_PLATFORM_NAME)) ?? "?" }
    /// `CL_PLATFORM_VENDOR`.
    public var vendor: String { (try? info(CL_PLATFORM_VENDOR)) ?? "?" }
    /// `CL_PLATFORM_VERSION`, e.g. "OpenCL 3.0 PoCL 3.1".
    public var version: String { (try? info(CL_PLATFORM_VERSION)) ?? "?" }

    /// The platform's devices of every type.
    ///
    /// - Returns: The devices; empty when the platform has none.
    /// - Throws: `CLError` naming `clGetDeviceIDs`.
    public func devices() throws -> [Device] {
        var count: cl_uint = 0
        let status = clGetDeviceIDs(id, cl_device_type(CL_DEVICE_TYPE_ALL), 0, nil, &count)
        if status == CL_DEVICE_NOT_FOUND { return [] }
        try check(status, "clGetDeviceIDs")
        var ids = [cl_device_id?](repeating: nil, count: Int(count))
        try check(clGetDeviceIDs(id, cl_device_type(CL_DEVICE_TYPE_ALL), count, &ids, nil), "clGetDeviceIDs")
        return ids.compactMap { $0 }.map { Device(id: $0, platform: self) }
    }
}
