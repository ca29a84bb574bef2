#!/usr/bin/env bash
# Set up the kit on a fresh Debian / Raspberry Pi OS machine and run it.
#
#   ./bootstrap.sh demo [ARGS]   create .venv, install the kit, run the simulated demo
#   ./bootstrap.sh test [ARGS]   create .venv, install the kit and the test tools and the system
#                                packages the tests use, then run lint, types and tests
#
# Needs only python3 (>= 3.11) and network access to the package registries. System packages
# are installed with apt-get when missing (as root, or through sudo).
set -euo pipefail
cd "$(dirname "$0")"

VENV=${EDGE_KIT_VENV:-.venv}
PY=${PYTHON:-python3}
# Debian packages the test suite drives for real; empty for now, grows with the tests.
TEST_APT_PACKAGES=(mosquitto mtools dosfstools fdisk e2fsprogs python3-yaml tmux openssh-server openssh-client)

say() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }
die() { printf 'bootstrap: %s\n' "$*" >&2; exit 1; }

as_root() {
    if [ "$(id -u)" = 0 ]; then "$@";
    elif command -v sudo >/dev/null; then sudo "$@";
    else die "need root (or sudo) to run: $*"; fi
}

apt_install() {
    local missing=()
    for pkg in "$@"; do
        dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" \
            || missing+=("$pkg")
    done
    [ ${#missing[@]} -eq 0 ] && return 0
    command -v apt-get >/dev/null || die "missing system packages ${missing[*]} and no apt-get"
    say "installing system packages: ${missing[*]}"
    as_root apt-get update -qq
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
        "${missing[@]}" >/dev/null
}

check_python() {
    command -v "$PY" >/dev/null || die "no $PY found; install Python 3.11 or newer"
    "$PY" -c 'import sys; sys.exit(sys.version_info < (3, 11))' \
        || die "$PY is $("$PY" -V 2>&1); the kit needs Python 3.11 or newer"
}

make_venv() {
    check_python
    if [ ! -x "$VENV/bin/python" ]; then
        say "creating $VENV"
        if ! "$PY" -m venv "$VENV" 2>/dev/null; then
            rm -rf "$VENV"
            # Debian splits venv/ensurepip into its own package.
            apt_install "python$("$PY" -c 'import sys; print(f"{sys.version_info[0]}.{sys.version_info[1]}")')-venv"
            "$PY" -m venv "$VENV"
        fi
        "$VENV/bin/python" -m pip install -q --upgrade pip
    fi
}

install_kit() {  # $1: extras, e.g. "" or "[dev]"
    say "installing the kit$1 into $VENV"
    "$VENV/bin/python" -m pip install -q --disable-pip-version-check -e ".$1"
}

cmd=${1:-}
[ $# -gt 0 ] && shift
case "$cmd" in
demo)
    make_venv
    install_kit "[ble]"   # the demo's BLE tags go through bleak's own data types
    say "starting the demo (Ctrl-C stops it)"
    exec "$VENV/bin/edge-agent" demo "$@"
    ;;
test)
    [ ${#TEST_APT_PACKAGES[@]} -gt 0 ] && apt_install "${TEST_APT_PACKAGES[@]}"
    make_venv
    install_kit "[dev]"
    say "ruff"
    "$VENV/bin/ruff" check .
    say "mypy (strict for the package)"
    "$VENV/bin/mypy"
    # One worker per core (EDGE_KIT_TEST_WORKERS overrides; 0 runs in this process); a test
    # file stays on one worker, so its module fixtures (brokers, agents) start once.
    say "pytest"
    exec "$VENV/bin/python" -m pytest -n "${EDGE_KIT_TEST_WORKERS:-auto}" --dist loadfile "$@"
    ;;
*)
    sed -n '2,10p' "$0" | sed 's/^# \{0,1\}//'
    [ "$cmd" = "-h" ] || [ "$cmd" = "--help" ] && exit 0
    exit 2
    ;;
esac
