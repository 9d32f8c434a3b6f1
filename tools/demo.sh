#!/usr/bin/env bash
# Quick start, main job: set everything up, build eta (release), list devices, verify every kernel against
# the Reference on the default device and on OpenCL (PoCL when there is no GPU), and show what a learning
# rate does on the Rosenbrock function.
set -euo pipefail
cd "$(dirname "$0")/.."
tools/setup.sh
swift build -c release --product eta
eta=.build/release/eta

$eta devices
$eta verify
if $eta devices --format json | grep -q '"selector"'; then $eta verify --device opencl; fi
echo
echo "== Adam, lr 0.05, on Rosenbrock: it reaches the valley and descends along it"
$eta explore --objective rosenbrock --optimizer adam:lr=0.05 --steps 2000
echo
echo "== SGD on a quadratic with curvature 10: lr 0.15 converges, 0.199 zig-zags, 0.21 diverges"
for lr in 0.15 0.199 0.21; do
    $eta explore --objective quadratic --optimizer "sgd:lr=$lr" --steps 200 | grep -E "optimizer|verdict"
done
