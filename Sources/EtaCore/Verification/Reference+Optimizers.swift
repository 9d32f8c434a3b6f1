#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The one-pass optimizers besides SGD and Adam, written from the reference implementations' single-tensor code:
/// `torch.optim` for rmsprop, adagrad, adadelta, adamax, nadam, radam; lion-pytorch for lion; facebookresearch's
/// schedule_free for the Schedule-Free pair. Element by element in float32 with the torch ops' roundings.
extension Reference {
    /// torch.lerp(self, end, w) with the CPU kernel's roundings.
    static func lerp(_ start: Float, _ end: Float, _ w: Float) -> Float {
        abs(w) < 0.5 ? fma(w, end - start, start) : fma(w - 1, end - start, end)
    }

    /// The gradient as torch.optim's L2 optimizers take it: negated for maximize, then grad.add(param, alpha=wd).
    static func l2Gradient(_ grad: Float, _ param: Float, weightDecay wd: Double, maximize: Bool) -> Float {
        let g = maximize ? -grad : grad
        return wd != 0 ? fma(Float(wd), param, g) : g
    }

    static func rmsprop(_ h: RMSprop, _ x: inout ReferenceOptimizerState, grad: [Float], lr: Double) {
        for i in x.param.indices {
            let g = l2Gradient(grad[i], x.param[i], weightDecay: h.weightDecay, maximize: h.maximize)
            x.state["square_avg"]![i] = fma(Float(1 - h.alpha) * g, g, x.state["square_avg"]![i] * Float(h.alpha))
            var avg: Float
            if h.centered {
                x.state["grad_avg"]![i] = lerp(x.state["grad_avg"]![i], g, Float(1 - h.alpha))
                avg = fma(-x.state["grad_avg"]![i], x.state["grad_avg"]![i], x.state["square_avg"]![i]).squareRoot()
            } else {
                avg = x.state["square_avg"]![i].squareRoot()
            }
            avg = avg + Float(h.eps)
            if h.momentum > 0 {
                // mul_.addcdiv_
                x.state["momentum_buffer"]![i] = x.state["momentum_buffer"]![i] * Float(h.momentum) + g / avg
                x.param[i] = fma(Float(-lr), x.state["momentum_buffer"]![i], x.param[i])
            } else {
                x.param[i] = x.param[i] + Float(-lr) * g / avg  // addcdiv_
            }
        }
    }

    static func adagrad(_ h: Adagrad, _ x: inout ReferenceOptimizerState, grad: [Float], step t: Int, lr: Double) {
        let clr = lr / (1 + Double(t - 1) * h.lrDecay)
        for i in x.param.indices {
            let g = l2Gradient(grad[i], x.param[i], weightDecay: h.weightDecay, maximize: h.maximize)
            x.state["sum"]![i] = fma(g, g, x.state["sum"]![i])  // addcmul_(g, g, value=1)
            x.param[i] = x.param[i] + Float(-clr) * g / (x.state["sum"]![i].squareRoot() + Float(h.eps))
        }
    }

    static func adadelta(_ h: Adadelta, _ x: inout ReferenceOptimizerState, grad: [Float], lr: Double) {
        let (rho, eps) = (h.rho, Float(h.eps))
        for i in x.param.indices {
            let g = l2Gradient(grad[i], x.param[i], weightDecay: h.weightDecay, maximize: h.maximize)
            x.state["square_avg"]![i] = fma(Float(1 - rho) * g, g, x.state["square_avg"]![i] * Float(rho))
            let delta =
                (x.state["acc_delta"]![i] + eps).squareRoot() / (x.state["square_avg"]![i] + eps).squareRoot() * g
            x.state["acc_delta"]![i] = fma(Float(1 - rho) * delta, delta, x.state["acc_delta"]![i] * Float(rho))
            x.param[i] = fma(Float(-lr), delta, x.param[i])
        }
    }

    static func adamax(_ h: Adamax, _ x: inout ReferenceOptimizerState, grad: [Float], step t: Int, lr: Double) {
        let clr = lr / (1 - pow(h.beta1, Double(t)))
        for i in x.param.indices {
            let g = l2Gradient(grad[i], x.param[i], weightDecay: h.weightDecay, maximize: h.maximize)
            x.state["exp_avg"]![i] = lerp(x.state["exp_avg"]![i], g, Float(1 - h.beta1))
            x.state["exp_inf"]![i] = max(x.state["exp_inf"]![i] * Float(h.beta2), abs(g) + Float(h.eps))
            x.param[i] = x.param[i] + Float(-clr) * x.state["exp_avg"]![i] / x.state["exp_inf"]![i]
        }
    }

