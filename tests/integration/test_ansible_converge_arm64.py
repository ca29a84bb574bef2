"""The edge_agent role converging in an arm64 Debian Bookworm root (the userland of Raspberry Pi
OS Bookworm), reached through Ansible's chroot connection and run under qemu-user.

Slow (minutes: every command in the root is emulated), so it runs only when asked:
``ansible/check-converge-arm64.sh`` (or ``EDGE_KIT_ARM64_CONVERGE=1 pytest`` on this file). It
needs root, debootstrap and qemu-user-static with binfmt_misc (Debian packages), the ``ops``
extra, and the community.general collection for the chroot connection; the script installs
what is missing.

What it shows, in one root:

1. site.yml installs 0.1.0 from a wheelhouse (no index), a second run changes nothing, and the
   installed ``edge-agent --version`` runs in the root;
2. upgrade.yml to 0.1.1 keeps 0.1.0 as previous;
3. an upgrade to 0.1.2 together with a config that version rejects rolls back by itself:
   current is 0.1.1 again, with its config, and the host is reported failed;
4. rollback.yml returns to 0.1.0.

The root, the wheels and the collection are cached in ``$EDGE_KIT_CACHE`` (default
``~/.cache/edge-kit``); each run works on a fresh copy of the root.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import time
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from .mosquitto import make_pki
from .test_ansible_support import ANSIBLE_DIR, PlayResult, ansible_env, run_playbook

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        os.environ.get("EDGE_KIT_ARM64_CONVERGE") != "1",
        reason="takes minutes under qemu: run ansible/check-converge-arm64.sh",
    ),
]

REPO = ANSIBLE_DIR.parent
CACHE = Path(
    os.environ.get("EDGE_KIT_CACHE")
    or Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "edge-kit"
)
ROOT_TAR = CACHE / "bookworm-arm64-ansible-root.tar"
ROOT_PACKAGES = "python3,python3-venv,python3-apt,systemd,udev,ca-certificates"
HOST = "pi-arm64"
PASSWORD = "converge-test-password-0123456789"


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def debian_mirror() -> str:
    """The mirror this machine's apt uses (deb822 or one-line sources), else Debian's CDN."""
    sources = [Path("/etc/apt/sources.list"), *sorted(Path("/etc/apt/sources.list.d").glob("*"))]
    for path in sources:
        try:
            text = path.read_text()
        except OSError:
            continue
        match = re.search(r"^URIs:\s*(\S+/debian)/?\s*$", text, re.MULTILINE) or re.search(
            r"^deb\s+(?:\[[^]]*\]\s+)?(\S+/debian)/?\s+bookworm\b", text, re.MULTILINE
        )
        if match:
            return match.group(1)
    return "http://deb.debian.org/debian"


def require_tools() -> None:
    if os.geteuid() != 0:
        pytest.skip("the chroot connection and debootstrap need root")
    missing = [t for t in ("debootstrap", "chroot") if shutil.which(t) is None]
    if not Path("/proc/sys/fs/binfmt_misc/qemu-aarch64").exists():
        missing.append("qemu-user-static (binfmt_misc entry qemu-aarch64)")
    if missing:
        pytest.skip(
            f"missing: {', '.join(missing)} (ansible/check-converge-arm64.sh installs them)"
        )


def cached_root_tar() -> Path:
    """A tar of a Bookworm arm64 root with Python, made once with debootstrap."""
    if ROOT_TAR.exists():
        return ROOT_TAR
    CACHE.mkdir(parents=True, exist_ok=True)
    build = CACHE / "bookworm-arm64-ansible-root.build"
    shutil.rmtree(build, ignore_errors=True)
    log(f"debootstrap arm64 Bookworm into {build} (about 20 minutes under qemu)")
    subprocess.run(
        [
            "debootstrap",
            "--arch=arm64",
            "--variant=minbase",
            f"--include={ROOT_PACKAGES}",
            "bookworm",
            str(build),
            debian_mirror(),
        ],
        check=True,
    )
    partial = ROOT_TAR.with_suffix(".partial")
    subprocess.run(
        ["tar", "-C", str(build), "--numeric-owner", "-cf", str(partial), "."], check=True
    )
    partial.rename(ROOT_TAR)
    shutil.rmtree(build)
    return ROOT_TAR


def community_general() -> Path:
    """A collections folder holding community.general (for the chroot connection plugin).

    Taken from the ``ansible`` package on PyPI (which bundles the community collections), so
    no collection server is needed; only community/general is unpacked."""
    collections = CACHE / "ansible-collections"
    marker = collections / "ansible_collections" / "community" / "general" / "MANIFEST.json"
    if marker.exists():
        return collections
    dist = CACHE / "ansible-dist"
    dist.mkdir(parents=True, exist_ok=True)
    wheels = sorted(dist.glob("ansible-*.whl"))
    if not wheels:
        log("downloading the ansible package for community.general")
        subprocess.run(
            [
                sys.executable,
                "-m",
                "pip",
                "download",
                "-q",
                "--no-deps",
                "-d",
                str(dist),
                "ansible>=12,<13",
            ],
            check=True,
        )
        wheels = sorted(dist.glob("ansible-*.whl"))
    prefix = "ansible_collections/community/general/"
    with zipfile.ZipFile(wheels[-1]) as archive:
        for name in archive.namelist():
            if name.startswith(prefix):
                archive.extract(name, collections)
    return collections


def build_kit_wheel(version: str, out: Path) -> Path:
    """The kit's wheel at ``version``, built from the committed tree with only the version
    changed (a release as the region would build it)."""
    src = out / f"src-{version}"
    shutil.rmtree(src, ignore_errors=True)
    src.mkdir(parents=True)
    archive = subprocess.run(
        ["git", "-C", str(REPO), "archive", "--format=tar", "HEAD"], check=True, capture_output=True
    ).stdout
    subprocess.run(["tar", "-x", "-C", str(src)], input=archive, check=True)
    pyproject = src / "pyproject.toml"
    pyproject.write_text(
        re.sub(r'(?m)^version = ".*"$', f'version = "{version}"', pyproject.read_text(), count=1)
    )
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "-q",
            "--no-deps",
            "-w",
            str(out),
            str(src),
        ],
        check=True,
    )
    shutil.rmtree(src)
    (wheel,) = out.glob(f"digitallabor_edge_kit-{version}-*.whl")
    return wheel


@pytest.fixture(name="wheelhouses", scope="module")
def wheelhouses_fixture(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One wheelhouse per version (0.1.0, 0.1.1, 0.1.2): the aarch64 dependencies from
    images/build-wheels.sh and the kit's wheel at that version."""
    deps = CACHE / "ansible-wheels-cp311-aarch64"
    log("aarch64 wheels with images/build-wheels.sh")
    subprocess.run(
        ["bash", str(REPO / "images" / "build-wheels.sh"), "--out", str(deps)],
        check=True,
        stdout=subprocess.DEVNULL,
    )
    base = tmp_path_factory.mktemp("wheelhouses")
    kit_wheels = base / "kit"
    kit_wheels.mkdir()
    for version in ("0.1.0", "0.1.1", "0.1.2"):
        house = base / version
        house.mkdir()
        for wheel in deps.glob("*.whl"):
            if not wheel.name.startswith("digitallabor_edge_kit-"):
                os.link(wheel, house / wheel.name)
        shutil.copy2(build_kit_wheel(version, kit_wheels), house)
    return base


