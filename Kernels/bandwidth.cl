// bandwidth.cl — same-run bandwidth references: kernels that move known bytes with trivial arithmetic.
//
// What: `copy` reads and writes 4 bytes each per element (8 B); `stream28` reads four arrays and writes
//       three (28 B per element, the bytes of an Adam update) so an update's GB/s can be read as a
//       fraction of what the device moves with no arithmetic to speak of.
// Tunables: ETA_VEC (common.cl).

__kernel void copy(__global const float* restrict source,
                   __global float* restrict destination,
                   const ulong n) {
    const ulong base = get_global_id(0) * ETA_VEC;
    if (base >= n) return;
    eta_store(destination, base, n, eta_load(source, base, n));
}

__kernel void stream28(__global float* restrict a,
                       __global const float* restrict b,
                       __global float* restrict c,
                       __global float* restrict d,
                       const ulong n,
                       const float scale) {
    const ulong base = get_global_id(0) * ETA_VEC;
    if (base >= n) return;
    const floatV x = eta_load(b, base, n);
    const floatV s = (floatV)scale;
    eta_store(a, base, n, fma(s, x, eta_load(a, base, n)));
    eta_store(c, base, n, fma(s, x, eta_load(c, base, n)));
    eta_store(d, base, n, fma(s, x, eta_load(d, base, n)));
}
