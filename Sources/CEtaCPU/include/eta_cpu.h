// Eta's CPU hot loops: one fused pass per operation over a contiguous range. The Swift CPUBackend splits an
// arena into ranges and runs them on all cores. Arguments and flags mean what they mean in Kernels/*.cl.
#ifndef ETA_CPU_H
#define ETA_CPU_H
#include <stddef.h>
#include <stdint.h>

void eta_copy(const float *source, float *destination, size_t n);

void eta_stream28(float *a, const float *b, float *c, float *d, size_t n, float scale);

// Layers and losses (Kernels/layers.cl, losses.cl): activation ids 0 identity, 1 relu, 2 tanh, 3 sigmoid, 4 gelu.
void eta_bias_activation_forward(float *z, const float *bias, float *a, size_t rows, size_t cols, int32_t activation);
void eta_bias_activation_backward(const float *grad_a, const float *z, float *grad_z, float *grad_bias,
                                  size_t rows, size_t cols, int32_t activation, int32_t accumulate);
void eta_softmax_cross_entropy(const float *logits, const float *labels, float *grad, float *row_loss,
                               float *row_correct, size_t rows, size_t classes, float scale);
void eta_bce_with_logits(const float *logits, const float *targets, float *grad, float *row_loss,
                         float *row_correct, size_t rows, float scale);
void eta_mse(const float *predictions, const float *targets, float *grad, float *row_loss, float *row_correct,
             size_t rows, size_t cols, float scale);
/// Sum (of squares when `squares`) in double, returned as float.
float eta_sum(const float *source, size_t n, int32_t squares);

// 16-bit parameter storage (CPUBackend's float32 tiles): widen exactly, narrow with round-to-nearest-even (a NaN
// stays a quiet NaN), as the kernels' eta_load_p / eta_store_p (Kernels/common.cl).
void eta_widen_bf16(const uint16_t *src, float *dst, size_t n);
void eta_narrow_bf16(const float *src, uint16_t *dst, size_t n);
void eta_widen_fp16(const uint16_t *src, float *dst, size_t n);
void eta_narrow_fp16(const float *src, uint16_t *dst, size_t n);

// The update loops (Kernels/updates/, compiled by eta_updates_*.c), looked up by kernel name in a registry generated
// from the list in Kernels/updates/updates.cl.
// An elementwise pass: p (float32), g, the state slots s0..s2 in the storage the function was chosen for (NULL where
// absent: never touched), n elements, the kernel's c0..c11, flags.
typedef void (*eta_update_fn)(float *p, const float *g, void *s0, void *s1, void *s2, size_t n, const float *c, int32_t flags);
/// The loop of the elementwise kernel `name` for state storage 0 float32, 1 bf16, 2 fp16; NULL when there is none.
eta_update_fn eta_update_function(const char *name, int32_t state_storage);

// A block pass (float32): blocks [block_begin, block_end) of a table of 4 uint32 per block (begin, end, first and last
// block of its tensor); two partial sums per block into partials[2·block + {0, 1}], or read from there.
typedef void (*eta_block_fn)(float *p, const float *g, float *s0, float *s1, float *s2, float *s3, const uint32_t *blocks,
                             size_t block_begin, size_t block_end, float *partials, const float *c, int32_t flags);
/// The loop of the block kernel `name`; NULL when there is none.
eta_block_fn eta_block_function(const char *name);

/// p = lerp(p, toward, w) with torch.lerp's roundings (Schedule-Free's train/eval switch).
void eta_lerp_toward(float *p, const float *toward, size_t n, float w);

// Gradient clipping (Kernels/clip.cl): by the global norm whose square is *sumsq, and by value.
void eta_clip_by_norm(float *g, size_t n, const float *sumsq, float max_norm);
void eta_clip_by_value(float *g, size_t n, float clip);

/// The instruction set the dispatcher picked for these loops ("x86-64-v4", "x86-64-v3", "baseline").
const char *eta_cpu_dispatch_target(void);

// The deep-model layers (Kernels/deep/, bodies shared with the OpenCL kernels): eta_NAME(begin, end, NAME_PARAMS) runs
// indices [begin, end) of a kernel of ETA_DEEP_KERNELS; the parameters are listed once, in deep/signatures.cl.
typedef uint64_t ulong;
typedef uint32_t uint;
#define ETA_GLOBAL
#include "../../../Kernels/deep/signatures.cl"
#define ETA_DEEP_C_DECLARATION(NAME) void eta_##NAME(ulong eta_begin, ulong eta_end, NAME##_PARAMS);
ETA_DEEP_KERNELS(ETA_DEEP_C_DECLARATION)

#endif
