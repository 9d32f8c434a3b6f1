#!/usr/bin/env bash
# Fuzzes the parsers of untrusted input for a bounded, seeded time: the optimizer, schedule, model and
# parameter-group SPECs, the CSV, IDX, CIFAR-10 and text readers, the checkpoint reader and the program-cache entry
# reader.
# libFuzzer with AddressSanitizer where it builds (EtaFuzz with ETA_LIBFUZZER=1, in .build-fuzz), else EtaFuzz's
# seeded mutation driver. Seeds: Tests/Fuzz/corpus/<target> (never modified). Fails on a crash, a trap, a
# sanitizer report, a temporary file left behind, or an `eta` exit code outside the documented set.
#
# Usage: tools/fuzz.sh [SECONDS_PER_TARGET]    default 12: 10 targets, about 2 minutes in all
#   ETA_FUZZ_MODE=mutation   skip libFuzzer        ETA=path/to/eta   the binary for the exit-code check
#   ETA_FUZZ_TARGETS="csv idx"   a subset of the targets
#   ETA_BUILD_LOCK=FILE      take flock FILE around each build
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-12}
# shellcheck disable=SC2206
targets=(${ETA_FUZZ_TARGETS:-optimizer-spec schedule-spec model-spec param-group-spec csv idx cifar text checkpoint program-cache})
build() { if [ -n "${ETA_BUILD_LOCK:-}" ]; then flock "$ETA_BUILD_LOCK" "$@"; else "$@"; fi; }

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mode=${ETA_FUZZ_MODE:-libfuzzer}
if [ "$mode" = libfuzzer ]; then
    if ETA_LIBFUZZER=1 build swift build -c debug --scratch-path .build-fuzz --product EtaFuzz >"$work/build.log" 2>&1; then
        fuzzer=.build-fuzz/debug/EtaFuzz
    else
        tail -20 "$work/build.log"
        echo "fuzz: the libFuzzer build failed (above); falling back to the seeded mutation driver"
        mode=mutation
    fi
fi
if [ "$mode" = mutation ]; then
    build swift build --product EtaFuzz
    fuzzer=.build/debug/EtaFuzz
fi

# The fuzzer's temporary files go to a folder of their own, which must be empty after each target. Swift's
# backtracer is off so that libFuzzer reports a trap at once (and writes the input).
export TMPDIR="$work/tmp" SWIFT_BACKTRACE=enable=no
mkdir -p "$TMPDIR" "$work/crashes"
failed=0
for target in "${targets[@]}"; do
    seeds="Tests/Fuzz/corpus/$target"
    mkdir -p "$work/corpus/$target"
    start=$(date +%s)
    if [ "$mode" = libfuzzer ]; then
        # The first folder collects new inputs; the committed seeds are only read. Leak detection is off: the
        # Swift runtime's caches read as leaks. -timeout: one input taking 10 s is a hang.
        if ETA_FUZZ_TARGET=$target ASAN_OPTIONS=detect_leaks=0 "$fuzzer" -seed=1 -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
            -detect_leaks=0 -print_final_stats=1 -artifact_prefix="$work/crashes/$target-" \
            "$work/corpus/$target" "$seeds" >"$work/$target.log" 2>&1; then
            runs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$work/$target.log" | grep -o '[0-9]*$' || echo "?")
            echo "fuzz $target: $runs inputs in $(( $(date +%s) - start )) s (libFuzzer, seed 1), no failure"
        else
            failed=1
            tail -30 "$work/$target.log"
            mkdir -p .build-fuzz/crashes && cp "$work/crashes/$target-"* .build-fuzz/crashes/ 2>/dev/null || true
            echo "fuzz $target: FAILED; inputs kept in .build-fuzz/crashes; replay: ETA_FUZZ_TARGET=$target $fuzzer FILE"
        fi
    else
        cp "$seeds"/* "$work/corpus/$target/"
        if ! "$fuzzer" "$target" "$work/corpus/$target" --runs $(( seconds * 400 )) --seed 1; then
            failed=1
            echo "fuzz $target: FAILED; replay: $fuzzer $target $seeds --runs $(( seconds * 400 )) --seed 1"
        fi
    fi
    if [ -n "$(ls -A "$TMPDIR")" ]; then
        failed=1
        echo "fuzz $target: FAILED: temporary files left behind:"; ls -A "$TMPDIR" | head
        rm -rf "${TMPDIR:?}"/*
    fi
done

# The CLI on what the fuzzer found: every exit code must be one the README documents.
eta=${ETA:-.build/release/eta}
[ -x "$eta" ] || eta=.build/debug/eta
if [ -x "$eta" ]; then
    documented=" 0 64 65 66 69 70 74 "
    checked=0
    check() {
        local code=0
        timeout 60 "$eta" "$@" --epochs 0 --device cpu --quiet >/dev/null 2>"$work/cli.err" || code=$?
        checked=$((checked + 1))
        if [[ "$documented" != *" $code "* ]]; then
            failed=1
            echo "fuzz cli: 'eta $*' exited $code, not a documented code:"; tail -5 "$work/cli.err"
        fi
    }
    for input in $(ls "$work/corpus/csv"/* "Tests/Fuzz/corpus/csv"/* 2>/dev/null | head -40); do
        tail -c +2 "$input" > "$work/cli.csv"     # the first byte picks the task
        check train --dataset "csv:$work/cli.csv"
    done
    for input in $(ls "$work/corpus/checkpoint"/* "Tests/Fuzz/corpus/checkpoint"/* 2>/dev/null | head -20); do
        check train --resume "$input"
    done
    echo "fuzz cli: $checked eta runs on fuzzed inputs checked for documented exit codes"
    [ -z "$(ls -A "$TMPDIR")" ] || { failed=1; echo "fuzz cli: FAILED: temporary files left behind"; ls -A "$TMPDIR" | head; }
else
    echo "fuzz cli: no eta binary (build it or set ETA=); exit-code check skipped"
fi
[ "$failed" = 0 ] && echo "fuzz: passed" || { echo "fuzz: FAILED"; exit 1; }
