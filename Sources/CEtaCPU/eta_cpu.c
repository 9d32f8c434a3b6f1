// Bandwidth references (copy, stream28), the dispatcher's choice, and the 16-bit parameter conversions. The update
// loops are in eta_updates_*.c (bodies in Kernels/updates/). Implicit contraction is off; explicit fma where the
// kernels fuse. target_clones builds each loop for AVX-512, AVX2 and baseline x86-64 and picks one at load time.
#include "eta_cpu.h"
#include <string.h>

#pragma clang fp contract(off)

#if defined(__x86_64__) && defined(__clang__)
#define ETA_DISPATCH __attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))
#else
#define ETA_DISPATCH
#endif

static inline float eta_fma(float a, float b, float c) { return __builtin_fmaf(a, b, c); }

ETA_DISPATCH
void eta_copy(const float *restrict source, float *restrict destination, size_t n) {
    for (size_t i = 0; i < n; i++) destination[i] = source[i];
}

ETA_DISPATCH
void eta_stream28(float *restrict a, const float *restrict b, float *restrict c, float *restrict d, size_t n, float scale) {
    for (size_t i = 0; i < n; i++) {
        const float x = b[i];
        a[i] = eta_fma(scale, x, a[i]);
        c[i] = eta_fma(scale, x, c[i]);
        d[i] = eta_fma(scale, x, d[i]);
    }
}

const char *eta_cpu_dispatch_target(void) {
#if defined(__x86_64__) && defined(__clang__)
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
        __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512dq"))
        return "x86-64-v4 (AVX-512)";
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) return "x86-64-v3 (AVX2)";
    return "x86-64 baseline";
#else
    return "baseline";
#endif
}

// 16-bit parameter storage: widen exactly, narrow with round-to-nearest-even (a NaN stays a quiet NaN), as the
// kernels' eta_load_p / eta_store_p (Kernels/common.cl). (16-bit state is converted inside the update loops.)
ETA_DISPATCH
void eta_widen_bf16(const uint16_t *src, float *dst, size_t n) {
    for (size_t i = 0; i < n; i++) {
        const uint32_t bits = (uint32_t)src[i] << 16;
        memcpy(dst + i, &bits, sizeof bits);
    }
}

ETA_DISPATCH
void eta_narrow_bf16(const float *src, uint16_t *dst, size_t n) {
    for (size_t i = 0; i < n; i++) {
        uint32_t bits;
        memcpy(&bits, src + i, sizeof bits);
        dst[i] = (bits & 0x7fffffffu) > 0x7f800000u ? (uint16_t)((bits >> 16) | 0x40u)
                                                      : (uint16_t)((bits + 0x7fffu + ((bits >> 16) & 1u)) >> 16);
    }
}

ETA_DISPATCH
void eta_widen_fp16(const uint16_t *src, float *dst, size_t n) {
    for (size_t i = 0; i < n; i++) {
        _Float16 h;
        memcpy(&h, src + i, sizeof h);
        dst[i] = (float)h;
    }
}

ETA_DISPATCH
void eta_narrow_fp16(const float *src, uint16_t *dst, size_t n) {
    for (size_t i = 0; i < n; i++) {
        const _Float16 h = (_Float16)src[i];
        memcpy(dst + i, &h, sizeof h);
    }
}
