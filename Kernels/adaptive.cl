// adaptive.cl — the block passes of the optimizers whose update needs sums over the arena: LAMB (a trust ratio per
// tensor, both passes), Prodigy and D-Adaptation Adam (a global step-size estimate d, first passes).
//
// What: "block" kernels run one work-group per block of the arena (updates/opencl.cl's BLOCK_SUMS, BLOCK_APPLY);
//       their per-element arithmetic is in updates/ (shared with the CPU loops). Prodigy and D-Adaptation finish d
//       on the host (a few hundred floats read back; d is a Python float in the reference packages) and apply the
//       update with an elementwise kernel of optimizers.cl.
// Tunables: BLOCK_LOCAL (work-group size of block kernels, a power of two; the host picks the largest up to 64 that
//       the device and the kernels allow), ETA_VEC (common.cl).
// Assumptions: float32 storage (the host keeps these optimizers' state and parameters in float32).

#define ETA_BLOCK_PASSES
#include "updates/opencl.cl"
