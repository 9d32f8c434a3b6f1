import Foundation

/// One kernel configuration checked on one size: the worst disagreement with the Reference over every
/// buffer the kernel writes.
public struct VerifyResult: Equatable, Sendable, Codable {
    /// The kernel function, e.g. `adam_update`.
    public let kernel: String
    /// What was run: an optimizer SPEC, or the bandwidth kernel's name.
    public let configuration: String
    /// Elements of the arena (or buffers) checked.
    public let size: Int
    /// The largest |backend − Reference| over finite differences.
    public let maxAbsoluteError: Double
    /// The largest relative difference, |backend − Reference| / |Reference|.
    public let maxRelativeError: Double
    /// The largest distance in units in the last place between backend and Reference.
    public let maxULP: Int64
    /// The buffer (role) where the worst ULP distance was found.
    public let worstBuffer: String
    /// Whether the check met `tolerance`.
    public let passed: Bool
    /// The rule `passed` was judged by.
    public let tolerance: String
}

/// Runs every kernel on a backend against the Reference.
///
/// Each optimizer configuration takes `steps` updates from seeded random data, so the momentum-buffer
/// initialisation (step 1) and its recurrence (steps 2+) are both covered, and AMSGrad's running maximum
/// is exercised by gradients that shrink between steps.
///
/// Tolerance: `maxULP` 8 per element. Eta's kernels do the Reference's operations in its order, with
/// correctly rounded divide and sqrt where the device offers them, so the CPU backend and PoCL agree bit for
/// bit (0 ULP); a GPU built without correctly rounded divide/sqrt is allowed the OpenCL spec's 3 ULP for
/// sqrt and 2.5 for divide, carried through a few steps. The two-pass optimizers are judged normwise instead
/// (``sumDependentBound``), and the training-step kernels against absolute bounds scaled to the data.
///
/// ```swift
/// let results = try Verify.run(backend: CPUBackend(), sizes: [0, 1, 17, 1_000_003])
/// results.allSatisfy(\.passed)
/// ```
public enum Verify {
    /// Sizes that include 0, 1, primes, non-multiples of every vector width, and more than 2^22.
    public static let defaultSizes = [0, 1, 2, 3, 5, 7, 13, 16, 17, 31, 64, 1021, 65_537, 1_000_003, 4_194_319]
    /// The ULP tolerance (see the type's documentation).
    public static let ulpTolerance: Int64 = 8

    /// The normwise bound for optimizers whose step depends on sums over the arena (LAMB's trust ratio, Prodigy's
    /// and D-Adaptation's d): the backends sum float32 partials per block of 16,384 elements, the Reference in double,
    /// so each block's sum carries a relative error of about √16384·2⁻²⁴ ≈ 7.6e-6 (random-walk rounding; the
    /// data here has no cancellation: squares, and a gradient of one direction), which reaches every element through
    /// the step size. Observed: at most 4e-7 on the CPU backend and PoCL. Elementwise arithmetic is still the
    /// Reference's operation for operation: a wrong formula is off by O(1).
    public static let sumDependentBound = 1e-5

    /// The most float32 arrays of one size a check holds at once: on the host the Reference's parameters,
    /// gradients and up to four state slots plus the downloads compared against them; on the device the arena's
    /// parameters, gradients, state slots, master copy and the bandwidth kernels' five buffers.
    static let hostArraysPerElement = 12, deviceArraysPerElement = 8

    /// Refuses sizes whose arrays cannot fit before anything is allocated (exit 64 naming the size and the limit).
    static func checkMemory(sizes: [Int], backend: Backend) throws {
        for size in sizes {
            let what = "verifying at size \(size)"
            guard size >= 0 else { throw EtaError(.usage, "size \(size) is not a size (valid: integers >= 0)") }
            let host = try MemoryBudget.floatBytes(size, copies: hostArraysPerElement, what: what)
            let buffer = try MemoryBudget.floatBytes(size, what: what)
            try MemoryBudget.check(
                what: what, hostBytes: host, deviceBuffers: Array(repeating: buffer, count: deviceArraysPerElement),
                on: backend)
        }
    }

