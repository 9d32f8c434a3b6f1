// adaptive.cl — optimizers whose update needs sums over the arena: LAMB (a trust ratio per tensor), Prodigy
// and D-Adaptation Adam (a global step-size estimate d).
//
// What: "block" kernels run one work-group per block of the arena; the host's block table gives each block
//       [begin, end) and, for LAMB, the blocks [first, last) of the tensor it belongs to (blocks never straddle
//       tensors). Each writes its block's two partial sums to partials[2·block + {0, 1}] with a fixed tree, so
//       the same input gives the same bits. LAMB's second pass (lamb_update) sums its tensor's partials in block
//       order in work-item 0, so the trust ratio never leaves the device. Prodigy and D-Adaptation finish d on
//       the host (a few hundred floats read back; d is a Python float in the reference packages) and apply the
//       update with an elementwise kernel of optimizers.cl's signature.
// Roundings follow the reference packages' torch ops on the CPU (Reference+Adaptive.swift): add(alpha) and
//       addcmul are fused multiply-adds, mul/div/addcdiv are not.
// Tunables: BLOCK_LOCAL (work-group size of block kernels, a power of two; the host picks the largest up to 64
//       that the device and the kernels allow), ETA_VEC (common.cl).

#ifndef BLOCK_LOCAL
#define BLOCK_LOCAL 64
#endif

#define OPT_A 2      // prodigy: beta1 > 0 (exp_avg is kept)

#define BLOCK_KERNEL(NAME) \
__kernel __attribute__((reqd_work_group_size(BLOCK_LOCAL, 1, 1))) \
void NAME(__global float* restrict p, __global const float* restrict g, __global float* restrict s0, \
          __global float* restrict s1, __global float* restrict s2, __global float* restrict s3, const ulong n, \
          const float c0, const float c1, const float c2, const float c3, const float c4, const float c5, \
          const float c6, const float c7, const float c8, const float c9, const float c10, const float c11, \
          const int flags, __global const uint* restrict blocks, __global float* restrict partials)

// The second passes of Prodigy and D-Adaptation: optimizers.cl's elementwise signature (the group and master
// arguments are never read: these optimizers keep float32 storage and take no groups).
#define ELEMENTWISE_KERNEL(NAME) \
__kernel void NAME(__global float* restrict p, __global const float* restrict g, __global float* restrict s0, \
                   __global float* restrict s1, __global float* restrict s2, const ulong n, \
                   const float c0, const float c1, const float c2, const float c3, const float c4, const float c5, \
                   const float c6, const float c7, const float c8, const float c9, const float c10, const float c11, \
                   const int flags, __global const uchar* chunk_groups, __global const float* group_scalars, \
                   __global float* master)

#define BLOCK_RANGE \
    const ulong block = get_group_id(0); \
    const ulong begin = blocks[4 * block], end = blocks[4 * block + 1];

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

// Each work-item takes ETA_VEC consecutive elements per iteration (vector loads; lanes past the block's end read
// as 0 and add nothing to the sums), the work-group ETA_VEC·BLOCK_LOCAL at a time.
#define BLOCK_LOOP(i) for (ulong i = begin + get_local_id(0) * ETA_VEC; i < end; i += BLOCK_LOCAL * ETA_VEC)

// torch.lerp's roundings (as optimizers.cl).
inline floatV eta_lerp_v(floatV self, floatV end, float w) {
    return fabs(w) < 0.5f ? fma((floatV)w, end - self, self) : fma((floatV)(w - 1.0f), end - self, end);
}

// LAMB's Adam direction plus decoupled decay: u = m̂ / (sqrt(v̂) + eps) + wd·p.
inline floatV lamb_direction(floatV m, floatV v, floatV param, float c3, float c4, float c5, float c6) {
    const floatV u = (m / c3) / (sqrt(v / c4) + c5);
    return c6 != 0.0f ? fma((floatV)c6, param, u) : u;
}

// LAMB pass 1. c0 1-beta1, c1 beta2, c2 1-beta2, c3 1-beta1^t, c4 1-beta2^t, c5 eps, c6 weight_decay.
// s0 exp_avg, s1 exp_avg_sq. Partials: sum p², sum u².
BLOCK_KERNEL(lamb_moments) {
    __local float scratch[2 * BLOCK_LOCAL];
    BLOCK_RANGE
    floatV pp = 0.0f, uu = 0.0f;
    BLOCK_LOOP(i) {
        const floatV grad = eta_load(g, i, end), param = eta_load(p, i, end);
        const floatV m = eta_lerp_v(eta_load(s0, i, end), grad, c0);
        const floatV v = fma(c2 * grad, grad, eta_load(s1, i, end) * c1);
        eta_store(s0, i, end, m);
        eta_store(s1, i, end, v);
        const floatV u = lamb_direction(m, v, param, c3, c4, c5, c6);
        pp += param * param;
        uu += u * u;
    }
    eta_block_partials(scratch, eta_lane_sum(pp), eta_lane_sum(uu), partials, block);
}

