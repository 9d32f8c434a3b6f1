// optimizers.cl — every elementwise optimizer, one fused pass each over the whole arena.
//
// What: sgd, adam (Adam and AdamW), rmsprop, adagrad, adadelta, adamax, nadam, radam (torch.optim single-tensor paths, with the fma
//       roundings of PyTorch's CPU kernels as in Reference+Optimizers.swift), lion (lion-pytorch) and the
//       Schedule-Free AdamW and SGD (facebookresearch/schedule_free, non-foreach paths).
// Signature (shared, so the host launches them alike): p, g, up to three state slots s0..s2, n, twelve
//       float scalars c0..c11 computed on the host for this step (their meaning is per kernel, below), flags.
// Tunables: ETA_VEC (common.cl).

#define OPT_MAXIMIZE 1
#define OPT_A 2      // rmsprop: centered;  nadam/radam: decoupled weight decay
#define OPT_B 4      // rmsprop: momentum;  radam: rectified step (rho_t > 5)
#define OPT_C 8

#define OPT_GROUPED 256   // parameter groups: c0..c11 per 16-element chunk's group, from group_scalars

#define OPTIMIZER_KERNEL(NAME) \
__kernel void NAME(__global param_t* restrict p, __global const float* restrict g, __global state_t* restrict s0, \
                   __global state_t* restrict s1, __global state_t* restrict s2, const ulong n, \
                   const float k0, const float k1, const float k2, const float k3, const float k4, const float k5, \
                   const float k6, const float k7, const float k8, const float k9, const float k10, const float k11, \
                   const int flags, __global const uchar* restrict chunk_groups, __global const float* restrict group_scalars, \
                   __global float* restrict master)

// The step's scalars: the arguments, or this work-item's group's row of group_scalars.
#define OPT_SCALARS \
    float c0 = k0, c1 = k1, c2 = k2, c3 = k3, c4 = k4, c5 = k5, c6 = k6, c7 = k7, c8 = k8, c9 = k9, c10 = k10, c11 = k11; \
    if (flags & OPT_GROUPED) { \
        __global const float* t = group_scalars + 12 * (uint)chunk_groups[base / 16]; \
        c0 = t[0]; c1 = t[1]; c2 = t[2]; c3 = t[3]; c4 = t[4]; c5 = t[5]; \
        c6 = t[6]; c7 = t[7]; c8 = t[8]; c9 = t[9]; c10 = t[10]; c11 = t[11]; \
    }

#define OPT_BEGIN \
    const ulong base = get_global_id(0) * ETA_VEC; \
    if (base >= n) return; \
    OPT_SCALARS \
    floatV param = PARAM_LOAD(base, n); \
    floatV grad = eta_load(g, base, n); \
    if (flags & OPT_MAXIMIZE) grad = -grad;

// lerp(self, end, w) as torch does it: fma(w, end - self, self) for w < 0.5, else fma(w - 1, end - self, end).
inline floatV eta_lerp(floatV self, floatV end, float w) {
    return fabs(w) < 0.5f ? fma((floatV)w, end - self, self) : fma((floatV)(w - 1.0f), end - self, end);
}

// SGD (torch.optim.SGD). c0 lr, c1 weight_decay, c2 momentum, c3 1-dampening. Flags: OPT_A momentum, OPT_B nesterov,
// OPT_C first step (the buffer starts as the gradient). s0 momentum_buffer.
OPTIMIZER_KERNEL(sgd_update) {
    OPT_BEGIN
    if (c1 != 0.0f) grad = fma((floatV)c1, param, grad);
    if (flags & OPT_A) {
        floatV b = grad;
        if (!(flags & OPT_C)) b = fma((floatV)c3, grad, eta_load_state(s0, base, n) * c2);
        eta_store_state(s0, base, n, b);
        grad = (flags & OPT_B) ? fma((floatV)c2, b, grad) : b;
    }
    PARAM_STORE(base, n, fma((floatV)(-c0), grad, param));
}

