// Layers, losses and sums for the CPU backend: the same per-row and per-column algorithms as
// Kernels/layers.cl and losses.cl, so both backends are checked against one Reference.
#include "eta_cpu.h"
#include <math.h>

#include "eta_math.h"

// Φ(z) = (1 + erf(z/√2))/2 with erf from Abramowitz and Stegun 7.1.26 (absolute error ≤ 1.5e-7, so Φ and GELU are
// within 1e-7 of exact relative to their scale); vectorisable like eta_vector_exp.
static inline float eta_normal_cdf(float z) {
    const float x = z * 0.70710678118654752f, ax = x < 0.0f ? -x : x;
    const float t = 1.0f / (1.0f + 0.3275911f * ax);
    float poly = 1.061405429f;
    poly = poly * t - 1.453152027f;
    poly = poly * t + 1.421413741f;
    poly = poly * t - 0.284496736f;
    poly = poly * t + 0.254829592f;
    poly = poly * t;
    const float erf_abs = 1.0f - poly * eta_vector_exp(-ax * ax);
    return 0.5f * (1.0f + (x < 0.0f ? -erf_abs : erf_abs));
}

static inline float activate(float z, int32_t activation) {
    switch (activation) {
    case 1: return z > 0.0f ? z : 0.0f;
    case 2: return tanhf(z);
    case 3: return 1.0f / (1.0f + expf(-z));
    case 4: return z * eta_normal_cdf(z);
    default: return z;
    }
}

static inline float slope(float z, int32_t activation) {
    switch (activation) {
    case 1: return z > 0.0f ? 1.0f : 0.0f;
    case 2: { const float t = tanhf(z); return 1.0f - t * t; }
    case 3: { const float s = 1.0f / (1.0f + expf(-z)); return s * (1.0f - s); }
    case 4: return eta_normal_cdf(z) + z * eta_vector_exp(-0.5f * z * z) * 0.39894228040143268f;
    default: return 1.0f;
    }
}

// The loops below are instantiated per activation (a constant), so each body is branch-free and vectorises.
#if defined(__x86_64__) && defined(__clang__)
#define ETA_LAYER_DISPATCH __attribute__((target_clones("arch=x86-64-v3", "default")))
#else
#define ETA_LAYER_DISPATCH
#endif

// tanh and sigmoid call libm, so their instances stay scalar: no warning for the pragma there.
#pragma clang diagnostic ignored "-Wpass-failed"

// Each element is read, then written, by its own iteration (Z and A, or dA and dZ, may be one buffer), so the
// loops carry no dependence; the pragma says so, which lets them vectorise despite the possible aliasing.
#define ETA_FORWARD_ROWS(ACT) \
    for (size_t r = 0; r < rows; r++) { \
        float *zr = z + r * cols, *ar = a + r * cols; \
        _Pragma("clang loop vectorize(assume_safety)") \
        for (size_t c = 0; c < cols; c++) { \
            const float value = bias ? zr[c] + bias[c] : zr[c]; \
            zr[c] = value; \
            ar[c] = activate(value, ACT); \
        } \
    }

ETA_LAYER_DISPATCH
void eta_bias_activation_forward(float *z, const float *bias, float *a, size_t rows, size_t cols, int32_t activation) {
    switch (activation) {
    case 1: ETA_FORWARD_ROWS(1) break;
    case 2: ETA_FORWARD_ROWS(2) break;
    case 3: ETA_FORWARD_ROWS(3) break;
    case 4: ETA_FORWARD_ROWS(4) break;
    default: ETA_FORWARD_ROWS(0) break;
    }
}

#define ETA_BACKWARD_ROWS(ACT) \
    for (size_t r = 0; r < rows; r++) \
        _Pragma("clang loop vectorize(assume_safety)") \
        for (size_t c = 0; c < cols; c++) { \
            const size_t i = r * cols + c; \
            const float g = grad_a[i] * slope(z[i], ACT); \
            grad_z[i] = g; \
            sums[c] += g; \
        }

