// eta_updates.h — the C preamble of the update bodies (Kernels/updates/updates.cl), private to CEtaCPU.
//
// What: makes each body an always-inline per-element function and a loop over a range that calls it, exported as
//       eta_<kernel>_<state storage> (UPDATE) or eta_<kernel> (block passes, float32 only). Included by
//       eta_updates_fp32.c, eta_updates_bf16.c and eta_updates_fp16.c, each defining ETA_STATE_<type> first; the
//       registry of all of them (eta_update_function, eta_block_function) is generated in eta_updates_fp32.c from the
//       list in updates.cl.
// Tunables: ETA_DISPATCH (the target_clones set; the runtime picks one at load time).
// Assumptions: parameters are float32 here (16-bit parameters go through float32 tiles in CPUBackend); 16-bit state
//       is read and written in place, widened and narrowed inside the vectorised loop: bf16 as uint16 (exact widen,
//       round-to-nearest-even narrow, NaN kept a quiet NaN), fp16 as _Float16 (F16C's vcvtph2ps/vcvtps2ph under
//       x86-64-v3). Contraction is off and sqrt is the correctly rounded instruction, so the loops give the
//       OpenCL kernels' and the Reference's bits.
#ifndef ETA_UPDATES_H
#define ETA_UPDATES_H

#include "eta_cpu.h"
#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#pragma clang fp contract(off)

// Float32 state: AVX2 (with FMA) is the fastest target for these divide- and sqrt-bound loops on the Xeons measured
// (Adam 12.9 vs 14.0 ms with AVX-512 on 2^24 parameters); on the 2-core AMD EPYC dev machine AVX-512 and AVX2 tie there
// (memory-bound). 16-bit state adds an AVX-512 clone: its conversions (vpmovdw, a masked NaN fix-up, zmm F16C) made
// Adam's bf16 loop 2.4x and its fp16 loop 1.5x faster in cache there, which is what lets 16-bit state run at the
// memory wall. The baseline clone keeps the binary portable.
#if defined(__x86_64__) && defined(__clang__) && (defined(ETA_STATE_BF16) || defined(ETA_STATE_FP16))
#define ETA_DISPATCH __attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))
#elif defined(__x86_64__) && defined(__clang__)
#define ETA_DISPATCH __attribute__((target_clones("arch=x86-64-v3", "default")))
#else
#define ETA_DISPATCH
#endif

#define ETA_CAT_(a, b) a##b
#define ETA_CAT(a, b) ETA_CAT_(a, b)

// The bodies' vocabulary (see updates.cl) for one element at a time.
typedef float real;
#define ETA_INLINE static inline __attribute__((always_inline))
#define eta_fma(a, b, c) __builtin_fmaf(a, b, c)
// sqrtf would keep errno semantics and stay scalar; the builtin is the correctly rounded vector instruction.
#define eta_sqrt(x) __builtin_elementwise_sqrt(x)
#define eta_fabs(x) __builtin_fabsf(x)
ETA_INLINE float eta_fmax(float a, float b) { return a > b ? a : b; }
ETA_INLINE float eta_sign(float x) { return x > 0.0f ? 1.0f : x < 0.0f ? -1.0f : 0.0f; }
ETA_INLINE float eta_fmin(float a, float b) { return a < b ? a : b; }
#define eta_where(condition, a, b) ((condition) ? (a) : (b))

ETA_INLINE float eta_bits_to_float(uint32_t bits) { float f; memcpy(&f, &bits, sizeof f); return f; }
ETA_INLINE uint32_t eta_float_to_bits(float f) { uint32_t bits; memcpy(&bits, &f, sizeof bits); return bits; }
#endif // ETA_UPDATES_H

// ---- State storage of this translation unit ----
#if defined(ETA_STATE_BF16)
#define ETA_STATE_NAME bf16
typedef uint16_t state_t;
ETA_INLINE float eta_widen_state(state_t h) { return eta_bits_to_float((uint32_t)h << 16); }
ETA_INLINE state_t eta_narrow_state(float f) {
    const uint32_t bits = eta_float_to_bits(f), high = bits >> 16;
    return f != f ? (state_t)(high | 0x40u) : (state_t)((bits + 0x7fffu + (high & 1u)) >> 16);
}
#elif defined(ETA_STATE_FP16)
#define ETA_STATE_NAME fp16
typedef _Float16 state_t;
ETA_INLINE float eta_widen_state(state_t h) { return (float)h; }
ETA_INLINE state_t eta_narrow_state(float f) { return (state_t)f; }
#else
#define ETA_STATE_FP32
#define ETA_STATE_NAME fp32
typedef float state_t;
ETA_INLINE float eta_widen_state(state_t x) { return x; }
ETA_INLINE state_t eta_narrow_state(float x) { return x; }
#endif

