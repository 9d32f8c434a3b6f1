import Foundation
import Testing

@testable import Eta

/// The backends under test: the CPU backend always; the OpenCL one when a device is present (PoCL in CI,
/// where ETA_REQUIRE_OPENCL=1 turns a missing device into a failure rather than a skip).
enum Backends {
    /// What `--device opencl` picks: never the Oclgrind simulator while PoCL is there (it would take hours).
    static let openCLDevice: Device? = try? DeviceSelection.defaultOpenCLDevice(among: DeviceSelection.openCLDevices())
    static let requireOpenCL = ProcessInfo.processInfo.environment["ETA_REQUIRE_OPENCL"] == "1"
    static var runOpenCL: Bool { openCLDevice != nil || requireOpenCL }

    // Shared by tests that run concurrently: the CPU backend keeps no state between operations and the OpenCL
    // backend serialises its launches (`launchLock`).
    nonisolated(unsafe) static let cpu = CPUBackend()
    nonisolated(unsafe) static let opencl: Result<OpenCLBackend, Error> = Result {
        guard let device = openCLDevice else {
            throw EtaError(.unavailable, "no OpenCL device: install pocl-opencl-icd")
        }
        return try OpenCLBackend(device: device, cache: ProgramCache(directory: nil))
    }

    static func named(_ name: String) throws -> Backend {
        name == "cpu" ? cpu : try opencl.get()
    }

    /// "cpu", plus "opencl" whenever OpenCL tests are to run.
    static var names: [String] { runOpenCL ? ["cpu", "opencl"] : ["cpu"] }
}

@Suite("Backends against the Reference")
struct BackendTests {
    static let sizes = [0, 1, 2, 3, 7, 16, 17, 31, 1021, 65_537]

    @Test(
        "every optimizer configuration matches the Reference on every size",
        arguments: Backends.names, Verify.optimizerSpecs)
    func optimizer(backendName: String, spec: String) throws {
        let backend = try Backends.named(backendName)
        let configuration = try OptimizerConfiguration(spec: spec)
        for size in Self.sizes {
            let result = try Verify.checkOptimizer(configuration, spec: spec, size: size, steps: 3, backend: backend)
            if configuration.rule is any TensorwiseRule {
                // GEMMs and norms summed in the backends' orders against the Reference's loops and double sums.
                #expect(result.passed, "\(backendName) \(spec) n=\(size): \(result.tolerance)")
            } else if configuration.isTwoPass {
                // Steps scaled by sums over the arena: float32 block sums against the Reference's double sums.
                #expect(result.passed, "\(backendName) \(spec) n=\(size): \(result.tolerance)")
                if size <= 17 { #expect(result.maxULP <= 8, "\(backendName) \(spec) n=\(size): \(result.maxULP) ULP") }
            } else {
                // Both backends do the Reference's operations in its order: bit-identical on CPUs (0 ULP).
                #expect(
                    result.maxULP == 0,
                    "\(backendName) \(spec) n=\(size): \(result.maxULP) ULP in \(result.worstBuffer)")
            }
        }
    }