    /// Runs every configuration at every size; `progress` receives each result as it is made.
    /// `only`: just the configurations whose SPEC or kernel name contains this text.
    ///
    /// - Parameters:
    ///   - backend: The backend to check.
    ///   - sizes: Arena sizes to check each optimizer configuration at, each ≥ 0.
    ///   - steps: Updates per optimizer check (two-pass optimizers take 3 more).
    ///   - only: Text the configuration's label or kernel name must contain; nil: everything, layers included.
    ///   - progress: Called with each result as it is made.
    /// - Returns: Every result, in the order made.
    /// - Throws: `EtaError` `.usage` for a negative size or one the host or device cannot hold, or the backend's error.
    public static func run(
        backend: Backend, sizes: [Int] = defaultSizes, steps: Int = 3, only: String? = nil,
        progress: (VerifyResult) -> Void = { _ in }
    ) throws -> [VerifyResult] {
        try checkMemory(sizes: sizes, backend: backend)
        let stored = storageChecks
        if let only {
            var kept: [VerifyResult] = []
            let matching = optimizerSpecs.map { (spec: $0, storage: Storage()) } + stored
            for (spec, storage) in matching where label(spec, storage).contains(only) {
                for size in sizes {
                    let result = try checkOptimizer(
                        try OptimizerConfiguration(spec: spec), spec: spec, size: size, steps: steps,
                        backend: backend, storage: storage)
                    progress(result)
                    kept.append(result)
                }
            }
            if !kept.isEmpty || sizes.isEmpty { return kept }
            return try run(backend: backend, sizes: sizes, steps: steps).filter {
                $0.kernel.contains(only) || $0.configuration.contains(only)
            }
        }
        var results: [VerifyResult] = []
        for spec in optimizerSpecs {
            let configuration = try OptimizerConfiguration(spec: spec)
            for size in sizes {
                let result = try checkOptimizer(configuration, spec: spec, size: size, steps: steps, backend: backend)
                progress(result)
                results.append(result)
            }
        }
        for (spec, storage) in stored {
            let configuration = try OptimizerConfiguration(spec: spec)
            // The storage variants share the float32 kernels' indexing, checked above up to > 2^22; up to 1,000,003
            // (past the CPU backend's threading threshold) they cover their own load and store paths.
            for size in sizes where size <= 1_000_003 || sizes.allSatisfy({ $0 > 1_000_003 }) {
                let result = try checkOptimizer(
                    configuration, spec: spec, size: size, steps: steps, backend: backend, storage: storage)
                progress(result)
                results.append(result)
            }
        }
        for size in sizes {
            for result in try checkBandwidthKernels(size: size, backend: backend) {
                progress(result)
                results.append(result)
            }
        }
        return results + (try runLayers(backend: backend, progress: progress))
            + (try runImageLayers(backend: backend, progress: progress))
            + (try runNormalizationLayers(backend: backend, progress: progress))
            + (try runSequenceLayers(backend: backend, progress: progress))
    }

