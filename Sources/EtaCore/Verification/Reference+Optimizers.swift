#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

extension Reference {
    /// torch.lerp(self, end, w) with the CPU kernel's roundings.
    static func lerp(_ start: Float, _ end: Float, _ w: Float) -> Float {
        abs(w) < 0.5 ? fma(w, end - start, start) : fma(w - 1, end - start, end)
    }

    /// One step (t is 1-based) of a family optimizer, written from the reference implementations' single-tensor
    /// code: `torch.optim` for rmsprop, adagrad, adadelta, adamax, nadam, radam; lion-pytorch for lion. `state`
    /// holds the slots named by the optimizer's `stateSlots`; `host` its host-side values (NAdam's mu_product).
    public static func family(_ c: FamilyOptimizer.Configuration, param: inout [Float], grad: [Float], state: inout [String: [Float]],
                              host: inout [String: Double], step t: Int, lr: Double, tensors: [Range<Int>]? = nil) {
        if c.descriptor.twoPhase != nil {
            return adaptive(c, param: &param, grad: grad, state: &state, host: &host, step: t, lr: lr, tensors: tensors ?? [param.indices])
        }
        let maximize = c.flag("maximize"), wd = c["weight_decay"]
        func gradient(_ i: Int) -> Float {
            var g = maximize ? -grad[i] : grad[i]
            if wd != 0 && !(c.flag("decoupled_weight_decay")) { g = fma(Float(wd), param[i], g) }   // grad.add(param, alpha=wd)
            return g
        }
        switch c.name {
        case "rmsprop":
            let (alpha, eps, momentum) = (c["alpha"], c["eps"], c["momentum"])
            for i in param.indices {
                let g = gradient(i)
                state["square_avg"]![i] = fma(Float(1 - alpha) * g, g, state["square_avg"]![i] * Float(alpha))
                var avg: Float
                if c.flag("centered") {
                    state["grad_avg"]![i] = lerp(state["grad_avg"]![i], g, Float(1 - alpha))
                    avg = fma(-state["grad_avg"]![i], state["grad_avg"]![i], state["square_avg"]![i]).squareRoot()
                } else {
                    avg = state["square_avg"]![i].squareRoot()
                }
                avg = avg + Float(eps)
                if momentum > 0 {
                    state["momentum_buffer"]![i] = state["momentum_buffer"]![i] * Float(momentum) + g / avg   // mul_.addcdiv_
                    param[i] = fma(Float(-lr), state["momentum_buffer"]![i], param[i])
                } else {
                    param[i] = param[i] + Float(-lr) * g / avg                                             // addcdiv_
                }
            }
        case "adagrad":
            let clr = lr / (1 + Double(t - 1) * c["lr_decay"])
            for i in param.indices {
                let g = gradient(i)
                state["sum"]![i] = fma(g, g, state["sum"]![i])                 // addcmul_(g, g, value=1)
                param[i] = param[i] + Float(-clr) * g / (state["sum"]![i].squareRoot() + Float(c["eps"]))
            }
        case "adadelta":
            let (rho, eps) = (c["rho"], Float(c["eps"]))
            for i in param.indices {
                let g = gradient(i)
                state["square_avg"]![i] = fma(Float(1 - rho) * g, g, state["square_avg"]![i] * Float(rho))
                let delta = (state["acc_delta"]![i] + eps).squareRoot() / (state["square_avg"]![i] + eps).squareRoot() * g
                state["acc_delta"]![i] = fma(Float(1 - rho) * delta, delta, state["acc_delta"]![i] * Float(rho))
                param[i] = fma(Float(-lr), delta, param[i])
            }
        case "adamax":
            let clr = lr / (1 - pow(c["beta1"], Double(t)))
            for i in param.indices {
                let g = gradient(i)
                state["exp_avg"]![i] = lerp(state["exp_avg"]![i], g, Float(1 - c["beta1"]))
                state["exp_inf"]![i] = max(state["exp_inf"]![i] * Float(c["beta2"]), abs(g) + Float(c["eps"]))
                param[i] = param[i] + Float(-clr) * state["exp_avg"]![i] / state["exp_inf"]![i]
            }
        case "nadam":
            let (b1, b2, step) = (c["beta1"], c["beta2"], Double(t))
            let mu = b1 * (1 - 0.5 * pow(0.96, step * c["momentum_decay"]))
            let muNext = b1 * (1 - 0.5 * pow(0.96, (step + 1) * c["momentum_decay"]))
            let product = Double(Float(host["mu_product"] ?? 1) * Float(mu))     // a float32 tensor in PyTorch
            host["mu_product"] = product
            let productNext = product * muNext
            let bc2 = 1 - pow(b2, step)
            for i in param.indices {
                if wd != 0 && c.flag("decoupled_weight_decay") { param[i] = param[i] * Float(1 - lr * wd) }
                let g = gradient(i)
                state["exp_avg"]![i] = lerp(state["exp_avg"]![i], g, Float(1 - b1))
                state["exp_avg_sq"]![i] = fma(Float(1 - b2) * g, g, state["exp_avg_sq"]![i] * Float(b2))
                let denom = (state["exp_avg_sq"]![i] / Float(bc2)).squareRoot() + Float(c["eps"])
                param[i] = param[i] + Float(-lr * (1 - mu) / (1 - product)) * g / denom
                param[i] = param[i] + Float(-lr * muNext / (1 - productNext)) * state["exp_avg"]![i] / denom
            }
        case "radam":
            let (b1, b2, step) = (c["beta1"], c["beta2"], Double(t))
            let bc1 = 1 - pow(b1, step), bc2 = 1 - pow(b2, step)
            let rhoInf = 2 / (1 - b2) - 1
            let rhoT = rhoInf - 2 * step * pow(b2, step) / bc2
            for i in param.indices {
                if wd != 0 && c.flag("decoupled_weight_decay") { param[i] = param[i] * Float(1 - lr * wd) }
                let g = gradient(i)
                state["exp_avg"]![i] = lerp(state["exp_avg"]![i], g, Float(1 - b1))
                state["exp_avg_sq"]![i] = fma(Float(1 - b2) * g, g, state["exp_avg_sq"]![i] * Float(b2))
                var update = state["exp_avg"]![i] / Float(bc1) * Float(lr)
                if rhoT > 5 {
                    let rect = ((rhoT - 4) * (rhoT - 2) * rhoInf / ((rhoInf - 4) * (rhoInf - 2) * rhoT)).squareRoot()
                    let adaptive = Float(bc2.squareRoot()) / (state["exp_avg_sq"]![i].squareRoot() + Float(c["eps"]))
                    update = update * adaptive * Float(rect)
                }
                param[i] = param[i] - update                                       // add_(x, alpha=-1)
            }
        case "schedulefree_adamw", "schedulefree_sgd":
            if t == 1 { state["z"] = param }                                        // z = clone(p) at the first step
            let k = Double(t - 1), warmup = c["warmup_steps"]
            let lrK = lr * (k < warmup ? (k + 1) / warmup : 1)
            let lrMax = max(lrK, host["lr_max"] ?? -1)
            let weight = pow(k + 1, c["r"]) * pow(lrMax, c["weight_lr_power"])
            let weightSum = (host["weight_sum"] ?? 0) + weight
            (host["lr_max"], host["weight_sum"]) = (lrMax, weightSum)
            let ckp1 = weightSum == 0 ? 0 : weight / weightSum
            let adam = c.name == "schedulefree_adamw"
            let beta = adam ? c["beta1"] : c["momentum"]
            let bc2 = 1 - pow(c["beta2"], Double(t))
            for i in param.indices {
                var g = grad[i]
                if adam {
                    state["exp_avg_sq"]![i] = fma(Float(1 - c["beta2"]) * g, g, state["exp_avg_sq"]![i] * Float(c["beta2"]))
                    g = g / ((state["exp_avg_sq"]![i] / Float(bc2)).squareRoot() + Float(c["eps"]))   // grad.div_(denom)
                }
                if wd != 0 { g = fma(Float(wd), param[i], g) }                       // add_(y, alpha=decay)
                let z = state["z"]![i]
                param[i] = fma(Float(lrK * (beta * (1 - ckp1) - 1)), g, lerp(param[i], z, Float(ckp1)))  // y.lerp_(z).add_
                state["z"]![i] = fma(Float(-lrK), g, z)                              // z.sub_(grad, alpha=lr)
            }
        default:   // lion
            // Python computes 1 - beta in double; the tensor op rounds it to float.
            let (b1, b2, w1, w2) = (Float(c["beta1"]), Float(c["beta2"]), Float(1 - c["beta1"]), Float(1 - c["beta2"]))
            for i in param.indices {
                param[i] = param[i] * Float(1 - lr * wd)                           // p.mul_(1 - lr*wd)
                let m = state["exp_avg"]![i]
                let mixed = fma(w1, grad[i], m * b1)                                // m.mul(b1).add(g, alpha=1-b1)
                let update: Float = mixed > 0 ? 1 : mixed < 0 ? -1 : 0              // sign_()
                param[i] = fma(Float(-lr), update, param[i])                        // p.add_(update, alpha=-lr)
                state["exp_avg"]![i] = fma(w2, grad[i], m * b2)
            }
        }
    }
}
