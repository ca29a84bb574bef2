"""The real radio: bleak's ``BleakScanner`` on BlueZ, passive where BlueZ allows it.

**Passive scanning** listens without sending scan requests: the tags' batteries are spared and
the Pi stays silent on air. BlueZ offers it only through its AdvertisementMonitor API, which
needs BlueZ 5.56 or newer started with ``--experimental`` and Linux 5.10 or newer; bleak then
requires "or patterns" that say which advertisements to report (:data:`OR_PATTERNS`: the
service data UUIDs 0x181A and 0xFCD2 and Ruuvi's manufacturer id). Where BlueZ refuses, the
radio logs a warning once and scans **actively** (``StartDiscovery``), which works everywhere
and also reports every other device around, which the scanner counts and drops.

bleak is imported when this backend is chosen, never before, so the agent starts on machines
without it as long as no tag uses this backend.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Final, Literal

from bleak import BleakScanner
from bleak.args.bluez import BlueZScannerArgs, OrPattern
from bleak.assigned_numbers import AdvertisementDataType
from bleak.exc import BleakError

from .scanner import DetectionCallback, TagProfile

if TYPE_CHECKING:
    from collections.abc import Sequence

OR_PATTERNS: Final[Sequence[OrPattern]] = (
    OrPattern(0, AdvertisementDataType.SERVICE_DATA_UUID16, bytes((0x1A, 0x18))),
    OrPattern(0, AdvertisementDataType.SERVICE_DATA_UUID16, bytes((0xD2, 0xFC))),
    OrPattern(0, AdvertisementDataType.MANUFACTURER_SPECIFIC_DATA, bytes((0x99, 0x04))),
)
"""What passive scanning reports: ATC1441/pvvx (0x181A), BTHome (0xFCD2), RuuviTag (0x0499).

A pattern matches the start of an AD structure's value, where the UUID or company id sits,
little-endian as on air.
"""

ScanningMode = Literal["passive", "active"]


class BleakRadio:
    """``BleakScanner`` on one adapter.

    Args:
        adapter: the BlueZ adapter (``hci0``).
        logger: where the fallback to active scanning is logged.
        mode: the scanning mode to try first; ``passive`` falls back to ``active``.
    """

    name = "bleak"

    def __init__(
        self, adapter: str, *, logger: logging.Logger, mode: ScanningMode = "passive"
    ) -> None:
        self.adapter = adapter
        self.log = logger
        self.mode: ScanningMode = mode
        self.scanner: BleakScanner | None = None

    def describe(self) -> str:
        """``passive scanning on hci0 with bleak``."""
        return f"{self.mode} scanning on {self.adapter} with bleak"

    def bluez_args(self, mode: ScanningMode) -> BlueZScannerArgs:
        """The BlueZ arguments of a scanner in ``mode``."""
        if mode == "passive":
            return {"adapter": self.adapter, "or_patterns": list(OR_PATTERNS)}
        return {"adapter": self.adapter}

    def make_scanner(self, callback: DetectionCallback, mode: ScanningMode) -> BleakScanner:
        """A new ``BleakScanner`` that calls ``callback``; touches nothing yet."""
        return BleakScanner(callback, scanning_mode=mode, bluez=self.bluez_args(mode))

    async def start(self, callback: DetectionCallback) -> None:
        """Start scanning, passively if BlueZ allows it; a fresh ``BleakScanner`` each time.

        Raises:
            BleakError, OSError: BlueZ, D-Bus or the adapter are not there (the scanner turns
                them into a :class:`~edge_agent.errors.DriverError` with a hint).
        """
        if self.mode == "passive":
            scanner = self.make_scanner(callback, "passive")
            try:
                await scanner.start()
            except BleakError as exc:
                self.log.warning(
                    "BLE on %s: passive scanning is not available (%s); scanning actively "
                    "instead, which sends scan requests to every device. For passive scanning "
                    "start bluetoothd with --experimental (BlueZ >= 5.56, Linux >= 5.10)",
                    self.adapter,
                    exc,
                )
                self.mode = "active"
            else:
                self.scanner = scanner
                return
        scanner = self.make_scanner(callback, "active")
        await scanner.start()
        self.scanner = scanner

    async def stop(self) -> None:
        """Stop scanning (nothing happens if it never started)."""
        scanner, self.scanner = self.scanner, None
        if scanner is not None:
            await scanner.stop()

    def add_tag(self, profile: TagProfile) -> None:
        """Nothing to do: the patterns cover every format."""

    def remove_tag(self, address: str) -> None:
        """Nothing to do."""


__all__ = ["OR_PATTERNS", "BleakRadio", "ScanningMode"]