    @Test(
        "16-bit state storage matches the Reference with its state rounded after every step, bit for bit",
        arguments: Backends.names, [StorageType.bf16, .fp16])
    func stateStorage(backendName: String, type: StorageType) throws {
        let backend = try Backends.named(backendName)
        for spec in Verify.stateStorageSpecs {
            for size in [0, 1, 17, 65_537] {
                let result = try Verify.checkOptimizer(
                    try OptimizerConfiguration(spec: spec), spec: spec, size: size, steps: 3,
                    backend: backend, storage: Verify.Storage(state: type))
                #expect(
                    result.maxULP == 0,
                    "\(backendName) \(result.configuration) n=\(size): \(result.maxULP) ULP in \(result.worstBuffer)")
            }
        }
    }

    @Test(
        "16-bit parameters, with and without a float32 master copy, match the Reference bit for bit",
        arguments: Backends.names)
    func parameterStorage(backendName: String) throws {
        let backend = try Backends.named(backendName)
        for (spec, storage) in Verify.storageChecks where storage.parameters != .fp32 {
            for size in [1, 17, 65_537] {
                let result = try Verify.checkOptimizer(
                    try OptimizerConfiguration(spec: spec), spec: spec, size: size, steps: 3,
                    backend: backend, storage: storage)
                #expect(
                    result.maxULP == 0,
                    "\(backendName) \(result.configuration) n=\(size): \(result.maxULP) ULP in \(result.worstBuffer)")
            }
        }
    }

    @Test("a master copy keeps updates that 16-bit parameters alone lose")
    func masterKeepsSmallUpdates() throws {
        // lr·g = 1e-4 is below half a bf16 ulp of 1 (2^-8): bf16 parameters never move, the master does.
        let layout = try TensorLayout([("x", [64])])
        let configuration = try OptimizerConfiguration(spec: "sgd:lr=1e-4")
        let plain = try ParameterArena(layout: layout, stateSlots: [], backend: Backends.cpu, parameterType: .bf16)
        let mastered = try ParameterArena(
            layout: layout, stateSlots: [], backend: Backends.cpu, parameterType: .bf16, masterCopy: true)
        for arena in [plain, mastered] {
            try arena.upload([Float](repeating: 1, count: 64), to: .parameters)
            try arena.upload([Float](repeating: 1, count: 64), to: .gradients)
            let optimizer = Optimizer(configuration)
            for _ in 0..<100 { try optimizer.step(arena) }
        }
        #expect(try plain.download(.parameters).allSatisfy { $0 == 1 })
        #expect(try mastered.downloadMaster().allSatisfy { abs($0 - 0.99) < 1e-4 })
        #expect(
            try mastered.download(.parameters).allSatisfy {
                $0 == StorageType.bf16.rounded(try! mastered.downloadMaster()[0])
            })
        #expect(configuration.bytesPerParameter(stateType: .fp32, parameterType: .bf16, master: true) == 14)
        #expect(
            try OptimizerConfiguration(spec: "adam").bytesPerParameter(stateType: .bf16, parameterType: .bf16) == 16)
    }

    @Test("16-bit storage rounds to nearest even and keeps NaN and infinities")
    func storageRounding() {
        #expect(StorageType.bf16.rounded(1 + 1.0 / 256) == 1)  // a tie rounds to even
        #expect(StorageType.bf16.rounded(1 + 3.0 / 256) == 1 + 4.0 / 256)
        #expect(StorageType.bf16.rounded(.nan).isNaN && StorageType.bf16.rounded(.infinity) == .infinity)
        #expect(StorageType.fp16.rounded(1e-8) == 0 && StorageType.fp16.rounded(70000) == .infinity)
        let values: [Float] = [1, -2.5, 3e-5, 65504, .nan]
        for type in StorageType.allCases {
            let round = type.unpack(type.pack(values), count: values.count)
            #expect(
                zip(round, values.map(type.rounded)).allSatisfy {
                    $0.bitPattern == $1.bitPattern || ($0.isNaN && $1.isNaN)
                }, "\(type)")
        }
    }

    @Test("a 2^22+ arena in one launch (multi-threaded on the CPU)", arguments: Backends.names)
    func large(backendName: String) throws {
        let backend = try Backends.named(backendName)
        for spec in ["adam:lr=0.01,amsgrad=true", "sgd:lr=0.1,momentum=0.9,nesterov=true,weight_decay=0.01"] {
            let result = try Verify.checkOptimizer(
                try OptimizerConfiguration(spec: spec), spec: spec, size: 4_194_319, steps: 2, backend: backend)
            #expect(result.maxULP == 0, "\(backendName) \(spec): \(result.maxULP) ULP")
        }
    }

    @Test("bandwidth-reference kernels", arguments: Backends.names)
    func bandwidth(backendName: String) throws {
        let backend = try Backends.named(backendName)
        for size in [0, 1, 17, 65_537] {
            for result in try Verify.checkBandwidthKernels(size: size, backend: backend) {
                #expect(result.maxULP == 0, "\(backendName) \(result.kernel) n=\(size)")
            }
        }
    }

    @Test("the arena's named views copy to and from the device", arguments: Backends.names)
    func arena(backendName: String) throws {
        let backend = try Backends.named(backendName)
        let layout = try TensorLayout([("weight", [2, 3]), ("bias", [2])])
        let arena = try ParameterArena(layout: layout, stateSlots: ["exp_avg"], backend: backend)
        #expect(try arena.download(.state("exp_avg")) == [Float](repeating: 0, count: 8))
        try arena.upload([1, 2, 3, 4, 5, 6, 7, 8], to: .parameters)
        try arena.upload([-1, -2], to: .parameters, tensor: "bias")
        #expect(try arena.download(.parameters, tensor: "weight") == [1, 2, 3, 4, 5, 6])
        #expect(try arena.download(.parameters) == [1, 2, 3, 4, 5, 6, -1, -2])
        #expect(throws: EtaError.self) { try arena.upload([1], to: .parameters, tensor: "bias") }
        #expect(throws: EtaError.self) { try arena.download(.parameters, tensor: "gamma") }
        #expect(throws: EtaError.self) { try arena.download(.state("exp_avg_sq")) }
    }

    @Test("the same optimizer gives the same arena on both backends, step for step", .enabled(if: Backends.runOpenCL))
    func backendsAgree() throws {
        let spec = "adamw:lr=0.01,amsgrad=true"
        let a = try Verify.checkOptimizer(
            try OptimizerConfiguration(spec: spec), spec: spec, size: 1000, steps: 5, backend: Backends.cpu)
        let b = try Verify.checkOptimizer(
            try OptimizerConfiguration(spec: spec), spec: spec, size: 1000, steps: 5, backend: try Backends.opencl.get()
        )
        #expect(a.maxULP == 0 && b.maxULP == 0)
    }
}

