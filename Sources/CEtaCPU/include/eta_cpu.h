// Eta's CPU hot loops: one fused pass per update over a contiguous range. The Swift CPUBackend splits an
// arena into ranges and runs them on all cores. Arguments and flags mean what they mean in Kernels/*.cl.
#ifndef ETA_CPU_H
#define ETA_CPU_H
#include <stddef.h>
#include <stdint.h>

void eta_sgd_update(float *p, const float *g, float *buf, size_t n,
                    float lr, float weight_decay, float momentum, float one_minus_dampening, int32_t flags);

void eta_adam_update(float *p, const float *g, float *m, float *v, float *vmax, size_t n,
                     float weight_decay, float decay_factor, float beta1_weight, float beta2,
                     float one_minus_beta2, float step_size, float bc2_sqrt, float eps, int32_t flags);

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

// 16-bit state storage conversions (bf16 and IEEE fp16; narrowing rounds to nearest even).
void eta_widen_bf16(const uint16_t *src, float *dst, size_t n);
void eta_narrow_bf16(const float *src, uint16_t *dst, size_t n);
void eta_widen_fp16(const uint16_t *src, float *dst, size_t n);
void eta_narrow_fp16(const float *src, uint16_t *dst, size_t n);

// The family optimizers (Kernels/optimizers.cl): p, g, up to three state slots, n, the kernel's c0..c11, flags.
typedef void (*eta_family_update)(float *p, const float *g, float *s0, float *s1, float *s2, size_t n, const float *c, int32_t flags);
void eta_sgd_family(float *p, const float *g, float *s0, float *s1, float *s2, size_t n, const float *c, int32_t flags);
void eta_adam_family(float *p, const float *g, float *s0, float *s1, float *s2, size_t n, const float *c, int32_t flags);
void eta_rmsprop_update(float *p, const float *g, float *s0, float *s1, float *s2, size_t n, const float *c, int32_t flags);
void eta_adagrad_update(float *p, const float *g, float *s0, float *s1, float *s2, size_t n, const float *c, int32_t flags);
void eta_adadelta_update(float *p, const float *g, float *s0, float *s1, float *s2, size_t n, const float *c, int32_t flags);
void eta_adamax_update(float *p, const float *g, float *s0, float *s1, float *s2, size_t n, const float *c, int32_t flags);
void eta_nadam_update(float *p, const float *g, float *s0, float *s1, float *s2, size_t n, const float *c, int32_t flags);
void eta_radam_update(float *p, const float *g, float *s0, float *s1, float *s2, size_t n, const float *c, int32_t flags);
void eta_lion_update(float *p, const float *g, float *s0, float *s1, float *s2, size_t n, const float *c, int32_t flags);
void eta_schedulefree_adamw_update(float *p, const float *g, float *s0, float *s1, float *s2, size_t n, const float *c, int32_t flags);
void eta_schedulefree_sgd_update(float *p, const float *g, float *s0, float *s1, float *s2, size_t n, const float *c, int32_t flags);
void eta_prodigy_update(float *p, const float *g, float *s0, float *s1, float *s2, size_t n, const float *c, int32_t flags);
void eta_dadapt_adam_update(float *p, const float *g, float *s0, float *s1, float *s2, size_t n, const float *c, int32_t flags);

// Block passes (Kernels/adaptive.cl): blocks [block_begin, block_end) of a table of 4 uint32 per block (begin, end,
// first and last block of its tensor); two partial sums per block into partials[2·block + {0, 1}].
typedef void (*eta_block_update)(float *p, const float *g, float *s0, float *s1, float *s2, float *s3, const uint32_t *blocks,
                                 size_t block_begin, size_t block_end, float *partials, const float *c, int32_t flags);
void eta_lamb_moments(float *p, const float *g, float *s0, float *s1, float *s2, float *s3, const uint32_t *blocks,
                      size_t block_begin, size_t block_end, float *partials, const float *c, int32_t flags);
void eta_lamb_update(float *p, const float *g, float *s0, float *s1, float *s2, float *s3, const uint32_t *blocks,
                     size_t block_begin, size_t block_end, float *partials, const float *c, int32_t flags);
void eta_prodigy_accumulate(float *p, const float *g, float *s0, float *s1, float *s2, float *s3, const uint32_t *blocks,
                            size_t block_begin, size_t block_end, float *partials, const float *c, int32_t flags);
void eta_dadapt_adam_accumulate(float *p, const float *g, float *s0, float *s1, float *s2, float *s3, const uint32_t *blocks,
                                size_t block_begin, size_t block_end, float *partials, const float *c, int32_t flags);
/// p = lerp(p, toward, w) with torch.lerp's roundings (Schedule-Free's train/eval switch).
void eta_lerp_toward(float *p, const float *toward, size_t n, float w);

// Gradient clipping (Kernels/clip.cl): by the global norm whose square is *sumsq, and by value.
void eta_clip_by_norm(float *g, size_t n, const float *sumsq, float max_norm);
void eta_clip_by_value(float *g, size_t n, float clip);

/// The instruction set the dispatcher picked for these loops ("x86-64-v4", "x86-64-v3", "baseline").
const char *eta_cpu_dispatch_target(void);
#endif
