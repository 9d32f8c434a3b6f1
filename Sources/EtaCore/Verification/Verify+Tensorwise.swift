/// `eta verify` for the tensorwise optimizers (Muon, Adafactor): a tall and a wide matrix (Muon's two Newton–Schulz
/// paths), a 3-D tensor (Adafactor's factoring over the last two dimensions) and a vector (Muon's auxiliary optimizer,
/// Adafactor's unfactored moments), against the Reference's per-tensor steps.
extension Verify {
    /// The tensors of a check of `size` elements. Muon's iteration is cubic in a matrix's side, so the matrices stay
    /// at most 1,536 elements (the Reference multiplies with plain loops) and the rest of the size is the vector;
    /// Adafactor's work is linear, so it also gets a large matrix.
    static func tensorwiseShapes(size: Int, adafactor: Bool) -> [(name: String, shape: [Int])] {
        guard size >= 24 else { return [("vector", [size])] }
        let budget = min(size / 3, 1536)
        let side = max(2, Int((Double(budget) / 4).squareRoot()))
        var shapes: [(name: String, shape: [Int])] = [
            ("tall", [2 * side, side]), ("wide", [side / 2 + 1, side + 3]), ("batched", [2, 3, side / 4 + 1]),
        ]
        var rest = size - shapes.reduce(0) { $0 + $1.shape.reduce(1, *) }
        if adafactor && rest >= 128 {
            let rows = rest / 2 / 64
            shapes.append(("large", [rows, 64]))
            rest -= rows * 64
        }
        return shapes + [("vector", [rest])]
    }

    /// Checks a tensorwise optimizer against the Reference: parameters, per-tensor state and the auxiliary state,
    /// held to ``sumDependentBound`` normwise (the backends' GEMMs and reductions sum in their own orders).
    static func checkTensorwise(
        _ configuration: OptimizerConfiguration, rule: any TensorwiseRule, spec: String, size: Int, steps: Int,
        backend: Backend
    ) throws -> VerifyResult {
        var random = SplitMix64(seed: UInt64(size) &* 0x9E37_79B9 &+ UInt64(spec.utf8.count))
        let shapes = tensorwiseShapes(size: size, adafactor: rule is Adafactor)
        let layout = try TensorLayout(shapes)
        let arena = try ParameterArena(layout: layout, stateSlots: [], backend: backend)
        let optimizer = Optimizer(configuration)
        let param = random.uniforms(size)
        try arena.upload(param, to: .parameters)
        var reference = ReferenceOptimizerState(
            param: param, tensors: layout.entries.map { $0.offset..<($0.offset + $0.count) },
            shapes: layout.entries.map(\.shape))
        for t in 1...max(1, steps) {
            let grad = random.uniforms(size).map { $0 * (t == 1 ? 1 : 0.25) }
            try arena.upload(grad, to: .gradients)
            try optimizer.step(arena)
            configuration.rule.referenceStep(&reference, grad: grad, step: t, lr: configuration.learningRate)
        }
        var comparison = Comparison()
        comparison.add("param", try arena.download(.parameters), reference.param)
        let state = try optimizer.downloadTensorState(arena)
        let kind = type(of: rule)
        for (index, entry) in layout.entries.enumerated() where kind.updates(shape: entry.shape) {
            for (slot, _) in rule.stateTensors(forShape: entry.shape) {
                comparison.add(
                    "\(slot).\(entry.name)", state["\(slot).\(entry.name)"]!, reference.state["\(slot).\(index)"]!)
            }
        }
        for slot in rule.auxiliary?.stateSlots ?? [] {
            let names = layout.entries.filter { !kind.updates(shape: $0.shape) }.map { "\(slot).\($0.name)" }
            guard let expected = reference.state["aux.\(slot)"] else { continue }
            comparison.add("aux \(slot)", names.flatMap { state[$0]! }, expected)
        }
        return comparison.result(
            kernel: configuration.kernelLabel, configuration: spec, size: size, normwiseBound: sumDependentBound)
    }
}
