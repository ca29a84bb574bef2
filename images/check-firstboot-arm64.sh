#!/usr/bin/env bash
# The first-boot check in an arm64 Debian Bookworm root under qemu-user (issue 7): customise a
# small Bookworm image with embedded aarch64 wheels, run its firstrun.sh and the agent install
# in a chroot of that root, and check the system, the agent and its enabled unit.
#
#   images/check-firstboot-arm64.sh [PYTEST ARGS]
#
# Runs tests/integration/test_firstboot_arm64.py, which the normal test run skips because it
# takes minutes. Needs root (chroot, mounts) and installs debootstrap, qemu-user-static and
# binfmt-support with apt-get when missing. The root file system is cached in
# ~/.cache/edge-kit/firstboot-bookworm-arm64.tar (EDGE_KIT_CACHE changes the folder); delete
# it to make a new one. Prints how long each step took.
set -euo pipefail
cd "$(dirname "$0")/.."
[ "$(id -u)" = 0 ] || { echo "check-firstboot-arm64.sh: run as root (chroot and mounts)" >&2; exit 1; }
missing=()
for pkg in debootstrap qemu-user-static binfmt-support mtools dosfstools fdisk e2fsprogs; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
if [ ${#missing[@]} -gt 0 ]; then
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
[ -e /proc/sys/fs/binfmt_misc/qemu-aarch64 ] || update-binfmts --enable qemu-aarch64 2>/dev/null || true
PY=${PYTHON:-.venv/bin/python}
started=$(date +%s)
EDGE_KIT_ARM64_CHECK=1 "$PY" -m pytest -q -s -p no:cacheprovider tests/integration/test_firstboot_arm64.py "$@"
echo "arm64 first-boot check: $(( $(date +%s) - started )) s in all" >&2
