"""``onewire.ds18b20``: a DS18B20 probe read through the kernel's ``w1_slave`` file.

Each poll reads ``<sysfs_root>/<address>/w1_slave`` in a thread (the kernel converts while the
read blocks, about 750 ms), parses it with :func:`~drivers.onewire.parse_w1_slave` and
publishes :func:`~drivers.onewire.to_readings`: one ``<sensor>/temperature`` in ``Cel``,
flagged ``checksum_failed`` after the kernel's ``crc=.. NO`` and ``out_of_range`` for the
85 °C power-on value.

A read that yields no temperature (the probe's directory is gone, the kernel failed the read,
or the content means nobody answered) is counted under ``sensor_missing``, ``read_error`` or
``unparsable`` and publishes nothing: a missing value is not a value, and the stream going
quiet is what the store and the console show. After ``misses_before_restart`` such reads in a
row the driver raises :class:`~edge_agent.errors.DriverError`; the supervisor restarts it with
exponential backoff, and :meth:`Ds18b20Driver.start` looks for the probe again (with
``address = "auto"`` it then also finds a replacement probe with a new serial number).

Backends (family ``onewire``): ``sysfs`` (the kernel's ``/sys/bus/w1/devices``) and
``simulated`` (:mod:`drivers.onewire.simulated`, a private directory tree of the same shape).
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import ClassVar

from pydantic import Field, field_validator

from edge_agent.backends import SIMULATED, Backend, always
from edge_agent.driver import HardwareOptions, PollingDriver
from edge_agent.errors import DriverError, ParseError

from .readings import to_readings
from .simulated import SimulatedProbeOptions, SimulatedW1Bus
from .sysfs import (
    AUTO,
    DEFAULT_DEVICES_DIR,
    check_address,
    find_thermometer,
    read_w1_slave,
    w1_bus_probe,
)
from .w1_slave import parse_w1_slave


class Ds18b20Options(HardwareOptions):
    """Options of ``onewire.ds18b20``.

    Attributes:
        address: the probe's directory name in ``sysfs_root`` (``28-0316a2795c11``), or
            ``auto`` (the default) for the only DS18B20 (``28-*``) on the bus.
        sysfs_root: where the kernel lists 1-Wire devices; change it only for tests.
        misses_before_restart: reads in a row without a temperature before the driver gives
            up and lets the supervisor restart it (with backoff).
        simulation: the model behind the ``simulated`` backend (ignored by ``sysfs``).
    """

    address: str = AUTO
    sysfs_root: Path = DEFAULT_DEVICES_DIR
    misses_before_restart: int = Field(default=3, ge=1, le=1000)
    simulation: SimulatedProbeOptions = Field(default_factory=SimulatedProbeOptions)

    @field_validator("address")
    @classmethod
    def _address_is_a_thermometer(cls, value: str) -> str:
        return check_address(value)


class Ds18b20Driver(PollingDriver):
    """A DS18B20 temperature probe on the Pi's 1-Wire bus; stream ``<sensor>/temperature``."""

    Options = Ds18b20Options
    options: Ds18b20Options
    summary = "DS18B20 1-Wire temperature probe via /sys/bus/w1 (Cel, CRC and 85 °C flagged)"
    family: ClassVar[str | None] = "onewire"
    backends: ClassVar[tuple[Backend, ...]] = (
        Backend("sysfs", "the kernel's w1-gpio bus in /sys/bus/w1/devices", w1_bus_probe()),
        Backend(SIMULATED, "a simulated road-surface probe in a private directory", always),
    )

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self._simulation: SimulatedW1Bus | None = None
        self._devices_dir = self.options.sysfs_root
        self._address = self.options.address
        self._misses = 0

    @property
    def address(self) -> str:
        """The probe being read (known after :meth:`start`)."""
        return self._address

    async def start(self) -> None:
        """Choose the backend and find the probe; :class:`DriverError` if it is not there."""
        self._misses = 0
        choice = self.choose_backend()
        if choice.name == SIMULATED:
            self._simulation = SimulatedW1Bus(
                self.sensor,
                self.options.simulation,
                self.options.address,
                clock=self.clock,
                logger=self.log,
            )
            await self._simulation.start()
            self._devices_dir = self._simulation.devices_dir
        else:
            self._devices_dir = self.options.sysfs_root
        try:
            self._address = await asyncio.to_thread(
                find_thermometer, self._devices_dir, self.options.address
            )
        except BaseException:
            await self.stop()  # the supervisor calls stop() only after a successful start()
            raise
        self.log.info(
            "sensor %r: reading DS18B20 %s in %s", self.sensor, self._address, self._devices_dir
        )

    async def stop(self) -> None:
        """Remove the simulated bus, if any; the real bus needs no closing."""
        if self._simulation is not None:
            simulation, self._simulation = self._simulation, None
            await simulation.stop()

    async def poll(self) -> None:
        """Read the probe once and publish its temperature, or count why there is none."""
        at = self.clock.now()  # the kernel starts the conversion when the read begins
        if self._simulation is not None:
            await self._simulation.convert()
        try:
            content = await asyncio.to_thread(read_w1_slave, self._devices_dir, self._address)
        except FileNotFoundError:
            self._missed(
                "sensor_missing",
                f"{self._devices_dir / self._address} is gone: the kernel no longer sees the "
                "probe (unplugged, broken wire?)",
            )
            return
        except OSError as exc:
            self._missed("read_error", f"reading {self._address}/w1_slave failed: {exc}")
            return
        try:
            sample = parse_w1_slave(content)
        except ParseError as exc:
            self._missed("unparsable", str(exc))
            return
        self._misses = 0
        for reading in to_readings(sample, self.sensor, at):
            quantity = reading.stream.partition("/")[2]
            self.emit(quantity, reading.value, reading.unit, reading.quality, at=reading.time)

    def _missed(self, reason: str, detail: str) -> None:
        """Count a read without a temperature; raise once too many came in a row."""
        self.count_error(reason, detail)
        self._misses += 1
        if self._misses == 1:
            self.log.warning(
                "sensor %r: no temperature from %s: %s", self.sensor, self._address, detail
            )
        if self._misses >= self.options.misses_before_restart:
            raise DriverError(
                f"sensor {self.sensor!r}: no temperature from 1-Wire probe {self._address} in "
                f"{self._misses} reads in a row; last: {detail}"
            )


__all__ = ["Ds18b20Driver", "Ds18b20Options"]
