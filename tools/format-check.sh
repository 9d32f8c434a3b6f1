#!/usr/bin/env bash
# The formatter check CI runs: every Swift file formatted by the toolchain's swift-format with the checked-in
# .swift-format (120 columns, 4-space indentation). Fix with: tools/format-check.sh --fix
set -euo pipefail
cd "$(dirname "$0")/.."
paths=(Package.swift Sources Tests Plugins)
if [ "${1:-}" = "--fix" ]; then
    swift format format --in-place --recursive --parallel "${paths[@]}"
else
    swift format lint --strict --recursive --parallel "${paths[@]}"
fi
