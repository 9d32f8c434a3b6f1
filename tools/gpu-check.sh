#!/usr/bin/env bash
# One call on a machine with a GPU (NVIDIA or any OpenCL GPU): build a portable eta, carry its OpenCL ICD loader,
# point the loader at the vendor's driver, then run `eta devices`, `eta verify` and `eta bench` and keep their JSON.
#
#   tools/gpu-check.sh                       build (needs Swift 6), bundle, check: results in ./gpu-check-<time>/
#   tools/gpu-check.sh --bundle-only         build the bundle and stop: copy the printed folder to the GPU machine
#   BUNDLE/gpu-check.sh --eta BUNDLE/eta     on the GPU machine (no Swift needed): check with the carried binary
#
# Options: --eta PATH (use this binary, skip the build), --out DIR, --icd LIB (a vendor ICD library to register,
# repeatable; found automatically for NVIDIA, AMD and Intel), --device SPEC (default opencl: the first GPU),
# --allow-cpu (run even when no OpenCL GPU is found, e.g. to try the script on PoCL), --quick (verify small sizes,
# bench small counts). Exit: 0 when verify passes; 69 when no GPU is found (without --allow-cpu); 70 when a check
# fails; 64 for a usage error.
#
# The build is `swift build -c release --product eta --static-swift-stdlib`: the binary then needs only libc, libm,
# libstdc++, libgcc_s, libz and the two OpenCL libraries carried in BUNDLE/lib (the ocl-icd loader libOpenCL.so.1
# and libclblast.so.1; OpenBLAS, used only by the CPU backend, is loaded on demand when present).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
eta="" out="" device="opencl" allow_cpu=0 bundle_only=0 quick=0
icds=()
while (($#)); do
    case "$1" in
        --eta) eta="${2:?--eta needs a path}"; shift 2 ;;
        --out) out="${2:?--out needs a folder}"; shift 2 ;;
        --icd) icds+=("${2:?--icd needs a library}"); shift 2 ;;
        --device) device="${2:?--device needs a value}"; shift 2 ;;
        --allow-cpu) allow_cpu=1; shift ;;
        --bundle-only) bundle_only=1; shift ;;
        --quick) quick=1; shift ;;
        -h|--help) sed -n '2,19p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
        *) echo "gpu-check: unknown option $1 (see --help)" >&2; exit 64 ;;
    esac
done
out="${out:-$PWD/gpu-check-$(date -u +%Y%m%dT%H%M%SZ)}"
mkdir -p "$out"
out="$(cd "$out" && pwd)"
log() { echo "gpu-check: $*" >&2; echo "$*" >> "$out/summary.txt"; }

# 1. The binary: given, or a static-stdlib release build of this checkout.
if [ -z "$eta" ]; then
    command -v swift >/dev/null 2>&1 || { echo "gpu-check: no swift on PATH: pass --eta PATH/TO/eta (e.g. from --bundle-only)" >&2; exit 64; }
    root="$(cd "$here/.." && pwd)"
    log "building: swift build -c release --product eta --static-swift-stdlib"
    (cd "$root" && swift build -c release --product eta --static-swift-stdlib >&2)
    eta="$root/.build/release/eta"
fi
[ -x "$eta" ] || { echo "gpu-check: $eta is not an executable" >&2; exit 64; }
eta="$(cd "$(dirname "$eta")" && pwd)/$(basename "$eta")"

