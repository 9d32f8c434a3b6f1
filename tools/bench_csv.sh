#!/usr/bin/env bash
# CSV load time: `eta train --dataset csv:FILE --epochs 0` (release build) against numpy.loadtxt on the same
# 5,000 x 785 numeric CSV (MNIST-shaped: pixel counts 0-255, 80% zeros, then a label 0-9; about 9 MB). Both are
# timed as whole processes, numpy's including Python's start; best of RUNS (default 5). Prints the ratio.
# Usage: tools/bench_csv.sh [RUNS]    (ETA=path/to/eta to time another binary)
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-5}
eta=${ETA:-.build/release/eta}
if [ ! -x "$eta" ]; then swift build -c release --product eta; fi
python3 -c 'import numpy' 2>/dev/null || { echo "bench_csv: needs numpy (pip install numpy)" >&2; exit 69; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

python3 - "$work/mnist.csv" <<'PY'
import sys
import numpy as np
rng = np.random.default_rng(1)
pixels = rng.integers(0, 256, size=(5000, 784))
pixels[rng.random(pixels.shape) < 0.8] = 0
labels = rng.integers(0, 10, size=(5000, 1))
np.savetxt(sys.argv[1], np.hstack([pixels, labels]), fmt="%d", delimiter=",")
PY

# OPENBLAS_CORETYPE / OPENBLAS_L2_SIZE (set on some of these machines) slow numpy's start: unset for it alone.
python3 - "$runs" "$work" "$(realpath "$eta")" <<'PY'
import os, subprocess, sys, time
runs, work, eta = int(sys.argv[1]), sys.argv[2], sys.argv[3]
path = os.path.join(work, "mnist.csv")
numpy_env = {k: v for k, v in os.environ.items() if k not in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")}
commands = {
    "numpy.loadtxt": ([sys.executable, "-c", f"import numpy as np; np.loadtxt({path!r}, delimiter=',')"], numpy_env),
    "eta": ([eta, "train", "--dataset", "csv:" + path, "--epochs", "0", "--device", "cpu", "--quiet"], dict(os.environ)),
}
best = {}
for name, (command, env) in commands.items():
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run(command, env=env, cwd=work, check=True, stdout=subprocess.DEVNULL)
        times.append(time.perf_counter() - start)
    best[name] = min(times)
    print(f"{name:14s} best {best[name]:.3f} s of {runs} (median {sorted(times)[runs // 2]:.3f} s)")
size = os.path.getsize(path) / 1e6
print(f"file: 5000 x 785, {size:.1f} MB")
print(f"ratio eta / numpy: {best['eta'] / best['numpy.loadtxt']:.2f} (below 1: eta is faster)")
PY
