// common.cl — shared preamble of every Eta kernel file.
//
// What: vector-width macros and partial loads/stores, so each kernel writes its arithmetic once, over
//       `floatV`, and handles the tail of an arena that is not a multiple of the vector width.
// Tunables (-D, with defaults here): ETA_VEC, the floats each work-item handles (2, 4, 8 or 16).
// Assumptions: float32 arena buffers; no implicit FP contraction: every fused multiply-add is an explicit
//       fma() where PyTorch's CPU kernels fuse one, so results match the Reference operation by operation.
#pragma OPENCL FP_CONTRACT OFF

#ifndef ETA_VEC
#define ETA_VEC 16
#endif

#define ETA_CAT_(a, b) a##b
#define ETA_CAT(a, b) ETA_CAT_(a, b)
#define floatV ETA_CAT(float, ETA_VEC)
#define vloadV ETA_CAT(vload, ETA_VEC)
#define vstoreV ETA_CAT(vstore, ETA_VEC)

// Loads ETA_VEC floats from `base`, zero-filling lanes at or past `n`.
inline floatV eta_load(__global const float* data, ulong base, ulong n) {
    if (base + ETA_VEC <= n) return vloadV(0, data + base);
    float lanes[ETA_VEC];
    for (int i = 0; i < ETA_VEC; i++) lanes[i] = (base + i < n) ? data[base + i] : 0.0f;
    return vloadV(0, lanes);
}

// Stores the lanes of `value` that fall before `n`.
inline void eta_store(__global float* data, ulong base, ulong n, floatV value) {
    if (base + ETA_VEC <= n) { vstoreV(value, 0, data + base); return; }
    float lanes[ETA_VEC];
    vstoreV(value, 0, lanes);
    for (int i = 0; i < ETA_VEC; i++) if (base + i < n) data[base + i] = lanes[i];
}
