#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

extension Reference {
    /// One step of LAMB, Prodigy or D-Adaptation Adam, written from Optax's `lamb` and the prodigyopt and dadaptation
    /// packages' `step()`: elementwise in float32 with the torch ops' roundings, sums in double (the packages add
    /// each tensor's float32 `.item()` into a Python float). `tensors` are LAMB's norm groups.
    static func adaptive(_ c: FamilyOptimizer.Configuration, param: inout [Float], grad: [Float], state: inout [String: [Float]],
                         host: inout [String: Double], step t: Int, lr: Double, tensors: [Range<Int>]) {
        switch c.name {
        case "lamb":
            let (b1, b2, step) = (c["beta1"], c["beta2"], Double(t))
            let (bc1, bc2, eps, wd) = (Float(1 - pow(b1, step)), Float(1 - pow(b2, step)), Float(c["eps"]), Float(c["weight_decay"]))
            var direction = [Float](repeating: 0, count: param.count)
            for i in param.indices {
                state["exp_avg"]![i] = lerp(state["exp_avg"]![i], grad[i], Float(1 - b1))
                state["exp_avg_sq"]![i] = fma(Float(1 - b2) * grad[i], grad[i], state["exp_avg_sq"]![i] * Float(b2))
                let u = (state["exp_avg"]![i] / bc1) / ((state["exp_avg_sq"]![i] / bc2).squareRoot() + eps)
                direction[i] = wd != 0 ? fma(wd, param[i], u) : u
            }
            for range in tensors {
                let pp = range.reduce(0.0) { $0 + Double(param[$1]) * Double(param[$1]) }
                let uu = range.reduce(0.0) { $0 + Double(direction[$1]) * Double(direction[$1]) }
                let ratio = pp > 0 && uu > 0 ? Float(pp.squareRoot() / uu.squareRoot()) : 1
                let stepSize = -(Float(lr) * ratio)
                for i in range { param[i] = fma(stepSize, direction[i], param[i]) }
            }
        case "prodigy":
            if t == 1 { state["p0"] = param }
            guard lr > 0 else { return }
            let scalars = c.descriptor.scalars(c, t, lr, &host).values
            let (coupled, b1, mWeight, b2, vWeight, b3, sWeight) = (scalars[0], scalars[1], scalars[2], scalars[3], scalars[4], scalars[5], scalars[6])
            var sums = [0.0, 0.0]
            var g = grad
            for i in param.indices {
                if coupled != 0 { g[i] = fma(coupled, param[i], g[i]) }              // grad.add_(p, alpha=decay)
                sums[0] += Double(g[i] * (state["p0"]![i] - param[i]))
                if b1 > 0 { state["exp_avg"]![i] = fma(mWeight, g[i], state["exp_avg"]![i] * b1) }
                state["exp_avg_sq"]![i] = fma(vWeight * g[i], g[i], state["exp_avg_sq"]![i] * b2)
                state["s"]![i] = fma(sWeight, g[i], state["s"]![i] * b3)
                sums[1] += Double(abs(state["s"]![i]))
            }
            guard let update = c.descriptor.twoPhase!.finish!(c, sums, lr, &host)?.values else { return }
            let (minusDlr, dEps, decay, minusDlrD) = (update[1], update[2], update[3], update[4])
            for i in param.indices {
                let denom = state["exp_avg_sq"]![i].squareRoot() + dEps
                if decay != 0 { param[i] = fma(decay, param[i], param[i]) }           // p.add_(p, alpha=-decay*dlr)
                param[i] = b1 > 0 ? param[i] + minusDlr * state["exp_avg"]![i] / denom : param[i] + minusDlrD * g[i] / denom
            }
        default:   // dadapt_adam
            guard lr > 0 else { return }
            let s = c.descriptor.scalars(c, t, lr, &host).values
            var sums = [0.0, 0.0]
            for i in param.indices {
                let g = s[0] != 0 ? fma(s[0], param[i], grad[i]) : grad[i]
                let v = state["exp_avg_sq"]![i]
                sums[0] += Double(g * (state["s"]![i] / (v.squareRoot() + s[1])))
                state["exp_avg"]![i] = fma(s[3], g, state["exp_avg"]![i] * s[2])
                state["exp_avg_sq"]![i] = fma(s[5] * g, g, v * s[4])
                state["s"]![i] = fma(s[7], g, state["s"]![i] * s[6])
                sums[1] += Double(abs(state["s"]![i]))
            }
            guard let update = c.descriptor.twoPhase!.finish!(c, sums, lr, &host)?.values else { return }
            for i in param.indices {
                let denom = state["exp_avg_sq"]![i].squareRoot() + update[0]
                if update[1] != 0 { param[i] = fma(update[1], param[i], param[i]) }
                param[i] = param[i] + (-1) * state["exp_avg"]![i] / denom
            }
        }
    }
}
