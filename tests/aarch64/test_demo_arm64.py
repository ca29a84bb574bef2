"""The agent installs from its wheel in an arm64 Debian Bookworm root and runs its demo there.

The root is the one the image checks cache (``~/.cache/edge-kit/firstboot-bookworm-arm64.tar``:
``debootstrap --arch=arm64`` of Bookworm with python3 and python3-venv; see
``tests/integration/test_firstboot_arm64.py``, which makes it). Every program in it is an
aarch64 binary that the kernel runs through qemu-user (``binfmt_misc``), Python included.

The test builds the agent's wheel and the aarch64 wheels of its dependencies with
``images/build-wheels.sh`` (with the ``ble`` extra, which the demo's BLE tags need), unpacks the
root, installs the agent into a venv there from those wheels only (``--no-index``), runs
``edge-agent demo --duration 10`` in it, and checks from outside what the arm64 agent stored
(including the parking experiment's streams, which run the int8 model through LiteRT on aarch64).
Each step's time is printed. Marked ``aarch64``: deselected in a normal run; run it with
``tests/aarch64/run.sh``.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from edge_agent.store import Store

pytestmark = pytest.mark.aarch64

REPO = Path(__file__).resolve().parents[2]
CACHE = Path(os.environ.get("EDGE_KIT_CACHE", Path.home() / ".cache" / "edge-kit"))
ROOT_TAR = CACHE / "firstboot-bookworm-arm64.tar"
WHEELS = CACHE / "aarch64-check-wheels-cp311"
BINFMT = Path("/proc/sys/fs/binfmt_misc/qemu-aarch64")
TIMES: dict[str, float] = {}


def chroot(root: Path, *argv: str, timeout: float = 1800) -> subprocess.CompletedProcess[str]:
    env = {"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "LANG": "C.UTF-8", "HOME": "/root"}
    return subprocess.run(
        ["chroot", str(root), *argv],
        capture_output=True,
        text=True,
        env=env,
        timeout=timeout,
        check=False,
    )


def timed(step: str, run: subprocess.CompletedProcess[str], started: float) -> str:
    TIMES[step] = time.monotonic() - started
    assert run.returncode == 0, f"{step}:\n{run.stdout[-3000:]}\n{run.stderr[-3000:]}"
    return run.stdout


@pytest.fixture(scope="module")
def arm64_root(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    if os.geteuid() != 0:
        pytest.skip("needs root (chroot and mounts): run tests/aarch64/run.sh as root")
    if not BINFMT.exists():
        pytest.skip(
            "qemu-aarch64 is not registered with binfmt_misc (apt install qemu-user-static)"
        )
    if not ROOT_TAR.exists():
        pytest.skip(f"no cached arm64 root at {ROOT_TAR}: run images/check-firstboot-arm64.sh once")
    root = tmp_path_factory.mktemp("arm64") / "root"
    root.mkdir()
    started = time.monotonic()
    unpack = subprocess.run(
        ["tar", "-C", str(root), "--numeric-owner", "-xpf", str(ROOT_TAR)],
        capture_output=True,
        text=True,
        check=False,
    )
    timed("unpack the cached Bookworm arm64 root", unpack, started)
    mounts = [root / "proc", root / "dev"]
    subprocess.run(["mount", "-t", "proc", "proc", str(mounts[0])], check=True)
    subprocess.run(["mount", "--bind", "/dev", str(mounts[1])], check=True)
    try:
        yield root
    finally:
        for mount in reversed(mounts):
            subprocess.run(["umount", "-l", str(mount)], check=False)


SDIST_ONLY = ("pyric",)
"""Dependencies of the ble extra (habluetooth -> bluetooth-auto-recovery -> PyRIC) published as
source only. Pure Python: their wheels are built here, on any machine, and pip finds them."""


@pytest.fixture(scope="module")
def wheels() -> Path:
    started = time.monotonic()
    WHEELS.mkdir(parents=True, exist_ok=True)
    built = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--wheel-dir", str(WHEELS),
         *SDIST_ONLY],
        capture_output=True,
        text=True,
        check=False,
    )  # fmt: skip
    timed(f"pip wheel {' '.join(SDIST_ONLY)} (source only on the index)", built, started)
    started = time.monotonic()
    find_links = " ".join(filter(None, [os.environ.get("PIP_FIND_LINKS"), str(WHEELS)]))
    build = subprocess.run(
        [str(REPO / "images/build-wheels.sh"), "--python", "3.11", "--extras", "ble",
         "--out", str(WHEELS)],
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHON": sys.executable, "PIP_FIND_LINKS": find_links},
        check=False,
    )  # fmt: skip
    timed("build-wheels.sh (agent wheel + aarch64 dependencies, cp311)", build, started)
    return WHEELS


def test_demo_runs_from_the_wheel_in_an_arm64_bookworm_root(arm64_root: Path, wheels: Path) -> None:
    root = arm64_root
    assert chroot(root, "uname", "-m").stdout.strip() == "aarch64"
    python = chroot(
        root,
        "python3",
        "-c",
        "import platform, sys; print(platform.machine(), sys.version.split()[0])",
    )
    assert python.stdout.split()[0] == "aarch64" and python.stdout.split()[1].startswith("3.11")
    shutil.copytree(wheels, root / "tmp" / "wheels")
    (kit,) = (root / "tmp" / "wheels").glob("digitallabor_edge_kit-*.whl")

    started = time.monotonic()
    timed("python3 -m venv", chroot(root, "python3", "-m", "venv", "/opt/edge-agent"), started)
    started = time.monotonic()
    install = chroot(
        root,
        "/opt/edge-agent/bin/pip", "install", "--no-index", "--find-links", "/tmp/wheels",
        "--disable-pip-version-check", "--quiet", f"/tmp/wheels/{kit.name}[ble]",
    )  # fmt: skip
    timed("pip install the agent from wheels only", install, started)

    started = time.monotonic()
    demo = chroot(
        root,
        "/opt/edge-agent/bin/edge-agent", "demo", "--duration", "10", "--data-dir", "/tmp/demo",
        timeout=900,
    )  # fmt: skip
    timed("edge-agent demo --duration 10 (start to exit)", demo, started)
    assert "readings committed to /tmp/demo/readings.db" in demo.stdout
    machine = chroot(
        root,
        "/opt/edge-agent/bin/python",
        "-c",
        "import numpy, platform; print(platform.machine(), numpy.__version__)",
    )
    assert machine.stdout.startswith("aarch64 ")

    with Store(root / "tmp" / "demo", readonly=True) as store:  # what the arm64 agent stored
        assert store.integrity_check() == []
        count = store.count()
        streams = store.streams()
    assert count > 0
    assert "road-surface/temperature" in streams and "air/humidity" in streams
    # The parking experiment ran the int8 model through LiteRT's aarch64 wheel.
    assert {"parking/total", "parking/free", "parking/bay-1.occupied"} <= set(streams)
    print(f"\narm64 demo stored {count} readings of {len(streams)} streams")
    for step, seconds in TIMES.items():
        print(f"{seconds:8.1f} s  {step}")
