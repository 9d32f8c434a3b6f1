// The optimizers of Kernels/adaptive.cl on the CPU: LAMB, Prodigy and D-Adaptation Adam. Block functions run
// blocks [block_begin, block_end) of the host's block table (4 uint32 per block: begin, end, first and last block
// of the block's tensor) and write two partial sums per block; the elementwise second passes of Prodigy and
// D-Adaptation have the family signature of eta_optimizers.c. Same arithmetic and roundings as the kernels.
#include "eta_cpu.h"
#include "eta_optimizer_common.h"

#pragma clang fp contract(off)

// Independent accumulators per block, so the sums vectorise; summed in lane order at the end.
#define LANES 16

static inline float lamb_direction(float m, float v, float param, float c3, float c4, float c5, float c6) {
    const float u = (m / c3) / (eta_sqrtf(v / c4) + c5);
    return c6 != 0.0f ? fmaf(c6, param, u) : u;
}

// Runs BODY(i, a, b) for every element of each block and stores the lane-ordered sums of a and b.
#define FOR_EACH_BLOCK(BODY)                                                                    \
    for (size_t block = block_begin; block < block_end; block++) {                              \
        const size_t begin = blocks[4 * block], end = blocks[4 * block + 1];                    \
        float sum_a[LANES] = {0}, sum_b[LANES] = {0};                                           \
        size_t i = begin;                                                                       \
        for (; i + LANES <= end; i += LANES) {                                                  \
            for (int lane = 0; lane < LANES; lane++) {                                          \
                float a, b;                                                                     \
                BODY(i + lane, a, b)                                                            \
                sum_a[lane] += a;                                                               \
                sum_b[lane] += b;                                                               \
            }                                                                                   \
        }                                                                                       \
        for (; i < end; i++) {                                                                  \
            float a, b;                                                                         \
            BODY(i, a, b)                                                                       \
            sum_a[0] += a;                                                                      \
            sum_b[0] += b;                                                                      \
        }                                                                                       \
        float total_a = 0.0f, total_b = 0.0f;                                                   \
        for (int lane = 0; lane < LANES; lane++) { total_a += sum_a[lane]; total_b += sum_b[lane]; } \
        partials[2 * block] = total_a;                                                          \
        partials[2 * block + 1] = total_b;                                                      \
    }

#define LAMB_MOMENTS(I, A, B)                                                   \
    {                                                                           \
        const float grad = g[I], param = p[I];                                  \
        const float m = lerp(s0[I], grad, c0);                               \
        const float v = fmaf(c2 * grad, grad, s1[I] * c1);                  \
        s0[I] = m;                                                              \
        s1[I] = v;                                                              \
        const float u = lamb_direction(m, v, param, c3, c4, c5, c6);                         \
        A = param * param;                                                      \
        B = u * u;                                                              \
    }

ETA_DISPATCH
void eta_lamb_moments(float *restrict p, const float *restrict g, float *restrict s0, float *restrict s1, float *restrict s2,
                      float *restrict s3, const uint32_t *blocks, size_t block_begin, size_t block_end, float *partials,
                      const float *c, int32_t flags) {
    LOAD_SCALARS
    (void)s2; (void)s3; (void)flags;
    FOR_EACH_BLOCK(LAMB_MOMENTS)
}

ETA_DISPATCH
void eta_lamb_update(float *restrict p, const float *restrict g, float *restrict s0, float *restrict s1, float *restrict s2,
                     float *restrict s3, const uint32_t *blocks, size_t block_begin, size_t block_end, float *partials,
                     const float *c, int32_t flags) {
    LOAD_SCALARS
    (void)g; (void)s2; (void)s3; (void)flags;
    for (size_t block = block_begin; block < block_end; block++) {
        const uint32_t first = blocks[4 * block + 2], last = blocks[4 * block + 3];
        float pp = 0.0f, uu = 0.0f;
        for (uint32_t b = first; b < last; b++) { pp += partials[2 * b]; uu += partials[2 * b + 1]; }
        const float ratio = (pp > 0.0f && uu > 0.0f) ? eta_sqrtf(pp) / eta_sqrtf(uu) : 1.0f;
        const float step = -(c7 * ratio);
        const size_t begin = blocks[4 * block], end = blocks[4 * block + 1];
        for (size_t i = begin; i < end; i++) p[i] = fmaf(step, lamb_direction(s0[i], s1[i], p[i], c3, c4, c5, c6), p[i]);
    }
}

