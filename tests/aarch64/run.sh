#!/usr/bin/env bash
# The agent on aarch64: install it from its wheel in an arm64 Debian Bookworm root under
# qemu-user and run its demo there, then check that every runtime dependency has aarch64
# wheels for Python 3.11 and 3.13.
#
#   tests/aarch64/run.sh [PYTEST ARGS]
#
# Needs root (chroot, mounts), qemu-aarch64 registered with binfmt_misc (qemu-user-static) and
# the arm64 root cached by images/check-firstboot-arm64.sh in ~/.cache/edge-kit
# (EDGE_KIT_CACHE changes the folder), and the package index for the dependencies' wheels.
# Prints how long each step took. A normal test run leaves the qemu test out (marker aarch64).
set -euo pipefail
cd "$(dirname "$0")/../.."
[ "$(id -u)" = 0 ] || { echo "tests/aarch64/run.sh: run as root (chroot and mounts)" >&2; exit 1; }
[ -e /proc/sys/fs/binfmt_misc/qemu-aarch64 ] || update-binfmts --enable qemu-aarch64 2>/dev/null || true
PY=${PYTHON:-.venv/bin/python}
started=$(date +%s)
EDGE_KIT_AARCH64=1 "$PY" -m pytest -q -s -p no:cacheprovider tests/aarch64 "$@"
echo "aarch64 check: $(( $(date +%s) - started )) s in all" >&2
