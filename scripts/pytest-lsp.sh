#!/usr/bin/env bash
# Runs Tests/pytest-lsp: the built `understudy serve` driven by pytest-lsp, an independent LSP client
# that decodes every response into lsprotocol's official types.
#   venv:  $UNDERSTUDY_VENV (default ~/.cache/understudy/venv), pinned by Tests/pytest-lsp/requirements.txt
#   binary: $UNDERSTUDY_BINARY, else the debug build
#   model: a tiny Q8_0 model trained briefly on Sources/LanguageServer and Tests/pytest-lsp, made fresh each run
#          by scripts/tiny-model.sh
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/test-lib.sh
venv="${UNDERSTUDY_VENV:-$HOME/.cache/understudy/venv}"

make_venv "$venv"
"$venv/bin/python" -m pip install -q --disable-pip-version-check -r Tests/pytest-lsp/requirements.txt

binary="$(understudy_binary)"

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
# A random model mostly emits stray bytes, which the server rightly shows as nothing; 30 training steps
# on this repository's own code (~15 s in a debug build) make a deterministic model that writes text.
./scripts/tiny-model.sh "$work/tiny.gguf" "$binary"

status=0
UNDERSTUDY_BINARY="$binary" UNDERSTUDY_MODEL="$work/tiny.gguf" \
    "$venv/bin/python" -m pytest -q -p no:cacheprovider Tests/pytest-lsp || status=$?
# pytest's 5 means no tests were collected: the suite vanished, which is a failure, not a pass.
if [ "$status" -eq 5 ]; then echo "pytest-lsp: no tests collected" >&2; exit 1; fi
exit "$status"
