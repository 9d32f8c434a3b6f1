// Oclgrind 21.10 cannot check LLVM's `freeze` instruction: a minimal kernel that shows it.
//
// When a kernel computes both `id / cols` and `id % cols` of the same operands, LLVM's DivRemPairs pass keeps the
// division, rewrites the remainder as `id - (id / cols) * cols` and wraps the dividend in `freeze` (LLVM 10+; the
// bound check before it is what makes the dividend possibly-poison here). Oclgrind's interpreter runs `freeze`, but
// its uninitialised-value plugin (--uninitialized) predates it: it stops with "OCLGRIND FATAL ERROR ...
// Unsupported instruction: freeze" and the work-items write nothing (out stays 0 below). Upstream added the case
// after 21.10 (commit ee3a739, "Add support for LLVM's freeze instruction in Uninitialized plugin", 2026).
// Eta's workaround: bias_activation_backward takes (column, replica) from a 2-D range instead of splitting a flat
// id (Kernels/layers.cl).
// Run: oclgrind-kernel --uninitialized freeze_repro.sim   (tools/oclgrind/run.sh checks both outcomes).
__kernel void split(__global uint* out, const uint cols, const uint count) {
    const uint id = get_global_id(0);
    if (id >= count) return;
    out[2 * id] = id / cols;
    out[2 * id + 1] = id % cols;
}
