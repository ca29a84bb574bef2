"""Permissions of the config and of the secrets it names.

The config holds no secret (passwords live in files of their own) but decides where readings go:
no other user may write it (the agent's own user may: the API applies configs; the deploy
installs it ``edge-agent:edge-agent 0640``). A secrets file (the broker password, the client
key, a camera stream's password) must not be readable by every user: the same rule as the
uplink's, which refuses to start with such a password file
(:func:`edge_agent.uplink.connection.read_password`).
A password written into the config itself (a stream URL ``rtsp://user:secret@...``) is flagged.
"""

from __future__ import annotations

import stat
from pathlib import Path
from urllib.parse import urlsplit

from ..errors import ConfigError
from ..uplink.connection import read_password
from .device import Device
from .result import CheckResult, fail, ok, warn


def _secret_files(device: Device) -> list[tuple[str, Path, bool]]:
    """(setting, path, is a password file) for every secret the config names."""
    config = device.config
    if config is None:
        return []
    found: list[tuple[str, Path, bool]] = []
    if config.uplink is not None:
        if config.uplink.password_file is not None:
            found.append(("uplink.password_file", config.uplink.password_file, True))
        if config.uplink.client_key is not None:
            found.append(("uplink.client_key", config.uplink.client_key, False))
    for index, sensor in enumerate(config.sensors):
        options = config.driver_options.get(sensor.name)
        password = getattr(options, "password_file", None)
        if isinstance(password, Path):
            found.append((f"sensor[{index}].options.password_file", password, True))
    return found


def _embedded_passwords(device: Device) -> list[str]:
    """Settings whose value is a URL with a password in it."""
    config = device.config
    if config is None:
        return []
    found = []
    for index, sensor in enumerate(config.sensors):
        source = getattr(config.driver_options.get(sensor.name), "source", None)
        if isinstance(source, str) and "://" in source:
            try:
                password = urlsplit(source).password
            except ValueError:
                continue
            if password:
                found.append(f"sensor[{index}].options.source")
    return found


def check_files(device: Device) -> CheckResult:
    """The config is not writable by other users; secrets files are not readable by them."""
    name = "permissions"
    path = device.config_path
    problems: list[tuple[str, str]] = []
    checked: list[str] = []
    try:
        mode = path.stat().st_mode
    except OSError:
        mode = None
    if mode is not None:
        checked.append(str(path))
        if mode & stat.S_IWOTH:
            problems.append(
                (
                    f"{path} can be changed by every user (mode {stat.S_IMODE(mode):04o})",
                    f"chmod o-w {path} (the deploy installs it 0640)",
                )
            )
    for setting, secret, is_password in _secret_files(device):
        checked.append(str(secret))
        if is_password:
            try:
                read_password(secret, setting=setting)
            except ConfigError as exc:
                problems.append((str(exc), f"see {setting}"))
            continue
        try:
            secret_mode = secret.stat().st_mode
        except FileNotFoundError:
            problems.append(
                (f"{setting}: {secret} does not exist", f"put the file there or fix {setting}")
            )
            continue
        except OSError as exc:
            problems.append((f"{setting}: cannot read {secret}: {exc.strerror}", "check it"))
            continue
        if secret_mode & (stat.S_IROTH | stat.S_IWOTH):
            problems.append(
                (
                    f"{setting}: {secret} can be read by every user on this machine (mode "
                    f"{stat.S_IMODE(secret_mode):04o})",
                    f"chmod 600 {secret} (or chmod 640 with the agent's group)",
                )
            )
    for setting in _embedded_passwords(device):
        problems.append(
            (
                f"{setting} carries a password in the config itself",
                "write the URL without the password and put it into the sensor's password_file",
            )
        )
    if problems:
        return fail(
            name,
            "; ".join(p for p, _ in problems),
            "; ".join(f for _, f in problems),
            checked=checked,
        )
    if mode is None:
        return warn(
            name,
            f"no config at {path}; only defaults apply",
            "pass --config FILE or install the config to /etc/edge-agent/agent.toml",
        )
    secrets = len(checked) - 1
    return ok(
        name,
        f"config not writable by other users; {secrets} secrets file{'s' * (secrets != 1)}, "
        "none readable by them",
        checked=checked,
    )
