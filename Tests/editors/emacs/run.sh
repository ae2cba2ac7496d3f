#!/usr/bin/env bash
# Emacs Eglot in batch mode: against the real `understudy serve` (Tests/editors/emacs/eglot-test.el),
# then editors/emacs/understudy-instruct.el against the fake server (instruct-test.el).
# usage: run.sh BINARY MODEL    (scripts/editor-tests.sh installs emacs-nox and, for Emacs < 29,
# elpa-eglot). $EMACS picks the Emacs; each run is bounded by $UNDERSTUDY_EMACS_TIMEOUT
# seconds (default 300). Exits non-zero on failure.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
binary="$1"
model="$2"
emacs="${EMACS:-emacs}"
limit="${UNDERSTUDY_EMACS_TIMEOUT:-300}"
timeout "$limit" "$emacs" --batch -Q -l "$here/eglot-test.el" "$binary" "$model"
log="$(mktemp)"
trap 'rm -f "$log" "$log.doc"' EXIT
FAKE_LOG="$log" timeout "$limit" "$emacs" --batch -Q -l "$here/instruct-test.el" "$here/../nvim/fake_server.py"
