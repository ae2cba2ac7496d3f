# Shared by the test scripts (source it from the repository root): Python venvs that work on a bare
# Debian, and the `understudy` binary under test.

# apt-get install as root or through sudo.
apt_install() {
    local sudo=""
    [ "$(id -u)" -ne 0 ] && sudo="sudo"
    echo "$(basename "$0"): installing $*" >&2
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "$@" >&2
}

# make_venv DIR: a Python virtual environment in DIR unless one is there.
make_venv() {
    local dir="$1"
    [ -x "$dir/bin/python" ] && return 0
    if ! python3 -m venv "$dir" 2>/dev/null; then
        # Debian splits venv support out of python3.
        apt_install python3-venv
        rm -rf "$dir"
        python3 -m venv "$dir"
    fi
}

# understudy_binary: prints the binary to test, $UNDERSTUDY_BINARY or the debug build (built here).
understudy_binary() {
    if [ -n "${UNDERSTUDY_BINARY:-}" ]; then
        echo "$UNDERSTUDY_BINARY"
    else
        swift build --product understudy >&2
        echo "$(swift build --show-bin-path)/understudy"
    fi
}
