import EtaSupport
import Foundation
import Testing

@testable import EtaCL

/// The first OpenCL device that is not a simulator (Oclgrind may be installed too), or nil. CI sets
/// ETA_REQUIRE_OPENCL=1 so a missing PoCL fails instead of skipping.
enum OpenCLAvailability {
    static let device: Device? = try? Platform.all().flatMap { try $0.devices() }.first { !$0.isSimulator }
    static var runDeviceTests: Bool {
        device != nil || ProcessInfo.processInfo.environment["ETA_REQUIRE_OPENCL"] == "1"
    }
}

struct MissingDevice: Error, CustomStringConvertible {
    var description: String { "no OpenCL device (ETA_REQUIRE_OPENCL=1): install pocl-opencl-icd" }
}

func requireDevice() throws -> Device {
    guard let device = OpenCLAvailability.device else { throw MissingDevice() }
    return device
}

func temporaryFolder() -> URL {
    let url = FileManager.default.temporaryDirectory.appendingPathComponent("eta-test-\(UUID().uuidString)")
    try? FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    return url
}

@Suite("SHA-256")
struct SHA256Tests {
    @Test("FIPS 180-4 test vectors")
    func vectors() {
        #expect(SHA256.hex(of: Array("abc".utf8)) == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        #expect(SHA256.hex(of: []) == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
        #expect(
            SHA256.hex(of: Array("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq".utf8))
                == "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1")
        #expect(
            SHA256.hex(of: [UInt8](repeating: 0x61, count: 1_000_000))
                == "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0")
    }

    @Test("updates in pieces of any size give the one-call digest (partial blocks carried across calls)")
    func pieces() {
        let message = (0..<1_000).map { UInt8(truncatingIfNeeded: $0 &* 31) }
        let whole = SHA256.hex(of: message)
        for piece in [1, 7, 63, 64, 65, 200] {
            var hasher = SHA256()
            for start in stride(from: 0, to: message.count, by: piece) {
                hasher.update(Array(message[start..<min(start + piece, message.count)]))
            }
            #expect(hasher.finalize().map { String(format: "%02x", $0) }.joined() == whole, "pieces of \(piece)")
        }
    }
}

@Suite("OpenCL runtime", .enabled(if: OpenCLAvailability.runDeviceTests))
struct RuntimeTests {
    @Test("platforms and devices report their properties")
    func properties() throws {
        let device = try requireDevice()
        #expect(!device.name.isEmpty)
        #expect(device.computeUnits > 0)
        #expect(device.globalMemoryBytes > 0)
        #expect(device.maxWorkGroupSize > 0)
        #expect(device.openCLCVersion.hasPrefix("OpenCL C"))
    }

    @Test("a kernel that fails to build surfaces the compiler's log")
    func buildFailure() throws {
        let context = try Context(device: try requireDevice())
        do {
            _ = try Program(
                source: "__kernel void broken(__global float* x) { x[0] = undefined_name; }", context: context)
            Issue.record("a broken kernel built")
        } catch let error as CLError {
            #expect(error.call == "clBuildProgram")
            #expect(error.statusName == "CL_BUILD_PROGRAM_FAILURE")
            #expect(error.buildLog.contains("undefined_name"), "\(error.buildLog)")
            #expect(error.description.contains("build log"))
        }
    }

    @Test("an impossible allocation is a clear error, not a crash")
    func impossibleAllocation() throws {
        let device = try requireDevice()
        let context = try Context(device: device)
        do {
            _ = try context.makeBuffer(bytes: Int(device.maxAllocationBytes) + 4096)
            Issue.record("an allocation past CL_DEVICE_MAX_MEM_ALLOC_SIZE succeeded")
        } catch let error as CLError {
            #expect(error.call == "clCreateBuffer")
            #expect(error.description.hasPrefix("clCreateBuffer failed: CL_"))
        }
    }

    @Test("buffers round-trip, fill and copy; a kernel runs")
    func buffersAndKernels() throws {
        let context = try Context(device: try requireDevice(), profiling: true)
        let values: [Float] = (0..<100).map(Float.init)
        let a = try context.makeBuffer(bytes: 400), b = try context.makeBuffer(bytes: 400)
        try values.withUnsafeBytes { try a.write(from: $0) }
        let program = try Program(
            source:
                "__kernel void twice(__global const float* a, __global float* b) { size_t i = get_global_id(0); "
                + "if (i < 100) b[i] = 2 * a[i]; }",
            context: context)
        let kernel = try program.kernel(named: "twice")
        try kernel.setArgument(0, a)
        try kernel.setArgument(1, b)
        let event = try kernel.enqueue(on: context.queue, global: 100, local: 32, withEvent: true)
        try event?.wait()
        #expect(try event!.durationSeconds() >= 0)
        var out = [Float](repeating: 0, count: 100)
        try out.withUnsafeMutableBytes { try b.read(into: $0) }
        #expect(out == values.map { 2 * $0 })
        try b.fill(7, offset: 8, bytes: 8)
        try out.withUnsafeMutableBytes { try b.read(into: $0) }
        #expect(out[1] == 2 && out[2] == 7 && out[3] == 7 && out[4] == 8)
        #expect(throws: CLError.self) { try program.kernel(named: "no_such_kernel") }
    }
}

