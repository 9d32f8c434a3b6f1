// optimizers.cl — the elementwise update kernels: every optimizer's per-element pass, one fused pass each over the
// whole arena (sgd, adam, rmsprop, adagrad, adadelta, adamax, nadam, radam, lion, Schedule-Free AdamW and SGD, and
// the second passes of Prodigy and D-Adaptation), and lerp_toward.
//
// What: the bodies are in updates/ (shared with the CPU loops), made into kernels by updates/opencl.cl.
// Tunables: ETA_VEC (common.cl). Storage builds: -DETA_STATE_BF16 / -DETA_STATE_FP16, -DETA_PARAM_BF16 /
//       -DETA_PARAM_FP16, -DETA_MASTER (common.cl); the host builds this program once per combination it uses.
// Assumptions: float32 gradients; kernel arguments as documented in updates/opencl.cl and above each body.

#include "updates/opencl.cl"

// p = lerp(p, toward, w): Schedule-Free's switch between y (training) and x (evaluation).
__kernel void lerp_toward(__global float* restrict target, __global const float* restrict toward, const ulong n, const float w) {
    const ulong base = get_global_id(0) * ETA_VEC;
    if (base >= n) return;
    eta_store(target, base, n, eta_lerp(eta_load(target, base, n), eta_load(toward, base, n), w));
}
