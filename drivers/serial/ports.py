"""Serial port names on Linux: which ports exist, which names are stable, and what an open
error means for the person who has to fix it.

USB serial adapters appear as ``/dev/ttyUSB<n>`` (FTDI, Prolific, CP210x, CH340 bridges) or
``/dev/ttyACM<n>`` (USB CDC: u-blox receivers, Arduino, Pico); the number is handed out in
plug order, so it changes when devices are re-plugged or enumerate in another order after a
reboot. udev adds stable links under ``/dev/serial/by-id/`` named after the adapter's vendor,
model and serial number; configs should use those. ``/dev/ttyAMA<n>`` and ``/dev/ttyS<n>``
are the Pi's on-board UARTs, whose names do not move.
"""

from __future__ import annotations

import errno
import os
import re
from pathlib import Path
from typing import Final

BY_ID_DIR: Final = Path("/dev/serial/by-id")
"""Where udev puts the stable names of USB serial ports."""

PROBED_PATTERNS: Final = (
    "/dev/serial/by-id/*",
    "/dev/ttyUSB*",
    "/dev/ttyACM*",
    "/dev/ttyAMA*",
)
"""What the ``pyserial`` backend's probe looks for (it has no options, so no port path)."""

_NUMBERED_BY_PLUG_ORDER: Final = re.compile(r"^/dev/tty(?:USB|ACM)\d+$")


def serial_ports(dev: Path = Path("/dev")) -> list[str]:
    """The serial ports that exist now: the by-id links first, then the device nodes.

    ``dev`` is the device directory (a real directory tree in tests).
    """
    found: list[str] = []
    for pattern in PROBED_PATTERNS:
        relative = pattern.removeprefix("/dev/")
        found.extend(str(path) for path in sorted(dev.glob(relative)))
    return found


def probe_serial_ports() -> str | None:
    """The ``pyserial`` backend's probe: ``None`` when a serial port exists, else why not.

    Probes get no options, so it cannot look for the configured port; it looks for any of
    :data:`PROBED_PATTERNS`. It never opens anything.
    """
    if serial_ports():
        return None
    return f"no serial port ({', '.join(PROBED_PATTERNS)})"


def stable_name(path: str, by_id: Path = BY_ID_DIR) -> str | None:
    """The ``/dev/serial/by-id/...`` link that points at ``path`` now, if there is one."""
    try:
        target = os.path.realpath(path)
        links = sorted(by_id.iterdir())
    except OSError:
        return None
    for link in links:
        if os.path.realpath(link) == target:
            return str(link)
    return None


def unstable_name_warning(path: str, by_id: Path = BY_ID_DIR) -> str | None:
    """A warning for a port named by plug order (``/dev/ttyUSB0``), or ``None``.

    Names the stable link to use instead when one points at the port now.
    """
    if not _NUMBERED_BY_PLUG_ORDER.match(path):
        return None
    stable = stable_name(path, by_id)
    instead = (
        f"use its stable name port = {stable!r}"
        if stable
        else f"use its stable name from `ls -l {by_id}/`"
    )
    return (
        f"port {path!r} is numbered in plug order and may name another device after a re-plug "
        f"or reboot; {instead}"
    )


def explain_open_error(path: str, error_number: int | None, message: str) -> str:
    """Why ``path`` did not open and how to fix it, from the errno pyserial reports."""
    present = serial_ports()
    ports = ", ".join(present) if present else "none"
    match error_number:
        case errno.ENOENT | errno.ENODEV | errno.ENXIO:
            return (
                f"serial port {path!r} does not exist: the device is unplugged or the path is "
                f"wrong (serial ports here: {ports}); the driver retries with backoff"
            )
        case errno.EACCES | errno.EPERM:
            return (
                f"no permission to open serial port {path!r}: add the agent's user to the "
                "'dialout' group (sudo usermod -aG dialout <user>) and restart the agent"
            )
        case errno.EBUSY | errno.EAGAIN:
            return (
                f"serial port {path!r} is in use by another program (gpsd, ModemManager, "
                f"minicom, a second agent?); find it with `sudo fuser -v {path}` ({message})"
            )
    return f"cannot open serial port {path!r}: {message}"


__all__ = [
    "BY_ID_DIR",
    "PROBED_PATTERNS",
    "explain_open_error",
    "probe_serial_ports",
    "serial_ports",
    "stable_name",
    "unstable_name_warning",
]
