#!/usr/bin/env bash
# The test command (README.md, and what .ci/run runs): system libraries, the Swift tests, the
# language server against an independent LSP client (scripts/pytest-lsp.sh), then the editor
# integrations in headless Neovim 0.12 and 0.11 and under Node (scripts/editor-tests.sh).
# Open MPI's mpirun comes too: the data-parallel training tests run `mpirun -np 2 understudy train`.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup.sh openmpi-bin
swift test
./scripts/pytest-lsp.sh
./scripts/editor-tests.sh
