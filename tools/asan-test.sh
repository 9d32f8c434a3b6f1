#!/usr/bin/env bash
# The whole test suite once more under AddressSanitizer (Swift and the C targets: CEtaCPU's loops, the zlib and
# OpenCL shims), in its own build folder. LeakSanitizer is off: the Swift runtime and PoCL keep allocations
# alive on purpose until exit. About 2 minutes to build and 8 to run on 2 cores. `ETA_ASAN=1 tools/test.sh` runs it
# after the rest.
set -euo pipefail
cd "$(dirname "$0")/.."
scratch=.build-asan
swift build --build-tests --sanitize=address --scratch-path "$scratch"
# use_sigaltstack=0 and the Swift backtracer off: both install alternate signal stacks on threads, and ASan then
# fails to unmap its own at thread exit ("failed to deallocate ... error code: 22"), an ASan runtime fault.
SWIFT_BACKTRACE=enable=no ASAN_OPTIONS=detect_leaks=0:abort_on_error=1:use_sigaltstack=0 swift test --skip-build --disable-xctest --sanitize=address --scratch-path "$scratch"
