// The family optimizers of Kernels/optimizers.cl on the CPU: the same arithmetic, element by element, with
// explicit fmaf where PyTorch's CPU kernels fuse (see Reference+Optimizers.swift). c holds the kernel's
// c0..c11; flags as in optimizers.cl.
#include "eta_cpu.h"
#include "eta_optimizer_common.h"

#pragma clang fp contract(off)

// The gradient as torch.optim's L2 optimizers take it: negated for maximize, then grad.add(param, alpha=wd).
static inline float l2_gradient(float g, float param, float weight_decay, int32_t flags) {
    const float grad = (flags & OPT_MAXIMIZE) ? -g : g;
    return weight_decay != 0.0f ? fmaf(weight_decay, param, grad) : grad;
}


// One loop per (centered, momentum) pair: with the choice inside, the vectoriser would if-convert it into masked
// loads of absent (NULL) slots, whose fault-suppression assists made the loop 15 times slower.
#define RMSPROP_LOOP(CENTERED, MOMENTUM)                                                       \
    for (size_t i = 0; i < n; i++) {                                                          \
        const float grad = l2_gradient(g[i], p[i], c4, flags);                                 \
        const float square_avg = fmaf(c2 * grad, grad, s0[i] * c1);                            \
        s0[i] = square_avg;                                                                    \
        float avg;                                                                             \
        if (CENTERED) {                                                                        \
            const float grad_avg = lerp(s2[i], grad, c2);                                      \
            s2[i] = grad_avg;                                                                  \
            avg = eta_sqrtf(fmaf(-grad_avg, grad_avg, square_avg));                            \
        } else {                                                                               \
            avg = eta_sqrtf(square_avg);                                                       \
        }                                                                                      \
        avg = avg + c3;                                                                        \
        if (MOMENTUM) {                                                                        \
            const float buf = s1[i] * c5 + grad / avg;                                         \
            s1[i] = buf;                                                                       \
            p[i] = fmaf(-c0, buf, p[i]);                                                       \
        } else {                                                                               \
            p[i] = p[i] + (-c0) * grad / avg;                                                  \
        }                                                                                      \
    }

ETA_DISPATCH
void eta_rmsprop_update(float *restrict p, const float *restrict g, float *restrict s0, float *restrict s1, float *restrict s2,
                        size_t n, const float *c, int32_t flags) {
    LOAD_SCALARS
    switch (flags & (OPT_A | OPT_B)) {
    case 0: RMSPROP_LOOP(0, 0) break;
    case OPT_A: RMSPROP_LOOP(1, 0) break;
    case OPT_B: RMSPROP_LOOP(0, 1) break;
    default: RMSPROP_LOOP(1, 1) break;
    }
}

ETA_DISPATCH
void eta_adagrad_update(float *restrict p, const float *restrict g, float *restrict s0, float *restrict s1, float *restrict s2,
                        size_t n, const float *c, int32_t flags) {
    LOAD_SCALARS
    (void)s1; (void)s2;
    for (size_t i = 0; i < n; i++) {
        const float grad = l2_gradient(g[i], p[i], c2, flags);
        const float sum = fmaf(grad, grad, s0[i]);
        s0[i] = sum;
        p[i] = p[i] + (-c0) * grad / (eta_sqrtf(sum) + c1);
    }
}

ETA_DISPATCH
void eta_adadelta_update(float *restrict p, const float *restrict g, float *restrict s0, float *restrict s1, float *restrict s2,
                         size_t n, const float *c, int32_t flags) {
    LOAD_SCALARS
    (void)s2;
    for (size_t i = 0; i < n; i++) {
        const float grad = l2_gradient(g[i], p[i], c4, flags);
        const float square_avg = fmaf(c2 * grad, grad, s0[i] * c1);
        s0[i] = square_avg;
        const float acc = s1[i];
        const float delta = eta_sqrtf(acc + c3) / eta_sqrtf(square_avg + c3) * grad;
        s1[i] = fmaf(c2 * delta, delta, acc * c1);
        p[i] = fmaf(-c0, delta, p[i]);
    }
}

ETA_DISPATCH
void eta_adamax_update(float *restrict p, const float *restrict g, float *restrict s0, float *restrict s1, float *restrict s2,
                       size_t n, const float *c, int32_t flags) {
    LOAD_SCALARS
    (void)s2;
    for (size_t i = 0; i < n; i++) {
        const float grad = l2_gradient(g[i], p[i], c4, flags);
        const float exp_avg = lerp(s0[i], grad, c1);
        const float decayed = s1[i] * c2, bound = fabsf(grad) + c3;
        const float exp_inf = decayed > bound ? decayed : bound;
        s0[i] = exp_avg;
        s1[i] = exp_inf;
        p[i] = p[i] + c0 * exp_avg / exp_inf;
    }
}

