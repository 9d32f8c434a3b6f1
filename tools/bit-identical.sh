#!/usr/bin/env bash
# Trains the same runs with two builds of eta on both backends and compares their final checkpoints (and sweeps):
# the check that a refactoring left every result unchanged. Usage: tools/bit-identical.sh OLD_ETA NEW_ETA
# (e.g. a release build of the previous commit, copied aside, and .build/release/eta). Exit 1 when any file differs.
set -euo pipefail
old=$1 new=$2
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
runs=(
    "default|"
    "adamw|--optimizer adamw:lr=3e-3,weight_decay=0.05 --epochs 5"
    "sgd-nesterov|--optimizer sgd:lr=0.05,momentum=0.9,nesterov=true --epochs 5"
    "rmsprop-bf16|--optimizer rmsprop:lr=1e-3,centered=true,momentum=0.5 --state-dtype bf16 --epochs 5"
    "adam-amsgrad-fp16|--optimizer adam:lr=1e-3,amsgrad=true --state-dtype fp16 --epochs 5"
    "lion-onecycle|--optimizer lion:lr=1e-4 --schedule onecycle --epochs 5"
    "nadam-groups|--optimizer nadam:lr=2e-3,weight_decay=0.01 --param-group *.bias:weight_decay=0 --epochs 3"
    "lamb|--optimizer lamb:lr=1e-2 --epochs 3"
)
# Every tensor byte for byte, and the metadata as values (JSON fields parsed; the whole-file hash, which covers the
# metadata's spelling, is left out).
same() {
    python3 - "$1" "$2" <<'PY'
import json, struct, sys
def load(path):
    data = open(path, "rb").read()
    size = struct.unpack("<Q", data[:8])[0]
    header = json.loads(data[8:8 + size])
    meta = header.pop("__metadata__", {})
    meta.pop("file_sha256", None)
    meta = {k: json.loads(v) if v[:1] in "{[" else v for k, v in meta.items()}
    return header, meta, data[8 + size:]
sys.exit(0 if load(sys.argv[1]) == load(sys.argv[2]) else 1)
PY
}

status=0
for device in cpu opencl; do
    for run in "${runs[@]}"; do
        name=${run%%|*} options=${run#*|}
        for build in old new; do
            binary=$old; [ $build = new ] && binary=$new
            # shellcheck disable=SC2086
            "$binary" train --device $device $options --checkpoint "$work/$build-$device-$name" > /dev/null 2>&1
        done
        if same "$work/old-$device-$name/checkpoint-latest.safetensors" "$work/new-$device-$name/checkpoint-latest.safetensors"; then
            echo "identical  $device  $name"
        else
            echo "DIFFERENT  $device  $name"
            status=1
        fi
    done
done
# LR sweeps (replicas as parameter groups): every number of the JSON report but the wall time. The per-run test_loss
# and test_accuracy keys, null on datasets without a test set, are left out when null (earlier builds lack them).
sweep_numbers='
import json, sys
d = json.load(sys.stdin)
d.pop("wall_seconds")
for run in d["runs"]:
    for key in ("test_loss", "test_accuracy"):
        if key in run and run[key] is None:
            run.pop(key)
print(json.dumps(d, sort_keys=True))'
for device in cpu opencl; do
    for spec in sgd:momentum=0.9 adamw:weight_decay=0.05 rmsprop; do
        for build in old new; do
            binary=$old; [ $build = new ] && binary=$new
            "$binary" sweep --device $device --optimizer $spec --lrs 1e-3,1e-2,1e-1 --epochs 3 --format json 2> /dev/null \
                | python3 -c "$sweep_numbers" \
                > "$work/$build-sweep.json"
        done
        if cmp -s "$work/old-sweep.json" "$work/new-sweep.json"; then echo "identical  $device  sweep $spec"
        else echo "DIFFERENT  $device  sweep $spec"; status=1; fi
    done
done
exit $status
