#!/usr/bin/env bash
# Installs the system libraries Understudy links against (Debian/Ubuntu): OpenBLAS and json-c, plus any
# packages named as arguments (scripts/test.sh adds openmpi-bin: Open MPI's mpirun and libmpi, which only
# data-parallel training uses, loaded at run time). Safe to run again: it installs only what is missing.
set -euo pipefail
packages=(libopenblas-dev libjson-c-dev pkg-config "$@")
missing=()
for p in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
    sudo=""
    [ "$(id -u)" -ne 0 ] && sudo="sudo"
    echo "setup: installing ${missing[*]}" >&2
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}" >&2
fi
