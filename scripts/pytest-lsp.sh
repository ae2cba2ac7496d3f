#!/usr/bin/env bash
# Runs Tests/pytest-lsp: the built `understudy serve` driven by pytest-lsp, an independent LSP client
# that decodes every response into lsprotocol's official types.
#   venv:  $UNDERSTUDY_VENV (default ~/.cache/understudy/venv), pinned by Tests/pytest-lsp/requirements.txt
#   model: a tiny random Q8_0 model with a BPE tokenizer trained on Tests/pytest-lsp, made fresh each run
set -euo pipefail
cd "$(dirname "$0")/.."
venv="${UNDERSTUDY_VENV:-$HOME/.cache/understudy/venv}"

if [ ! -x "$venv/bin/python" ]; then
    if ! python3 -m venv "$venv" 2>/dev/null; then
        # Debian splits venv support out of python3.
        sudo=""
        [ "$(id -u)" -ne 0 ] && sudo="sudo"
        echo "pytest-lsp: installing python3-venv" >&2
        $sudo apt-get update -qq
        DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq python3-venv >&2
        rm -rf "$venv"
        python3 -m venv "$venv"
    fi
fi
"$venv/bin/python" -m pip install -q --disable-pip-version-check -r Tests/pytest-lsp/requirements.txt

swift build --product understudy
binary="$(swift build --show-bin-path)/understudy"

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
"$binary" tokenizer train --data Tests/pytest-lsp --vocab-size 400 --output "$work/tok.gguf" >/dev/null 2>&1
"$binary" init-model --tokenizer "$work/tok.gguf" --dim 64 --hidden 128 --layers 2 --heads 4 --context 512 \
    --type q8_0 --seed 1 --output "$work/tiny.gguf" >/dev/null

status=0
UNDERSTUDY_BINARY="$binary" UNDERSTUDY_MODEL="$work/tiny.gguf" \
    "$venv/bin/python" -m pytest -q -p no:cacheprovider Tests/pytest-lsp || status=$?
# pytest's 5 means no tests were collected: the suite vanished, which is a failure, not a pass.
if [ "$status" -eq 5 ]; then echo "pytest-lsp: no tests collected" >&2; exit 1; fi
exit "$status"