    /// Checks one optimizer configuration at one size.
    ///
    /// - Parameters:
    ///   - configuration: The optimizer.
    ///   - spec: Its SPEC, for the result's label.
    ///   - size: Elements of the arena (split into three tensors).
    ///   - steps: Updates to take (two-pass optimizers take 3 more).
    ///   - backend: The backend to check.
    ///   - storage: How state and parameters are stored.
    /// - Returns: The worst disagreement over the parameters (and master copy) and every state slot.
    /// - Throws: `EtaError` `.usage` for 16-bit storage the optimizer cannot keep or memory the device lacks, or the
    ///   backend's error.
    public static func checkOptimizer(
        _ configuration: OptimizerConfiguration, spec: String, size: Int, steps: Int,
        backend: Backend, storage: Storage = Storage()
    ) throws -> VerifyResult {
        if let rule = configuration.rule as? any TensorwiseRule, storage == Storage() {
            return try checkTensorwise(
                configuration, rule: rule, spec: spec, size: size, steps: steps, backend: backend)
        }
        let stateType = storage.state
        var random = SplitMix64(seed: UInt64(size) &* 0x9E37_79B9 &+ UInt64(spec.utf8.count))
        // Three tensors, so LAMB's per-tensor norms are checked across tensor boundaries.
        let layout = try TensorLayout([("x", [size / 2]), ("y", [size / 4]), ("z", [size - size / 2 - size / 4])])
        let tensors = layout.entries.map { $0.offset..<($0.offset + $0.count) }
        let arena = try ParameterArena(
            layout: layout, stateSlots: configuration.stateSlots, backend: backend, stateType: stateType,
            parameterType: storage.parameters, masterCopy: storage.master)
        let optimizer = Optimizer(configuration)
        try optimizer.initializeState(arena)
        var param = random.uniforms(size)
        try arena.upload(param, to: .parameters)
        // Without a master copy the parameters themselves are what 16-bit storage keeps.
        if !storage.master { param = param.map(storage.parameters.rounded) }
        var reference = ReferenceOptimizerState(
            param: param,
            state: Dictionary(
                uniqueKeysWithValues: configuration.stateSlots.map { slot in
                    (
                        slot,
                        [Float](
                            repeating: stateType.rounded(configuration.rule.initialValue(ofSlot: slot)), count: size)
                    )
                }), tensors: tensors)
        // Optimizers that estimate a step size see one gradient direction (a consistent descent), so d grows.
        let adaptive = configuration.isTwoPass
        let direction = random.uniforms(size)
        for t in 1...(adaptive ? steps + 3 : steps) {
            // Gradients shrink after the first step so AMSGrad's maximum differs from v.
            let scale: Float = t == 1 ? 1 : 0.25
            let grad = adaptive ? direction.map { $0 * (1 + 0.5 * scale) } : random.uniforms(size).map { $0 * scale }
            try arena.upload(grad, to: .gradients)
            try optimizer.step(arena)
            configuration.rule.referenceStep(&reference, grad: grad, step: t, lr: configuration.learningRate)
            // What 16-bit storage keeps of this step's state (and parameters, without a master copy).
            if stateType != .fp32 {
                for (slot, values) in reference.state { reference.state[slot] = values.map(stateType.rounded) }
            }
            if !storage.master { reference.param = reference.param.map(storage.parameters.rounded) }
        }
        var comparison = Comparison()
        comparison.add("param", try arena.download(.parameters), reference.param.map(storage.parameters.rounded))
        if storage.master { comparison.add("master", try arena.downloadMaster(), reference.param) }
        for slot in configuration.stateSlots {
            comparison.add(slot, try arena.download(.state(slot)), reference.state[slot]!)
        }
        if configuration.isTwoPass {
            return comparison.result(
                kernel: configuration.kernelLabel, configuration: spec, size: size, normwiseBound: sumDependentBound)
        }
        return comparison.result(kernel: configuration.kernel, configuration: label(spec, storage), size: size)
    }

    /// Checks the bandwidth-reference kernels at one size.
    ///
    /// - Parameters:
    ///   - size: Elements per buffer.
    ///   - backend: The backend to check.
    /// - Returns: The results of `copy` and `stream28`.
    /// - Throws: The backend's error.
    public static func checkBandwidthKernels(size: Int, backend: Backend) throws -> [VerifyResult] {
        var random = SplitMix64(seed: UInt64(size) &+ 17)
        let inputs = (0..<4).map { _ in random.uniforms(size) }
        let buffers = try inputs.map { values -> DeviceBuffer in
            let buffer = try backend.makeBuffer(count: size)
            try backend.write(values, to: buffer)
            return buffer
        }
        let destination = try backend.makeBuffer(count: size)
        try backend.run(.copy(source: buffers[0], destination: destination, count: size))
        var copied = [Float](repeating: 0, count: size)
        Reference.copy(source: inputs[0], destination: &copied)
        var copyComparison = Comparison()
        copyComparison.add("destination", try backend.read(destination), copied)

        let scale: Float = 0.37
        try backend.run(
            .stream28(a: buffers[0], b: buffers[1], c: buffers[2], d: buffers[3], count: size, scale: scale))
        var (a, c, d) = (inputs[0], inputs[2], inputs[3])
        Reference.stream28(a: &a, b: inputs[1], c: &c, d: &d, scale: scale)
        var streamComparison = Comparison()
        streamComparison.add("a", try backend.read(buffers[0]), a)
        streamComparison.add("c", try backend.read(buffers[2]), c)
        streamComparison.add("d", try backend.read(buffers[3]), d)
        return [
            copyComparison.result(kernel: "copy", configuration: "copy", size: size),
            streamComparison.result(kernel: "stream28", configuration: "stream28", size: size),
        ]
    }
}

