// losses.cl — losses fused with their gradients, per row, in one pass.
//
// What: each work-item owns one row (one sample): it writes that row's loss, whether the prediction was
//       right (1 or 0; regression writes 0), and d(mean loss)/d(input) for the row, scaled by `scale`
//       (1 / batch rows, or 1 / (rows * cols) for MSE as torch.nn.MSELoss(reduction="mean")).
//       softmax_cross_entropy: stable log-sum-exp; labels are class indices stored as floats.
//       bce_with_logits: max(x, 0) - x t + log1p(exp(-|x|)), one logit per row, targets 0 or 1.
//       mse: sum over the row's outputs of (p - t)^2.
//       With K replicas (an LR sweep) the inputs are K [rows x cols] blocks and every replica uses the
//       same targets: work-item r*rows + row handles row `row` of replica r.
// Tunables: none. Assumptions: row-major; labels valid (the data loader checks them on the host).

__kernel void softmax_cross_entropy(__global const float* restrict logits,
                                    __global const float* restrict labels,
                                    __global float* restrict grad,
                                    __global float* restrict row_loss,
                                    __global float* restrict row_correct,
                                    const ulong logits_offset,
                                    const ulong labels_offset,
                                    const uint rows,
                                    const uint classes,
                                    const float scale,
                                    const uint replicas) {
    const uint row = get_global_id(0);
    if (row >= rows * replicas) return;
    __global const float* x = logits + logits_offset + (size_t)row * classes;
    __global float* g = grad + (size_t)row * classes;
    const int label = (int)labels[labels_offset + row % rows];
    float maximum = x[0];
    int argmax = 0;
    for (uint c = 1; c < classes; c++) if (x[c] > maximum) { maximum = x[c]; argmax = c; }
    float sum = 0.0f;
    for (uint c = 0; c < classes; c++) sum += exp(x[c] - maximum);
    const float log_sum = log(sum);
    for (uint c = 0; c < classes; c++) {
        const float probability = exp(x[c] - maximum) / sum;
        g[c] = (probability - (c == label ? 1.0f : 0.0f)) * scale;
    }
    row_loss[row] = log_sum + maximum - x[label];
    row_correct[row] = argmax == label ? 1.0f : 0.0f;
}

__kernel void bce_with_logits(__global const float* restrict logits,
                              __global const float* restrict targets,
                              __global float* restrict grad,
                              __global float* restrict row_loss,
                              __global float* restrict row_correct,
                              const ulong logits_offset,
                              const ulong targets_offset,
                              const uint rows,
                              const float scale,
                              const uint replicas) {
    const uint row = get_global_id(0);
    if (row >= rows * replicas) return;
    const float x = logits[logits_offset + row];
    const float t = targets[targets_offset + row % rows];
    row_loss[row] = fmax(x, 0.0f) - x * t + log1p(exp(-fabs(x)));
    grad[row] = (1.0f / (1.0f + exp(-x)) - t) * scale;
    row_correct[row] = ((x > 0.0f) == (t > 0.5f)) ? 1.0f : 0.0f;
}

__kernel void mse(__global const float* restrict predictions,
                  __global const float* restrict targets,
                  __global float* restrict grad,
                  __global float* restrict row_loss,
                  __global float* restrict row_correct,
                  const ulong predictions_offset,
                  const ulong targets_offset,
                  const uint rows,
                  const uint cols,
                  const float scale,
                  const uint replicas) {
    const uint row = get_global_id(0);
    if (row >= rows * replicas) return;
    float sum = 0.0f;
    for (uint c = 0; c < cols; c++) {
        const size_t i = (size_t)row * cols + c;
        const size_t target = (size_t)(row % rows) * cols + c;
        const float difference = predictions[predictions_offset + i] - targets[targets_offset + target];
        sum += difference * difference;
        grad[i] = 2.0f * difference * scale;
    }
    row_loss[row] = sum;
    row_correct[row] = 0.0f;
}
