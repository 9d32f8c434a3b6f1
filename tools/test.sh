#!/usr/bin/env bash
# Quick start, tests: set everything up and run the whole suite: unit, backend-vs-Reference, PyTorch
# trajectory and CLI tests on the CPU backend and on OpenCL (PoCL), then the release `eta verify` on both.
set -euo pipefail
cd "$(dirname "$0")/.."
tools/setup.sh
# Formatting first (seconds): every Swift file as swift-format writes it with .swift-format (120 columns).
tools/format-check.sh
# Device tests must run, not skip: a missing OpenCL device is a failure here.
export ETA_REQUIRE_OPENCL=1
# A fresh program cache, so the build-from-source path is exercised too.
export ETA_CACHE_DIR="$(mktemp -d)"
trap 'rm -rf "$ETA_CACHE_DIR"' EXIT

swift build --build-tests
swift test --skip-build --disable-xctest

swift build -c release --product eta
# The CPU backend's kernels are also checked by the test suite (every configuration, up to 65,537 elements, and a
# 2^22+ arena); here every size but the > 2^22 one, which the OpenCL run below covers in full.
.build/release/eta verify --device cpu --sizes 0,1,2,3,5,7,13,16,17,31,64,1021,65537,1000003 --format json > /dev/null
.build/release/eta verify --device opencl
# Strict OpenCL: PoCL capped at 64 work-items per group, and the Oclgrind simulator's uninitialised-value,
# data-race and API checks on small sizes (any report fails).
tools/ci-strict-opencl.sh .build/release/eta
# Fuzz the parsers of untrusted input (SPECs, CSV, IDX, checkpoints, program cache): libFuzzer + ASan, seeded, ~2 min.
tools/fuzz.sh
# The whole suite once more under AddressSanitizer, C targets included (~10 min): ETA_ASAN=1 tools/test.sh.
if [ "${ETA_ASAN:-0}" = 1 ]; then tools/asan-test.sh; fi
