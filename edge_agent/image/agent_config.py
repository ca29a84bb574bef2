"""The agent config that goes onto the card: the lab's file, made this device's, and checked.

The lab's ``agent.toml`` is shared by its devices; per device only ``[device]`` ``id``,
``city`` and ``lab`` differ. Those keys are set in the text itself (the rest of the file,
comments included, stays as the lab wrote it) and the result is validated exactly as
``edge-agent config check`` does, on this computer, before anything is written.

Region credentials are checked against the config: every ``[uplink]`` file setting that points
into ``/etc/edge-agent/credentials/`` must name a file of the credentials folder, and a
credentials folder without an ``[uplink]`` is refused (the files would sit there unused).

The config also tells which extras and platform packages the agent needs on the Pi, and which
interfaces of the Pi to switch on (:class:`Needs`).
"""

from __future__ import annotations

import json
import re
import tomllib
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Final

from ..config import AgentConfig, parse_config
from ..driver import load_driver
from ..errors import ConfigError

CREDENTIALS_DIR: Final = PurePosixPath("/etc/edge-agent/credentials")
CREDENTIAL_SETTINGS: Final = ("password_file", "ca_file", "client_cert", "client_key")
PI_UARTS: Final = ("/dev/serial0", "/dev/ttyAMA0", "/dev/ttyS0")
_TABLE: Final = re.compile(r"^\s*\[")
_DEVICE: Final = re.compile(r"^\s*\[\s*device\s*\]\s*(?:#.*)?$")


@dataclass(frozen=True)
class Needs:
    """What the config needs from the Pi beyond the agent itself."""

    extras: tuple[str, ...]
    """Extras of the ``digitallabor-edge-kit`` distribution (``ble``)."""
    apt_packages: tuple[str, ...]
    """Raspberry Pi OS packages its drivers import (installed at first boot if missing)."""
    onewire: bool
    """A 1-Wire sensor: ``dtoverlay=w1-gpio`` in config.txt (GPIO 4)."""
    uart: bool
    """A sensor on the Pi's own UART: ``enable_uart=1`` and no serial console."""


def set_device_fields(text: str, fields: dict[str, str]) -> str:
    """``text`` with ``[device]`` keys set to ``fields``; comments and order are kept."""
    if not fields:
        return text
    lines = text.splitlines()
    header = next((i for i, line in enumerate(lines) if _DEVICE.match(line)), None)
    rendered = {
        key: f"{key} = {json.dumps(value, ensure_ascii=False)}" for key, value in fields.items()
    }
    if header is None:
        lines += ["", "[device]", *rendered.values()]
    else:
        end = next((i for i in range(header + 1, len(lines)) if _TABLE.match(lines[i])), len(lines))
        todo = dict(rendered)
        for index in range(header + 1, end):
            key = lines[index].split("=", 1)[0].strip()
            if "=" in lines[index] and key in todo:
                lines[index] = todo.pop(key)
        lines[header + 1 : header + 1] = list(todo.values())
    result = "\n".join(lines) + "\n"
    try:
        device = tomllib.loads(result).get("device", {})
    except tomllib.TOMLDecodeError:
        device = {}
    if any(device.get(key) != value for key, value in fields.items()):
        raise ConfigError(
            "cannot set [device] keys in the config text (is [device] written as dotted keys or "
            "an inline table?); write it as a [device] table"
        )
    return result


def check_credentials(config: AgentConfig, names: set[str], *, source: str) -> None:
    """Every credential path of ``[uplink]`` under :data:`CREDENTIALS_DIR` names a given file."""
    if config.uplink is None:
        if names:
            raise ConfigError(
                f"{source}: region credentials were given but the config has no [uplink]; add "
                "the region's [uplink] table or leave out --region-credentials"
            )
        return
    for setting in CREDENTIAL_SETTINGS:
        value = getattr(config.uplink, setting)
        if value is None:
            continue
        path = PurePosixPath(str(value))
        if path.parent != CREDENTIALS_DIR:
            continue
        if path.name not in names:
            have = ", ".join(sorted(names)) or "none (no --region-credentials)"
            raise ConfigError(
                f"{source}: uplink.{setting} = {str(path)!r} but the region credentials hold "
                f"no file {path.name!r} (they hold: {have}); add the file or fix the setting"
            )


def needs_of(config: AgentConfig) -> Needs:
    """What ``config`` needs from the Pi (see :class:`Needs`)."""
    families = set()
    uart = False
    for sensor in config.sensors:
        if not sensor.enabled:
            continue
        family = load_driver(sensor.driver).family
        if family:
            families.add(family)
        if str(sensor.options.get("port", "")) in PI_UARTS:
            uart = True
    extras = ("ble",) if "ble" in families else ()
    apt = []
    if "gpio" in families:
        apt.append("python3-lgpio")
    if "camera" in families:
        apt.append("python3-picamera2")
    return Needs(extras, tuple(apt), "onewire" in families, uart)


def prepare_config(
    text: str, *, source: Path, fields: dict[str, str], credential_names: set[str]
) -> tuple[str, AgentConfig]:
    """The device's config text and its validated form; raises :class:`ConfigError`."""
    final = set_device_fields(text, fields)
    try:
        data = tomllib.loads(final)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{source}: not valid TOML: {exc}") from exc
    config = parse_config(data, source=source)
    check_credentials(config, credential_names, source=str(source))
    return final, config
