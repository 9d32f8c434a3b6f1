#!/usr/bin/env bash
# Installs what Eta needs on Debian 12 (as root, or through sudo): the OpenCL ICD loader and headers, PoCL
# (an OpenCL CPU device, so kernels run and are tested without a GPU), clinfo, OpenBLAS and CLBlast, and curl (eta data
# fetch downloads with it), and Open MPI (openmpi-bin, libopenmpi-dev: `mpirun -np N eta train ...`).
# Swift 6.x must already be on PATH (https://www.swift.org/install/linux/). Safe to run again.
set -euo pipefail

packages=(ocl-icd-opencl-dev opencl-headers pocl-opencl-icd clinfo libopenblas-dev libclblast-dev zlib1g-dev pkg-config oclgrind curl
    openmpi-bin libopenmpi-dev chromium)
missing=()
for package in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || missing+=("$package")
done

if ((${#missing[@]})); then
    if [ "$(id -u)" -eq 0 ]; then as_root=(); else as_root=(sudo); fi
    echo "setup: installing ${missing[*]}" >&2
    "${as_root[@]}" apt-get update -qq
    DEBIAN_FRONTEND=noninteractive "${as_root[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# Oclgrind (an OpenCL 1.2 simulator that reports out-of-bounds accesses, data races and uninitialised reads) ships
# its ICD library but no .icd file: register it so `eta devices` lists it and `--device oclgrind` picks it. Eta
# never picks it by itself (`auto` and `opencl` skip simulators), so tests keep running on PoCL.
oclgrind_icd=/usr/lib/oclgrind/liboclgrind-rt-icd.so
if [ -f "$oclgrind_icd" ] && [ "$(cat /etc/OpenCL/vendors/oclgrind.icd 2>/dev/null)" != "$oclgrind_icd" ]; then
    if [ "$(id -u)" -eq 0 ]; then as_root=(); else as_root=(sudo); fi
    echo "setup: registering the Oclgrind ICD in /etc/OpenCL/vendors/oclgrind.icd" >&2
    "${as_root[@]}" mkdir -p /etc/OpenCL/vendors
    echo "$oclgrind_icd" | "${as_root[@]}" tee /etc/OpenCL/vendors/oclgrind.icd >/dev/null
fi

if ! command -v swift >/dev/null 2>&1; then
    echo "setup: swift is not on PATH; install Swift 6 for Debian 12 from https://www.swift.org/install/linux/" >&2
    exit 69
fi
# The formats' own readers check Eta's files in the tests: TensorBoard's EventAccumulator (tensorboard) the event
# files, onnx's checker and onnxruntime the exported models.
if ! python3 -c "import tensorboard, onnx, onnxruntime" 2>/dev/null; then
    echo "setup: installing the tensorboard, onnx and onnxruntime Python packages (pip)" >&2
    python3 -m pip install --quiet tensorboard onnx onnxruntime 2>/dev/null \
        || python3 -m pip install --quiet --break-system-packages tensorboard onnx onnxruntime
fi
echo "setup: ready ($(swift --version 2>/dev/null | head -n 1))" >&2
