#!/usr/bin/env bash
# Converge the edge_agent role in an arm64 Debian Bookworm root under qemu-user, through
# Ansible's chroot connection: install, a second run that changes nothing, `edge-agent
# --version` in the root, an upgrade, an automatic rollback and a manual one
# (tests/integration/test_ansible_converge_arm64.py says what each step shows).
#
#   ansible/check-converge-arm64.sh [PYTEST ARGS]
#
# Needs root. Installs what is missing: debootstrap, qemu-user-static and binfmt-support
# (Debian packages), the kit's `ops` extra (ansible-core, ansible-lint) into .venv, and
# community.general from the `ansible` package on PyPI (cached). The arm64 root, the wheels and
# the collection are cached in $EDGE_KIT_CACHE (default ~/.cache/edge-kit). Measured on a
# 2-core x86-64 VM shared with other jobs (load around 9): debootstrap of the root 19 min (once),
# then the check 50 min: release wheels 5, first converge 22, second converge 3.4, upgrade 10,
# failed upgrade with automatic rollback 9, rollback.yml 1.5. Nearly all of it is emulated
# Python start-ups in the root (every module, pip, edge-agent).
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=${EDGE_KIT_VENV:-.venv}

[ "$(id -u)" = 0 ] || { echo "check-converge-arm64.sh: run as root (chroot, debootstrap)" >&2; exit 2; }

missing=()
for pkg in debootstrap qemu-user-static binfmt-support; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
if [ ${#missing[@]} -gt 0 ]; then
    echo "==> installing ${missing[*]}" >&2
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
if [ ! -e /proc/sys/fs/binfmt_misc/register ]; then
    mount -t binfmt_misc binfmt_misc /proc/sys/fs/binfmt_misc
fi
[ -e /proc/sys/fs/binfmt_misc/qemu-aarch64 ] || update-binfmts --enable qemu-aarch64
[ -x "$VENV/bin/ansible-playbook" ] || "$VENV/bin/python" -m pip install -q -e '.[ops]'

start=$(date +%s)
status=0
EDGE_KIT_ARM64_CONVERGE=1 "$VENV/bin/python" -m pytest -p no:cacheprovider -s -o timeout=7200 \
    tests/integration/test_ansible_converge_arm64.py "$@" || status=$?
echo "==> arm64 converge check: $(( $(date +%s) - start )) s, exit $status" >&2
exit $status
