// sgd.cl — SGD with momentum, dampening, Nesterov, L2 weight decay and maximize (torch.optim.SGD).
//
// What: one fused pass over the whole arena: p (param), g (grad), buf (momentum buffer, unused when
//       momentum is 0). The order of operations is PyTorch's single-tensor path, with its CPU kernels' fma
//       roundings, see Reference.sgd.
// Tunables: ETA_VEC (common.cl).
// Assumptions: every step-dependent value (lr, whether this is the first step) is an argument; the
//       flags are uniform across the launch. With replica_size > 0 (an LR sweep: K replicas laid out every
//       replica_size floats, a multiple of ETA_VEC) the lr of replica r is replica_lr[replica_offset + r] instead of `lr`.

#define SGD_MAXIMIZE   1
#define SGD_MOMENTUM   2
#define SGD_NESTEROV   4
#define SGD_FIRST_STEP 8
#define SGD_GROUPED    16   // parameter groups: lr and weight_decay per 16-element chunk's group

__kernel void sgd_update(__global param_t* restrict p,
                         __global const float* restrict g,
                         __global state_t* restrict buf,
                         const ulong n,
                         const float lr,
                         const float weight_decay_arg,
                         const float momentum,
                         const float one_minus_dampening,
                         const int flags,
                         __global const float* restrict replica_lr,
                         const ulong replica_offset,
                         const ulong replica_size,
                         __global const uchar* restrict chunk_groups,
                         __global const float* restrict group_scalars,
                         __global float* restrict master) {
    const ulong base = get_global_id(0) * ETA_VEC;
    if (base >= n) return;
    float rate = replica_size ? replica_lr[replica_offset + base / replica_size] : lr;
    float weight_decay = weight_decay_arg;
    if (flags & SGD_GROUPED) {
        const uint group = chunk_groups[base / 16];
        rate = group_scalars[2 * group];
        weight_decay = group_scalars[2 * group + 1];
    }
    floatV param = PARAM_LOAD(base, n);
    floatV grad = eta_load(g, base, n);
    if (flags & SGD_MAXIMIZE) grad = -grad;
    if (weight_decay != 0.0f) grad = fma((floatV)weight_decay, param, grad);
    if (flags & SGD_MOMENTUM) {
        floatV b = grad;
        if (!(flags & SGD_FIRST_STEP)) b = fma((floatV)one_minus_dampening, grad, eta_load_state(buf, base, n) * momentum);
        eta_store_state(buf, base, n, b);
        grad = (flags & SGD_NESTEROV) ? fma((floatV)momentum, b, grad) : b;
    }
    PARAM_STORE(base, n, fma((floatV)(-rate), grad, param));
}
