#!/usr/bin/env bash
# Shows the two Oclgrind 21.10 limits that Eta works around (see the comments in each file), and fails if the
# simulator no longer behaves as described (then the workarounds may go):
#   freeze_repro.cl  "Unsupported instruction: freeze" under --uninitialized (Kernels/layers.cl avoids the pattern)
#   fill_repro.c     --uninitialized loses buffers set by clEnqueueFillBuffer or reusing a released slot
#                    (EtaCL's Buffer.fill writes from the host on the simulator)
# Needs oclgrind, a C compiler and the OpenCL headers and loader (tools/setup.sh).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
failed=0
expect() {   # expect NAME WANT(yes|no) LOG: whether LOG holds an Oclgrind report
    local found=no
    grep -qE 'Unsupported instruction|uninitiali[sz]ed' "$3" && found=yes
    if [ "$found" = "$2" ]; then echo "oclgrind-repro: $1: reports=$found, as documented"
    else echo "oclgrind-repro: $1: reports=$found, expected $2" >&2; failed=1; fi
}

(cd "$here" && oclgrind-kernel --uninitialized freeze_repro.sim) > "$work/freeze.log" 2>&1 || true
expect "freeze (oclgrind-kernel --uninitialized)" yes "$work/freeze.log"
(cd "$here" && oclgrind-kernel freeze_repro.sim) > "$work/freeze-plain.log" 2>&1 || true
expect "freeze without --uninitialized" no "$work/freeze-plain.log"

cc -O1 -o "$work/fill_repro" "$here/fill_repro.c" -lOpenCL
for mode in fill reuse write; do
    oclgrind --uninitialized "$work/fill_repro" "$mode" > "$work/$mode.out" 2> "$work/$mode.log" || { echo "oclgrind-repro: $mode: wrong values" >&2; failed=1; }
    if [ "$mode" = write ]; then expect "$mode" no "$work/$mode.log"; else expect "$mode" yes "$work/$mode.log"; fi
done
exit "$failed"
