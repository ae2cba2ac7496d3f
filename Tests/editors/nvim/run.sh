#!/usr/bin/env bash
# Headless Neovim test of editors/nvim (Tests/editors/nvim/drive.py, through pynvim): five
# scenarios against fake_server.py, and with $UNDERSTUDY_BINARY two more against the real
# `understudy serve` ($UNDERSTUDY_MODEL; scripts/editor-tests.sh passes the embedded default model,
# and without it a tiny model from scripts/tiny-model.sh is made here).
# Neovim: $NVIM, else ~/.cache/understudy/nvim-0.12/bin/nvim (scripts/editor-tests.sh makes it),
# else nvim on PATH. Python: the one beside that nvim (its venv has pynvim), else python3.
# Exits non-zero on failure.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
nvim="${NVIM:-}"
if [[ -z "$nvim" ]]; then
  for candidate in "$HOME/.cache/understudy/nvim-0.12/bin/nvim" "$(command -v nvim || true)"; do
    if [[ -n "$candidate" && -x "$candidate" ]]; then nvim="$candidate"; break; fi
  done
fi
if [[ -z "$nvim" ]]; then
  echo "no nvim found: run scripts/editor-tests.sh (it makes the venvs) or set NVIM" >&2
  exit 2
fi
python="$(dirname "$nvim")/python3"
if ! [[ -x "$python" ]] || ! "$python" -c 'import pynvim' 2>/dev/null; then python=python3; fi
if ! "$python" -c 'import pynvim' 2>/dev/null; then
  echo "pynvim is missing: pip install pynvim into the venv beside $nvim" >&2
  exit 2
fi
if [[ -n "${UNDERSTUDY_BINARY:-}" && -z "${UNDERSTUDY_MODEL:-}" ]]; then
  work="$(mktemp -d)"
  trap 'rm -rf "$work"' EXIT
  "$here/../../../scripts/tiny-model.sh" "$work/tiny.gguf" "$UNDERSTUDY_BINARY"
  export UNDERSTUDY_MODEL="$work/tiny.gguf"
fi
status=0
"$python" "$here/drive.py" "$nvim" || status=$?
exit "$status"
