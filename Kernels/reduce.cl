// reduce.cl — deterministic sums on the device: losses, correct counts, squared gradient norms.
//
// What: `reduce_partial` has each of REDUCE_GROUPS work-groups sum a fixed, contiguous share of the input
//       (optionally squared) with a tree in local memory; `reduce_finish` (one work-group) sums the partials
//       in order and writes destination[index] = scale * sum (+ the old value when accumulating). The split
//       depends only on n, so the same input always gives the same bits.
// Tunables: REDUCE_LOCAL (work-group size, a power of two; the host picks the largest up to 256 that the device
//       and the kernels allow, and launches with exactly that), REDUCE_GROUPS (partials).

#ifndef REDUCE_LOCAL
#define REDUCE_LOCAL 256
#endif
#ifndef REDUCE_GROUPS
#define REDUCE_GROUPS 64
#endif

inline float eta_tree_sum(__local float* scratch, float value) {
    const uint lid = get_local_id(0);
    scratch[lid] = value;
    barrier(CLK_LOCAL_MEM_FENCE);
    for (uint width = REDUCE_LOCAL / 2; width > 0; width /= 2) {
        if (lid < width) scratch[lid] += scratch[lid + width];
        barrier(CLK_LOCAL_MEM_FENCE);
    }
    return scratch[0];
}

__kernel __attribute__((reqd_work_group_size(REDUCE_LOCAL, 1, 1)))
void reduce_partial(__global const float* restrict source,
                    __global float* restrict partials,
                    const ulong source_offset,
                    const ulong n,
                    const int squares) {
    __local float scratch[REDUCE_LOCAL];
    const ulong group = get_group_id(0);
    const ulong share = (n + REDUCE_GROUPS - 1) / REDUCE_GROUPS;
    const ulong begin = group * share;
    const ulong end = min(begin + share, n);
    float sum = 0.0f;
    for (ulong i = begin + get_local_id(0); i < end; i += REDUCE_LOCAL) {
        const float x = source[source_offset + i];
        sum += squares ? x * x : x;
    }
    const float total = eta_tree_sum(scratch, sum);
    if (get_local_id(0) == 0) partials[group] = total;
}

__kernel __attribute__((reqd_work_group_size(REDUCE_LOCAL, 1, 1)))
void reduce_finish(__global const float* restrict partials,
                   __global float* restrict destination,
                   const ulong index,
                   const float scale,
                   const int accumulate) {
    __local float scratch[REDUCE_LOCAL];
    const uint lid = get_local_id(0);
    // Work-item lid sums partials lid, lid + REDUCE_LOCAL, ... (one each when REDUCE_LOCAL >= REDUCE_GROUPS).
    float sum = 0.0f;
    for (uint i = lid; i < REDUCE_GROUPS; i += REDUCE_LOCAL) sum += partials[i];
    const float total = eta_tree_sum(scratch, sum);
    if (lid == 0) destination[index] = (accumulate ? destination[index] : 0.0f) + scale * total;
}

// Sums `segments` contiguous segments of `length` values at once (an LR sweep's K replicas): work-group g
// walks segment g in a fixed order and writes destination[index + g * stride] = scale * sum (+ old value).
__kernel __attribute__((reqd_work_group_size(REDUCE_LOCAL, 1, 1)))
void reduce_segments(__global const float* restrict source,
                     __global float* restrict destination,
                     const ulong source_offset,
                     const ulong length,
                     const ulong index,
                     const ulong stride,
                     const float scale,
                     const int squares,
                     const int accumulate) {
    __local float scratch[REDUCE_LOCAL];
    const ulong segment = get_group_id(0);
    __global const float* values = source + source_offset + segment * length;
    float sum = 0.0f;
    for (ulong i = get_local_id(0); i < length; i += REDUCE_LOCAL) {
        const float x = values[i];
        sum += squares ? x * x : x;
    }
    const float total = eta_tree_sum(scratch, sum);
    if (get_local_id(0) == 0) {
        const ulong target = index + segment * stride;
        destination[target] = (accumulate ? destination[target] : 0.0f) + scale * total;
    }
}
