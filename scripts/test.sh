#!/usr/bin/env bash
# The test command (README.md, and what .ci/run runs): system libraries, the Swift tests, then the
# language server against an independent LSP client (scripts/pytest-lsp.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup.sh
swift test
./scripts/pytest-lsp.sh