@Suite("explore trajectories against PyTorch")
struct ExploreVsTorchTests {
    @Test(
        "both backends match torch.optim float32 within 1e-4 at every step of 300",
        arguments: Backends.names, TorchFixtures.loaded.cases.indices)
    func trajectory(backendName: String, index: Int) throws {
        let fixture = TorchFixtures.loaded.cases[index]
        let run = try Explore.run(
            objective: try Objective(name: fixture.objective, curvatures: fixture.curvatures),
            optimizer: try OptimizerConfiguration(spec: fixture.spec), steps: fixture.steps,
            backend: try Backends.named(backendName))
        #expect(run.steps.count == 300)
        var worst: Float = 0
        for (step, expected) in zip(run.steps, fixture.x) {
            worst = max(worst, zip(step.x, expected).map { abs($0 - $1) }.max() ?? 0)
        }
        let lossWorst = zip(run.steps, fixture.loss).map { abs($0.loss - $1) / max(1, abs($1)) }.max() ?? 0
        let tolerance = ReferenceVsTorchTests.tolerance(for: fixture)
        #expect(worst <= tolerance, "\(backendName) \(fixture.spec): max |x - torch| \(worst)")
        #expect(lossWorst <= tolerance, "\(backendName) \(fixture.spec): loss deviation \(lossWorst)")
        if let expected = fixture.d {
            let ds = run.steps.compactMap(\.stepSizeEstimate)
            let worstD = zip(ds, expected).map { abs($0 - $1) / max(abs($1), 1e-30) }.max() ?? 0
            #expect(
                ds.count == expected.count && worstD <= 1e-4,
                "\(backendName) \(fixture.spec): d deviates by \(worstD) relative")
        }
    }
}

@Suite("Device selection")
struct DeviceSelectionTests {
    @Test("cpu and ETA_DEVICE")
    func cpu() throws {
        let selection = try DeviceSelection.resolve("cpu")
        guard case .cpu = selection.choice else { Issue.record("cpu did not pick the CPU backend"); return }
        let fromEnvironment = try DeviceSelection.resolve(nil, environment: ["ETA_DEVICE": "cpu"])
        guard case .cpu = fromEnvironment.choice else { Issue.record("ETA_DEVICE=cpu was ignored"); return }
        #expect(try DeviceSelection.resolve(nil, environment: [:]).reason.hasPrefix("auto"))
    }

    @Test("auto prefers a GPU and otherwise explains why it chose the CPU")
    func auto() throws {
        let selection = try DeviceSelection.resolve("auto")
        let devices = try DeviceSelection.openCLDevices()
        if devices.contains(where: { $0.kind == .gpu && !$0.isSimulator }) {
            guard case .opencl = selection.choice else {
                Issue.record("a GPU is present but auto chose the CPU"); return
            }
        } else {
            guard case .cpu = selection.choice else { Issue.record("auto chose OpenCL without a GPU"); return }
            #expect(selection.reason.contains("CPU backend"))
        }
    }

    @Test("a simulator (Oclgrind, which calls itself a GPU) is picked only by name, never by auto or opencl")
    func simulatorOnlyByName() throws {
        let devices = try DeviceSelection.openCLDevices()
        // Only where Oclgrind's ICD is registered (tools/setup.sh) or OCL_ICD_VENDORS lists it.
        guard devices.contains(where: \.isSimulator) else { return }
        if devices.contains(where: { !$0.isSimulator }) {
            for value in ["auto", "opencl"] {
                if case .opencl(let device) = try DeviceSelection.resolve(value).choice {
                    #expect(!device.isSimulator, "\(value)")
                }
            }
        }
        guard case .opencl(let picked) = try DeviceSelection.resolve("oclgrind").choice else {
            Issue.record("--device oclgrind did not pick an OpenCL device"); return
        }
        #expect(picked.isSimulator)
    }

    @Test("bad values fail with the documented kinds", .enabled(if: Backends.runOpenCL))
    func errors() throws {
        do { _ = try DeviceSelection.resolve("opencl:x"); Issue.record("opencl:x resolved") } catch let error
            as EtaError
        { #expect(error.exitCode == 64) }
        do { _ = try DeviceSelection.resolve("opencl:99"); Issue.record("opencl:99 resolved") } catch let error
            as EtaError
        { #expect(error.exitCode == 69); #expect(error.message.contains("opencl:0")) }
        do { _ = try DeviceSelection.resolve("no-such-device-name"); Issue.record("a bogus name resolved") } catch let
            error as EtaError
        { #expect(error.exitCode == 69); #expect(error.message.contains("valid values")) }
        let substring = try DeviceSelection.resolve(String(try #require(Backends.openCLDevice).name.prefix(6)))
        guard case .opencl = substring.choice else { Issue.record("a name substring did not pick OpenCL"); return }
    }
}
