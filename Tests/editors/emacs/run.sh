#!/usr/bin/env bash
# Emacs Eglot against the real `understudy serve` (Tests/editors/emacs/eglot-test.el), in batch mode.
# usage: run.sh BINARY MODEL    (scripts/editor-tests.sh installs emacs-nox and, for Emacs < 29,
# elpa-eglot). $EMACS picks the Emacs; the whole run is bounded by $UNDERSTUDY_EMACS_TIMEOUT
# seconds (default 300). Exits non-zero on failure.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
binary="$1"
model="$2"
emacs="${EMACS:-emacs}"
timeout "${UNDERSTUDY_EMACS_TIMEOUT:-300}" "$emacs" --batch -Q -l "$here/eglot-test.el" "$binary" "$model"