// ---- Elementwise passes (UPDATE) ----

#define ETA_SCALAR_PARAMS \
    const float c0, const float c1, const float c2, const float c3, const float c4, const float c5, const float c6, \
    const float c7, const float c8, const float c9, const float c10, const float c11, const int32_t flags
#define ETA_UPDATE_PARAMS \
    float *restrict p, state_t *restrict s0, state_t *restrict s1, state_t *restrict s2, const size_t i, real param, \
    real grad, ETA_SCALAR_PARAMS
#define LOAD_STATE(s) eta_widen_state((s)[i])
#define STORE_STATE(s, value) ((s)[i] = eta_narrow_state(value))
#define STORE_PARAM(value) (p[i] = (value))

// The step's scalars as locals: loads through `c` would be redone every iteration and block vectorisation.
#define ETA_LOAD_SCALARS \
    const float c0 = c[0], c1 = c[1], c2 = c[2], c3 = c[3], c4 = c[4], c5 = c[5], c6 = c[6], c7 = c[7], c8 = c[8], \
                c9 = c[9], c10 = c[10], c11 = c[11];
#define ETA_SCALAR_ARGS c0, c1, c2, c3, c4, c5, c6, c7, c8, c9, c10, c11

// One loop per value K of the flag bits in MASK, which are constants inside it: a choice of memory left to the loop
// would be if-converted into masked loads of absent (NULL) slots, whose fault-suppression assists made a loop 15
// times slower. Values outside MASK fold away at compile time.
#define ETA_CASE(LOOP, NAME, MASK, K) case K: if (((K) & ~(MASK)) == 0) { LOOP(NAME, MASK, K) } break;
#define ETA_SPECIALISE(LOOP, NAME, MASK) \
    switch (flags & (MASK) & (OPT_A | OPT_B | OPT_C)) { \
    ETA_CASE(LOOP, NAME, MASK, 0) ETA_CASE(LOOP, NAME, MASK, 2) ETA_CASE(LOOP, NAME, MASK, 4) \
    ETA_CASE(LOOP, NAME, MASK, 6) ETA_CASE(LOOP, NAME, MASK, 8) ETA_CASE(LOOP, NAME, MASK, 10) \
    ETA_CASE(LOOP, NAME, MASK, 12) ETA_CASE(LOOP, NAME, MASK, 14) \
    default: break; \
    }
#define ETA_SPECIALISED_FLAGS(MASK, K) ((flags & ~(MASK)) | (K))

#define ETA_UPDATE_LOOP(NAME, MASK, K) \
    for (size_t i = 0; i < n; i++) { \
        const float grad = g[i]; \
        NAME##_element(p, s0, s1, s2, i, p[i], (flags & OPT_MAXIMIZE) ? -grad : grad, ETA_SCALAR_ARGS, \
                       ETA_SPECIALISED_FLAGS(MASK, K)); \
    }

#define UPDATE(NAME, MASK) \
    ETA_INLINE void NAME##_element(ETA_UPDATE_PARAMS); \
    ETA_DISPATCH void ETA_CAT(eta_##NAME##_, ETA_STATE_NAME)(float *restrict p, const float *restrict g, void *restrict state0, \
                                                       void *restrict state1, void *restrict state2, size_t n, \
                                                       const float *c, int32_t flags) { \
        state_t *s0 = state0, *s1 = state1, *s2 = state2; \
        ETA_LOAD_SCALARS \
        ETA_SPECIALISE(ETA_UPDATE_LOOP, NAME, MASK) \
    } \
    ETA_INLINE void NAME##_element(ETA_UPDATE_PARAMS)

// ---- Block passes (BLOCK_SUMS, BLOCK_APPLY; float32, compiled in eta_updates_fp32.c) ----

#define ETA_BLOCK_PARAMS \
    float *restrict p, const float *restrict g, float *restrict s0, float *restrict s1, float *restrict s2, \
    float *restrict s3, const size_t i, ETA_SCALAR_PARAMS
#define LOAD(x) ((x)[i])
#define STORE(x, value) ((x)[i] = (value))
#define SUMS(a, b) do { *sum_a = (a); *sum_b = (b); } while (0)

