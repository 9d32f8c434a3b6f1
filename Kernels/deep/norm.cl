// deep/norm.cl — batch and layer normalisation (bodies; see deep/signatures.cl).
//
// What: BatchNorm2d over channels-last activations (a channel is a column of [rows][channels] per replica) and
//       LayerNorm over rows. Statistics are two-pass (mean, then the mean of squared deviations: no cancellation) in
//       float32, each sum in row order by one work-item, so results are deterministic. With x̂ = (x − μ)·r, r =
//       1/√(σ² + eps) and M the set's size, the input gradient is r·(g − Σg/M − x̂·Σ(g·x̂)/M) with g = dy·γ
//       (PyTorch's compact form, /work/shared/reference/wave2.md §1.5); dγ = Σ dy·x̂ and dβ = Σ dy.
// Running statistics (training forward): mean ← (1 − m)·mean + m·μ and var ← (1 − m)·var + m·σ²·M/(M − 1), the
//       unbiased variance, as torch.nn.BatchNorm2d with momentum m.
// Tunables: none. Parallelism: batch-norm sums one work-item per channel (per replica), the elementwise passes one
//       per element; layer-norm one work-item per row, its parameter sums one per column.

ETA_INLINE void batch_norm_statistics_item(const ulong i, batch_norm_statistics_PARAMS) {
    const ulong replica = i / channels, c = i - replica * channels;
    ETA_GLOBAL const float* x = input + input_offset + replica * rows * channels + c;
    float sum = 0.0f;
    for (ulong r = 0; r < rows; r++) sum += x[r * channels];
    const float mean = sum / (float)rows;
    float squares = 0.0f;
    for (ulong r = 0; r < rows; r++) {
        const float d = x[r * channels] - mean;
        squares += d * d;
    }
    const float variance = squares / (float)rows;
    ETA_GLOBAL float* s = saved + saved_offset + replica * 4 * channels;
    s[c] = mean;
    s[channels + c] = 1.0f / eta_sqrt(variance + epsilon);
    const ulong q = replica * running_stride + c;
    const float unbiased = rows > 1 ? squares / (float)(rows - 1) : variance;
    running[mean_offset + q] = (1.0f - momentum) * running[mean_offset + q] + momentum * mean;
    running[variance_offset + q] = (1.0f - momentum) * running[variance_offset + q] + momentum * unbiased;
}

ETA_INLINE void batch_norm_normalize_item(const ulong i, batch_norm_normalize_PARAMS) {
    const ulong block = rows * channels, replica = i / block;
    const ulong within = i - replica * block, row = within / channels, c = within - row * channels;
    const ulong p = replica * parameter_stride + c;
    float mean, inverse;
    if (use_running) {
        const ulong q = replica * running_stride + c;
        mean = running[mean_offset + q];
        inverse = 1.0f / eta_sqrt(running[variance_offset + q] + epsilon);
    } else {
        ETA_GLOBAL const float* s = saved + saved_offset + replica * 4 * channels;
        mean = s[c];
        inverse = s[channels + c];
    }
    output[output_offset + i] =
        (input[input_offset + i] - mean) * inverse * parameters[weight_offset + p] + parameters[bias_offset + p];
}

ETA_INLINE void batch_norm_backward_sums_item(const ulong i, batch_norm_backward_sums_PARAMS) {
    const ulong replica = i / channels, c = i - replica * channels;
    const ulong base = replica * rows * channels + c;
    ETA_GLOBAL float* s = saved + saved_offset + replica * 4 * channels;
    const float mean = s[c], inverse = s[channels + c];
    float sum_dy = 0.0f, sum_dy_xhat = 0.0f;
    for (ulong r = 0; r < rows; r++) {
        const float dy = grad_output[grad_output_offset + base + r * channels];
        sum_dy += dy;
        sum_dy_xhat += dy * ((input[input_offset + base + r * channels] - mean) * inverse);
    }
    s[2 * channels + c] = sum_dy;
    s[3 * channels + c] = sum_dy_xhat;
    const ulong p = replica * parameter_stride + c;
    gradients[weight_offset + p] = accumulate ? gradients[weight_offset + p] + sum_dy_xhat : sum_dy_xhat;
    gradients[bias_offset + p] = accumulate ? gradients[bias_offset + p] + sum_dy : sum_dy;
}

