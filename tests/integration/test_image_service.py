"""The agent's systemd unit and the files ``python -m edge_agent.deploy install`` puts in place.

The unit is checked with systemd's own tools: ``systemd-analyze verify`` (syntax, known
settings) and ``systemd-analyze security --offline=yes`` (the exposure score must stay at or
below 2.0, "OK"; 1.7 when this was written). The installer runs against a directory tree with
its own /etc/passwd and /etc/group, through the real systemd-sysusers, systemd-tmpfiles and
systemctl with ``--root``.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from edge_agent.deploy.install import DEPLOY_FILES, groups_dropin

UNIT = next(f for f in DEPLOY_FILES if f.source == "edge-agent.service")
needs_systemd = pytest.mark.skipif(
    shutil.which("systemd-analyze") is None, reason="needs systemd-analyze (apt install systemd)"
)


@pytest.fixture
def unit_file(tmp_path: Path) -> Path:
    path = tmp_path / "edge-agent.service"
    path.write_bytes(UNIT.data())
    return path


@needs_systemd
def test_unit_passes_systemd_analyze_verify(unit_file):
    result = subprocess.run(
        ["systemd-analyze", "verify", "--man=no", str(unit_file)],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    # The venv is not installed on this machine; everything else must be clean.
    problems = [
        line
        for line in result.stderr.splitlines()
        if "/opt/edge-agent/current/bin/edge-agent is not executable" not in line
    ]
    assert problems == []


@needs_systemd
def test_unit_exposure_score_stays_ok(unit_file):
    result = subprocess.run(
        ["systemd-analyze", "security", "--offline=yes", "--threshold=20", str(unit_file)],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    match = re.search(r"Overall exposure level for edge-agent\.service: (\d+\.\d+)", result.stdout)
    assert match, result.stdout[-500:] + result.stderr
    assert float(match.group(1)) <= 2.0
    assert result.returncode == 0


def test_unit_states_what_the_issue_asks_for():
    text = UNIT.data().decode()
    settings = {}
    for line in text.splitlines():
        if "=" in line and not line.startswith("#"):
            key, value = line.split("=", 1)
            settings.setdefault(key, []).append(value)
    assert settings["User"] == ["edge-agent"] and settings["Type"] == ["notify"]
    assert settings["Restart"] == ["on-failure"] and settings["RestartForceExitStatus"] == ["75"]
    assert settings["StateDirectory"] == ["edge-agent"] and settings["RuntimeDirectory"] == [
        "edge-agent"
    ]
    assert settings["ProtectSystem"] == ["strict"] and settings["NoNewPrivileges"] == ["yes"]
    assert settings["RestrictAddressFamilies"] == [
        "AF_UNIX AF_INET AF_INET6 AF_NETLINK AF_BLUETOOTH"
    ]
    assert "WatchdogSec" in settings and "SupplementaryGroups" not in settings


def test_groups_dropin_names_only_existing_groups():
    text = groups_dropin(["dialout", "video", "users"])
    assert "SupplementaryGroups=dialout video\n" in text
    assert "gpio bluetooth" in text.splitlines()[1]  # said to be missing, in a comment
    assert "SupplementaryGroups" not in groups_dropin([])


@pytest.mark.skipif(
    os.geteuid() != 0, reason="the installer sets owners (root:edge-agent); run as root"
)
@pytest.mark.skipif(
    any(
        shutil.which(t) is None
        for t in ("systemd-sysusers", "systemd-tmpfiles", "systemctl", "usermod")
    ),
    reason="needs systemd-sysusers, systemd-tmpfiles, systemctl and usermod",
)
def test_deploy_install_into_a_root(tmp_path):
    root = tmp_path / "root"
    (root / "etc/edge-agent/credentials").mkdir(parents=True)
    (root / "etc/passwd").write_text(
        "root:x:0:0:root:/root:/bin/bash\nlab:x:1000:1000::/home/lab:/bin/bash\n"
    )
    (root / "etc/group").write_text(
        "root:x:0:\ndialout:x:20:\nvideo:x:44:\ngpio:x:997:\nlab:x:1000:\n"
    )
    (root / "etc/edge-agent/agent.toml").write_text("[device]\n")
    (root / "etc/edge-agent/credentials/password").write_text("secret\n")
    (root / "etc/edge-agent/credentials/password").chmod(0o600)
    command = [
        sys.executable,
        "-m",
        "edge_agent.deploy",
        "install",
        "--root",
        str(root),
        "--admin-user",
        "lab",
    ]

    first = subprocess.run(command, capture_output=True, text=True, check=False)
    assert first.returncode == 0, first.stderr

    for item in DEPLOY_FILES:
        installed = root / item.target.relative_to("/")
        assert installed.read_bytes() == item.data()
    passwd = (root / "etc/passwd").read_text()
    agent = next(line.split(":") for line in passwd.splitlines() if line.startswith("edge-agent:"))
    uid, gid, home = int(agent[2]), int(agent[3]), agent[5]
    assert home == "/var/lib/edge-agent" and agent[6] == "/usr/sbin/nologin"
    group = (root / "etc/group").read_text()
    assert re.search(r"^edge-agent:x:\d+:lab$", group, re.M), group
    dropin = (root / "etc/systemd/system/edge-agent.service.d/groups.conf").read_text()
    assert "SupplementaryGroups=gpio dialout video\n" in dropin
    wants = root / "etc/systemd/system/multi-user.target.wants/edge-agent.service"
    assert os.readlink(wants) == "/etc/systemd/system/edge-agent.service"
    assert (
        os.readlink(root / "usr/local/bin/edge-agent") == "/opt/edge-agent/current/bin/edge-agent"
    )
    etc = root / "etc/edge-agent"
    assert (etc.stat().st_mode & 0o777, etc.stat().st_uid, etc.stat().st_gid) == (0o770, 0, gid)
    config = etc / "agent.toml"
    assert (config.stat().st_mode & 0o777, config.stat().st_uid, config.stat().st_gid) == (
        0o640,
        uid,
        gid,
    )
    secret = etc / "credentials/password"
    assert (secret.stat().st_mode & 0o777, secret.stat().st_uid, secret.stat().st_gid) == (
        0o640,
        0,
        gid,
    )

    second = subprocess.run(command, capture_output=True, text=True, check=False)
    assert second.returncode == 0, second.stderr
    assert "installed /" not in second.stdout and "added lab" not in second.stdout
    assert (root / "etc/passwd").read_text() == passwd and (root / "etc/group").read_text() == group


def test_deploy_install_names_a_missing_admin_user(tmp_path):
    from edge_agent.deploy.install import DeployError, Installer

    root = tmp_path / "root"
    (root / "etc").mkdir(parents=True)
    (root / "etc/passwd").write_text("root:x:0:0:root:/root:/bin/bash\n")
    (root / "etc/group").write_text("root:x:0:\nedge-agent:x:999:\n")
    with pytest.raises(DeployError, match="admin user 'technik' does not exist"):
        Installer(root, log=lambda _: None).add_admin_users(["technik"])