    static func asgd(_ h: ASGD, _ x: inout ReferenceOptimizerState, grad: [Float], step t: Int, lr: Double) {
        // eta and mu are 0-dim float32 tensors: the lr at the first step and 1, then recomputed after each step.
        let eta = Float(x.host["eta"] ?? lr), mu = Float(x.host["mu"] ?? 1)
        for i in x.param.indices {
            let g = l2Gradient(grad[i], x.param[i], weightDecay: h.weightDecay, maximize: h.maximize)
            x.param[i] = x.param[i] * Float(1 - h.lambd * Double(eta))  // param.mul_(1 - lambd * eta)
            x.param[i] = fma(-eta, g, x.param[i])  // param.add_(grad, alpha=-eta)
            let ax = x.state["ax"]![i]
            x.state["ax"]![i] = mu != 1 ? ax + (x.param[i] - ax) * mu : x.param[i]
        }
        let step = Double(Float(t))
        x.host["eta"] = Double(Float(lr / pow(1 + h.lambd * lr * step, h.alpha)))
        x.host["mu"] = Double(Float(1 / max(1, step - h.t0)))
    }

    static func rprop(_ h: Rprop, _ x: inout ReferenceOptimizerState, grad: [Float], step t: Int, lr: Double) {
        let (minus, plus) = (Float(h.etaminus), Float(h.etaplus))
        for i in x.param.indices {
            var g = h.maximize ? -grad[i] : grad[i]
            let product = g * x.state["prev"]![i]
            // sign = grad.mul(prev).sign(), then sign[>0] = etaplus, sign[<0] = etaminus, sign[==0] = 1.
            let factor: Float = product > 0 ? plus : product < 0 ? minus : 1
            let start = t == 1 ? Float(lr) : x.state["step_size"]![i]  // full_like(grad, lr) at the first step
            let size = min(max(start * factor, Float(h.stepSizeMin)), Float(h.stepSizeMax))
            x.state["step_size"]![i] = size
            if factor == minus { g = 0 }  // grad[sign.eq(etaminus)] = 0
            let direction: Float = g > 0 ? 1 : g < 0 ? -1 : 0
            x.param[i] = x.param[i] - direction * size  // addcmul_(grad.sign(), step_size, value=-1)
            x.state["prev"]![i] = g
        }
    }

    /// NAdam's and RAdam's shared opening: decoupled decay or the L2 gradient, then Adam's two moments.
    private static func adamMoments(
        _ x: inout ReferenceOptimizerState, _ i: Int, grad: Float, beta1: Double, beta2: Double,
        weightDecay wd: Double, decoupled: Bool, maximize: Bool, lr: Double
    ) -> Float {
        if wd != 0 && decoupled { x.param[i] = x.param[i] * Float(1 - lr * wd) }
        let g = l2Gradient(grad, x.param[i], weightDecay: decoupled ? 0 : wd, maximize: maximize)
        x.state["exp_avg"]![i] = lerp(x.state["exp_avg"]![i], g, Float(1 - beta1))
        x.state["exp_avg_sq"]![i] = fma(Float(1 - beta2) * g, g, x.state["exp_avg_sq"]![i] * Float(beta2))
        return g
    }

    static func nadam(_ h: NAdam, _ x: inout ReferenceOptimizerState, grad: [Float], step t: Int, lr: Double) {
        let (mu, muNext) = h.momentumSchedule(step: t)
        let product = Double(Float(x.host["mu_product"] ?? 1) * Float(mu))  // a float32 tensor in PyTorch
        x.host["mu_product"] = product
        let productNext = product * muNext
        let bc2 = 1 - pow(h.beta2, Double(t))
        for i in x.param.indices {
            let g = adamMoments(
                &x, i, grad: grad[i], beta1: h.beta1, beta2: h.beta2, weightDecay: h.weightDecay,
                decoupled: h.decoupledWeightDecay, maximize: h.maximize, lr: lr)
            let denom = (x.state["exp_avg_sq"]![i] / Float(bc2)).squareRoot() + Float(h.eps)
            x.param[i] = x.param[i] + Float(-lr * (1 - mu) / (1 - product)) * g / denom
            x.param[i] = x.param[i] + Float(-lr * muNext / (1 - productNext)) * x.state["exp_avg"]![i] / denom
        }
    }

