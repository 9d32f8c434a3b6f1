// updates/opencl.cl — the OpenCL preamble of the update bodies (updates/updates.cl).
//
// What: turns each body into kernels. Kernels/optimizers.cl includes it for the elementwise kernels (UPDATE: one
//       work-item per ETA_VEC elements, OPTIMIZER_KERNEL's signature, built once per storage variant);
//       Kernels/adaptive.cl defines ETA_BLOCK_PASSES first and gets the block kernels (BLOCK_SUMS, BLOCK_APPLY: one
//       work-group per block, float32 storage). In each program the other kind's bodies compile as unused inline
//       functions.
// Signature of the elementwise kernels (shared, so the host launches them alike): p, g, up to three state slots
//       s0..s2, n, twelve float scalars k0..k11 (c0..c11 in the bodies) computed on the host for this step, flags,
//       the group tables and the float32 master copy.
// Tunables: ETA_VEC (common.cl); BLOCK_LOCAL (adaptive.cl).
// Assumptions: common.cl comes first (FP_CONTRACT OFF, loads/stores, state_t/param_t and PARAM_LOAD/PARAM_STORE).

typedef floatV real;
#define ETA_INLINE inline
#define eta_fma fma
#define eta_sqrt sqrt
#define eta_fabs fabs
#define eta_fmax fmax
#define eta_fmin fmin
#define eta_sign sign
// select(b, a, c) picks a where c's elements are true (vector comparisons give -1, scalar ones 1).
#define eta_where(condition, a, b) select((b), (a), (condition))

#define OPT_GROUPED 256   // parameter groups: c0..c11 per 16-element chunk's group, from group_scalars

// ---- Elementwise passes (UPDATE) ----

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
    const floatV param = PARAM_LOAD(base, n); \
    floatV grad = eta_load(g, base, n); \
    if (flags & OPT_MAXIMIZE) grad = -grad;

#define ETA_UPDATE_PARAMS \
    __global param_t* restrict p, __global state_t* restrict s0, __global state_t* restrict s1, \
    __global state_t* restrict s2, __global float* restrict master, const ulong base, const ulong n, floatV param, \
    floatV grad, const float c0, const float c1, const float c2, const float c3, const float c4, const float c5, \
    const float c6, const float c7, const float c8, const float c9, const float c10, const float c11, const int flags
#define LOAD_STATE(s) eta_load_state(s, base, n)
#define STORE_STATE(s, value) eta_store_state(s, base, n, value)
#define STORE_PARAM(value) PARAM_STORE(base, n, value)

#ifndef ETA_BLOCK_PASSES
#define UPDATE(NAME, MASK) \
    inline void NAME##_element(ETA_UPDATE_PARAMS); \
    OPTIMIZER_KERNEL(NAME) { \
        OPT_BEGIN \
        NAME##_element(p, s0, s1, s2, master, base, n, param, grad, c0, c1, c2, c3, c4, c5, c6, c7, c8, c9, c10, c11, flags); \
    } \
    inline void NAME##_element(ETA_UPDATE_PARAMS)
#else
#define UPDATE(NAME, MASK) inline void NAME##_element(ETA_UPDATE_PARAMS)
#endif

// ---- Block passes (BLOCK_SUMS, BLOCK_APPLY) ----
// The host's block table gives each block [begin, end) and, for LAMB, the blocks [first, last) of its tensor (blocks
// never straddle tensors). A BLOCK_SUMS kernel writes its block's two sums to partials[2·block + {0, 1}] with a fixed
// tree, so the same input gives the same bits; a BLOCK_APPLY kernel sums its tensor's partials in block order in
// work-item 0, so those sums never leave the device.

#ifndef BLOCK_LOCAL
#define BLOCK_LOCAL 64
#endif

#define BLOCK_KERNEL(NAME) \
__kernel __attribute__((reqd_work_group_size(BLOCK_LOCAL, 1, 1))) \
void NAME(__global float* restrict p, __global const float* restrict g, __global float* restrict s0, \
          __global float* restrict s1, __global float* restrict s2, __global float* restrict s3, const ulong n, \
          const float c0, const float c1, const float c2, const float c3, const float c4, const float c5, \
          const float c6, const float c7, const float c8, const float c9, const float c10, const float c11, \
          const int flags, __global const uint* restrict blocks, __global float* restrict partials)

#define ETA_BLOCK_PARAMS \
    __global float* restrict p, __global const float* restrict g, __global float* restrict s0, \
    __global float* restrict s1, __global float* restrict s2, __global float* restrict s3, const ulong i, const ulong end, \
    const float c0, const float c1, const float c2, const float c3, const float c4, const float c5, \
    const float c6, const float c7, const float c8, const float c9, const float c10, const float c11, const int flags