@pytest.fixture(name="root", scope="module")
def root_fixture(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A fresh copy of the cached root, with /proc and the host's resolv.conf (for apt)."""
    require_tools()
    tar = cached_root_tar()
    root = tmp_path_factory.mktemp("arm64") / "root"
    root.mkdir()
    subprocess.run(["tar", "-C", str(root), "--numeric-owner", "-xf", str(tar)], check=True)
    shutil.copy2("/etc/resolv.conf", root / "etc" / "resolv.conf", follow_symlinks=True)
    subprocess.run(["mount", "-t", "proc", "proc", str(root / "proc")], check=True)
    try:
        yield root
    finally:
        subprocess.run(["umount", "-l", str(root / "proc")], check=False)


@pytest.fixture(name="inventory", scope="module")
def inventory_fixture(
    root: Path, wheelhouses: Path, tmp_path_factory: pytest.TempPathFactory
) -> Path:
    pki = make_pki(tmp_path_factory.mktemp("pki"))
    host = {
        "ansible_connection": "community.general.chroot",
        "ansible_host": str(root),
        "ansible_become": False,
        "ansible_python_interpreter": "/usr/bin/python3",
        "edge_agent_city": "Rastatt",
        "edge_agent_lab": "digitallabor-rastatt",
        "edge_agent_wheelhouse": f"{wheelhouses}/{{{{ edge_agent_version }}}}",
        "edge_agent_uplink_host": "mqtt.digitallabor-region.example",
        "edge_agent_uplink_password": PASSWORD,
        "edge_agent_uplink_ca_cert": pki.ca_cert.read_text(),
        "edge_agent_sensors": [
            {"name": "air", "driver": "simulated.air", "interval": "30s"},
            {
                "name": "pi",
                "driver": "system.health",
                "interval": "60s",
                "options": {"backend": "linux", "path": "/var/lib/edge-agent"},
            },
        ],
    }
    path = tmp_path_factory.mktemp("inventory") / "arm64.yml"
    path.write_text(yaml.safe_dump({"all": {"children": {"edge_agents": {"hosts": {HOST: host}}}}}))
    return path


def play(inventory: Path, playbook: str, *args: str) -> PlayResult:
    env = ansible_env(ANSIBLE_COLLECTIONS_PATH=str(community_general()))
    started = time.monotonic()
    result = run_playbook(playbook, "-i", str(inventory), *args, timeout=3600, env=env)
    log(f"{playbook} {' '.join(args)}: {time.monotonic() - started:.0f} s, {result.recap}")
    return result


def in_root(root: Path, *argv: str) -> str:
    return subprocess.run(
        ["chroot", str(root), *argv], check=True, capture_output=True, text=True, timeout=600
    ).stdout


def link(root: Path, name: str) -> str:
    return os.readlink(root / "opt" / "edge-agent" / name)


def test_role_converges_is_idempotent_upgrades_and_rolls_back(root: Path, inventory: Path) -> None:
    first = play(inventory, "site.yml")
    assert first.returncode == 0, first.output
    assert first.changed(HOST) > 0

    second = play(inventory, "site.yml")
    assert second.returncode == 0, second.output
    assert second.changed(HOST) == 0, f"the second run changed things:\n{second.output}"

    assert in_root(root, "/usr/local/bin/edge-agent", "--version").strip() == "edge-agent 0.1.0"
    assert link(root, "current") == "/opt/edge-agent/versions/0.1.0"
    etc = root / "etc"
    assert (etc / "systemd/system/multi-user.target.wants/edge-agent.service").is_symlink()
    assert (etc / "udev/rules.d/70-edge-agent-serial.rules").exists()
    assert (etc / "systemd/journald.conf.d/50-edge-agent.conf").exists()
    password = etc / "edge-agent/credentials/uplink.password"
    assert password.read_text() == PASSWORD + "\n"
    assert password.stat().st_mode & 0o777 == 0o640
    checked = in_root(
        root, "/usr/local/bin/edge-agent", "config", "check", "/etc/edge-agent/agent.toml"
    )
    assert "air" in checked

    upgrade = play(inventory, "upgrade.yml", "-e", "edge_agent_version=0.1.1")
    assert upgrade.returncode == 0, upgrade.output
    assert link(root, "current") == "/opt/edge-agent/versions/0.1.1"
    assert link(root, "previous") == "/opt/edge-agent/versions/0.1.0"
    assert in_root(root, "/usr/local/bin/edge-agent", "--version").strip() == "edge-agent 0.1.1"
    config = (etc / "edge-agent/agent.toml").read_text()

    bad = play(
        inventory,
        "upgrade.yml",
        "-e",
        "edge_agent_version=0.1.2",
        "-e",
        '{"edge_agent_config_extra": "[no_such_table]"}',
    )
    assert bad.returncode != 0
    assert bad.recap[HOST]["rescued"] == 1, bad.output
    assert "did not become healthy" in bad.output and "Rolled back to 0.1.1" in bad.output
    assert link(root, "current") == "/opt/edge-agent/versions/0.1.1"
    assert (etc / "edge-agent/agent.toml").read_text() == config
    assert in_root(root, "/usr/local/bin/edge-agent", "--version").strip() == "edge-agent 0.1.1"

    back = play(inventory, "rollback.yml")
    assert back.returncode == 0, back.output
    assert link(root, "current") == "/opt/edge-agent/versions/0.1.0"
    assert link(root, "previous") == "/opt/edge-agent/versions/0.1.1"
    assert in_root(root, "/usr/local/bin/edge-agent", "--version").strip() == "edge-agent 0.1.0"
