#!/usr/bin/env bash
# Thread scaling on a lent many-core machine (the `device` tool): `understudy bench` beside llama.cpp's
# own `llama-bench`, pp512 and tg128, at several thread counts, on the same GGUF files.
#
# The lent machine has no Swift, no network and takes at most 64 MiB from here, so `pack` (on this
# machine) gathers into one directory: a release build of understudy with the Swift runtime linked in,
# llama-bench built with every x86 CPU variant of ggml (it picks the lent CPU's best at run time), the
# shared libraries both load (glibc and its loader included, so the other machine's versions do not
# matter), and the models shrunk by scripts/shrink_gguf.py (each distinct kind of tensor stored once,
# its first rows repeated: same headers, shapes and types, so the same work; meaningless outputs).
# `run` (on the lent machine) rebuilds the models with dd and writes each engine's raw output; `table` (back here) prints
# the side-by-side table.
#
# Usage:
#   scripts/device-thread-bench.sh pack BUNDLE LLAMA_BUILD_DIR MODEL.gguf...
#        UNDERSTUDY_BASELINE=FILE also carries an earlier static build, measured beside this one
#        LLAMA_BUILD_DIR: a llama.cpp build with -DGGML_BACKEND_DL=ON -DGGML_CPU_ALL_VARIANTS=ON
#        -DGGML_NATIVE=OFF whose bin/ holds llama-bench and libggml-cpu-*.so
#   [REPS=3] [ONLY=NAME-PART] [SKIP_VARIANTS="sapphirerapids ..."] scripts/device-thread-bench.sh run BUNDLE OUTDIR [THREADS...]
#        (default threads: 2 4 8 16; the raw outputs end up in OUTDIR.tar.gz)
#   scripts/device-thread-bench.sh table OUTDIR     (the unpacked OUTDIR.tar.gz)
set -euo pipefail
cd "$(dirname "$0")/.."
mode="${1:-}"; shift || true

pack() {
    local bundle="$1" llama="$2"; shift 2
    local stage; stage=$(mktemp -d)
    mkdir -p "$stage/lib" "$stage/models"
    local build="${UNDERSTUDY_STATIC_BUILD:-.build-static}"
    swift build -c release --static-swift-stdlib --build-path "$build" >&2
    strip -o "$stage/lib/understudy" "$build/release/understudy"
    [ -z "${UNDERSTUDY_BASELINE:-}" ] || strip -o "$stage/lib/understudy-baseline" "$UNDERSTUDY_BASELINE"
    cp -P "$llama"/bin/llama-bench "$llama"/bin/lib*.so* "$stage/lib/"
    # Every shared library the two programs and ggml's CPU variants load, under the name they ask for.
    local elf lib
    for elf in "$stage"/lib/understudy "$stage"/lib/llama-bench "$stage"/lib/libggml-cpu-*.so; do
        [ -e "$elf" ] || continue
        ldd "$elf" | awk '/=> \// { print $3 } /^\t\/lib/ { print $1 }'
    done | sort -u | while read -r lib; do
        [ -e "$stage/lib/$(basename "$lib")" ] || cp -L "$lib" "$stage/lib/"
    done
    "$(scripts/peer-venv.sh)" scripts/shrink_gguf.py pack --tile $((1 << 16)) "$stage/models" "$@"
    mkdir -p "$bundle"
    tar -C "$stage" -cf - . | xz -T2 -6 > "$bundle/bundle.tar.xz"
    rm -rf "$stage"
    du -h "$bundle/bundle.tar.xz" >&2
}

