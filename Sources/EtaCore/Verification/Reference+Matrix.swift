#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The matrix optimizers, written from `torch.optim`'s single-tensor code (`_muon.py`, `_adafactor.py`): tensor by
/// tensor, in float32 with plain loops for the norms and matrix products (Muon's Newton–Schulz in float32, where
/// PyTorch uses bfloat16).
extension Reference {
    /// One step of a tensorwise rule over every tensor of `x` (its `shapes`); the tensors the rule does not update
    /// take its auxiliary optimizer over a compact vector of them, with state under `aux.` keys.
    static func tensorwise<Rule: TensorwiseRule>(
        _ rule: Rule, _ x: inout ReferenceOptimizerState, grad: [Float], step t: Int, lr: Double
    ) {
        var auxiliary: [Int] = []
        for (index, (range, shape)) in zip(x.tensors, x.shapes).enumerated() {
            guard Rule.updates(shape: shape) else {
                auxiliary.append(index)
                continue
            }
            var state: [String: [Float]] = [:]
            for (slot, stateShape) in rule.stateTensors(forShape: shape) {
                state[slot] =
                    x.state["\(slot).\(index)"] ?? [Float](repeating: 0, count: stateShape.reduce(1, *))
            }
            var param = Array(x.param[range])
            rule.referenceTensorStep(
                param: &param, grad: Array(grad[range]), shape: shape, state: &state, step: t, lr: lr)
            x.param.replaceSubrange(range, with: param)
            for (slot, values) in state { x.state["\(slot).\(index)"] = values }
        }
        guard let aux = rule.auxiliary, !auxiliary.isEmpty else { return }
        // The auxiliary optimizer sees the other tensors back to back, as the Optimizer's compact arena holds them.
        var ranges: [Range<Int>] = [], param: [Float] = [], auxGrad: [Float] = []
        for index in auxiliary {
            let range = x.tensors[index]
            ranges.append(param.count..<(param.count + range.count))
            param += x.param[range]
            auxGrad += grad[range]
        }
        var state = ReferenceOptimizerState(
            param: param,
            state: Dictionary(
                uniqueKeysWithValues: aux.stateSlots.map { slot in
                    (
                        slot,
                        x.state["aux.\(slot)"]
                            ?? [Float](repeating: aux.rule.initialValue(ofSlot: slot), count: param.count)
                    )
                }),
            host: Dictionary(
                uniqueKeysWithValues: x.host.filter { $0.key.hasPrefix("aux.") }.map {
                    (String($0.key.dropFirst(4)), $0.value)
                }), tensors: ranges)
        aux.rule.referenceStep(
            &state, grad: auxGrad, step: t, lr: lr * aux.learningRate / max(rule.lr, .leastNonzeroMagnitude))
        for (index, range) in zip(auxiliary, ranges) {
            x.param.replaceSubrange(x.tensors[index], with: state.param[range])
        }
        for (slot, values) in state.state { x.state["aux.\(slot)"] = values }
        for (key, value) in state.host { x.host["aux.\(key)"] = value }
    }

    /// Σ v² in double: whole-tensor norms and means, which torch sums pairwise and the backends by trees, are exact
    /// here to float32's rounding (a sequential float32 sum over a million elements is not).
    static func sumOfSquares(_ values: [Float]) -> Double { values.reduce(0.0) { $0 + Double($1) * Double($1) } }

    /// C[m×n] = A[m×k]·B[k×n] (row-major), sums in index order.
    static func matmul(_ a: [Float], _ b: [Float], m: Int, k: Int, n: Int) -> [Float] {
        var c = [Float](repeating: 0, count: m * n)
        for i in 0..<m {
            for j in 0..<n {
                var sum: Float = 0
                for l in 0..<k { sum = fma(a[i * k + l], b[l * n + j], sum) }
                c[i * n + j] = sum
            }
        }
        return c
    }

    static func transposed(_ a: [Float], rows: Int, cols: Int) -> [Float] {
        var t = [Float](repeating: 0, count: a.count)
        for i in 0..<rows { for j in 0..<cols { t[j * rows + i] = a[i * cols + j] } }
        return t
    }