# 2. The bundle: eta, this script, and the shared libraries it links that a GPU machine may lack.
bundle="$out/bundle"
mkdir -p "$bundle/lib"
[ "$eta" = "$bundle/eta" ] || cp "$eta" "$bundle/eta"
[ "$here/gpu-check.sh" = "$bundle/gpu-check.sh" ] || cp "$here/gpu-check.sh" "$bundle/gpu-check.sh"
if [ "$(dirname "$eta")/lib" != "$bundle/lib" ] && [ -d "$(dirname "$eta")/lib" ]; then
    cp -n "$(dirname "$eta")"/lib/* "$bundle/lib/" 2>/dev/null || true   # running from a carried bundle
fi
while read -r name path; do
    case "$name" in libOpenCL.so*|libclblast.so*|libz.so*) [ -e "$bundle/lib/$name" ] || cp -L "$path" "$bundle/lib/$name" ;; esac
done < <(LD_LIBRARY_PATH="$bundle/lib" ldd "$bundle/eta" 2>/dev/null | awk '$2 == "=>" && $3 ~ /^\// { print $1, $3 }')
missing="$(LD_LIBRARY_PATH="$bundle/lib" ldd "$bundle/eta" 2>/dev/null | grep 'not found' || true)"
[ -z "$missing" ] || { echo "gpu-check: the binary needs libraries this machine lacks:" >&2; echo "$missing" >&2; exit 69; }
log "bundle: $bundle ($(ls "$bundle/lib" | tr '\n' ' '))"
if ((bundle_only)); then
    echo "gpu-check: copy $bundle to the GPU machine and run: BUNDLE/gpu-check.sh --eta BUNDLE/eta" >&2
    exit 0
fi

# 3. ICD files: the machine's own (not simulators), plus any vendor driver library found without one.
vendors="$out/vendors"
mkdir -p "$vendors"
for file in /etc/OpenCL/vendors/*.icd; do
    [ -e "$file" ] || continue
    grep -qi oclgrind "$file" || cp "$file" "$vendors/"
done
for library in libnvidia-opencl.so.1 libamdocl64.so libamdocl-orca64.so libigdrcl.so; do
    path="$(ldconfig -p 2>/dev/null | awk -v n="$library" '$1 == n { print $NF; exit }')"
    [ -n "$path" ] && icds+=("$path")
done
for library in "${icds[@]}"; do
    base="$(basename "$library")"
    grep -qsF "$base" "$vendors"/*.icd && continue
    echo "$library" > "$vendors/${base%%.so*}.icd"
done
log "ICD files: $(for f in "$vendors"/*.icd; do [ -e "$f" ] && printf '%s -> %s; ' "$(basename "$f")" "$(cat "$f")"; done)"
command -v nvidia-smi >/dev/null 2>&1 && nvidia-smi -L >> "$out/summary.txt" 2>&1 || true
run_eta() { OCL_ICD_VENDORS="$vendors" LD_LIBRARY_PATH="$bundle/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}" "$bundle/eta" "$@"; }

# 4. The checks, each saving its JSON (stdout) and its log (stderr).
status=0
run_eta devices --format json --verbose > "$out/devices.json" 2> "$out/devices.log" || { log "eta devices failed"; exit 70; }
run_eta devices >> "$out/summary.txt" 2>/dev/null || true
if ! grep -q '"type" *: *"gpu"' "$out/devices.json"; then
    if ((allow_cpu)); then log "no OpenCL GPU found: checking $device anyway (--allow-cpu)"
    else log "no OpenCL GPU found (see $out/devices.json; pass --icd LIB for the driver's ICD library, or --allow-cpu)"; exit 69; fi
fi
verify_sizes=() bench_params=()
if ((quick)); then verify_sizes=(--sizes 1,17,1021,65537); bench_params=(--params 1024,65536 --repeat 5); fi
start=$SECONDS
run_eta verify --device "$device" --format json --verbose "${verify_sizes[@]}" > "$out/verify.json" 2> "$out/verify.log" || status=$?
log "eta verify --device $device: exit $status, $((SECONDS - start)) s, $(grep -m1 -oE '"failures" *: *[0-9]+' "$out/verify.json" || echo 'no result')"
start=$SECONDS
bench=0
run_eta bench --device "$device" --format json --verbose "${bench_params[@]}" > "$out/bench.json" 2> "$out/bench.log" || bench=$?
log "eta bench --device $device: exit $bench, $((SECONDS - start)) s"
log "results: $out/{devices,verify,bench}.json, logs beside them"
((status == 0 && bench == 0)) || exit 70
