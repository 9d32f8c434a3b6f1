// layers.cl — dense-layer pieces around the GEMMs: fused bias + activation, forward and backward.
//
// What: `bias_activation_forward` adds the bias row to Z in place (Z keeps the pre-activation for the
//       backward pass) and writes A = act(Z). Both kernels also run K replicas of a layer at once (an LR
//       sweep): replica r's [rows x cols] block follows replica r-1's, and its bias sits bias_stride further on. `bias_activation_backward` computes dZ = dA * act'(Z) and, in
//       the same pass, the bias gradient db = sum over rows of dZ: one work-item per column walks the rows
//       in order, so the sum is deterministic (resumed runs are bit-identical). With `accumulate` the
//       bias gradient is added to what is there (gradient accumulation over micro-batches).
// Activations: 0 identity, 1 relu, 2 tanh, 3 sigmoid, 4 gelu (PyTorch's exact erf form).
//       `bias_activation_backward` runs on a 2-D range, columns x replicas, so no work-item splits a flat index
//       into (replica, column): clang turns an `id / cols`, `id % cols` pair into a `freeze`d division, an LLVM
//       instruction that Oclgrind 21.10's uninitialised-value check cannot run (tools/oclgrind/freeze_repro.cl).
// Tunables: none (rows x cols is small: a batch times a layer width).
// Assumptions: row-major [rows x cols]; dZ may alias dA (each element is read, then written, by one work-item).

#define ACT_IDENTITY 0
#define ACT_RELU 1
#define ACT_TANH 2
#define ACT_SIGMOID 3
#define ACT_GELU 4

inline float eta_activate(float z, int activation) {
    switch (activation) {
    case ACT_RELU: return z > 0.0f ? z : 0.0f;
    case ACT_TANH: return tanh(z);
    case ACT_SIGMOID: return 1.0f / (1.0f + exp(-z));
    case ACT_GELU: return 0.5f * z * (1.0f + erf(z * 0.70710678118654752f));
    default: return z;
    }
}

// d act / dz at z.
inline float eta_activation_slope(float z, int activation) {
    switch (activation) {
    case ACT_RELU: return z > 0.0f ? 1.0f : 0.0f;
    case ACT_TANH: { const float t = tanh(z); return 1.0f - t * t; }
    case ACT_SIGMOID: { const float s = 1.0f / (1.0f + exp(-z)); return s * (1.0f - s); }
    case ACT_GELU: {
        const float cdf = 0.5f * (1.0f + erf(z * 0.70710678118654752f));
        const float pdf = exp(-0.5f * z * z) * 0.39894228040143268f;
        return cdf + z * pdf;
    }
    default: return 1.0f;
    }
}

__kernel void bias_activation_forward(__global float* restrict z,
                                      __global const float* restrict bias,
                                      __global float* restrict a,
                                      const ulong z_offset,
                                      const ulong bias_offset,
                                      const ulong a_offset,
                                      const uint rows,
                                      const uint cols,
                                      const int activation,
                                      const uint replicas,
                                      const ulong bias_stride,
                                      const int has_bias) {
    const size_t i = get_global_id(0);
    const size_t block = (size_t)rows * cols;
    if (i >= block * replicas) return;
    const float value =
        has_bias ? z[z_offset + i] + bias[bias_offset + (i / block) * bias_stride + i % cols] : z[z_offset + i];
    z[z_offset + i] = value;
    a[a_offset + i] = eta_activate(value, activation);
}

__kernel void bias_activation_backward(__global const float* grad_a,
                                       __global const float* restrict z,
                                       __global float* grad_z,
                                       __global float* restrict grad_bias,
                                       const ulong grad_a_offset,
                                       const ulong z_offset,
                                       const ulong grad_z_offset,
                                       const ulong grad_bias_offset,
                                       const uint rows,
                                       const uint cols,
                                       const int activation,
                                       const uint replicas,
                                       const ulong bias_stride,
                                       const int accumulate,
                                       const int has_bias) {
    // Dimension 0 is the column, dimension 1 the replica (no div/mod pair: see the banner).
    const uint column = get_global_id(0), replica = get_global_id(1);
    if (column >= cols || replica >= replicas) return;
    const size_t block = (size_t)replica * rows * cols;
    float sum = 0.0f;
    for (uint row = 0; row < rows; row++) {
        const size_t i = block + (size_t)row * cols + column;
        const float g = grad_a[grad_a_offset + i] * eta_activation_slope(z[z_offset + i], activation);
        grad_z[grad_z_offset + i] = g;
        sum += g;
    }
    if (!has_bias) return;   // an activation without a bias (grad_bias is any valid buffer)
    const ulong target = grad_bias_offset + replica * bias_stride + column;
    grad_bias[target] = accumulate ? grad_bias[target] + sum : sum;
}
