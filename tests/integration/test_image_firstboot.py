"""The first-boot scripts on the card, run with /bin/sh against copies of a customised boot
partition (``EDGE_KIT_BOOT``) and an empty root (``EDGE_KIT_ROOT``): what ``stage`` moves, and
that the wipe leaves no secret on the boot partition.

The boot tree is copied out of a customised image with ``mcopy -s``, so the scripts see
exactly the files a Pi would.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from edge_agent.image.inputs import wifi_psk

from .test_image_customize import (
    CMDLINE,
    REGION_PASSWORD,
    SSID,
    WIFI_PASSWORD,
    boot_offset,
    customize_args,
    missing_tools,
    run,
)

pytestmark = pytest.mark.skipif(bool(missing_tools), reason=f"needs {', '.join(missing_tools)}")
PSK = wifi_psk(SSID, WIFI_PASSWORD)
SECRETS = (PSK.encode(), REGION_PASSWORD.encode(), WIFI_PASSWORD.encode())


@pytest.fixture(scope="module")
def boot_trees(tmp_path_factory) -> dict[str, Path]:
    """The boot partitions of a customised image of each release, as directories."""
    from .test_image_customize import LAB_CONFIG, SSH_KEY, build_disk

    base = tmp_path_factory.mktemp("firstboot")
    lab = base / "lab"
    (lab / "credentials").mkdir(parents=True)
    (lab / "agent.toml").write_text(LAB_CONFIG)
    (lab / "technik.pub").write_text(SSH_KEY + "\n")
    (lab / "wifi-password").write_text(WIFI_PASSWORD + "\n")
    (lab / "credentials" / "password").write_text(REGION_PASSWORD + "\n")
    (lab / "credentials" / "ca.crt").write_text("-----BEGIN CERTIFICATE-----\nMIIB\n")
    trees = {}
    for release in ("bookworm", "trixie"):
        disk = build_disk(base / "disks", release)
        out = base / f"{release}-custom.img"
        from edge_agent.cli import main

        assert main(customize_args(lab, disk, out)) == 0
        tree = base / f"{release}-boot"
        tree.mkdir()
        run("mcopy", "-s", "-n", "-i", f"{out}@@{boot_offset(out)}", "::*", str(tree))
        trees[release] = tree
    return trees


def copy_tree(source: Path, tmp_path: Path) -> Path:
    boot = tmp_path / "boot"
    shutil.copytree(source, boot, symlinks=True)
    return boot


def sh(
    script: Path, *args: str, boot: Path, root: Path | None = None
) -> subprocess.CompletedProcess:
    env = {**os.environ, "EDGE_KIT_BOOT": str(boot)}
    if root is not None:
        env["EDGE_KIT_ROOT"] = str(root)
    return subprocess.run(
        ["/bin/sh", str(script), *args],
        capture_output=True,
        text=True,
        env=env,
        check=False,
        timeout=60,
    )


def secrets_in(tree: Path) -> list[str]:
    """Files under ``tree`` that contain a secret."""
    found = []
    for path in sorted(tree.rglob("*")):
        if path.is_file() and any(secret in path.read_bytes() for secret in SECRETS):
            found.append(str(path.relative_to(tree)))
    return found


def test_customised_boot_partition_holds_the_secrets_to_wipe(boot_trees):
    assert secrets_in(boot_trees["bookworm"]) == ["edge-agent/credentials/password", "firstrun.sh"]
    assert secrets_in(boot_trees["trixie"]) == ["edge-agent/credentials/password", "network-config"]


@pytest.mark.parametrize("release", ["bookworm", "trixie"])
def test_stage_moves_config_and_credentials_and_wipes_them(boot_trees, tmp_path, release):
    boot = copy_tree(boot_trees[release], tmp_path)
    root = tmp_path / "root"
    root.mkdir()
    result = sh(boot / "edge-agent" / "firstboot.sh", "stage", boot=boot, root=root)
    assert result.returncode == 0, result.stderr

    etc = root / "etc" / "edge-agent"
    assert (etc / "credentials" / "password").read_text() == REGION_PASSWORD + "\n"
    assert 'driver = "onewire.ds18b20"' in (etc / "agent.toml").read_text()
    for path in (etc, etc / "credentials"):
        assert path.stat().st_mode & 0o777 == 0o700
    for path in (
        etc / "agent.toml",
        etc / "credentials" / "password",
        etc / "credentials" / "ca.crt",
    ):
        assert path.stat().st_mode & 0o777 == 0o600
    setup = root / "var" / "lib" / "edge-agent-setup"
    assert (setup / "firstboot.sh").is_file() and (setup / "firstboot.env").is_file()

    assert not (boot / "edge-agent").exists()
    expected = {"bookworm": ["firstrun.sh"], "trixie": []}[release]
    assert secrets_in(boot) == expected, "only the running firstrun.sh may still hold a secret"
    if release == "trixie":
        clean = (boot / "network-config").read_text()
        assert SSID in clean and "password" not in clean
    log = (boot / "edge-agent-setup.txt").read_text()
    assert "secrets wiped from the boot partition" in log
    assert not any(secret.decode() in log for secret in SECRETS)


def test_firstrun_wipe_removes_the_hook_and_every_secret(boot_trees, tmp_path):
    boot = copy_tree(boot_trees["bookworm"], tmp_path)
    result = sh(boot / "firstrun.sh", "wipe", boot=boot)
    assert result.returncode == 0, result.stderr
    assert secrets_in(boot) == []
    assert not (boot / "firstrun.sh").exists() and not (boot / "edge-agent").exists()
    # The hook is gone and the rest of the line is as customised (Wi-Fi country kept).
    assert (boot / "cmdline.txt").read_text() == (
        CMDLINE.rstrip("\n") + " cfg80211.ieee80211_regdom=DE\n"
    )


def test_enable_setup_writes_a_unit_that_systemd_accepts(boot_trees, tmp_path):
    boot = copy_tree(boot_trees["trixie"], tmp_path)
    root = tmp_path / "root"
    root.mkdir()
    script = boot / "edge-agent" / "firstboot.sh"
    assert sh(script, "stage", boot=boot, root=root).returncode == 0
    result = sh(
        root / "var/lib/edge-agent-setup/firstboot.sh", "enable-setup", boot=boot, root=root
    )
    assert result.returncode == 0, result.stderr
    unit = root / "etc/systemd/system/edge-agent-setup.service"
    wants = root / "etc/systemd/system/multi-user.target.wants/edge-agent-setup.service"
    assert os.readlink(wants) == "../edge-agent-setup.service"
    text = unit.read_text()
    assert "ExecStart=/bin/sh /var/lib/edge-agent-setup/firstboot.sh install" in text
    # Installed from a package index: the setup waits for the network.
    assert "After=network-online.target" in text
    if shutil.which("systemd-analyze") is None:
        pytest.skip("systemd-analyze is not installed")
    verify = subprocess.run(
        ["systemd-analyze", "verify", "--man=no", str(unit)],
        capture_output=True,
        text=True,
        check=False,
    )
    problems = [line for line in verify.stderr.splitlines() if "edge-agent-setup" in line]
    assert problems == [], verify.stderr
