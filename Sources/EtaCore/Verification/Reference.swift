#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The specification in code: plain scalar Swift, one small function per operation, written to be obviously
/// right and to follow PyTorch's single-tensor implementation operation by operation (float32 tensors,
/// Python-double scalars rounded to float where a tensor op takes them). Every backend is tested against it,
/// and it is tested against PyTorch.
///
/// Rounding follows PyTorch's CPU kernels, measured with torch 2.x (`tools/probe_torch_rounding.py`):
/// `add(x, alpha=a)`, `lerp` and `addcmul` are fused multiply-adds (`fma(a, x, self)`,
/// `fma(w, end − self, self)` or `fma(w − 1, end − self, end)`, `fma(value·t1, t2, self)`); `mul`, `div`
/// and `addcdiv` (`self + value·t1 / t2`) round each operation. `fma(a, b, c)` below is `c.addingProduct(a, b)`.
/// Only `sqrt` differs: Eta's is correctly rounded, PyTorch's vectorised one is within 1 ulp.
///
/// ```swift
/// var p: [Float] = [1, 2], m: [Float] = [0, 0], v: [Float] = [0, 0], vmax: [Float] = []
/// Reference.adam(param: &p, grad: [0.5, -0.5], expAvg: &m, expAvgSq: &v, maxExpAvgSq: &vmax,
///                hyper: Adam(), step: 1, lr: 1e-3)
/// ```
public enum Reference {
    /// `torch.optim.SGD`, single tensor: step `t` is 1-based.
    ///
    /// - Parameters:
    ///   - param: The parameters, updated in place.
    ///   - grad: The gradient.
    ///   - momentumBuffer: The `momentum_buffer` state (as many values as `param`; unused without momentum).
    ///   - h: The hyperparameters.
    ///   - t: The step, from 1.
    ///   - lr: The scheduled learning rate.
    public static func sgd(
        param: inout [Float], grad: [Float], momentumBuffer: inout [Float],
        hyper h: SGDHyperparameters, step t: Int, lr: Double
    ) {
        for i in param.indices {
            var g = h.maximize ? -grad[i] : grad[i]
            if h.weightDecay != 0 {
                g = fma(Float(h.weightDecay), param[i], g)  // grad.add(param, alpha=wd)
            }
            if h.momentum != 0 {
                if t == 1 {
                    momentumBuffer[i] = g  // buf = clone(grad)
                } else {
                    let decayed = momentumBuffer[i] * Float(h.momentum)  // buf.mul_(momentum)
                    momentumBuffer[i] = fma(Float(1 - h.dampening), g, decayed)  //  .add_(grad, alpha=1-dampening)
                }
                g =
                    h.nesterov
                    ? fma(Float(h.momentum), momentumBuffer[i], g)  // grad.add(buf, alpha=momentum)
                    : momentumBuffer[i]
            }
            param[i] = fma(Float(-lr), g, param[i])  // param.add_(grad, alpha=-lr)
        }
    }

