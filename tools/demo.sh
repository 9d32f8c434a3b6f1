#!/usr/bin/env bash
# Quick start, main job: set everything up, build eta (release), list the devices, and train the default
# model (an MLP on the built-in digits) with a log, a plot and a checkpoint in ./eta-run/.
set -euo pipefail
cd "$(dirname "$0")/.."
tools/setup.sh
swift build -c release --product eta
eta=.build/release/eta

$eta devices
echo
$eta train --log eta-run/train.jsonl --csv eta-run/train.csv --plot eta-run/train.svg --checkpoint eta-run
echo
echo "log: eta-run/train.jsonl, plot: eta-run/train.svg (open it in a browser), checkpoint: eta-run/checkpoint-latest.safetensors"
