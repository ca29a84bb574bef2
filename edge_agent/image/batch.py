"""Many devices from one table: one ready-to-flash image per device.

The table is CSV (a header line) or TOML (``[[device]]`` tables) with these columns:

============  ========  ==================================================================
column        needed    what
============  ========  ==================================================================
hostname      yes       the Pi's host name (``<hostname>.local`` on the lab network)
device_id     no        ``[device] id`` in the agent config (default: the host name)
lab           no        ``[device] lab`` (default: the config's)
city          no        ``[device] city`` (default: the config's)
credentials   no        folder of this device's region credentials, relative to the table
============  ========  ==================================================================

Why one image per device, not one shared image plus a per-device overlay to copy onto the
card after flashing: lab participants are not administrators, and a card that boots without
its overlay (forgotten, or copied from the neighbour's folder) comes up as the wrong device or
as none; with one image per device, writing the card is the only step. The images are sparse
files, so twenty of them cost twenty times the data actually in the image (about 2 GB for a
Lite image), not twenty times its size, and an ``.img.xz`` input is decompressed only once.

Every row is checked (files readable, configs valid, host names and device ids unique) before
the first image is written.
"""

from __future__ import annotations

import csv
import tomllib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from ..errors import ConfigError
from .customize import Device, Install, Result, customize
from .inputs import check_hostname
from .source import Progress, write_image

COLUMNS: Final = ("hostname", "device_id", "lab", "city", "credentials")


@dataclass(frozen=True)
class DeviceRow:
    """One row of the table."""

    line: str
    """Where it came from (``devices.csv:3``), for messages."""
    hostname: str
    device_id: str | None
    lab: str | None
    city: str | None
    credentials: Path | None

    def fields(self) -> dict[str, str]:
        """The ``[device]`` keys to set in the config."""
        values = {"id": self.device_id or self.hostname, "lab": self.lab, "city": self.city}
        return {key: value for key, value in values.items() if value}


def _row(raw: dict[str, object], where: str, base: Path) -> DeviceRow:
    unknown = sorted(set(raw) - set(COLUMNS))
    if unknown:
        raise ConfigError(
            f"{where}: unknown column {unknown[0]!r}; the columns are {', '.join(COLUMNS)}"
        )
    values = {key: str(raw[key]).strip() for key in COLUMNS if raw.get(key) not in (None, "")}
    if "hostname" not in values:
        raise ConfigError(f"{where}: hostname is missing")
    try:
        hostname = check_hostname(values["hostname"])
    except ConfigError as exc:
        raise ConfigError(f"{where}: {exc}") from None
    credentials = base / values["credentials"] if "credentials" in values else None
    return DeviceRow(
        where, hostname, values.get("device_id"), values.get("lab"), values.get("city"), credentials
    )


def read_devices(path: Path) -> list[DeviceRow]:
    """The rows of a ``.csv`` or ``.toml`` device table."""
    base = path.parent
    try:
        text = path.read_text(encoding="utf-8-sig")
    except OSError as exc:
        raise ConfigError(f"device table {path}: cannot read: {exc.strerror}") from exc
    rows: list[DeviceRow] = []
    if path.suffix.lower() == ".toml":
        try:
            data = tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"device table {path}: not valid TOML: {exc}") from exc
        extra = sorted(set(data) - {"device"})
        if extra:
            raise ConfigError(
                f"device table {path}: unknown key {extra[0]!r}; list devices as [[device]] tables"
            )
        for index, raw in enumerate(data.get("device", [])):
            rows.append(_row(raw, f"{path}: device[{index}]", base))
    elif path.suffix.lower() == ".csv":
        reader = csv.DictReader(text.splitlines())
        for raw in reader:
            rows.append(_row(dict(raw), f"{path}:{reader.line_num}", base))
    else:
        raise ConfigError(f"device table {path}: give a .csv or .toml file")
    if not rows:
        raise ConfigError(f"device table {path}: no devices")
    for key in ("hostname", "device_id"):
        seen: dict[str, str] = {}
        for row in rows:
            value = row.hostname if key == "hostname" else row.fields()["id"]
            if value in seen:
                raise ConfigError(f"{row.line}: {key} {value!r} is used twice (also {seen[value]})")
            seen[value] = row.line
    return rows


def customize_all(
    image: Path,
    out_dir: Path,
    devices: list[tuple[DeviceRow, Device]],
    install: Install,
    *,
    release_name: str | None = None,
    progress: Progress | None = None,
    log: Callable[[str], None] = lambda _: None,
) -> list[Result]:
    """One image per device in ``out_dir`` (``<hostname>.img``)."""
    out_dir.mkdir(parents=True, exist_ok=True)
    source = image
    base: Path | None = None
    if image.suffix.lower() == ".xz" and len(devices) > 1:
        base = out_dir / ".base.img.partial"
        log(f"decompressing {image} once for {len(devices)} devices")
        write_image(image, base, progress)
        source = base
    results = []
    try:
        for row, device in devices:
            out = out_dir / f"{row.hostname}.img"
            log(f"{row.hostname}: writing {out}")
            results.append(
                customize(source, out, device, install, release_name=release_name, log=log)
            )
    finally:
        if base is not None:
            base.unlink(missing_ok=True)
    return results
