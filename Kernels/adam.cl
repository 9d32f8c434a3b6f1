// adam.cl — Adam and AdamW with L2 or decoupled weight decay, AMSGrad and maximize (torch.optim.Adam/AdamW).
//
// What: one fused pass over the whole arena: p, g, m (exp_avg), v (exp_avg_sq), vmax (max_exp_avg_sq,
//       unused without AMSGrad). The order of operations is PyTorch's single-tensor path, see
//       Reference.adam: lerp for m, mul then addcmul for v, sqrt / sqrt(bc2) + eps, then addcdiv,
//       with the fma roundings of PyTorch's CPU kernels.
// Tunables: ETA_VEC (common.cl).
// Assumptions: the host computes every step-dependent scalar in double and passes it in: step_size =
//       lr / (1 - beta1^t), bc2_sqrt = sqrt(1 - beta2^t), decay_factor = 1 - lr * weight_decay. With
//       replica_size > 0 (an LR sweep: K replicas every replica_size floats, a multiple of ETA_VEC) replica r
//       takes its step_size from replica_scalars[o + r] and its decay_factor from replica_scalars[o + K + r]
//       (o = replica_offset).

#define ADAM_MAXIMIZE  1
#define ADAM_AMSGRAD   2
#define ADAM_DECOUPLED 4
#define ADAM_GROUPED   8   // parameter groups: step size, decay factor and weight_decay per 16-element chunk's group

__kernel void adam_update(__global param_t* restrict p,
                          __global const float* restrict g,
                          __global state_t* restrict m,
                          __global state_t* restrict v,
                          __global state_t* restrict vmax,
                          const ulong n,
                          const float weight_decay_arg,
                          const float decay_factor,
                          const float beta1_weight,
                          const float beta2,
                          const float one_minus_beta2,
                          const float step_size,
                          const float bc2_sqrt,
                          const float eps,
                          const int flags,
                          __global const float* restrict replica_scalars,
                          const ulong replica_offset,
                          const ulong replica_size,
                          const uint replicas,
                          __global const uchar* restrict chunk_groups,
                          __global const float* restrict group_scalars,
                          __global float* restrict master) {
    const ulong base = get_global_id(0) * ETA_VEC;
    if (base >= n) return;
    const ulong replica = replica_offset + (replica_size ? base / replica_size : 0);
    float rate = replica_size ? replica_scalars[replica] : step_size;
    float decay = replica_size ? replica_scalars[replicas + replica] : decay_factor;
    float weight_decay = weight_decay_arg;
    if (flags & ADAM_GROUPED) {
        const uint group = chunk_groups[base / 16];
        rate = group_scalars[3 * group];
        decay = group_scalars[3 * group + 1];
        weight_decay = group_scalars[3 * group + 2];
    }
    floatV param = PARAM_LOAD(base, n);
    floatV grad = eta_load(g, base, n);
    if (flags & ADAM_MAXIMIZE) grad = -grad;
    if (weight_decay != 0.0f) {
        if (flags & ADAM_DECOUPLED) param = param * decay;
        else grad = fma((floatV)weight_decay, param, grad);
    }
    floatV exp_avg = eta_load_state(m, base, n);
    // torch.lerp: the small-weight and large-weight forms round differently.
    exp_avg = (beta1_weight < 0.5f) ? fma((floatV)beta1_weight, grad - exp_avg, exp_avg)
                                    : fma((floatV)(beta1_weight - 1.0f), grad - exp_avg, grad);
    floatV exp_avg_sq = fma(one_minus_beta2 * grad, grad, eta_load_state(v, base, n) * beta2);
    eta_store_state(m, base, n, exp_avg);
    eta_store_state(v, base, n, exp_avg_sq);
    floatV second = exp_avg_sq;
    if (flags & ADAM_AMSGRAD) {
        second = fmax(eta_load_state(vmax, base, n), exp_avg_sq);
        eta_store_state(vmax, base, n, second);
    }
    const floatV denom = sqrt(second) / bc2_sqrt + eps;
    PARAM_STORE(base, n, param + (-rate) * exp_avg / denom);
}
