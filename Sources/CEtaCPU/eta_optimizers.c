// The family optimizers of Kernels/optimizers.cl on the CPU: the same arithmetic, element by element, with
// explicit fmaf where PyTorch's CPU kernels fuse (see Reference+Optimizers.swift). c holds the kernel's
// c0..c11; flags as in optimizers.cl.
#include "eta_cpu.h"
#include <math.h>

#pragma clang fp contract(off)

#if defined(__x86_64__) && defined(__clang__)
#define ETA_DISPATCH __attribute__((target_clones("arch=x86-64-v3", "default")))
#else
#define ETA_DISPATCH
#endif

#define OPT_MAXIMIZE 1
#define OPT_A 2
#define OPT_B 4

static inline float lerp(float self, float end, float w) {
    return w < 0.5f ? fmaf(w, end - self, self) : fmaf(w - 1.0f, end - self, end);
}

ETA_DISPATCH
void eta_rmsprop_update(float *restrict p, const float *restrict g, float *restrict s0, float *restrict s1, float *restrict s2,
                        size_t n, const float *c, int32_t flags) {
    const int maximize = flags & OPT_MAXIMIZE, centered = flags & OPT_A, momentum = flags & OPT_B;
    for (size_t i = 0; i < n; i++) {
        float grad = maximize ? -g[i] : g[i];
        if (c[4] != 0.0f) grad = fmaf(c[4], p[i], grad);
        const float square_avg = fmaf(c[2] * grad, grad, s0[i] * c[1]);
        s0[i] = square_avg;
        float avg;
        if (centered) {
            const float grad_avg = lerp(s2[i], grad, c[2]);
            s2[i] = grad_avg;
            avg = sqrtf(fmaf(-grad_avg, grad_avg, square_avg));
        } else {
            avg = sqrtf(square_avg);
        }
        avg = avg + c[3];
        if (momentum) {
            const float buf = s1[i] * c[5] + grad / avg;
            s1[i] = buf;
            p[i] = fmaf(-c[0], buf, p[i]);
        } else {
            p[i] = p[i] + (-c[0]) * grad / avg;
        }
    }
}

ETA_DISPATCH
void eta_adagrad_update(float *restrict p, const float *restrict g, float *restrict s0, float *restrict s1, float *restrict s2,
                        size_t n, const float *c, int32_t flags) {
    (void)s1; (void)s2;
    for (size_t i = 0; i < n; i++) {
        float grad = (flags & OPT_MAXIMIZE) ? -g[i] : g[i];
        if (c[2] != 0.0f) grad = fmaf(c[2], p[i], grad);
        const float sum = fmaf(grad, grad, s0[i]);
        s0[i] = sum;
        p[i] = p[i] + (-c[0]) * grad / (sqrtf(sum) + c[1]);
    }
}

ETA_DISPATCH
void eta_adadelta_update(float *restrict p, const float *restrict g, float *restrict s0, float *restrict s1, float *restrict s2,
                         size_t n, const float *c, int32_t flags) {
    (void)s2;
    for (size_t i = 0; i < n; i++) {
        float grad = (flags & OPT_MAXIMIZE) ? -g[i] : g[i];
        if (c[4] != 0.0f) grad = fmaf(c[4], p[i], grad);
        const float square_avg = fmaf(c[2] * grad, grad, s0[i] * c[1]);
        s0[i] = square_avg;
        const float acc = s1[i];
        const float delta = sqrtf(acc + c[3]) / sqrtf(square_avg + c[3]) * grad;
        s1[i] = fmaf(c[2] * delta, delta, acc * c[1]);
        p[i] = fmaf(-c[0], delta, p[i]);
    }
}

ETA_DISPATCH
void eta_adamax_update(float *restrict p, const float *restrict g, float *restrict s0, float *restrict s1, float *restrict s2,
                       size_t n, const float *c, int32_t flags) {
    (void)s2;
    for (size_t i = 0; i < n; i++) {
        float grad = (flags & OPT_MAXIMIZE) ? -g[i] : g[i];
        if (c[4] != 0.0f) grad = fmaf(c[4], p[i], grad);
        const float exp_avg = lerp(s0[i], grad, c[1]);
        const float decayed = s1[i] * c[2], bound = fabsf(grad) + c[3];
        const float exp_inf = decayed > bound ? decayed : bound;
        s0[i] = exp_avg;
        s1[i] = exp_inf;
        p[i] = p[i] + c[0] * exp_avg / exp_inf;
    }
}

ETA_DISPATCH
void eta_nadam_update(float *restrict p, const float *restrict g, float *restrict s0, float *restrict s1, float *restrict s2,
                      size_t n, const float *c, int32_t flags) {
    (void)s2;
    for (size_t i = 0; i < n; i++) {
        float param = p[i];
        float grad = (flags & OPT_MAXIMIZE) ? -g[i] : g[i];
        if (c[5] != 0.0f) {
            if (flags & OPT_A) param = param * c[6]; else grad = fmaf(c[5], param, grad);
        }
        const float exp_avg = lerp(s0[i], grad, c[0]);
        const float exp_avg_sq = fmaf(c[2] * grad, grad, s1[i] * c[1]);
        s0[i] = exp_avg;
        s1[i] = exp_avg_sq;
        const float denom = sqrtf(exp_avg_sq / c[3]) + c[4];
        param = param + c[7] * grad / denom;
        p[i] = param + c[8] * exp_avg / denom;
    }
}

ETA_DISPATCH
void eta_radam_update(float *restrict p, const float *restrict g, float *restrict s0, float *restrict s1, float *restrict s2,
                      size_t n, const float *c, int32_t flags) {
    (void)s2;
    for (size_t i = 0; i < n; i++) {
        float param = p[i];
        float grad = (flags & OPT_MAXIMIZE) ? -g[i] : g[i];
        if (c[8] != 0.0f) {
            if (flags & OPT_A) param = param * c[9]; else grad = fmaf(c[8], param, grad);
        }
        const float exp_avg = lerp(s0[i], grad, c[0]);
        const float exp_avg_sq = fmaf(c[2] * grad, grad, s1[i] * c[1]);
        s0[i] = exp_avg;
        s1[i] = exp_avg_sq;
        float step = exp_avg / c[3] * c[4];
        if (flags & OPT_B) step = step * (c[5] / (sqrtf(exp_avg_sq) + c[7])) * c[6];
        p[i] = param - step;
    }
}

ETA_DISPATCH
void eta_lion_update(float *restrict p, const float *restrict g, float *restrict s0, float *restrict s1, float *restrict s2,
                     size_t n, const float *c, int32_t flags) {
    (void)s1; (void)s2; (void)flags;
    for (size_t i = 0; i < n; i++) {
        const float param = p[i] * c[5];
        const float m = s0[i];
        const float mixed = fmaf(c[2], g[i], m * c[1]);
        const float update = mixed > 0.0f ? 1.0f : mixed < 0.0f ? -1.0f : 0.0f;
        p[i] = fmaf(-c[0], update, param);
        s0[i] = fmaf(c[4], g[i], m * c[3]);
    }
}
