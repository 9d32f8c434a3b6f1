// Layers, losses and sums for the CPU backend: the same per-row and per-column algorithms as
// Kernels/layers.cl and losses.cl, so both backends are checked against one Reference.
#include "eta_cpu.h"
#include <math.h>

static inline float activate(float z, int32_t activation) {
    switch (activation) {
    case 1: return z > 0.0f ? z : 0.0f;
    case 2: return tanhf(z);
    case 3: return 1.0f / (1.0f + expf(-z));
    case 4: return 0.5f * z * (1.0f + erff(z * 0.70710678118654752f));
    default: return z;
    }
}

static inline float slope(float z, int32_t activation) {
    switch (activation) {
    case 1: return z > 0.0f ? 1.0f : 0.0f;
    case 2: { const float t = tanhf(z); return 1.0f - t * t; }
    case 3: { const float s = 1.0f / (1.0f + expf(-z)); return s * (1.0f - s); }
    case 4: {
        const float cdf = 0.5f * (1.0f + erff(z * 0.70710678118654752f));
        const float pdf = expf(-0.5f * z * z) * 0.39894228040143268f;
        return cdf + z * pdf;
    }
    default: return 1.0f;
    }
}

void eta_bias_activation_forward(float *z, const float *bias, float *a, size_t rows, size_t cols, int32_t activation) {
    for (size_t r = 0; r < rows; r++) {
        float *zr = z + r * cols, *ar = a + r * cols;
        for (size_t c = 0; c < cols; c++) {
            const float value = bias ? zr[c] + bias[c] : zr[c];
            zr[c] = value;
            ar[c] = activate(value, activation);
        }
    }
}

void eta_bias_activation_backward(const float *grad_a, const float *z, float *grad_z, float *grad_bias,
                                  size_t rows, size_t cols, int32_t activation, int32_t accumulate) {
    // Row by row (cache-friendly); each column's sum still runs over rows in order, as on the device, and is
    // added to the existing bias gradient at the end when accumulating.
    float sums[cols];
    for (size_t c = 0; c < cols; c++) sums[c] = 0.0f;
    for (size_t r = 0; r < rows; r++) {
        for (size_t c = 0; c < cols; c++) {
            const size_t i = r * cols + c;
            const float g = grad_a[i] * slope(z[i], activation);
            grad_z[i] = g;
            sums[c] += g;
        }
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
