// deep/matrix.cl — the per-tensor steps of the matrix optimizers (Muon, Adafactor), written once for both backends.
//
// What: the elementwise and per-row pieces a tensorwise optimizer step launches per tensor, between GEMMs and
//       reductions the host orders (Sources/EtaCore/Optimizers/Optimizer+Tensorwise.swift):
//         muon_momentum: buf = lerp(buf, g, 1-μ); out = nesterov ? lerp(g, buf, μ) : buf (torch.optim.Muon);
//         scale_by_norm: x /= max(sqrt(sumsq), eps), the squared norm read from the device;
//         muon_apply: p = p·decay, then p += -lr_adj·x (torch's mul_ then add_ with alpha, one fma);
//         adafactor_rows / adafactor_cols: the mean of g² over a row (column) of each [R × C] matrix, lerped into
//           row_var (col_var) with weight t^beta2_decay (torch.optim.Adafactor);
//         adafactor_direction: U = g·rsqrt(max(V, eps1²)), V = row_var·col_var / max(mean(row_var), eps1) for
//           factored tensors, else the lerped `variance` (kept in row_var);
//         adafactor_apply: p = p·decay, then p −= (α/denom)·U with α and denom computed from the two squared norms.
// Assumptions: float32 throughout; the sums run in index order, so both backends give the same bits for the same
//       input; lerp as torch computes it (updates/updates.cl's eta_lerp).

ETA_INLINE float eta_lerp1(const float self, const float end, const float w) {
    return eta_fabs(w) < 0.5f ? eta_fma(w, end - self, self) : eta_fma(w - 1.0f, end - self, end);
}

ETA_INLINE void muon_momentum_item(const ulong i, muon_momentum_PARAMS) {
    const float grad = g[g_offset + i];
    const float b = eta_lerp1(buf[buf_offset + i], grad, one_minus_momentum);
    buf[buf_offset + i] = b;
    out[out_offset + i] = nesterov ? eta_lerp1(grad, b, momentum) : b;
}

ETA_INLINE void scale_by_norm_item(const ulong i, scale_by_norm_PARAMS) {
    x[x_offset + i] = x[x_offset + i] / eta_fmax(eta_sqrt(stats[stats_index]), eps);
}

ETA_INLINE void muon_apply_item(const ulong i, muon_apply_PARAMS) {
    const ulong at = p_offset + i;
    p[at] = eta_fma(neg_lr, x[x_offset + i], p[at] * decay);
}

// Row r of the [count × cols] rows: row_var[r] = lerp(row_var[r], (‖g_r‖)² / cols, w), the norm squared as torch
// squares vector_norm.
ETA_INLINE void adafactor_rows_item(const ulong r, adafactor_rows_PARAMS) {
    float sum = 0.0f;
    for (ulong c = 0; c < cols; c++) {
        const float v = g[g_offset + r * cols + c];
        sum = eta_fma(v, v, sum);
    }
    const float norm = eta_sqrt(sum);
    row_var[row_offset + r] = eta_lerp1(row_var[row_offset + r], norm * norm / (float)cols, w);
}

// Column j of matrix b (item b·cols + j) of [rows × cols] matrices: col_var likewise over the rows.
ETA_INLINE void adafactor_cols_item(const ulong item, adafactor_cols_PARAMS) {
    const ulong b = item / cols, j = item % cols;
    float sum = 0.0f;
    for (ulong r = 0; r < rows; r++) {
        const float v = g[g_offset + (b * rows + r) * cols + j];
        sum = eta_fma(v, v, sum);
    }
    const float norm = eta_sqrt(sum);
    col_var[col_offset + item] = eta_lerp1(col_var[col_offset + item], norm * norm / (float)rows, w);
}

ETA_INLINE void adafactor_direction_item(const ulong i, adafactor_direction_PARAMS) {
    const float grad = maximize ? -g[g_offset + i] : g[g_offset + i];
    float v;
    if (factored) {
        const ulong b = i / (rows * cols), r = (i / cols) % rows, j = i % cols;
        v = row_var[row_offset + b * rows + r] * col_var[col_offset + b * cols + j];
        v = v / eta_fmax(row_means[means_offset + b], eps1);
    } else {
        v = eta_lerp1(row_var[row_offset + i], grad * grad, w);
        row_var[row_offset + i] = v;
    }
    out[out_offset + i] = (1.0f / eta_sqrt(eta_fmax(v, eps1_squared))) * grad;
}

// stats[stats_index] = ‖θ‖² (before weight decay), stats[stats_index + 1] = ‖U‖².
ETA_INLINE void adafactor_apply_item(const ulong i, adafactor_apply_PARAMS) {
    const float root = eta_sqrt(numel);
    const float alpha = eta_fmax(eps2, eta_sqrt(stats[stats_index]) / root) * rho;
    const float denom = eta_fmax(1.0f, eta_sqrt(stats[stats_index + 1]) / (root * d));
    const ulong at = p_offset + i;
    const float decayed = decay == 1.0f ? p[at] : p[at] * decay;
    p[at] = eta_fma(-(alpha / denom), u[u_offset + i], decayed);
}