@Suite("Program binary cache", .enabled(if: OpenCLAvailability.runDeviceTests))
struct ProgramCacheTests {
    static let source = "__kernel void one(__global float* x) { x[get_global_id(0)] = 1.0f; }"

    @Test("a second process-level lookup loads the cached binary")
    func hit() throws {
        let folder = temporaryFolder()
        let context = try Context(device: try requireDevice())
        let first = try ProgramCache(directory: folder).program(source: Self.source, options: "", context: context)
        #expect(first.origin == .compiled)
        let second = try ProgramCache(directory: folder).program(source: Self.source, options: "", context: context)
        #expect(second.origin == .cached)
        _ = try second.kernel(named: "one")
        // Another option set is another key.
        let third = try ProgramCache(directory: folder).program(source: Self.source, options: "-DX=1", context: context)
        #expect(third.origin == .compiled)
    }

    @Test(
        "a corrupt entry is rebuilt and replaced, never trusted", arguments: ["flip", "truncate", "garbage", "stale"])
    func corrupt(damage: String) throws {
        let folder = temporaryFolder()
        let context = try Context(device: try requireDevice())
        let cache = ProgramCache(directory: folder)
        _ = try cache.program(source: Self.source, options: "", context: context)
        let key = ProgramCache.key(source: Self.source, options: "", device: context.device)
        let url = cache.entryURL(key: key)!
        var bytes = [UInt8](try Data(contentsOf: url))
        switch damage {
        case "flip": bytes[bytes.count - 10] ^= 0xFF
        case "truncate": bytes.removeLast(bytes.count / 2)
        case "garbage": bytes = Array("not a cache entry".utf8)
        default: bytes[12] ^= 0x01  // the stored key no longer matches
        }
        try Data(bytes).write(to: url)
        let fresh = ProgramCache(directory: folder)
        let program = try fresh.program(source: Self.source, options: "", context: context)
        #expect(program.origin == .compiled)
        #expect(fresh.events.contains { $0.contains("rebuilding") }, "\(fresh.events)")
        // The rebuilt entry replaced the damaged one and is good again.
        #expect(
            try ProgramCache(directory: folder).program(source: Self.source, options: "", context: context).origin
                == .cached)
    }

    @Test("an entry with a valid checksum but another program's binary is rebuilt, not failed on every run")
    func foreignBinary() throws {
        let folder = temporaryFolder()
        let context = try Context(device: try requireDevice())
        let other = try Program(
            source: "__kernel void two(__global float* x) { x[get_global_id(0)] = 2.0f; }", context: context)
        // A well-formed entry under this source's key whose payload is the other program's binary.
        let cache = ProgramCache(directory: folder)
        let key = ProgramCache.key(source: Self.source, options: "", device: context.device)
        try cache.writeEntry(url: cache.entryURL(key: key)!, key: key, binary: try other.binary())
        #expect(
            cache.readEntry(url: cache.entryURL(key: key)!, key: key) != nil,
            "the planted entry should pass every file check")

        let fresh = ProgramCache(directory: folder)
        let program = try fresh.program(source: Self.source, options: "", context: context, kernels: ["one"])
        #expect(program.origin == .compiled)
        #expect(fresh.events.contains { $0.contains("lacks kernel one") }, "\(fresh.events)")
        _ = try program.kernel(named: "one")
        // The replaced entry is this program's binary: the next run loads it.
        let next = try ProgramCache(directory: folder).program(
            source: Self.source, options: "", context: context, kernels: ["one"])
        #expect(next.origin == .cached)
        _ = try next.kernel(named: "one")
    }

    @Test("kernels report a work-group limit within the device's, and local sizes are powers of two within it")
    func workGroupLimits() throws {
        let context = try Context(device: try requireDevice())
        let kernel = try Program(source: Self.source, context: context).kernel(named: "one")
        #expect(kernel.maxWorkGroupSize >= 1 && kernel.maxWorkGroupSize <= context.device.maxWorkGroupSize)
        for preferred in [1, 3, 32, 64, 100, 1 << 20] {
            let local = kernel.localSize(preferred: preferred)
            #expect(
                local >= 1 && local <= max(1, min(preferred, kernel.maxWorkGroupSize)) && local & (local - 1) == 0,
                "\(preferred) -> \(local)")
        }
        #expect(
            Kernel.powerOfTwo(atMost: 0) == 1 && Kernel.powerOfTwo(atMost: 64) == 64
                && Kernel.powerOfTwo(atMost: 1000) == 512)
    }

    @Test("ETA_CACHE_DIR overrides the location; empty turns the disk cache off")
    func location() {
        #expect(ProgramCache.defaultDirectory(environment: ["ETA_CACHE_DIR": "/tmp/x"])?.path == "/tmp/x")
        #expect(ProgramCache.defaultDirectory(environment: ["ETA_CACHE_DIR": ""]) == nil)
        #expect(
            ProgramCache.defaultDirectory(environment: ["XDG_CACHE_HOME": "/c", "HOME": "/h"])?.path
                == "/c/eta/programs")
        #expect(ProgramCache.defaultDirectory(environment: ["HOME": "/h"])?.path == "/h/.cache/eta/programs")
    }
}
