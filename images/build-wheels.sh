#!/usr/bin/env bash
# Build the folder of aarch64 wheels that `edge-agent image customize --wheels DIR` embeds, so a
# Pi installs the agent at first boot without internet.
#
#   images/build-wheels.sh [--python 3.11|3.13] [--extras ble,camera] [--out DIR]
#
# --python: the image's Python: 3.11 for Raspberry Pi OS Bookworm (default), 3.13 for Trixie.
# --extras: extras to include (default: none; `ble` for BLE sensors).
# --out:    default wheels-cp311-aarch64 (or -cp313-) in the current directory.
#
# Needs this repository (the agent's own wheel is built from it), Python 3.11+ with pip, and
# access to PyPI for the dependencies, which are downloaded as aarch64 binary wheels for the
# Pi's glibc (Bookworm 2.36, Trixie 2.41). Run it on any Linux or macOS machine; the result
# is the same. Prints the folder's size at the end (it must fit the boot partition: a Lite
# image has about 440 MB free there).
set -euo pipefail
REPO=$(cd "$(dirname "$0")/.." && pwd)
PY=${PYTHON:-python3}
pyver=3.11
extras=""
out=""
while [ $# -gt 0 ]; do
    case "$1" in
    --python) pyver=$2; shift 2 ;;
    --extras) extras=$2; shift 2 ;;
    --out) out=$2; shift 2 ;;
    -h|--help) sed -n '2,16p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "build-wheels.sh: unknown option $1 (see --help)" >&2; exit 2 ;;
    esac
done
case "$pyver" in
3.11) glibc=2_36 ;;
3.13) glibc=2_41 ;;
*) echo "build-wheels.sh: --python $pyver: give 3.11 (Bookworm) or 3.13 (Trixie)" >&2; exit 2 ;;
esac
tag=cp${pyver/./}
out=${out:-wheels-$tag-aarch64}
mkdir -p "$out"
out=$(cd "$out" && pwd)

echo "==> the agent's wheel" >&2
rm -f "$out"/digitallabor_edge_kit-*.whl
"$PY" -m pip wheel --quiet --no-deps --no-build-isolation --wheel-dir "$out" "$REPO" 2>/dev/null \
    || "$PY" -m pip wheel --quiet --no-deps --wheel-dir "$out" "$REPO"
kit=$(ls "$out"/digitallabor_edge_kit-*.whl)

requirement="$kit"
[ -z "$extras" ] || requirement="${kit}[${extras}]"
echo "==> dependencies for aarch64, Python $pyver, glibc ${glibc/_/.}" >&2
# pip takes --platform tags literally: list every manylinux level up to the Pi's glibc.
platforms=(--platform manylinux2014_aarch64 --platform linux_aarch64)
for minor in $(seq 17 "${glibc#2_}"); do platforms+=(--platform "manylinux_2_${minor}_aarch64"); done
if [[ ",$extras," == *",ble,"* ]]; then
    # PyRIC (habluetooth -> bluetooth-auto-recovery) is published as source only; it is pure
    # Python, so its wheel built here installs on the Pi too.
    "$PY" -m pip wheel --quiet --no-deps --wheel-dir "$out" pyric
fi
PIP_FIND_LINKS="$out" "$PY" -m pip download --quiet --disable-pip-version-check --dest "$out" \
    --only-binary=:all: --implementation cp --python-version "$pyver" "${platforms[@]}" \
    "$requirement"
# pip also keeps the kit's wheel it was given; nothing else of this machine's goes in.
for wheel in "$out"/*.whl; do
    case "$wheel" in
    *-any.whl | *aarch64.whl) ;;
    *) rm -v "$wheel" >&2 ;;
    esac
done
echo "$(ls "$out"/*.whl | wc -l) wheels, $(du -sh "$out" | cut -f1) in $out" >&2
echo "$out"
