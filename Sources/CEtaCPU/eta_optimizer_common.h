// Shared by the optimizer loops (eta_optimizers.c, eta_adaptive.c): dispatch targets, the kernels' flag bits, and
// the torch roundings both files use. Private to CEtaCPU (not under include/).
#ifndef ETA_OPTIMIZER_COMMON_H
#define ETA_OPTIMIZER_COMMON_H

#include <math.h>
#include <stdint.h>

// AVX2 is the fastest target for these divide- and sqrt-bound loops on the machines measured (see README).
#if defined(__x86_64__) && defined(__clang__)
#define ETA_DISPATCH __attribute__((target_clones("arch=x86-64-v3", "default")))
#else
#define ETA_DISPATCH
#endif

#define OPT_MAXIMIZE 1
#define OPT_A 2
#define OPT_B 4

// sqrtf would keep errno semantics and stay scalar; the builtin is the correctly rounded vector instruction.
static inline float eta_sqrtf(float x) { return __builtin_elementwise_sqrt(x); }

// The step's scalars as locals: loads through `c` would be redone every iteration and block vectorisation.
#define LOAD_SCALARS \
    const float c0 = c[0], c1 = c[1], c2 = c[2], c3 = c[3], c4 = c[4], c5 = c[5], c6 = c[6], c7 = c[7], c8 = c[8], c9 = c[9]; \
    (void)c0; (void)c1; (void)c2; (void)c3; (void)c4; (void)c5; (void)c6; (void)c7; (void)c8; (void)c9;

// torch.lerp(self, end, w) with the CPU kernel's roundings.
static inline float lerp(float self, float end, float w) {
    return fabsf(w) < 0.5f ? fmaf(w, end - self, self) : fmaf(w - 1.0f, end - self, end);
}

#endif
