#!/usr/bin/env bash
# Strict OpenCL checks of a release `eta` binary, for CI (usage: tools/ci-strict-opencl.sh PATH/TO/eta):
#   1. `eta verify` (every default size) on PoCL capped at 64 work-items per work-group, as small as GPUs allow
#      (PoCL allows 4096 by default): launch sizes must come from the device's and the kernels' limits.
#   2. `eta verify --device oclgrind` on small sizes under the Oclgrind simulator (OpenCL 1.2) with its
#      uninitialised-value, data-race and API checks: fails on any report, not only on a failed comparison.
# Each run gets only its platform's ICD (OCL_ICD_VENDORS), so neither depends on what else is installed. Oclgrind is
# an interpreter: the run is bounded by its sizes (ETA_STRICT_SIZES, default 1,17,1021: about a minute on two
# cores) and a timeout (ETA_STRICT_TIMEOUT seconds, default 900). Exits 0 when both pass.
set -euo pipefail
eta="${1:?usage: tools/ci-strict-opencl.sh PATH/TO/release/eta}"
eta="$(cd "$(dirname "$eta")" && pwd)/$(basename "$eta")"
sizes="${ETA_STRICT_SIZES:-1,17,1021}"
limit="${ETA_STRICT_TIMEOUT:-900}"
pocl_icd=/etc/OpenCL/vendors/pocl.icd
oclgrind_lib=/usr/lib/oclgrind/liboclgrind-rt-icd.so
for needed in "$eta" "$pocl_icd" "$oclgrind_lib"; do
    [ -e "$needed" ] || { echo "ci-strict-opencl: missing $needed (run tools/setup.sh)" >&2; exit 69; }
done

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/pocl" "$work/oclgrind"
cp "$pocl_icd" "$work/pocl/"
echo "$oclgrind_lib" > "$work/oclgrind/oclgrind.icd"
# A fresh program cache: the build-from-source path runs with the small work-group limit.
export ETA_CACHE_DIR="$work/cache"

echo "ci-strict-opencl: eta verify on PoCL with POCL_MAX_WORK_GROUP_SIZE=64" >&2
start=$SECONDS
OCL_ICD_VENDORS="$work/pocl" POCL_MAX_WORK_GROUP_SIZE=64 timeout "$limit" "$eta" verify --device opencl > "$work/pocl.out"
echo "ci-strict-opencl: $(tail -n 1 "$work/pocl.out") [$((SECONDS - start)) s]" >&2

echo "ci-strict-opencl: eta verify --device oclgrind --sizes $sizes (uninitialised values, data races, API checks)" >&2
start=$SECONDS
status=0
OCL_ICD_VENDORS="$work/oclgrind" OCLGRIND_CHECK_API=1 OCLGRIND_DATA_RACES=1 OCLGRIND_UNINITIALIZED=1 \
    OCLGRIND_LOG="$work/oclgrind.log" timeout "$limit" "$eta" verify --device oclgrind --sizes "$sizes" > "$work/oclgrind.out" || status=$?
echo "ci-strict-opencl: $(tail -n 1 "$work/oclgrind.out") [$((SECONDS - start)) s]" >&2
# Every Oclgrind message goes to OCLGRIND_LOG: any line there is a report.
if [ -s "$work/oclgrind.log" ]; then
    echo "ci-strict-opencl: Oclgrind reported $(grep -cE '^[A-Z]' "$work/oclgrind.log") problem(s); the first:" >&2
    head -n 40 "$work/oclgrind.log" >&2
    exit 1
fi
if [ "$status" -ne 0 ]; then
    echo "ci-strict-opencl: eta verify under Oclgrind exited $status" >&2
    grep -v ' pass$' "$work/oclgrind.out" | head -n 40 >&2
    exit 1
fi
echo "ci-strict-opencl: passed" >&2
