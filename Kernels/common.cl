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

// 16-bit storage: loads widen to float exactly, stores round to nearest even (bf16 keeps NaN a NaN). Arithmetic
// stays float32, and a kernel keeps using the unrounded value after storing it.
#define ushortV ETA_CAT(ushort, ETA_VEC)
#define uintV ETA_CAT(uint, ETA_VEC)
#define as_floatV ETA_CAT(as_float, ETA_VEC)
#define as_uintV ETA_CAT(as_uint, ETA_VEC)
#define convert_uintV ETA_CAT(convert_uint, ETA_VEC)
#define convert_ushortV ETA_CAT(convert_ushort, ETA_VEC)
#define vload_halfV ETA_CAT(vload_half, ETA_VEC)
#define vstore_halfV_rte ETA_CAT(ETA_CAT(vstore_half, ETA_VEC), _rte)

inline float eta_bf16_to_float(ushort h) { return as_float((uint)h << 16); }
inline ushort eta_float_to_bf16(float f) {
    const uint bits = as_uint(f);
    return isnan(f) ? (ushort)((bits >> 16) | 0x40) : (ushort)((bits + 0x7fffu + ((bits >> 16) & 1u)) >> 16);
}

inline floatV eta_load_bf16(__global const ushort* data, ulong base, ulong n) {
    if (base + ETA_VEC <= n) return as_floatV(convert_uintV(ETA_CAT(vload, ETA_VEC)(0, data + base)) << 16);
    float lanes[ETA_VEC];
    for (int i = 0; i < ETA_VEC; i++) lanes[i] = (base + i < n) ? eta_bf16_to_float(data[base + i]) : 0.0f;
    return vloadV(0, lanes);
}

inline void eta_store_bf16(__global ushort* data, ulong base, ulong n, floatV value) {
    if (base + ETA_VEC <= n) {
        const uintV bits = as_uintV(value);
        const uintV rounded = (bits + (uintV)0x7fffu + ((bits >> 16) & (uintV)1u)) >> 16;
        const uintV out = select(rounded, (bits >> 16) | (uintV)0x40u, isnan(value));
        // Two bf16 per 32-bit word, written as ETA_VEC / 2 words: converting the whole vector to ushort is the slow
        // part on PoCL. The lanes go through a private array (no vector swizzle, which Oclgrind misreads).
        uint lanes[ETA_VEC];
        ETA_CAT(vstore, ETA_VEC)(out, 0, lanes);
        __global uint* words = (__global uint*)(data + base);
        for (int i = 0; i < ETA_VEC / 2; i++) words[i] = lanes[2 * i] | (lanes[2 * i + 1] << 16);
        return;
    }
    float lanes[ETA_VEC];
    vstoreV(value, 0, lanes);
    for (int i = 0; i < ETA_VEC; i++) if (base + i < n) data[base + i] = eta_float_to_bf16(lanes[i]);
}

inline floatV eta_load_fp16(__global const half* data, ulong base, ulong n) {
    if (base + ETA_VEC <= n) return vload_halfV(0, data + base);
    float lanes[ETA_VEC];
    for (int i = 0; i < ETA_VEC; i++) lanes[i] = (base + i < n) ? vload_half(base + i, data) : 0.0f;
    return vloadV(0, lanes);
}

inline void eta_store_fp16(__global half* data, ulong base, ulong n, floatV value) {
    if (base + ETA_VEC <= n) { vstore_halfV_rte(value, 0, data + base); return; }
    float lanes[ETA_VEC];
    vstoreV(value, 0, lanes);
    for (int i = 0; i < ETA_VEC; i++) if (base + i < n) vstore_half_rte(lanes[i], base + i, data);
}

// Optimizer state storage (-DETA_STATE_BF16 or -DETA_STATE_FP16; float32 otherwise): state_t is the element type
// of state buffers.
#if defined(ETA_STATE_BF16)
#define state_t ushort
#define eta_load_state eta_load_bf16
#define eta_store_state eta_store_bf16
#elif defined(ETA_STATE_FP16)
#define state_t half
#define eta_load_state eta_load_fp16
#define eta_store_state eta_store_fp16
#else
#define state_t float
#define eta_load_state eta_load
#define eta_store_state eta_store
#endif

// Parameter storage (-DETA_PARAM_BF16 or -DETA_PARAM_FP16): param_t is the element type of p. With -DETA_MASTER the
// update reads and writes the float32 master copy and also stores its rounding into p.
#if defined(ETA_PARAM_BF16)
#define param_t ushort
#define eta_load_p eta_load_bf16
#define eta_store_p eta_store_bf16
#elif defined(ETA_PARAM_FP16)
#define param_t half
#define eta_load_p eta_load_fp16
#define eta_store_p eta_store_fp16
#else
#define param_t float
#define eta_load_p eta_load
#define eta_store_p eta_store
#endif

#ifdef ETA_MASTER
#define PARAM_LOAD(base, n) eta_load(master, base, n)
#define PARAM_STORE(base, n, value) do { const floatV stored_ = (value); eta_store(master, base, n, stored_); eta_store_p(p, base, n, stored_); } while (0)
#else
#define PARAM_LOAD(base, n) eta_load_p(p, base, n)
#define PARAM_STORE(base, n, value) eta_store_p(p, base, n, value)
#endif
