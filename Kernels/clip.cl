// clip.cl — gradient clipping on the device, without reading anything back.
//
// What: `clip_by_norm` scales g by min(1, max_norm / (sqrt(sumsq) + 1e-6)), reading the squared norm that a
//       reduction left in stats[norm_index] (torch.nn.utils.clip_grad_norm_: the coefficient is always
//       applied, clamped at 1). `clip_by_value` clamps every element to [-clip, clip] (clip_grad_value_).
// Tunables: ETA_VEC (common.cl).

__kernel void clip_by_norm(__global float* restrict g, const ulong n, __global const float* restrict stats,
                           const ulong norm_index, const float max_norm) {
    const ulong base = get_global_id(0) * ETA_VEC;
    if (base >= n) return;
    const float raw = max_norm / (sqrt(stats[norm_index]) + 1e-6f);
    const float coefficient = raw > 1.0f ? 1.0f : raw;   // clamp(max=1); a NaN norm stays NaN, as in PyTorch
    eta_store(g, base, n, eta_load(g, base, n) * coefficient);
}

__kernel void clip_by_value(__global float* restrict g, const ulong n, const float clip) {
    const ulong base = get_global_id(0) * ETA_VEC;
    if (base >= n) return;
    eta_store(g, base, n, clamp(eta_load(g, base, n), -clip, clip));
}