// NAdam and RAdam open alike: maximize, weight decay (decoupled, flag OPT_A, or L2), then Adam's two moments,
// stored back to m and v and returned.
static inline void adam_moments(float *param, float *grad, float *m, float *v, float *exp_avg, float *exp_avg_sq, int32_t flags,
                                float weight_decay, float decay_factor, float one_minus_beta1, float beta2, float one_minus_beta2) {
    if (flags & OPT_MAXIMIZE) *grad = -*grad;
    if (weight_decay != 0.0f) {
        if (flags & OPT_A) *param = *param * decay_factor; else *grad = fmaf(weight_decay, *param, *grad);
    }
    *exp_avg = lerp(*m, *grad, one_minus_beta1);
    *exp_avg_sq = fmaf(one_minus_beta2 * *grad, *grad, *v * beta2);
    *m = *exp_avg;
    *v = *exp_avg_sq;
}

ETA_DISPATCH
void eta_nadam_update(float *restrict p, const float *restrict g, float *restrict s0, float *restrict s1, float *restrict s2,
                      size_t n, const float *c, int32_t flags) {
    LOAD_SCALARS
    (void)s2;
    for (size_t i = 0; i < n; i++) {
        float param = p[i], grad = g[i], exp_avg, exp_avg_sq;
        adam_moments(&param, &grad, &s0[i], &s1[i], &exp_avg, &exp_avg_sq, flags, c5, c6, c0, c1, c2);
        const float denom = eta_sqrtf(exp_avg_sq / c3) + c4;
        param = param + c7 * grad / denom;
        p[i] = param + c8 * exp_avg / denom;
    }
}

ETA_DISPATCH
void eta_radam_update(float *restrict p, const float *restrict g, float *restrict s0, float *restrict s1, float *restrict s2,
                      size_t n, const float *c, int32_t flags) {
    LOAD_SCALARS
    (void)s2;
    for (size_t i = 0; i < n; i++) {
        float param = p[i], grad = g[i], exp_avg, exp_avg_sq;
        adam_moments(&param, &grad, &s0[i], &s1[i], &exp_avg, &exp_avg_sq, flags, c8, c9, c0, c1, c2);
        float step = exp_avg / c3 * c4;
        if (flags & OPT_B) step = step * (c5 / (eta_sqrtf(exp_avg_sq) + c7)) * c6;
        p[i] = param - step;
    }
}

ETA_DISPATCH
void eta_lion_update(float *restrict p, const float *restrict g, float *restrict s0, float *restrict s1, float *restrict s2,
                     size_t n, const float *c, int32_t flags) {
    LOAD_SCALARS
    (void)s1; (void)s2; (void)flags;
    for (size_t i = 0; i < n; i++) {
        const float param = p[i] * c5;
        const float m = s0[i];
        const float mixed = fmaf(c2, g[i], m * c1);
        const float update = mixed > 0.0f ? 1.0f : mixed < 0.0f ? -1.0f : 0.0f;
        p[i] = fmaf(-c0, update, param);
        s0[i] = fmaf(c4, g[i], m * c3);
    }
}

ETA_DISPATCH
void eta_schedulefree_adamw_update(float *restrict p, const float *restrict g, float *restrict s0, float *restrict s1,
                                   float *restrict s2, size_t n, const float *c, int32_t flags) {
    LOAD_SCALARS
    (void)s2; (void)flags;
    for (size_t i = 0; i < n; i++) {
        const float grad = g[i];
        const float exp_avg_sq = fmaf(c2 * grad, grad, s1[i] * c1);
        s1[i] = exp_avg_sq;
        float normalized = grad / (eta_sqrtf(exp_avg_sq / c3) + c4);
        if (c5 != 0.0f) normalized = fmaf(c5, p[i], normalized);
        const float z = s0[i];
        p[i] = fmaf(c7, normalized, lerp(p[i], z, c6));
        s0[i] = fmaf(-c0, normalized, z);
    }
}

ETA_DISPATCH
void eta_schedulefree_sgd_update(float *restrict p, const float *restrict g, float *restrict s0, float *restrict s1,
                                 float *restrict s2, size_t n, const float *c, int32_t flags) {
    LOAD_SCALARS
    (void)s1; (void)s2; (void)flags;
    for (size_t i = 0; i < n; i++) {
        float grad = g[i];
        if (c1 != 0.0f) grad = fmaf(c1, p[i], grad);
        const float z = s0[i];
        p[i] = fmaf(c3, grad, lerp(p[i], z, c2));
        s0[i] = fmaf(-c0, grad, z);
    }
}

void eta_lerp_toward(float *restrict p, const float *restrict toward, size_t n, float w) {
    for (size_t i = 0; i < n; i++) p[i] = lerp(p[i], toward[i], w);
}
