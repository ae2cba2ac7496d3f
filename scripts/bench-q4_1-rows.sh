#!/bin/sh
# The Q4_1 kernels for 1..8 activation rows on one SmolLM2-shaped matrix (model card, "Speculative decoding",
# session 14): builds scripts/ckernels-portable/q4_1-rows-bench.c with the package's C kernels and runs it.
set -eu
root=$(cd "$(dirname "$0")/.." && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
${CC:-clang} -O3 -mavx2 -mfma -mf16c -I"$root/Sources/CKernels/include" "$root/scripts/ckernels-portable/q4_1-rows-bench.c" \
    "$root"/Sources/CKernels/*.c -lm -o "$tmp/bench"
"$tmp/bench"
