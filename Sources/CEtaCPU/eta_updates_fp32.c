// The update loops of Kernels/updates/ for float32 state (and the registry of every update loop): see eta_updates.h.
#include "eta_updates.h"

// p = lerp(p, toward, w) with torch.lerp's roundings (Schedule-Free's train/eval switch).
ETA_DISPATCH
void eta_lerp_toward(float *restrict p, const float *restrict toward, size_t n, float w) {
    for (size_t i = 0; i < n; i++) p[i] = eta_lerp(p[i], toward[i], w);
}

// The registry, generated from ETA_UPDATE_KERNELS: every elementwise kernel's loop per state storage, every block
// pass's loop.
#define ETA_DECLARE_UPDATE(NAME) \
    void eta_##NAME##_bf16(float *, const float *, void *, void *, void *, size_t, const float *, int32_t); \
    void eta_##NAME##_fp16(float *, const float *, void *, void *, void *, size_t, const float *, int32_t);
#define ETA_DECLARE_NOTHING(NAME)
ETA_UPDATE_KERNELS(ETA_DECLARE_UPDATE, ETA_DECLARE_NOTHING)

static const struct { const char *name; eta_update_fn functions[3]; } eta_updates[] = {
#define ETA_UPDATE_ENTRY(NAME) {#NAME, {eta_##NAME##_fp32, eta_##NAME##_bf16, eta_##NAME##_fp16}},
    ETA_UPDATE_KERNELS(ETA_UPDATE_ENTRY, ETA_DECLARE_NOTHING)
};

static const struct { const char *name; eta_block_fn function; } eta_blocks[] = {
#define ETA_BLOCK_ENTRY(NAME) {#NAME, eta_##NAME},
    ETA_UPDATE_KERNELS(ETA_DECLARE_NOTHING, ETA_BLOCK_ENTRY)
};

eta_update_fn eta_update_function(const char *name, int32_t state_storage) {
    if (state_storage < 0 || state_storage > 2) return NULL;
    for (size_t k = 0; k < sizeof eta_updates / sizeof eta_updates[0]; k++)
        if (strcmp(eta_updates[k].name, name) == 0) return eta_updates[k].functions[state_storage];
    return NULL;
}

eta_block_fn eta_block_function(const char *name) {
    for (size_t k = 0; k < sizeof eta_blocks / sizeof eta_blocks[0]; k++)
        if (strcmp(eta_blocks[k].name, name) == 0) return eta_blocks[k].function;
    return NULL;
}