ETA_INLINE void batch_norm_backward_input_item(const ulong i, batch_norm_backward_input_PARAMS) {
    const ulong block = rows * channels, replica = i / block;
    const ulong within = i - replica * block, row = within / channels, c = within - row * channels;
    ETA_GLOBAL const float* s = saved + saved_offset + replica * 4 * channels;
    const float mean = s[c], inverse = s[channels + c], m = (float)rows;
    const float gamma = parameters[weight_offset + replica * parameter_stride + c];
    const float xhat = (input[input_offset + i] - mean) * inverse;
    const float dy = grad_output[grad_output_offset + i];
    const float value = gamma * inverse * (dy - s[2 * channels + c] / m - xhat * (s[3 * channels + c] / m));
    const ulong at = grad_input_offset + i;
    grad_input[at] = accumulate ? grad_input[at] + value : value;
}

ETA_INLINE void layer_norm_forward_item(const ulong i, layer_norm_forward_PARAMS) {
    ETA_GLOBAL const float* x = input + input_offset + i * cols;
    ETA_GLOBAL float* y = output + output_offset + i * cols;
    float sum = 0.0f;
    for (ulong c = 0; c < cols; c++) sum += x[c];
    const float mean = sum / (float)cols;
    float squares = 0.0f;
    for (ulong c = 0; c < cols; c++) {
        const float d = x[c] - mean;
        squares += d * d;
    }
    const float inverse = 1.0f / eta_sqrt(squares / (float)cols + epsilon);
    for (ulong c = 0; c < cols; c++)
        y[c] = (x[c] - mean) * inverse * parameters[weight_offset + c] + parameters[bias_offset + c];
    saved[saved_offset + i] = mean;
    saved[saved_offset + rows + i] = inverse;
}

ETA_INLINE void layer_norm_backward_input_item(const ulong i, layer_norm_backward_input_PARAMS) {
    ETA_GLOBAL const float* x = input + input_offset + i * cols;
    ETA_GLOBAL const float* dy = grad_output + grad_output_offset + i * cols;
    ETA_GLOBAL float* dx = grad_input + grad_input_offset + i * cols;
    const float mean = saved[saved_offset + i], inverse = saved[saved_offset + rows + i], m = (float)cols;
    float sum_g = 0.0f, sum_g_xhat = 0.0f;
    for (ulong c = 0; c < cols; c++) {
        const float g = dy[c] * parameters[weight_offset + c];
        sum_g += g;
        sum_g_xhat += g * ((x[c] - mean) * inverse);
    }
    for (ulong c = 0; c < cols; c++) {
        const float g = dy[c] * parameters[weight_offset + c], xhat = (x[c] - mean) * inverse;
        const float value = inverse * (g - sum_g / m - xhat * (sum_g_xhat / m));
        dx[c] = accumulate ? dx[c] + value : value;
    }
}

ETA_INLINE void layer_norm_backward_parameters_item(const ulong i, layer_norm_backward_parameters_PARAMS) {
    float sum_dy = 0.0f, sum_dy_xhat = 0.0f;
    for (ulong r = 0; r < rows; r++) {
        const float dy = grad_output[grad_output_offset + r * cols + i];
        const float xhat = (input[input_offset + r * cols + i] - saved[saved_offset + r]) * saved[saved_offset + rows + r];
        sum_dy += dy;
        sum_dy_xhat += dy * xhat;
    }
    gradients[weight_offset + i] = accumulate ? gradients[weight_offset + i] + sum_dy_xhat : sum_dy_xhat;
    gradients[bias_offset + i] = accumulate ? gradients[bias_offset + i] + sum_dy : sum_dy;
}
