#!/usr/bin/env bash
# Creates (once) the Python environment with the peers Understudy is measured against: the `gguf`
# package and llama-cpp-python (which builds llama.cpp with -march=native: ~7 minutes on 2 cores).
# It lives outside the repository, in ~/.cache/understudy/venv, and is reused by later runs.
set -euo pipefail
venv="${UNDERSTUDY_PEER_VENV:-$HOME/.cache/understudy/venv}"
if ! "$venv/bin/python" -c "import gguf, llama_cpp, numpy" 2>/dev/null; then
    echo "peer-venv: installing gguf, numpy and llama-cpp-python into $venv (llama.cpp builds from source, ~7 min)" >&2
    python3 -m venv "$venv"
    CMAKE_ARGS="-DGGML_NATIVE=ON" "$venv/bin/pip" install -q gguf numpy llama-cpp-python >&2
fi
echo "$venv/bin/python"