#define ETA_BLOCK_ARGS p, g, s0, s1, s2, s3, i, end, c0, c1, c2, c3, c4, c5, c6, c7, c8, c9, c10, c11, flags
#define LOAD(x) eta_load(x, i, end)
#define STORE(x, value) eta_store(x, i, end, value)
#define SUMS(a, b) do { *sum_a = (a); *sum_b = (b); } while (0)

#define BLOCK_RANGE \
    const ulong block = get_group_id(0); \
    const ulong begin = blocks[4 * block], end = blocks[4 * block + 1];

// Each work-item takes ETA_VEC consecutive elements per iteration (vector loads; lanes past the block's end read
// as 0 and add nothing to the sums), the work-group ETA_VEC·BLOCK_LOCAL at a time.
#define BLOCK_LOOP(i) for (ulong i = begin + get_local_id(0) * ETA_VEC; i < end; i += BLOCK_LOCAL * ETA_VEC)

#ifdef ETA_BLOCK_PASSES
// Sums a and b over the work-group (a fixed tree) and writes them as this block's partials.
inline void eta_block_partials(__local float* scratch, float a, float b, __global float* partials, ulong block) {
    const uint lid = get_local_id(0);
    scratch[lid] = a;
    scratch[BLOCK_LOCAL + lid] = b;
    barrier(CLK_LOCAL_MEM_FENCE);
    for (uint width = BLOCK_LOCAL / 2; width > 0; width /= 2) {
        if (lid < width) {
            scratch[lid] += scratch[lid + width];
            scratch[BLOCK_LOCAL + lid] += scratch[BLOCK_LOCAL + lid + width];
        }
        barrier(CLK_LOCAL_MEM_FENCE);
    }
    if (lid == 0) {
        partials[2 * block] = scratch[0];
        partials[2 * block + 1] = scratch[BLOCK_LOCAL];
    }
}

// The lanes of v summed in lane order.
inline float eta_lane_sum(floatV v) {
    float lanes[ETA_VEC];
    vstoreV(v, 0, lanes);
    float sum = 0.0f;
    for (int i = 0; i < ETA_VEC; i++) sum += lanes[i];
    return sum;
}

#define BLOCK_SUMS(NAME, MASK) \
    inline void NAME##_element(ETA_BLOCK_PARAMS, floatV* sum_a, floatV* sum_b); \
    BLOCK_KERNEL(NAME) { \
        __local float scratch[2 * BLOCK_LOCAL]; \
        BLOCK_RANGE \
        floatV total_a = 0.0f, total_b = 0.0f; \
        BLOCK_LOOP(i) { \
            floatV a, b; \
            NAME##_element(ETA_BLOCK_ARGS, &a, &b); \
            total_a += a; \
            total_b += b; \
        } \
        eta_block_partials(scratch, eta_lane_sum(total_a), eta_lane_sum(total_b), partials, block); \
    } \
    inline void NAME##_element(ETA_BLOCK_PARAMS, floatV* sum_a, floatV* sum_b)

#define BLOCK_APPLY(NAME, MASK) \
    inline void NAME##_element(ETA_BLOCK_PARAMS, const float sum_a, const float sum_b); \
    BLOCK_KERNEL(NAME) { \
        __local float sums[2]; \
        BLOCK_RANGE \
        if (get_local_id(0) == 0) { \
            const uint first = blocks[4 * block + 2], last = blocks[4 * block + 3]; \
            float a = 0.0f, b = 0.0f; \
            for (uint k = first; k < last; k++) { a += partials[2 * k]; b += partials[2 * k + 1]; } \
            sums[0] = a; \
            sums[1] = b; \
        } \
        barrier(CLK_LOCAL_MEM_FENCE); \
        const float sum_a = sums[0], sum_b = sums[1]; \
        BLOCK_LOOP(i) NAME##_element(ETA_BLOCK_ARGS, sum_a, sum_b); \
    } \
    inline void NAME##_element(ETA_BLOCK_PARAMS, const float sum_a, const float sum_b)
#else
#define BLOCK_SUMS(NAME, MASK) inline void NAME##_element(ETA_BLOCK_PARAMS, floatV* sum_a, floatV* sum_b)
#define BLOCK_APPLY(NAME, MASK) inline void NAME##_element(ETA_BLOCK_PARAMS, const float sum_a, const float sum_b)
#endif

#include "updates.cl"