    /// `torch.optim.Adam` / `AdamW`, single tensor: step `t` is 1-based; `maxExpAvgSq` is used with AMSGrad only.
    ///
    /// - Parameters:
    ///   - param: The parameters, updated in place.
    ///   - grad: The gradient.
    ///   - expAvg: The `exp_avg` state.
    ///   - expAvgSq: The `exp_avg_sq` state.
    ///   - maxExpAvgSq: The `max_exp_avg_sq` state (may be empty without AMSGrad).
    ///   - h: The hyperparameters.
    ///   - t: The step, from 1.
    ///   - lr: The scheduled learning rate.
    public static func adam(
        param: inout [Float], grad: [Float], expAvg: inout [Float], expAvgSq: inout [Float],
        maxExpAvgSq: inout [Float], hyper h: AdamHyperparameters, step t: Int, lr: Double
    ) {
        let biasCorrection1 = 1 - pow(h.beta1, Double(t))
        let biasCorrection2 = 1 - pow(h.beta2, Double(t))
        let stepSize = lr / biasCorrection1
        let biasCorrection2Sqrt = biasCorrection2.squareRoot()
        let weight = Float(1 - h.beta1)
        for i in param.indices {
            var g = h.maximize ? -grad[i] : grad[i]
            if h.weightDecay != 0 {
                if h.decoupledWeightDecay {
                    param[i] = param[i] * Float(1 - lr * h.weightDecay)  // param.mul_(1 - lr*wd)
                } else {
                    g = fma(Float(h.weightDecay), param[i], g)  // grad.add(param, alpha=wd)
                }
            }
            // exp_avg.lerp_(grad, 1-beta1): torch.lerp's forms for small and large weights.
            expAvg[i] =
                abs(weight) < 0.5
                ? fma(weight, g - expAvg[i], expAvg[i])
                : fma(weight - 1, g - expAvg[i], g)
            // exp_avg_sq.mul_(beta2).addcmul_(grad, grad, value=1-beta2)
            expAvgSq[i] = fma(Float(1 - h.beta2) * g, g, expAvgSq[i] * Float(h.beta2))
            var second = expAvgSq[i]
            if h.amsgrad {
                maxExpAvgSq[i] = max(maxExpAvgSq[i], expAvgSq[i])  // torch.maximum(max_v, v)
                second = maxExpAvgSq[i]
            }
            let denom = second.squareRoot() / Float(biasCorrection2Sqrt) + Float(h.eps)
            param[i] = param[i] + Float(-stepSize) * expAvg[i] / denom  // addcdiv_(m, denom, value=-step_size)
        }
    }

    /// a·b + c with one rounding, as PyTorch's vectorised `add(alpha=)`, `lerp` and `addcmul`.
    @inline(__always)
    static func fma(_ a: Float, _ b: Float, _ c: Float) -> Float { c.addingProduct(a, b) }

    /// `clip_grad_norm_`: scales by min(1, maxNorm / (‖g‖ + 1e-6)) and returns the pre-clip norm (in double).
    ///
    /// - Parameters:
    ///   - grads: The gradients, scaled in place.
    ///   - maxNorm: The largest global L2 norm.
    /// - Returns: The norm before clipping.
    @discardableResult
    public static func clipByNorm(_ grads: inout [Float], maxNorm: Float) -> Double {
        let norm = grads.reduce(0.0) { $0 + Double($1) * Double($1) }.squareRoot()
        let coefficient = min(maxNorm / (Float(norm) + 1e-6), 1)
        for i in grads.indices { grads[i] = grads[i] * coefficient }
        return norm
    }

    /// `clip_grad_value_`: clamps to [−clip, clip].
    ///
    /// - Parameters:
    ///   - grads: The gradients, clamped in place.
    ///   - clip: The largest absolute value.
    public static func clipByValue(_ grads: inout [Float], clip: Float) {
        for i in grads.indices { grads[i] = min(max(grads[i], -clip), clip) }
    }

    /// destination ← source.
    ///
    /// - Parameters:
    ///   - source: The values.
    ///   - destination: Receives them (at least as long as `source`).
    public static func copy(source: [Float], destination: inout [Float]) {
        for i in source.indices { destination[i] = source[i] }
    }

    /// a += s·b, c += s·b, d += s·b.
    ///
    /// - Parameters:
    ///   - a: Updated in place.
    ///   - b: The values added.
    ///   - c: Updated in place.
    ///   - d: Updated in place.
    ///   - scale: s.
    public static func stream28(a: inout [Float], b: [Float], c: inout [Float], d: inout [Float], scale: Float) {
        for i in b.indices {
            let x = b[i]
            a[i] = fma(scale, x, a[i])
            c[i] = fma(scale, x, c[i])
            d[i] = fma(scale, x, d[i])
        }
    }
}