// LAMB pass 2: p -= lr · (||p|| / ||u||) · u per tensor (ratio 1 when either norm is 0). c7 lr; as pass 1.
BLOCK_KERNEL(lamb_update) {
    __local float ratio_shared;
    BLOCK_RANGE
    if (get_local_id(0) == 0) {
        const uint first = blocks[4 * block + 2], last = blocks[4 * block + 3];
        float pp = 0.0f, uu = 0.0f;
        for (uint b = first; b < last; b++) { pp += partials[2 * b]; uu += partials[2 * b + 1]; }
        ratio_shared = (pp > 0.0f && uu > 0.0f) ? sqrt(pp) / sqrt(uu) : 1.0f;
    }
    barrier(CLK_LOCAL_MEM_FENCE);
    const float step = -(c7 * ratio_shared);
    BLOCK_LOOP(i) {
        const floatV param = eta_load(p, i, end);
        eta_store(p, i, end, fma((floatV)step, lamb_direction(eta_load(s0, i, end), eta_load(s1, i, end), param, c3, c4, c5, c6), param));
    }
}

// Prodigy pass 1. c0 coupled weight decay (0 when decoupled), c1 beta1, c2 d(1-beta1), c3 beta2, c4 d²(1-beta2),
// c5 beta3, c6 (d/d0)·dlr (or (d/d0)·d with safeguard_warmup). s0 p0, s1 s, s2 exp_avg (when OPT_A), s3 exp_avg_sq.
// Partials: sum g·(p0 - p), sum |s|.
BLOCK_KERNEL(prodigy_accumulate) {
    __local float scratch[2 * BLOCK_LOCAL];
    BLOCK_RANGE
    floatV dot = 0.0f, l1 = 0.0f;
    BLOCK_LOOP(i) {
        const floatV param = eta_load(p, i, end);
        floatV grad = eta_load(g, i, end);
        if (c0 != 0.0f) grad = fma((floatV)c0, param, grad);
        dot += grad * (eta_load(s0, i, end) - param);
        if (flags & OPT_A) eta_store(s2, i, end, fma((floatV)c2, grad, eta_load(s2, i, end) * c1));
        eta_store(s3, i, end, fma(c4 * grad, grad, eta_load(s3, i, end) * c3));
        const floatV s = fma((floatV)c6, grad, eta_load(s1, i, end) * c5);
        eta_store(s1, i, end, s);
        l1 += fabs(s);
    }
    eta_block_partials(scratch, eta_lane_sum(dot), eta_lane_sum(l1), partials, block);
}

// Prodigy pass 2 (elementwise). c0 coupled weight decay, c1 -dlr, c2 d·eps (the new d), c3 -weight_decay·dlr
// (decoupled; 0 otherwise), c4 -dlr·d. s0 exp_avg (when OPT_A), s1 exp_avg_sq.
ELEMENTWISE_KERNEL(prodigy_update) {
    const ulong base = get_global_id(0) * ETA_VEC;
    if (base >= n) return;
    floatV param = eta_load(p, base, n);
    const floatV denom = sqrt(eta_load(s1, base, n)) + c2;
    if (flags & OPT_A) {
        if (c3 != 0.0f) param = fma((floatV)c3, param, param);
        param = param + c1 * eta_load(s0, base, n) / denom;
    } else {
        floatV grad = eta_load(g, base, n);
        if (c0 != 0.0f) grad = fma((floatV)c0, param, grad);
        if (c3 != 0.0f) param = fma((floatV)c3, param, param);
        param = param + c4 * grad / denom;
    }
    eta_store(p, base, n, param);
}

// D-Adaptation Adam pass 1. c0 coupled weight decay, c1 eps, c2 beta1, c3 dlr(1-beta1), c4 beta2, c5 1-beta2,
// c6 sqrt(beta2), c7 dlr(1-sqrt(beta2)). s0 s, s1 exp_avg, s2 exp_avg_sq. Partials: sum g·s/(sqrt(v)+eps) with the
// old s and v, sum |s| with the new s.
BLOCK_KERNEL(dadapt_adam_accumulate) {
    __local float scratch[2 * BLOCK_LOCAL];
    BLOCK_RANGE
    floatV dot = 0.0f, l1 = 0.0f;
    BLOCK_LOOP(i) {
        floatV grad = eta_load(g, i, end);
        if (c0 != 0.0f) grad = fma((floatV)c0, eta_load(p, i, end), grad);
        const floatV v = eta_load(s2, i, end), s = eta_load(s0, i, end);
        dot += grad * (s / (sqrt(v) + c1));
        eta_store(s1, i, end, fma((floatV)c3, grad, eta_load(s1, i, end) * c2));
        eta_store(s2, i, end, fma(c5 * grad, grad, v * c4));
        const floatV s_new = fma((floatV)c7, grad, s * c6);
        eta_store(s0, i, end, s_new);
        l1 += fabs(s_new);
    }
    eta_block_partials(scratch, eta_lane_sum(dot), eta_lane_sum(l1), partials, block);
}

// D-Adaptation Adam pass 2 (elementwise): p -= m / (sqrt(v) + eps), after decoupled decay. c0 eps,
// c1 -weight_decay·dlr (decoupled; 0 otherwise). s0 exp_avg, s1 exp_avg_sq.
ELEMENTWISE_KERNEL(dadapt_adam_update) {
    const ulong base = get_global_id(0) * ETA_VEC;
    if (base >= n) return;
    floatV param = eta_load(p, base, n);
    const floatV denom = sqrt(eta_load(s1, base, n)) + c0;
    if (c1 != 0.0f) param = fma((floatV)c1, param, param);
    eta_store(p, base, n, param + (-1.0f) * eta_load(s0, base, n) / denom);
}