ETA_LAYER_DISPATCH
void eta_bias_activation_backward(const float *grad_a, const float *z, float *grad_z, float *grad_bias,
                                  size_t rows, size_t cols, int32_t activation, int32_t accumulate) {
    // Row by row (cache-friendly); each column's sum still runs over rows in order, as on the device, and is
    // added to the existing bias gradient at the end when accumulating.
    float sums[cols];
    for (size_t c = 0; c < cols; c++) sums[c] = 0.0f;
    switch (activation) {
    case 1: ETA_BACKWARD_ROWS(1) break;
    case 2: ETA_BACKWARD_ROWS(2) break;
    case 3: ETA_BACKWARD_ROWS(3) break;
    case 4: ETA_BACKWARD_ROWS(4) break;
    default: ETA_BACKWARD_ROWS(0) break;
    }
    if (grad_bias == NULL) return;   // an activation without a bias
    for (size_t c = 0; c < cols; c++) grad_bias[c] = accumulate ? grad_bias[c] + sums[c] : sums[c];
}

void eta_softmax_cross_entropy(const float *logits, const float *labels, float *grad, float *row_loss,
                               float *row_correct, size_t rows, size_t classes, float scale) {
    for (size_t r = 0; r < rows; r++) {
        const float *x = logits + r * classes;
        float *g = grad + r * classes;
        const size_t label = (size_t)labels[r];
        float maximum = x[0];
        size_t argmax = 0;
        for (size_t c = 1; c < classes; c++) if (x[c] > maximum) { maximum = x[c]; argmax = c; }
        float sum = 0.0f;
        for (size_t c = 0; c < classes; c++) sum += expf(x[c] - maximum);
        for (size_t c = 0; c < classes; c++) g[c] = (expf(x[c] - maximum) / sum - (c == label ? 1.0f : 0.0f)) * scale;
        row_loss[r] = logf(sum) + maximum - x[label];
        row_correct[r] = argmax == label ? 1.0f : 0.0f;
    }
}

void eta_bce_with_logits(const float *logits, const float *targets, float *grad, float *row_loss,
                         float *row_correct, size_t rows, float scale) {
    for (size_t r = 0; r < rows; r++) {
        const float x = logits[r], t = targets[r];
        row_loss[r] = fmaxf(x, 0.0f) - x * t + log1pf(expf(-fabsf(x)));
        grad[r] = (1.0f / (1.0f + expf(-x)) - t) * scale;
        row_correct[r] = ((x > 0.0f) == (t > 0.5f)) ? 1.0f : 0.0f;
    }
}

void eta_mse(const float *predictions, const float *targets, float *grad, float *row_loss, float *row_correct,
             size_t rows, size_t cols, float scale) {
    for (size_t r = 0; r < rows; r++) {
        float sum = 0.0f;
        for (size_t c = 0; c < cols; c++) {
            const size_t i = r * cols + c;
            const float difference = predictions[i] - targets[i];
            sum += difference * difference;
            grad[i] = 2.0f * difference * scale;
        }
        row_loss[r] = sum;
        row_correct[r] = 0.0f;
    }
}

float eta_sum(const float *source, size_t n, int32_t squares) {
    double sum = 0.0;
    if (squares) for (size_t i = 0; i < n; i++) sum += (double)source[i] * source[i];
    else for (size_t i = 0; i < n; i++) sum += source[i];
    return (float)sum;
}

void eta_clip_by_norm(float *g, size_t n, const float *sumsq, float max_norm) {
    float coefficient = max_norm / (sqrtf(*sumsq) + 1e-6f);
    if (coefficient > 1.0f) coefficient = 1.0f;   // clamp(max=1); a NaN norm stays NaN, as in PyTorch
    for (size_t i = 0; i < n; i++) g[i] = g[i] * coefficient;
}

void eta_clip_by_value(float *g, size_t n, float clip) {
    for (size_t i = 0; i < n; i++) g[i] = g[i] < -clip ? -clip : g[i] > clip ? clip : g[i];
}