// Adam and AdamW (torch.optim.Adam/AdamW). c0 weight_decay, c1 1-lr*wd, c2 1-beta1, c3 beta2, c4 1-beta2,
// c5 lr/(1-beta1^t), c6 sqrt(1-beta2^t), c7 eps. Flags: OPT_A amsgrad, OPT_B decoupled weight decay.
// s0 exp_avg, s1 exp_avg_sq, s2 max_exp_avg_sq.
OPTIMIZER_KERNEL(adam_update) {
    OPT_BEGIN
    if (c0 != 0.0f) {
        if (flags & OPT_B) param = param * c1;
        else grad = fma((floatV)c0, param, grad);
    }
    const floatV exp_avg = eta_lerp(eta_load_state(s0, base, n), grad, c2);
    const floatV exp_avg_sq = fma(c4 * grad, grad, eta_load_state(s1, base, n) * c3);
    eta_store_state(s0, base, n, exp_avg);
    eta_store_state(s1, base, n, exp_avg_sq);
    floatV second = exp_avg_sq;
    if (flags & OPT_A) {
        second = fmax(eta_load_state(s2, base, n), exp_avg_sq);
        eta_store_state(s2, base, n, second);
    }
    const floatV denom = sqrt(second) / c6 + c7;
    PARAM_STORE(base, n, param + (-c5) * exp_avg / denom);
}

// c0 lr, c1 alpha, c2 1-alpha, c3 eps, c4 weight_decay, c5 momentum. s0 square_avg, s1 momentum_buffer, s2 grad_avg.
OPTIMIZER_KERNEL(rmsprop_update) {
    OPT_BEGIN
    if (c4 != 0.0f) grad = fma((floatV)c4, param, grad);
    const floatV square_avg = fma(c2 * grad, grad, eta_load_state(s0, base, n) * c1);
    eta_store_state(s0, base, n, square_avg);
    floatV avg;
    if (flags & OPT_A) {
        const floatV grad_avg = eta_lerp(eta_load_state(s2, base, n), grad, c2);
        eta_store_state(s2, base, n, grad_avg);
        avg = sqrt(fma(-grad_avg, grad_avg, square_avg));
    } else {
        avg = sqrt(square_avg);
    }
    avg = avg + c3;
    if (flags & OPT_B) {
        const floatV buf = eta_load_state(s1, base, n) * c5 + grad / avg;
        eta_store_state(s1, base, n, buf);
        param = fma((floatV)(-c0), buf, param);
    } else {
        param = param + (-c0) * grad / avg;
    }
    PARAM_STORE(base, n, param);
}

// c0 clr (lr / (1 + (t-1) lr_decay)), c1 eps, c2 weight_decay. s0 state_sum.
OPTIMIZER_KERNEL(adagrad_update) {
    OPT_BEGIN
    if (c2 != 0.0f) grad = fma((floatV)c2, param, grad);
    const floatV sum = fma(grad, grad, eta_load_state(s0, base, n));
    eta_store_state(s0, base, n, sum);
    PARAM_STORE(base, n, param + (-c0) * grad / (sqrt(sum) + c1));
}

// c0 lr, c1 rho, c2 1-rho, c3 eps, c4 weight_decay. s0 square_avg, s1 acc_delta.
OPTIMIZER_KERNEL(adadelta_update) {
    OPT_BEGIN
    if (c4 != 0.0f) grad = fma((floatV)c4, param, grad);
    const floatV square_avg = fma(c2 * grad, grad, eta_load_state(s0, base, n) * c1);
    eta_store_state(s0, base, n, square_avg);
    const floatV acc = eta_load_state(s1, base, n);
    const floatV delta = sqrt(acc + c3) / sqrt(square_avg + c3) * grad;
    eta_store_state(s1, base, n, fma(c2 * delta, delta, acc * c1));
    PARAM_STORE(base, n, fma((floatV)(-c0), delta, param));
}

// c0 -lr/(1-beta1^t), c1 1-beta1, c2 beta2, c3 eps, c4 weight_decay. s0 exp_avg, s1 exp_inf.
OPTIMIZER_KERNEL(adamax_update) {
    OPT_BEGIN
    if (c4 != 0.0f) grad = fma((floatV)c4, param, grad);
    const floatV exp_avg = eta_lerp(eta_load_state(s0, base, n), grad, c1);
    const floatV exp_inf = fmax(eta_load_state(s1, base, n) * c2, fabs(grad) + c3);
    eta_store_state(s0, base, n, exp_avg);
    eta_store_state(s1, base, n, exp_inf);
    PARAM_STORE(base, n, param + c0 * exp_avg / exp_inf);
}

// NAdam and RAdam open alike: weight decay (decoupled, flag OPT_A, or L2), then Adam's two moments, stored
// back to m (s0) and v (s1) and returned.
inline void adam_moments(floatV* param, floatV* grad, __global state_t* s0, __global state_t* s1, ulong base, ulong n,
                         floatV* exp_avg, floatV* exp_avg_sq, int flags, float weight_decay, float decay_factor,
                         float one_minus_beta1, float beta2, float one_minus_beta2) {
    if (weight_decay != 0.0f) {
        if (flags & OPT_A) *param = *param * decay_factor; else *grad = fma((floatV)weight_decay, *param, *grad);
    }
    *exp_avg = eta_lerp(eta_load_state(s0, base, n), *grad, one_minus_beta1);
    *exp_avg_sq = fma(one_minus_beta2 * *grad, *grad, eta_load_state(s1, base, n) * beta2);
    eta_store_state(s0, base, n, *exp_avg);
    eta_store_state(s1, base, n, *exp_avg_sq);
}

