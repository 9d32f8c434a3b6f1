#!/usr/bin/env bash
# Renders an SVG plot of eta to PNG with headless Chromium (Debian's chromium, installed by tools/setup.sh), the way
# a browser shows it: tools/render-plot.sh docs/transfer-mlp-mup.svg docs/transfer-mlp-mup.png
set -euo pipefail
svg=$(realpath "$1")
png=$(realpath -m "$2")
size=$(sed -n 's/.*<svg[^>]* width="\([0-9]*\)" height="\([0-9]*\)".*/\1,\2/p' "$svg" | head -1)
chromium --headless --no-sandbox --disable-gpu --hide-scrollbars --window-size="${size:-760,600}" \
    --screenshot="$png" "file://$svg" 2>/dev/null
echo "rendered $svg to $png ($size)"
