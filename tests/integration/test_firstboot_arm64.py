"""The first boot of a customised Bookworm image, run for real in an arm64 Debian Bookworm root
(the userland of Raspberry Pi OS Bookworm) under qemu-user.

The root is made once with ``debootstrap --arch=arm64 --variant=minbase`` from the mirror apt
uses here, plus the packages a Raspberry Pi OS Lite image has that the first boot touches
(systemd, python3 and python3-venv, sudo, openssh-server, tzdata, locales), and cached as a tar
file (``~/.cache/edge-kit/firstboot-bookworm-arm64.tar``). Each run unpacks it, puts the boot
partition of an image customised with ``--wheels`` (aarch64 wheels from
``images/build-wheels.sh``) at ``/boot/firmware``, and runs in a chroot what the Pi runs:
``firstrun.sh`` (as systemd.run would), then ``firstboot.sh install`` (as
edge-agent-setup.service would). Raspberry Pi OS's own helpers (imager_custom, userconf) are
not in a Debian root, so the scripts take their plain-Debian paths.

It needs root (chroot, mounts), debootstrap and qemu-user-static with binfmt_misc, and takes
minutes (pip installs numpy and friends under emulation), so it runs only when asked:
``images/check-firstboot-arm64.sh``, or ``EDGE_KIT_ARM64_CHECK=1 pytest`` on this file.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from edge_agent.image.inputs import wifi_psk

from .test_image_customize import (
    LAB_CONFIG,
    REGION_PASSWORD,
    SSH_KEY,
    SSID,
    WIFI_PASSWORD,
    boot_offset,
    build_disk,
    customize_args,
    run,
)

REPO = Path(__file__).resolve().parents[2]
CACHE = Path(os.environ.get("EDGE_KIT_CACHE", Path.home() / ".cache" / "edge-kit"))
ROOT_TAR = CACHE / "firstboot-bookworm-arm64.tar"
WHEELS = CACHE / "firstboot-wheels-cp311"
PACKAGES = "systemd,python3,python3-venv,sudo,openssh-server,tzdata,locales,ca-certificates"
BINFMT = Path("/proc/sys/fs/binfmt_misc/qemu-aarch64")

pytestmark = [
    pytest.mark.slow,
    pytest.mark.timeout(3600),
    pytest.mark.skipif(
        os.environ.get("EDGE_KIT_ARM64_CHECK") != "1",
        reason="takes minutes under qemu; run images/check-firstboot-arm64.sh "
        "(or set EDGE_KIT_ARM64_CHECK=1)",
    ),
    pytest.mark.skipif(os.geteuid() != 0, reason="needs root for chroot and mounts"),
    pytest.mark.skipif(
        shutil.which("debootstrap") is None or not BINFMT.exists(),
        reason="needs debootstrap and qemu-user-static registered with binfmt_misc "
        "(apt install debootstrap qemu-user-static binfmt-support)",
    ),
]
TIMES: dict[str, float] = {}


def apt_mirror() -> str:
    """The Debian mirror apt uses on this machine (debootstrap takes the same)."""
    sources = [*sorted(Path("/etc/apt").glob("sources.list.d/*")), Path("/etc/apt/sources.list")]
    for path in sources:
        text = path.read_text() if path.is_file() else ""
        for match in re.finditer(
            r"(?:^URIs:\s*|^deb\s+(?:\[[^\]]*\]\s+)?)(\S+/debian)/?\s", text, re.M
        ):
            return match.group(1)
    return "http://deb.debian.org/debian"


def build_root_tar() -> None:
    build = CACHE / "firstboot-bookworm-arm64.build"
    shutil.rmtree(build, ignore_errors=True)
    started = time.monotonic()
    subprocess.run(
        ["debootstrap", "--arch=arm64", "--variant=minbase", f"--include={PACKAGES}",
         "bookworm", str(build), apt_mirror()],
        check=True, capture_output=True,
    )  # fmt: skip
    partial = ROOT_TAR.with_suffix(".tar.partial")
    subprocess.run(
        ["tar", "-C", str(build), "--numeric-owner", "-cf", str(partial), "."], check=True
    )
    partial.replace(ROOT_TAR)
    shutil.rmtree(build)
    TIMES["debootstrap (once, then cached)"] = time.monotonic() - started


@pytest.fixture(scope="module")
def arm64_root(tmp_path_factory) -> Iterator[Path]:
    """A fresh arm64 Bookworm root with /proc and /dev mounted."""
    CACHE.mkdir(parents=True, exist_ok=True)
    if not ROOT_TAR.exists():
        build_root_tar()
    root = tmp_path_factory.mktemp("arm64") / "root"
    root.mkdir()
    started = time.monotonic()
    subprocess.run(["tar", "-C", str(root), "--numeric-owner", "-xpf", str(ROOT_TAR)], check=True)
    TIMES["unpack cached root"] = time.monotonic() - started
    mounts = [root / "proc", root / "dev"]
    subprocess.run(["mount", "-t", "proc", "proc", str(mounts[0])], check=True)
    subprocess.run(["mount", "--bind", "/dev", str(mounts[1])], check=True)
    try:
        yield root
    finally:
        for mount in reversed(mounts):
            subprocess.run(["umount", "-l", str(mount)], check=False)


@pytest.fixture(scope="module")
def wheels() -> Path:
    started = time.monotonic()
    subprocess.run(
        [str(REPO / "images/build-wheels.sh"), "--python", "3.11", "--out", str(WHEELS)],
        check=True, capture_output=True, env={**os.environ, "PYTHON": sys.executable},
    )  # fmt: skip
    TIMES["build-wheels.sh"] = time.monotonic() - started
    return WHEELS


def chroot(root: Path, *argv: str, check: bool = True) -> subprocess.CompletedProcess:
    env = {"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "LANG": "C.UTF-8", "HOME": "/root"}
    result = subprocess.run(
        ["chroot", str(root), *argv],
        capture_output=True,
        text=True,
        env=env,
        check=False,
        timeout=3000,
    )
    if check:
        assert result.returncode == 0, f"{argv}: {result.stdout[-3000:]}\n{result.stderr[-3000:]}"
    return result


def test_first_boot_in_arm64_bookworm_root(arm64_root, wheels, tmp_path):
    root = arm64_root
    lab = tmp_path / "lab"
    (lab / "credentials").mkdir(parents=True)
    (lab / "agent.toml").write_text(LAB_CONFIG)
    (lab / "technik.pub").write_text(SSH_KEY + "\n")
    (lab / "wifi-password").write_text(WIFI_PASSWORD + "\n")
    (lab / "credentials/password").write_text(REGION_PASSWORD + "\n")
    (lab / "credentials/ca.crt").write_text("-----BEGIN CERTIFICATE-----\nMIIB\n")
    disk = build_disk(tmp_path / "disk", "bookworm", boot_mib=128)
    out = tmp_path / "rastatt-lab-01.img"
    args = [a for a in customize_args(lab, disk, out) if a != "--index-url"]
    args = [a for a in args if "packages.region.example" not in a]
    from edge_agent.cli import main

    assert main([*args, "--wheels", str(wheels)]) == 0

    boot = root / "boot/firmware"
    boot.mkdir(parents=True, exist_ok=True)
    run("mcopy", "-s", "-n", "-i", f"{out}@@{boot_offset(out)}", "::*", str(boot))

    started = time.monotonic()
    chroot(root, "/bin/sh", "/boot/firmware/firstrun.sh")
    TIMES["firstrun.sh"] = time.monotonic() - started
    started = time.monotonic()
    install = chroot(root, "/bin/sh", "/var/lib/edge-agent-setup/firstboot.sh", "install")
    TIMES["firstboot.sh install (venv, pip from wheels, service)"] = time.monotonic() - started
    print("\narm64 first-boot check, seconds:")
    for step, seconds in TIMES.items():
        print(f"  {step:<58} {seconds:7.1f}")

    # The boot partition: hook gone, no secret left, a log a participant can read.
    psk = wifi_psk(SSID, WIFI_PASSWORD)
    assert "systemd.run" not in (boot / "cmdline.txt").read_text()
    assert not (boot / "firstrun.sh").exists() and not (boot / "edge-agent").exists()
    for path in boot.rglob("*"):
        if path.is_file():
            data = path.read_bytes()
            assert psk.encode() not in data and REGION_PASSWORD.encode() not in data, path
    log = (boot / "edge-agent-setup.txt").read_text()
    assert "FAILED" not in log, log
    assert "config check passed (as user edge-agent)" in log

    # The system: host name, user with key only, SSH, Wi-Fi, locale, time zone.
    assert (root / "etc/hostname").read_text() == "rastatt-lab-01\n"
    shadow = {
        line.split(":")[0]: line.split(":")[1]
        for line in (root / "etc/shadow").read_text().splitlines()
    }
    assert shadow["lab"] == "*"
    keys = root / "home/lab/.ssh/authorized_keys"
    assert keys.read_text() == SSH_KEY + "\n" and keys.stat().st_mode & 0o777 == 0o600
    assert (
        "PasswordAuthentication no" in (root / "etc/ssh/sshd_config.d/10-edge-kit.conf").read_text()
    )
    assert (root / "etc/systemd/system/multi-user.target.wants/ssh.service").is_symlink()
    assert (
        "lab ALL=(ALL) NOPASSWD: ALL" in (root / "etc/sudoers.d/010_edge-kit-nopasswd").read_text()
    )
    wifi = root / "etc/NetworkManager/system-connections/edge-kit-wifi.nmconnection"
    assert f"psk={psk}\n" in wifi.read_text() and wifi.stat().st_mode & 0o777 == 0o600
    assert os.readlink(root / "etc/localtime") == "/usr/share/zoneinfo/Europe/Berlin"
    assert (root / "etc/default/locale").read_text() == "LANG=de_DE.UTF-8\n"

    # The agent: installed from the wheels, its service enabled, its config passes the check.
    version = chroot(root, "/usr/local/bin/edge-agent", "--version").stdout.strip()
    assert version == "edge-agent 0.1.0", install.stderr[-2000:]
    assert os.readlink(root / "opt/edge-agent/current") == "versions/0.1.0"
    enabled = subprocess.run(
        ["systemctl", f"--root={root}", "is-enabled", "edge-agent.service"],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert enabled.stdout.strip() == "enabled"
    check = chroot(
        root, "runuser", "-u", "edge-agent", "--",
        "/opt/edge-agent/current/bin/edge-agent", "config", "check", "/etc/edge-agent/agent.toml",
    )  # fmt: skip
    assert "/etc/edge-agent/agent.toml: OK" in check.stdout
    assert "device     rastatt-lab-01 (city Rastatt" in check.stdout
    assert not (
        root / "etc/systemd/system/multi-user.target.wants/edge-agent-setup.service"
    ).exists()
    assert (root / "var/lib/edge-agent-setup/done").exists()
    groups = (root / "etc/systemd/system/edge-agent.service.d/groups.conf").read_text()
    assert "SupplementaryGroups=dialout video" in groups  # Debian has no gpio/bluetooth groups

    verify = subprocess.run(
        ["systemd-analyze", "verify", f"--root={root}", "--man=no", "edge-agent.service"],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert [line for line in verify.stderr.splitlines() if "edge-agent" in line] == []
