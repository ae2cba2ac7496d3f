#!/bin/sh
# Builds Sources/CKernels twice, with AVX2 (as the package does on x86-64) and without (the scalar code
# other CPUs run), runs the same kernels on the same data and compares: activation bytes must be equal,
# dot products equal up to float summation order (relative 1e-5). CI runs only the AVX2 build.
set -eu
root=$(cd "$(dirname "$0")/.." && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cc=${CC:-clang}
for variant in avx2 portable; do
    flags="-O2"
    [ "$variant" = avx2 ] && flags="-O3 -mavx2 -mfma -mf16c"
    # shellcheck disable=SC2086
    $cc $flags -I"$root/Sources/CKernels/include" "$root/scripts/ckernels-portable/harness.c" \
        "$root"/Sources/CKernels/*.c -lm -o "$tmp/$variant"
    "$tmp/$variant" > "$tmp/$variant.txt"
done
awk 'NR == FNR { a[FNR] = $0; next }
     {
       split(a[FNR], p, " "); split($0, q, " ")
       if (p[2] == "activations") { if (p[3] != q[3]) { print "activations differ: " a[FNR] " vs " $0; bad = 1 } ; next }
       d = p[3] - q[3]; if (d < 0) d = -d
       m = p[3] < 0 ? -p[3] : p[3]
       if (p[4] != "") m = p[4]
       if (d > 1e-5 * (m + 1)) { print "differs: " a[FNR] " vs " $0; bad = 1 }
     }
     END { exit bad }' "$tmp/avx2.txt" "$tmp/portable.txt"
echo "portable C kernels agree with the AVX2 ones ($(wc -l < "$tmp/avx2.txt") values)"
