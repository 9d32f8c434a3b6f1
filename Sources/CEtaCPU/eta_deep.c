// The deep-layer loops of the CPU backend: the C preamble of Kernels/deep/ (see deep/signatures.cl), so both backends
// run the same bodies. Each exported eta_NAME(begin, end, ...) runs NAME_item for i in [begin, end); CPUBackend
// splits [0, count) into chunks over all cores.
#include "eta_cpu.h"
#include <math.h>
#include "eta_math.h"

#pragma clang fp contract(off)

#define ETA_INLINE static inline __attribute__((always_inline))
#define eta_sqrt(x) __builtin_sqrtf(x)
#define eta_exp(x) eta_vector_exp(x)
#define eta_fmax(a, b) fmaxf(a, b)
#define eta_fma(a, b, c) fmaf(a, b, c)
#define eta_fabs(x) fabsf(x)

#include "../../Kernels/deep/image.cl"
#include "../../Kernels/deep/norm.cl"
#include "../../Kernels/deep/sequence.cl"
#include "../../Kernels/deep/matrix.cl"

// AVX2 where the host has it (the channel loops vectorise); the baseline clone keeps the binary portable.
#if defined(__x86_64__) && defined(__clang__)
#define ETA_DEEP_DISPATCH __attribute__((target_clones("arch=x86-64-v3", "default")))
#else
#define ETA_DEEP_DISPATCH
#endif

#define ETA_DEEP_C_LOOP(NAME) \
    ETA_DEEP_DISPATCH void eta_##NAME(ulong eta_begin, ulong eta_end, NAME##_PARAMS) { \
        for (ulong i = eta_begin; i < eta_end; i++) NAME##_item(i, NAME##_ARGS); \
    }
ETA_DEEP_KERNELS(ETA_DEEP_C_LOOP)