/// Accumulates the worst errors between backend output and Reference over several buffers.
struct Comparison {
    var maxAbsolute = 0.0
    var maxRelative = 0.0
    var maxULP: Int64 = 0
    var worstBuffer = "-"
    /// The largest max|actual − expected| / max|expected| over the buffers (NaN counts as infinite).
    var maxNormwise = 0.0

    mutating func add(_ name: String, _ actual: [Float], _ expected: [Float]) {
        precondition(actual.count == expected.count, "compared buffers differ in length")
        let scale = expected.reduce(0.0) { max($0, Double(abs($1))) }
        var worst = 0.0
        for i in actual.indices {
            let error = Double(abs(actual[i] - expected[i]))
            worst = error.isNaN ? (actual[i].isNaN && expected[i].isNaN ? worst : .infinity) : max(worst, error)
        }
        maxNormwise = max(maxNormwise, scale > 0 ? worst / scale : worst)
        for i in actual.indices {
            let ulp = Float.ulpDistance(actual[i], expected[i])
            if ulp > maxULP || (ulp == maxULP && worstBuffer == "-") {
                if ulp > 0 { worstBuffer = name }
                maxULP = ulp
            }
            let absolute = Double(abs(actual[i] - expected[i]))
            if absolute.isFinite {
                maxAbsolute = max(maxAbsolute, absolute)
                maxRelative = max(
                    maxRelative, absolute / max(Double(abs(expected[i])), Double(Float.leastNormalMagnitude)))
            }
        }
    }

    /// Passes within `Verify.ulpTolerance` ULP, or, for accumulating and transcendental kernels, within an
    /// absolute bound scaled to the data.
    func result(
        kernel: String, configuration: String, size: Int, absoluteBound: Double? = nil, normwiseBound: Double? = nil
    ) -> VerifyResult {
        var passed = absoluteBound.map { maxAbsolute <= $0 && maxULP != .max } ?? (maxULP <= Verify.ulpTolerance)
        var tolerance = absoluteBound.map { "abs <= \(String(format: "%.1e", $0))" } ?? "ulp <= \(Verify.ulpTolerance)"
        if let normwiseBound {
            passed = maxNormwise <= normwiseBound
            tolerance =
                "normwise <= \(String(format: "%.1e", normwiseBound)) (got \(String(format: "%.1e", maxNormwise)))"
        }
        return VerifyResult(
            kernel: kernel, configuration: configuration, size: size, maxAbsoluteError: maxAbsolute,
            maxRelativeError: maxRelative, maxULP: maxULP, worstBuffer: maxULP > 0 ? worstBuffer : "-",
            passed: passed, tolerance: tolerance)
    }
}

extension Float {
    /// The number of representable floats between `a` and `b` (0 when equal, both zeros, or both NaN;
    /// `Int64.max` when exactly one is NaN).
    ///
    /// - Parameters:
    ///   - a: A float.
    ///   - b: Another float.
    /// - Returns: The distance in units in the last place.
    public static func ulpDistance(_ a: Float, _ b: Float) -> Int64 {
        if a.isNaN || b.isNaN { return a.isNaN && b.isNaN ? 0 : .max }
        func ordered(_ x: Float) -> Int64 {
            let bits = Int64(Int32(bitPattern: x.bitPattern))
            return bits < 0 ? Int64(Int32.min) - bits : bits
        }
        return abs(ordered(a) - ordered(b))
    }
}

/// A small seeded generator (SplitMix64), so every run and every backend sees the same data.
public struct SplitMix64: RandomNumberGenerator {
    private var state: UInt64

    /// - Parameter seed: The seed; equal seeds give equal sequences.
    public init(seed: UInt64) { state = seed }

    /// The next 64 random bits.
    ///
    /// - Returns: The value.
    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// `count` floats uniform in [−1, 1).
    ///
    /// - Parameter count: How many.
    /// - Returns: The floats, each a multiple of 2⁻³¹.
    public mutating func uniforms(_ count: Int) -> [Float] {
        (0..<count).map { _ in Float(Int32(truncatingIfNeeded: next() >> 32)) / 2_147_483_648 }
    }
}
