"""The simulated 1-Wire bus: a private directory tree shaped like ``/sys/bus/w1/devices``.

The driver reads it with the same reader and parser as the real bus. Before each read
:meth:`SimulatedW1Bus.convert` writes the ``w1_slave`` text the kernel would print for the
next temperature of the road-surface model (:mod:`drivers.simulated.road`, the model the
demo's ``simulated.road_surface`` sensor uses), now and then with a bit flipped on the wire
(the kernel's ``crc=.. NO``) or the probe's 85 °C power-on value, so flagged values show up.

The tree, in a new temporary directory, mirrors the kernel's layout::

    devices/w1_bus_master1/28-xxxxxxxxxxxx/w1_slave
    bus/w1/devices/w1_bus_master1 -> ../../../devices/w1_bus_master1
    bus/w1/devices/28-xxxxxxxxxxxx -> ../../../devices/w1_bus_master1/28-xxxxxxxxxxxx
"""

from __future__ import annotations

import asyncio
import logging
import os
import random
import shutil
import tempfile
import zlib
from pathlib import Path

from pydantic import Field

from drivers.simulated.road import RoadSurfaceOptions, RoadSurfaceSimulator
from edge_agent.clock import Clock
from edge_agent.readings import Quality, Reading

from .scratchpad import POWER_ON_SCRATCHPAD, ds18b20_scratchpad, format_w1_slave
from .sysfs import AUTO, DS18B20_FAMILY
from .w1_slave import crc8


class SimulatedProbeOptions(RoadSurfaceOptions):
    """The simulated probe: the road-surface model's options, plus wire errors.

    Attributes:
        crc_error_rate: share of reads in which one bit flips on the wire, so the kernel
            reports ``crc=.. NO`` and the value is flagged ``checksum_failed``.
        glitch_rate: share of reads that return the 85 °C power-on value (flagged
            ``out_of_range``); from the road-surface model.
    """

    glitch_rate: float = Field(default=0.02, ge=0, le=1)
    crc_error_rate: float = Field(default=0.03, ge=0, le=1)


def simulated_address(sensor: str, seed: int) -> str:
    """A stable DS18B20-like address for the simulated probe of ``sensor``."""
    serial = zlib.crc32(f"{sensor}:{seed}".encode()) & 0xFFFFFFFF
    return f"{DS18B20_FAMILY}-0000{serial:08x}"


class SimulatedW1Bus:
    """One simulated DS18B20 in a private ``/sys/bus/w1/devices``-like tree.

    Args:
        sensor: the sensor's name (seeds the model, as for every simulated sensor).
        options: the model and its wire errors.
        address: the probe's directory name, or ``auto`` for one derived from the seed.
        clock: the agent's clock; the model follows its time of day.
        logger: the driver's logger.
    """

    def __init__(
        self,
        sensor: str,
        options: SimulatedProbeOptions,
        address: str,
        *,
        clock: Clock,
        logger: logging.Logger,
    ) -> None:
        self.address = simulated_address(sensor, options.seed) if address == AUTO else address
        self._options = options
        self._samples: list[Reading] = []
        self._model = RoadSurfaceSimulator(
            sensor,
            options,
            interval=1.0,
            publish=self._samples.append,
            clock=clock,
            logger=logger,
        )
        self._wire = random.Random(f"{sensor}:{options.seed}:wire")
        self._last_good = bytes(9)  # the kernel's retained scratchpad starts zeroed
        self._root: Path | None = None

    @property
    def devices_dir(self) -> Path:
        """The simulated ``/sys/bus/w1/devices``; valid between :meth:`start` and :meth:`stop`."""
        if self._root is None:
            raise RuntimeError("the simulated 1-Wire bus is not started")
        return self._root / "bus" / "w1" / "devices"

    @property
    def w1_slave(self) -> Path:
        """The simulated probe's ``w1_slave`` file."""
        return self.devices_dir / self.address / "w1_slave"

    async def start(self) -> None:
        """Create the tree and a first reading."""
        self._root = Path(await asyncio.to_thread(tempfile.mkdtemp, prefix="edge-agent-w1-"))
        await asyncio.to_thread(self._make_tree, self._root)
        await self.convert()

    def _make_tree(self, root: Path) -> None:
        master = root / "devices" / "w1_bus_master1"
        (master / self.address).mkdir(parents=True)
        links = root / "bus" / "w1" / "devices"
        links.mkdir(parents=True)
        (links / "w1_bus_master1").symlink_to("../../../devices/w1_bus_master1")
        (links / self.address).symlink_to(f"../../../devices/w1_bus_master1/{self.address}")

    async def convert(self) -> None:
        """Take the model's next temperature and write the file the kernel would show."""
        await self._model.poll()
        reading = self._samples.pop()
        if Quality.OUT_OF_RANGE in reading.quality:  # the model's power-on glitch
            scratchpad = POWER_ON_SCRATCHPAD
        else:
            scratchpad = ds18b20_scratchpad(float(reading.value or 0.0))
        if self._wire.random() < self._options.crc_error_rate:
            flipped = self._wire.randrange(9 * 8)
            damaged = bytearray(scratchpad)
            damaged[flipped // 8] ^= 1 << (flipped % 8)
            scratchpad = bytes(damaged)
        text = format_w1_slave(scratchpad, last_good=self._last_good)
        if crc8(scratchpad[:8]) == scratchpad[8]:
            self._last_good = scratchpad
        await asyncio.to_thread(self._write, text)

    def _write(self, text: str) -> None:
        # Write and rename, so that the reader never sees half a file.
        target = self.w1_slave
        partial = target.with_name(".w1_slave.partial")
        partial.write_text(text, encoding="ascii")
        os.replace(partial, target)

    async def stop(self) -> None:
        """Remove the tree."""
        if self._root is not None:
            root, self._root = self._root, None
            await asyncio.to_thread(shutil.rmtree, root, True)


__all__ = ["SimulatedProbeOptions", "SimulatedW1Bus", "simulated_address"]