#define PRODIGY_ACCUMULATE_M(I, A, B) PRODIGY_BODY(I, A, B, 1)
#define PRODIGY_ACCUMULATE_NO_M(I, A, B) PRODIGY_BODY(I, A, B, 0)
#define PRODIGY_BODY(I, A, B, WITH_M)                                      \
    {                                                                           \
        const float param = p[I];                                               \
        const float grad = c0 != 0.0f ? fmaf(c0, param, g[I]) : g[I];       \
        A = grad * (s0[I] - param);                                             \
        if (WITH_M) s2[I] = fmaf(c2, grad, s2[I] * c1);                     \
        s3[I] = fmaf(c4 * grad, grad, s3[I] * c3);                          \
        const float s = fmaf(c6, grad, s1[I] * c5);                         \
        s1[I] = s;                                                              \
        B = fabsf(s);                                                           \
    }

ETA_DISPATCH
void eta_prodigy_accumulate(float *restrict p, const float *restrict g, float *restrict s0, float *restrict s1, float *restrict s2,
                            float *restrict s3, const uint32_t *blocks, size_t block_begin, size_t block_end, float *partials,
                            const float *c, int32_t flags) {
    LOAD_SCALARS
    // One loop per case: a flag test inside would keep the loop from vectorising.
    if (flags & OPT_A) { FOR_EACH_BLOCK(PRODIGY_ACCUMULATE_M) } else { FOR_EACH_BLOCK(PRODIGY_ACCUMULATE_NO_M) }
}

ETA_DISPATCH
void eta_prodigy_update(float *restrict p, const float *restrict g, float *restrict s0, float *restrict s1, float *restrict s2,
                        size_t n, const float *c, int32_t flags) {
    (void)s2;
    LOAD_SCALARS
    for (size_t i = 0; i < n; i++) {
        float param = p[i];
        const float denom = eta_sqrtf(s1[i]) + c2;
        if (flags & OPT_A) {
            if (c3 != 0.0f) param = fmaf(c3, param, param);
            param = param + c1 * s0[i] / denom;
        } else {
            const float grad = c0 != 0.0f ? fmaf(c0, param, g[i]) : g[i];
            if (c3 != 0.0f) param = fmaf(c3, param, param);
            param = param + c4 * grad / denom;
        }
        p[i] = param;
    }
}

#define DADAPT_ACCUMULATE(I, A, B)                                              \
    {                                                                           \
        const float grad = c0 != 0.0f ? fmaf(c0, p[I], g[I]) : g[I];        \
        const float v = s2[I], s = s0[I];                                       \
        A = grad * (s / (eta_sqrtf(v) + c1));                                 \
        s1[I] = fmaf(c3, grad, s1[I] * c2);                                 \
        s2[I] = fmaf(c5 * grad, grad, v * c4);                              \
        const float s_new = fmaf(c7, grad, s * c6);                         \
        s0[I] = s_new;                                                          \
        B = fabsf(s_new);                                                       \
    }

ETA_DISPATCH
void eta_dadapt_adam_accumulate(float *restrict p, const float *restrict g, float *restrict s0, float *restrict s1, float *restrict s2,
                                float *restrict s3, const uint32_t *blocks, size_t block_begin, size_t block_end, float *partials,
                                const float *c, int32_t flags) {
    LOAD_SCALARS
    (void)s3; (void)flags;
    FOR_EACH_BLOCK(DADAPT_ACCUMULATE)
}

ETA_DISPATCH
void eta_dadapt_adam_update(float *restrict p, const float *restrict g, float *restrict s0, float *restrict s1, float *restrict s2,
                            size_t n, const float *c, int32_t flags) {
    (void)g; (void)s2; (void)flags;
    LOAD_SCALARS
    for (size_t i = 0; i < n; i++) {
        float param = p[i];
        const float denom = eta_sqrtf(s1[i]) + c0;
        if (c1 != 0.0f) param = fmaf(c1, param, param);
        p[i] = param + (-1.0f) * s0[i] / denom;
    }
}