    /// `_single_tensor_muon` for one tensor seen as [shape[0] × the rest].
    static func muon(
        _ h: Muon, param: inout [Float], grad: [Float], shape: [Int], state: inout [String: [Float]], lr: Double
    ) {
        let (rows, cols) = Muon.flattened(shape)
        guard rows * cols > 0 else { return }
        var buffer = state["momentum_buffer"]!
        var update = [Float](repeating: 0, count: grad.count)
        for i in grad.indices {
            buffer[i] = lerp(buffer[i], grad[i], Float(1 - h.momentum))  // buf.lerp_(grad, 1 - momentum)
            update[i] = h.nesterov ? lerp(grad[i], buffer[i], Float(h.momentum)) : buffer[i]
        }
        state["momentum_buffer"] = buffer
        // _zeropower_via_newtonschulz: transposed when taller than wide, normalised, then the quintic iteration.
        let tall = rows > cols
        var x = tall ? transposed(update, rows: rows, cols: cols) : update
        let (m, n) = tall ? (cols, rows) : (rows, cols)
        let norm = Float(sumOfSquares(x).squareRoot())
        x = x.map { $0 / max(norm, Float(h.eps)) }
        for _ in 0..<Int(h.nsSteps) {
            let gram = matmul(x, transposed(x, rows: m, cols: n), m: m, k: n, n: m)
            let square = matmul(gram, gram, m: m, k: m, n: m)
            // addmm(A, A, A, beta=b, alpha=c)
            let poly = zip(square, gram).map { fma(Float(h.nsC), $0, Float(h.nsB) * $1) }
            let product = matmul(poly, x, m: m, k: m, n: n)
            x = zip(product, x).map { fma(Float(h.nsA), $1, $0) }  // addmm(X, B, X, beta=a)
        }
        if tall { x = transposed(x, rows: cols, cols: rows) }
        let decay = Float(1 - lr * h.weightDecay), step = Float(-h.adjustedLR(lr, rows: rows, cols: cols))
        for i in param.indices { param[i] = fma(step, x[i], param[i] * decay) }  // mul_, then add_(alpha=-adjusted_lr)
    }

    /// `_single_tensor_adafactor` for one tensor.
    static func adafactor(
        _ h: Adafactor, param: inout [Float], grad: [Float], shape: [Int], state: inout [String: [Float]], step t: Int,
        lr: Double
    ) {
        let count = param.count
        guard count > 0 else { return }
        let g = h.maximize ? grad.map { -$0 } : grad
        let step = Double(t)
        let weight = Float(pow(step, h.beta2Decay)), rho = min(lr, 1 / step.squareRoot())
        let paramNorm = Double(Float(sumOfSquares(param).squareRoot()))
        let alpha = max(h.eps2, paramNorm / Double(count).squareRoot()) * rho
        if h.weightDecay != 0 { param = param.map { $0 * Float(1 - lr * h.weightDecay) } }
        let eps1 = Float(h.eps1)
        var estimate = [Float](repeating: 0, count: count)
        if shape.count >= 2 {
            let (matrices, rows, cols) = Adafactor.matrixView(shape)
            var rowVar = state["row_var"]!, colVar = state["col_var"]!
            for b in 0..<matrices {
                let base = b * rows * cols
                for r in 0..<rows {
                    var sum: Float = 0
                    for c in 0..<cols { sum = fma(g[base + r * cols + c], g[base + r * cols + c], sum) }
                    let norm = sum.squareRoot()
                    rowVar[b * rows + r] = lerp(rowVar[b * rows + r], norm * norm / Float(cols), weight)
                }
                for c in 0..<cols {
                    var sum: Float = 0
                    for r in 0..<rows { sum = fma(g[base + r * cols + c], g[base + r * cols + c], sum) }
                    let norm = sum.squareRoot()
                    colVar[b * cols + c] = lerp(colVar[b * cols + c], norm * norm / Float(rows), weight)
                }
                let mean = Float(rowVar[(b * rows)..<((b + 1) * rows)].reduce(0.0) { $0 + Double($1) } / Double(rows))
                for r in 0..<rows {
                    for c in 0..<cols {
                        estimate[base + r * cols + c] = rowVar[b * rows + r] * colVar[b * cols + c] / max(mean, eps1)
                    }
                }
            }
            (state["row_var"], state["col_var"]) = (rowVar, colVar)
        } else {
            var variance = state["variance"]!
            for i in 0..<count { variance[i] = lerp(variance[i], g[i] * g[i], weight) }
            state["variance"] = variance
            estimate = variance
        }
        let floor = Float(Double(eps1) * Double(eps1))
        let update = (0..<count).map { (1 / max(estimate[$0], floor).squareRoot()) * g[$0] }
        let updateNorm = Double(Float(sumOfSquares(update).squareRoot()))
        let denom = max(1, updateNorm / (Double(count).squareRoot() * h.d))
        let scale = Float(-alpha / denom)
        for i in 0..<count { param[i] = fma(scale, update[i], param[i]) }  // add_(update, alpha=-alpha/denom)
    }
}
