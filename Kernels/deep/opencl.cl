// deep/opencl.cl — the OpenCL preamble of the deep-layer bodies (deep/signatures.cl lists them).
//
// What: the bodies' vocabulary in OpenCL C, then one __kernel per entry of ETA_DEEP_KERNELS: work-item i < count runs
//       NAME_item(i, ...). Built as its own program (Kernels/deep.cl) after common.cl.
// Tunables: none (the host picks the work-group size per kernel, Kernel.localSize(preferred:)).

#define ETA_GLOBAL __global
#define ETA_INLINE inline
#define eta_sqrt sqrt
#define eta_exp exp
#define eta_fmax fmax
#define eta_fma fma
#define eta_fabs fabs

#include "signatures.cl"
#include "image.cl"
#include "norm.cl"
#include "sequence.cl"
#include "matrix.cl"

#define ETA_DEEP_OPENCL_KERNEL(NAME) \
    __kernel void NAME(NAME##_PARAMS) { \
        const ulong i = get_global_id(0); \
        if (i >= count) return; \
        NAME##_item(i, NAME##_ARGS); \
    }
ETA_DEEP_KERNELS(ETA_DEEP_OPENCL_KERNEL)
