// updates/updates.cl — every optimizer update, written once for both backends.
//
// What: the list of update kernels, the helpers their bodies share, and the bodies (one file per optimizer).
//       A body is the per-element arithmetic of one kernel, written over `real` (floatV, ETA_VEC floats, in
//       OpenCL; float in C) with the macros below. Two preambles compile the same text:
//         Kernels/updates/opencl.cl (included by Kernels/optimizers.cl and Kernels/adaptive.cl) makes each body
//           the inner function of a __kernel: vector index, ragged tail, parameter groups, 16-bit storage;
//         Sources/CEtaCPU/eta_updates.h makes it an always-inline function that a loop calls, instantiated per
//           state storage type (eta_updates_fp32.c, _bf16.c, _fp16.c) and per value of the flag bits that gate
//           memory access (so those branches fold and the loops vectorise).
// Kinds: UPDATE(name, mask) an elementwise pass (OPTIMIZER_KERNEL's signature); BLOCK_SUMS(name, mask) a block pass
//       that returns two values per element, summed per block (SUMS(a, b)); BLOCK_APPLY(name, mask) a block pass
//       given its tensor's two sums (sum_a, sum_b). `mask`: the flag bits (OPT_A, OPT_B, OPT_C) that choose which
//       memory an element touches; the C loops are specialised on them.
// In a body: param and grad (UPDATE: loaded, grad negated for maximize), c0..c11, flags; LOAD_STATE(s0),
//       STORE_STATE(s0, v), STORE_PARAM(v) (UPDATE); LOAD(x), STORE(x, v) over p, g, s0..s3 (block passes, float32);
//       eta_fma, eta_sqrt, eta_fabs, eta_fmax, eta_fmin, eta_sign, eta_where(condition, a, b) (elementwise
//       condition ? a : b), (real)x to splat a scalar.
// Assumptions: no implicit contraction (both preambles turn it off); every fused multiply-add is an explicit eta_fma
//       where PyTorch's CPU kernels fuse one (Reference+Optimizers.swift, Reference+Adaptive.swift), so both
//       backends give the Reference's bits. eta_fmax(a, b) and eta_sign keep each backend's historical NaN/zero
//       conventions (OpenCL fmax/sign; C a > b ? a : b and a three-way compare), which agree on finite values.

// Flag bits every kernel reads alike (UpdateScalars); the meaning of A, B and C is per kernel.
#define OPT_MAXIMIZE 1
#define OPT_A 2
#define OPT_B 4
#define OPT_C 8

// The kernels, once: U(name) elementwise, B(name) block passes. The CPU registry (eta_updates_fp32.c) is generated
// from this list; OpenCL finds kernels by name in the programs.
#define ETA_UPDATE_KERNELS(U, B) \
    U(sgd_update) U(adam_update) U(rmsprop_update) U(adagrad_update) U(adadelta_update) U(adamax_update) \
    U(nadam_update) U(radam_update) U(lion_update) U(schedulefree_adamw_update) U(schedulefree_sgd_update) \
    U(asgd_update) U(rprop_update) \
    B(lamb_moments) B(lamb_update) B(prodigy_accumulate) U(prodigy_update) B(dadapt_adam_accumulate) U(dadapt_adam_update)

// lerp(self, end, w) as torch does it: fma(w, end - self, self) for |w| < 0.5, else fma(w - 1, end - self, end).
ETA_INLINE real eta_lerp(real self, real end, float w) {
    return eta_fabs(w) < 0.5f ? eta_fma((real)w, end - self, self) : eta_fma((real)(w - 1.0f), end - self, end);
}

#include "sgd.cl"
#include "adam.cl"
#include "rmsprop.cl"
#include "adagrad.cl"
#include "adadelta.cl"
#include "adamax.cl"
#include "nadam_radam.cl"
#include "lion.cl"
#include "schedulefree.cl"
#include "lamb.cl"
#include "prodigy.cl"
#include "dadapt_adam.cl"
#include "asgd_rprop.cl"