#define ETA_BLOCK_FUNCTION(NAME) \
    ETA_DISPATCH void eta_##NAME(float *restrict p, const float *restrict g, float *restrict s0, float *restrict s1, \
                                 float *restrict s2, float *restrict s3, const uint32_t *blocks, size_t block_begin, \
                                 size_t block_end, float *partials, const float *c, int32_t flags)

// Independent accumulators per block, so the sums vectorise; summed in lane order at the end.
#define ETA_LANES 16

// Runs the element of every element of each block and stores the lane-ordered sums of its two values.
#define ETA_BLOCK_SUMS_LOOP(NAME, MASK, K) \
    for (size_t block = block_begin; block < block_end; block++) { \
        const size_t begin = blocks[4 * block], end = blocks[4 * block + 1]; \
        float lanes_a[ETA_LANES] = {0}, lanes_b[ETA_LANES] = {0}; \
        size_t at = begin; \
        for (; at + ETA_LANES <= end; at += ETA_LANES) { \
            for (int lane = 0; lane < ETA_LANES; lane++) { \
                float a, b; \
                NAME##_element(p, g, s0, s1, s2, s3, at + lane, ETA_SCALAR_ARGS, ETA_SPECIALISED_FLAGS(MASK, K), &a, &b); \
                lanes_a[lane] += a; \
                lanes_b[lane] += b; \
            } \
        } \
        for (; at < end; at++) { \
            float a, b; \
            NAME##_element(p, g, s0, s1, s2, s3, at, ETA_SCALAR_ARGS, ETA_SPECIALISED_FLAGS(MASK, K), &a, &b); \
            lanes_a[0] += a; \
            lanes_b[0] += b; \
        } \
        float total_a = 0.0f, total_b = 0.0f; \
        for (int lane = 0; lane < ETA_LANES; lane++) { total_a += lanes_a[lane]; total_b += lanes_b[lane]; } \
        partials[2 * block] = total_a; \
        partials[2 * block + 1] = total_b; \
    }

// Sums the block's tensor's partials in block order, then runs the element over the block.
#define ETA_BLOCK_APPLY_LOOP(NAME, MASK, K) \
    for (size_t block = block_begin; block < block_end; block++) { \
        const uint32_t first = blocks[4 * block + 2], last = blocks[4 * block + 3]; \
        float sum_a = 0.0f, sum_b = 0.0f; \
        for (uint32_t k = first; k < last; k++) { sum_a += partials[2 * k]; sum_b += partials[2 * k + 1]; } \
        const size_t begin = blocks[4 * block], end = blocks[4 * block + 1]; \
        for (size_t at = begin; at < end; at++) \
            NAME##_element(p, g, s0, s1, s2, s3, at, ETA_SCALAR_ARGS, ETA_SPECIALISED_FLAGS(MASK, K), sum_a, sum_b); \
    }

#ifdef ETA_STATE_FP32
#define BLOCK_SUMS(NAME, MASK) \
    ETA_INLINE void NAME##_element(ETA_BLOCK_PARAMS, float *sum_a, float *sum_b); \
    ETA_BLOCK_FUNCTION(NAME) { \
        ETA_LOAD_SCALARS \
        ETA_SPECIALISE(ETA_BLOCK_SUMS_LOOP, NAME, MASK) \
    } \
    ETA_INLINE void NAME##_element(ETA_BLOCK_PARAMS, float *sum_a, float *sum_b)
#define BLOCK_APPLY(NAME, MASK) \
    ETA_INLINE void NAME##_element(ETA_BLOCK_PARAMS, const float sum_a, const float sum_b); \
    ETA_BLOCK_FUNCTION(NAME) { \
        ETA_LOAD_SCALARS \
        ETA_SPECIALISE(ETA_BLOCK_APPLY_LOOP, NAME, MASK) \
    } \
    ETA_INLINE void NAME##_element(ETA_BLOCK_PARAMS, const float sum_a, const float sum_b)
#else
#define BLOCK_SUMS(NAME, MASK) __attribute__((unused)) ETA_INLINE void NAME##_element(ETA_BLOCK_PARAMS, float *sum_a, float *sum_b)
#define BLOCK_APPLY(NAME, MASK) __attribute__((unused)) ETA_INLINE void NAME##_element(ETA_BLOCK_PARAMS, const float sum_a, const float sum_b)
#endif

#include "../../Kernels/updates/updates.cl"
