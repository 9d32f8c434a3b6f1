#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// LAMB, Prodigy and D-Adaptation Adam, written from Optax's `lamb` and the prodigyopt and dadaptation packages'
/// `step()`: elementwise in float32 with the torch ops' roundings, sums in double (the packages add each tensor's
/// float32 `.item()` into a Python float). The host-side estimate of d is the rule's own (it is the packages'
/// Python arithmetic, not a kernel's).
extension Reference {
    static func lamb(_ h: LAMB, _ x: inout ReferenceOptimizerState, grad: [Float], step t: Int, lr: Double) {
        let step = Double(t)
        let (bc1, bc2, eps, wd) = (
            Float(1 - pow(h.beta1, step)), Float(1 - pow(h.beta2, step)), Float(h.eps), Float(h.weightDecay)
        )
        var direction = [Float](repeating: 0, count: x.param.count)
        for i in x.param.indices {
            x.state["exp_avg"]![i] = lerp(x.state["exp_avg"]![i], grad[i], Float(1 - h.beta1))
            x.state["exp_avg_sq"]![i] = fma(
                Float(1 - h.beta2) * grad[i], grad[i], x.state["exp_avg_sq"]![i] * Float(h.beta2))
            let u = (x.state["exp_avg"]![i] / bc1) / ((x.state["exp_avg_sq"]![i] / bc2).squareRoot() + eps)
            direction[i] = wd != 0 ? fma(wd, x.param[i], u) : u
        }
        for range in x.tensors {
            let pp = range.reduce(0.0) { $0 + Double(x.param[$1]) * Double(x.param[$1]) }
            let uu = range.reduce(0.0) { $0 + Double(direction[$1]) * Double(direction[$1]) }
            let ratio = pp > 0 && uu > 0 ? Float(pp.squareRoot() / uu.squareRoot()) : 1
            let stepSize = -(Float(lr) * ratio)
            for i in range { x.param[i] = fma(stepSize, direction[i], x.param[i]) }
        }
    }

    static func prodigy(_ h: Prodigy, _ x: inout ReferenceOptimizerState, grad: [Float], step t: Int, lr: Double) {
        if t == 1 { x.state["p0"] = x.param }
        guard lr > 0 else { return }
        let scalars = h.scalars(step: t, lr: lr, host: &x.host).values
        let (coupled, b1, mWeight, b2, vWeight, b3, sWeight) = (
            scalars[0], scalars[1], scalars[2], scalars[3], scalars[4], scalars[5], scalars[6]
        )
        var sums = [0.0, 0.0]
        var g = grad
        for i in x.param.indices {
            if coupled != 0 { g[i] = fma(coupled, x.param[i], g[i]) }  // grad.add_(p, alpha=decay)
            sums[0] += Double(g[i] * (x.state["p0"]![i] - x.param[i]))
            if b1 > 0 { x.state["exp_avg"]![i] = fma(mWeight, g[i], x.state["exp_avg"]![i] * b1) }
            x.state["exp_avg_sq"]![i] = fma(vWeight * g[i], g[i], x.state["exp_avg_sq"]![i] * b2)
            x.state["s"]![i] = fma(sWeight, g[i], x.state["s"]![i] * b3)
            sums[1] += Double(abs(x.state["s"]![i]))
        }
        guard let update = h.finish(sums: sums, lr: lr, host: &x.host)?.values else { return }
        let (minusDlr, dEps, decay, minusDlrD) = (update[1], update[2], update[3], update[4])
        for i in x.param.indices {
            let denom = x.state["exp_avg_sq"]![i].squareRoot() + dEps
            if decay != 0 { x.param[i] = fma(decay, x.param[i], x.param[i]) }  // p.add_(p, alpha=-decay*dlr)
            x.param[i] =
                b1 > 0 ? x.param[i] + minusDlr * x.state["exp_avg"]![i] / denom : x.param[i] + minusDlrD * g[i] / denom
        }
    }

    static func dadaptAdam(_ h: DAdaptAdam, _ x: inout ReferenceOptimizerState, grad: [Float], step t: Int, lr: Double)
    {
        guard lr > 0 else { return }
        let s = h.scalars(step: t, lr: lr, host: &x.host).values
        var sums = [0.0, 0.0]
        for i in x.param.indices {
            let g = s[0] != 0 ? fma(s[0], x.param[i], grad[i]) : grad[i]
            let v = x.state["exp_avg_sq"]![i]
            sums[0] += Double(g * (x.state["s"]![i] / (v.squareRoot() + s[1])))
            x.state["exp_avg"]![i] = fma(s[3], g, x.state["exp_avg"]![i] * s[2])
            x.state["exp_avg_sq"]![i] = fma(s[5] * g, g, v * s[4])
            x.state["s"]![i] = fma(s[7], g, x.state["s"]![i] * s[6])
            sums[1] += Double(abs(x.state["s"]![i]))
        }
        guard let update = h.finish(sums: sums, lr: lr, host: &x.host)?.values else { return }
        for i in x.param.indices {
            let denom = x.state["exp_avg_sq"]![i].squareRoot() + update[0]
            if update[1] != 0 { x.param[i] = fma(update[1], x.param[i], x.param[i]) }
            x.param[i] = x.param[i] + (-1) * x.state["exp_avg"]![i] / denom
        }
    }
}