run() {
    local bundle="$1" out="$2"; shift 2
    local threads=("$@"); [ ${#threads[@]} -gt 0 ] || threads=(2 4 8 16)
    local root; root=$(mktemp -d)
    mkdir -p "$out"
    xz -dc "$bundle/bundle.tar.xz" | tar -C "$root" -xf -
    # ggml variants the lent CPU advertises but cannot run (sapphirerapids died of SIGILL on a VM's Xeon).
    local variant
    for variant in ${SKIP_VARIANTS:-}; do rm -f "$root/lib/libggml-cpu-$variant.so"; done
    { nproc; lscpu; grep -m1 -o 'flags.*' /proc/cpuinfo; } > "$out/machine.txt" 2>&1 || true
    local models=() plan name file blob offset length
    for plan in "$root"/models/*.plan; do
        name=$(basename "$plan" .plan); file="$root/$name"
        [[ "$name" == *"${ONLY:-}"* ]] || continue
        cp "$root/models/$name.header" "$file"
        truncate -s "$(cat "$root/models/$name.size")" "$file"
        while read -r blob offset length; do
            dd if="$root/models/blobs/$blob" of="$file" bs=4M seek="$offset" oflag=seek_bytes conv=notrunc status=none
        done < "$plan"
        models+=("$file")
    done
    local lib="$root/lib" model t
    # Through the carried loader: /proc/self/exe is then lib/ld-linux…, so ggml finds its CPU variants there.
    local loader=("$lib/ld-linux-x86-64.so.2" --library-path "$lib")
    for model in "${models[@]}"; do
        name=$(basename "$model" .gguf)
        for t in "${threads[@]}"; do
            echo "== $name threads $t" >&2
            (cd "$lib" && timeout 300 "${loader[@]}" "$lib/llama-bench" -m "$model" -t "$t" -p 512 -n 128 -r "${REPS:-3}" -o jsonl) \
                > "$out/llamacpp-$name-t$t.jsonl" 2> "$out/llamacpp-$name-t$t.err" || echo "llama-bench failed: $name t$t" >&2
            for engine in understudy understudy-baseline; do
                [ -e "$lib/$engine" ] || continue
                timeout 300 "${loader[@]}" "$lib/$engine" bench --model "$model" --threads "$t" -p 512 -n 128 -r "${REPS:-3}" --json \
                    > "$out/$engine-$name-t$t.jsonl" 2> "$out/$engine-$name-t$t.err" || echo "$engine bench failed: $name t$t" >&2
            done
        done
    done
    rm -rf "$root"
    # One archive: the device tool brings back only a few files.
    tar -C "$out" -czf "$out.tar.gz" . && rm -rf "$out"
}

table() {
    local out="$1"
    "$(scripts/peer-venv.sh)" - "$out" <<'EOF'
import glob, json, os, re, sys
out = sys.argv[1]
rows = {}
for path in glob.glob(os.path.join(out, "*.jsonl")):
    engine, name, threads = re.match(r"(llamacpp|understudy-baseline|understudy)-(.+)-t(\d+)\.jsonl$", os.path.basename(path)).groups()
    for line in open(path):
        line = line.strip()
        if not line.startswith("{"): continue
        r = json.loads(line)
        if engine == "llamacpp":
            test = f"pp{r['n_prompt']}" if r["n_prompt"] else f"tg{r['n_gen']}"
            tps = r["avg_ts"]
        else:
            test, tps = r["test"], r["t_s"]
        rows.setdefault((name, int(threads), test), {})[engine] = tps
baseline = any("understudy-baseline" in v for v in rows.values())
fmt = lambda x: f"{x:,.1f}" if x else "—"
ratio = lambda a, b: f"{a / b:.2f}×" if a and b else "—"
print("| file | threads | test | ours t/s | llama.cpp t/s | ours / llama.cpp |" + (" baseline t/s | baseline / llama.cpp |" if baseline else ""))
print("|---|---|---|---|---|---|" + ("---|---|" if baseline else ""))
for (name, threads, test), v in sorted(rows.items()):
    ours, theirs, base = v.get("understudy"), v.get("llamacpp"), v.get("understudy-baseline")
    line = f"| {name} | {threads} | {test} | {fmt(ours)} | {fmt(theirs)} | {ratio(ours, theirs)} |"
    if baseline: line += f" {fmt(base)} | {ratio(base, theirs)} |"
    print(line)
EOF
}

case "$mode" in
    pack) pack "$@" ;;
    run) run "$@" ;;
    table) table "$@" ;;
    *) sed -n 2,20p "$0"; exit 2 ;;
esac
