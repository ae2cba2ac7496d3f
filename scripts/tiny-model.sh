#!/usr/bin/env bash
# Makes a tiny deterministic Q8_0 model for the tests: a 512-token BPE tokenizer and a 2-layer,
# dim-64 llama trained for 100 steps on this repository's own code (Sources/LanguageServer and
# Tests/pytest-lsp). A random model mostly emits stray bytes, which the server rightly shows as
# nothing; this one writes text, and the same binary makes the same model every time. (After 30
# steps it wrote nothing usable at the test's positions once batches took the integer kernels;
# after 100 it writes text there in both debug and release builds, measured. Its corpus is this
# repository's code, so editing Sources/LanguageServer changes the model: with seed 1 it once wrote
# nothing usable for any of the code actions the session test resolves; seeds 2 and 3 did.)
# A few seconds with a release build, ~20 s with a debug build.
#   usage: scripts/tiny-model.sh OUT.gguf UNDERSTUDY_BINARY
set -euo pipefail
if [ $# -ne 2 ]; then
    echo "usage: $0 OUT.gguf UNDERSTUDY_BINARY" >&2
    exit 2
fi
out="$(cd "$(dirname "$1")" && pwd)/$(basename "$1")"
binary="$(cd "$(dirname "$2")" && pwd)/$(basename "$2")"
cd "$(dirname "$0")/.."
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
"$binary" tokenizer train --data Sources/LanguageServer --data Tests/pytest-lsp --vocab-size 512 \
    --output "$work/tok.gguf" >"$work/log" 2>&1 || { cat "$work/log" >&2; exit 1; }
"$binary" corpus build --dir Sources/LanguageServer --dir Tests/pytest-lsp --output "$work/corpus" \
    --tokenizer "$work/tok.gguf" >"$work/log" 2>&1 || { cat "$work/log" >&2; exit 1; }
"$binary" train --tokenizer "$work/tok.gguf" --data "$work/corpus/shards/train-swift.shard" \
    --data "$work/corpus/shards/train-python.shard" --dim 64 --hidden 128 --layers 2 --heads 4 --context 128 \
    --batch 4 --steps 100 --lr 5e-3 --warmup 5 --seed 2 --checkpoint-every 1000 --out "$work/run" \
    >"$work/log" 2>&1 || { cat "$work/log" >&2; exit 1; }
"$binary" quantize "$work/run/model.gguf" "$work/tiny.gguf" --type q8_0 >"$work/log" 2>&1 || { cat "$work/log" >&2; exit 1; }
mv "$work/tiny.gguf" "$out"
