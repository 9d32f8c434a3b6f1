// eta_math.h — elementary functions the CPU loops inline, private to CEtaCPU.
#ifndef ETA_MATH_H
#define ETA_MATH_H
#include <stdint.h>
#include <string.h>

// exp(x) in straight-line arithmetic the compiler vectorises (libm's expf is a call per element): x = n·ln2 + r with
// ln2 split in two (Cody and Waite), |r| ≤ ln2/2, e^r by its Taylor series to r^7 (truncation < 2e-8 relative), times
// 2^n built in the exponent bits. Within 2 ulp of expf on [−87, 88]; inputs are clamped there (GELU's e^(−x²/2)
// underflows to ~1e-38 instead of 0, which a product with x then rounds away).
static inline float eta_vector_exp(float x) {
    x = x < -87.0f ? -87.0f : x > 88.0f ? 88.0f : x;
    const float n = __builtin_rintf(x * 1.44269504088896341f);
    const float r = (x - n * 0.693145751953125f) - n * 1.428606820309417232e-6f;
    float p = 1.0f / 5040.0f;
    p = p * r + 1.0f / 720.0f;
    p = p * r + 1.0f / 120.0f;
    p = p * r + 1.0f / 24.0f;
    p = p * r + 1.0f / 6.0f;
    p = p * r + 0.5f;
    p = p * r + 1.0f;
    p = p * r + 1.0f;
    const int32_t bits = ((int32_t)n + 127) << 23;
    float scale;
    memcpy(&scale, &bits, sizeof scale);
    return p * scale;
}

#endif // ETA_MATH_H