// c0 1-beta1, c1 beta2, c2 1-beta2, c3 1-beta2^t, c4 eps, c5 weight_decay, c6 1-lr*wd,
// c7 -lr(1-mu)/(1-mu_product), c8 -lr*mu_next/(1-mu_product_next). s0 exp_avg, s1 exp_avg_sq.
OPTIMIZER_KERNEL(nadam_update) {
    OPT_BEGIN
    floatV exp_avg, exp_avg_sq;
    adam_moments(&param, &grad, s0, s1, base, n, &exp_avg, &exp_avg_sq, flags, c5, c6, c0, c1, c2);
    const floatV denom = sqrt(exp_avg_sq / c3) + c4;
    param = param + c7 * grad / denom;
    PARAM_STORE(base, n, param + c8 * exp_avg / denom);
}

// c0 1-beta1, c1 beta2, c2 1-beta2, c3 1-beta1^t, c4 lr, c5 sqrt(1-beta2^t), c6 rect, c7 eps, c8 weight_decay,
// c9 1-lr*wd. s0 exp_avg, s1 exp_avg_sq.
OPTIMIZER_KERNEL(radam_update) {
    OPT_BEGIN
    floatV exp_avg, exp_avg_sq;
    adam_moments(&param, &grad, s0, s1, base, n, &exp_avg, &exp_avg_sq, flags, c8, c9, c0, c1, c2);
    floatV step = exp_avg / c3 * c4;
    if (flags & OPT_B) step = step * (c5 / (sqrt(exp_avg_sq) + c7)) * c6;
    PARAM_STORE(base, n, param - step);
}

// c0 lr, c1 beta1, c2 1-beta1, c3 beta2, c4 1-beta2, c5 1-lr*wd. s0 exp_avg.
OPTIMIZER_KERNEL(lion_update) {
    OPT_BEGIN
    param = param * c5;
    const floatV m = eta_load_state(s0, base, n);
    const floatV update = sign(fma((floatV)c2, grad, m * c1));
    PARAM_STORE(base, n, fma((floatV)(-c0), update, param));
    eta_store_state(s0, base, n, fma((floatV)c4, grad, m * c3));
}

// Schedule-Free AdamW. c0 lr, c1 beta2, c2 1-beta2, c3 1-beta2^(k+1), c4 eps, c5 weight_decay, c6 ckp1,
// c7 lr*(beta1*(1-ckp1)-1). p holds y; s0 z, s1 exp_avg_sq.
OPTIMIZER_KERNEL(schedulefree_adamw_update) {
    OPT_BEGIN
    const floatV exp_avg_sq = fma(c2 * grad, grad, eta_load_state(s1, base, n) * c1);
    eta_store_state(s1, base, n, exp_avg_sq);
    floatV normalized = grad / (sqrt(exp_avg_sq / c3) + c4);
    if (c5 != 0.0f) normalized = fma((floatV)c5, param, normalized);
    const floatV z = eta_load_state(s0, base, n);
    PARAM_STORE(base, n, fma((floatV)c7, normalized, eta_lerp(param, z, c6)));
    eta_store_state(s0, base, n, fma((floatV)(-c0), normalized, z));
}

// Schedule-Free SGD. c0 lr, c1 weight_decay, c2 ckp1, c3 lr*(momentum*(1-ckp1)-1). p holds y; s0 z.
OPTIMIZER_KERNEL(schedulefree_sgd_update) {
    OPT_BEGIN
    if (c1 != 0.0f) grad = fma((floatV)c1, param, grad);
    const floatV z = eta_load_state(s0, base, n);
    PARAM_STORE(base, n, fma((floatV)c3, grad, eta_lerp(param, z, c2)));
    eta_store_state(s0, base, n, fma((floatV)(-c0), grad, z));
}

// p = lerp(p, toward, w): Schedule-Free's switch between y (training) and x (evaluation).
__kernel void lerp_toward(__global float* restrict target, __global const float* restrict toward, const ulong n, const float w) {
    const ulong base = get_global_id(0) * ETA_VEC;
    if (base >= n) return;
    eta_store(target, base, n, eta_lerp(eta_load(target, base, n), eta_load(toward, base, n), w));
}