    static func radam(_ h: RAdam, _ x: inout ReferenceOptimizerState, grad: [Float], step t: Int, lr: Double) {
        let step = Double(t)
        let bc1 = 1 - pow(h.beta1, step), bc2 = 1 - pow(h.beta2, step)
        let rhoInf = 2 / (1 - h.beta2) - 1
        let rhoT = rhoInf - 2 * step * pow(h.beta2, step) / bc2
        for i in x.param.indices {
            _ = adamMoments(
                &x, i, grad: grad[i], beta1: h.beta1, beta2: h.beta2, weightDecay: h.weightDecay,
                decoupled: h.decoupledWeightDecay, maximize: h.maximize, lr: lr)
            var update = x.state["exp_avg"]![i] / Float(bc1) * Float(lr)
            if rhoT > 5 {
                let rect = ((rhoT - 4) * (rhoT - 2) * rhoInf / ((rhoInf - 4) * (rhoInf - 2) * rhoT)).squareRoot()
                let adaptive = Float(bc2.squareRoot()) / (x.state["exp_avg_sq"]![i].squareRoot() + Float(h.eps))
                update = update * adaptive * Float(rect)
            }
            x.param[i] = x.param[i] - update  // add_(x, alpha=-1)
        }
    }

    /// Schedule-Free AdamW (`adam` holds beta2 and eps) or SGD (`adam` nil).
    static func scheduleFree(
        _ h: some ScheduleFreeRule & OptimizerRule, adam: (beta2: Double, eps: Double)?,
        _ x: inout ReferenceOptimizerState, grad: [Float], step t: Int, lr: Double
    ) {
        if t == 1 { x.state["z"] = x.param }  // z = clone(p) at the first step
        let k = Double(t - 1)
        let lrK = lr * (k < h.warmupSteps ? (k + 1) / h.warmupSteps : 1)
        let lrMax = max(lrK, x.host["lr_max"] ?? -1)
        let weight = pow(k + 1, h.r) * pow(lrMax, h.weightLRPower)
        let weightSum = (x.host["weight_sum"] ?? 0) + weight
        (x.host["lr_max"], x.host["weight_sum"]) = (lrMax, weightSum)
        let ckp1 = weightSum == 0 ? 0 : weight / weightSum
        let beta = h.averagingBeta!, wd = h.weightDecayValue
        for i in x.param.indices {
            var g = grad[i]
            if let adam {
                let bc2 = 1 - pow(adam.beta2, Double(t))
                x.state["exp_avg_sq"]![i] = fma(
                    Float(1 - adam.beta2) * g, g, x.state["exp_avg_sq"]![i] * Float(adam.beta2))
                g = g / ((x.state["exp_avg_sq"]![i] / Float(bc2)).squareRoot() + Float(adam.eps))  // grad.div_(denom)
            }
            if wd != 0 { g = fma(Float(wd), x.param[i], g) }  // add_(y, alpha=decay)
            let z = x.state["z"]![i]
            // y.lerp_(z).add_
            x.param[i] = fma(Float(lrK * (beta * (1 - ckp1) - 1)), g, lerp(x.param[i], z, Float(ckp1)))
            x.state["z"]![i] = fma(Float(-lrK), g, z)  // z.sub_(grad, alpha=lr)
        }
    }

    static func lion(_ h: Lion, _ x: inout ReferenceOptimizerState, grad: [Float], lr: Double) {
        // Python computes 1 - beta in double; the tensor op rounds it to float.
        let (b1, b2, w1, w2) = (Float(h.beta1), Float(h.beta2), Float(1 - h.beta1), Float(1 - h.beta2))
        for i in x.param.indices {
            x.param[i] = x.param[i] * Float(1 - lr * h.weightDecay)  // p.mul_(1 - lr*wd)
            let m = x.state["exp_avg"]![i]
            let mixed = fma(w1, grad[i], m * b1)  // m.mul(b1).add(g, alpha=1-b1)
            let update: Float = mixed > 0 ? 1 : mixed < 0 ? -1 : 0  // sign_()
            x.param[i] = fma(Float(-lr), update, x.param[i])  // p.add_(update, alpha=-lr)
            x.state["exp_avg"]![i] = fma(w2, grad[i], m * b2)
        }
    }
}
