"""The simulated radio: a room of BLE tags and bystanders, heard through bleak's own types.

For each subscribed tag it imitates the firmware: a measurement from a small model (the day
cycle and seeded noise of :mod:`drivers.simulated.model`), encoded by :mod:`.payloads` into the
tag's real format (ATC1441, pvvx, BTHome v2 plain or encrypted with the configured bind key,
RuuviTag data format 5), sent in several advertisements per measurement as the firmware does,
some of them lost on air. Every advertisement is built as the HCI LE Advertising Report a
controller hands to BlueZ, parsed with :func:`~drivers.ble.parse_hci_le_advertising_report`,
wrapped in bleak's ``BLEDevice`` and ``AdvertisementData``, and passed to the very detection
callback bleak would call. A phone and a health thermometer nobody configured advertise too.

Timing per format (the firmware defaults):

=========================  ==================  ==============================
format                     advertises every    new measurement every
=========================  ==================  ==============================
atc1441, pvvx, bthome      2.5 s               4th advertisement (10 s)
ruuvi                      1.285 s             advertisement
=========================  ==================  ==============================

A tag configured as ``auto`` is imitated as pvvx, or as encrypted BTHome when it has a bind key.

Test verbs, in the spirit of gpiozero's mock pins (all on :class:`SimulatedRadio`): ``stall``
(nothing reaches the scanner until it restarts the radio, like a stalled BlueZ), ``pause`` and
``resume`` (the room falls silent), ``unplug`` and ``plug_in`` (starting fails as with a
missing adapter), and ``step`` (deliver what is due by a given time, for tests that own the
clock).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Final

from bleak.backends.device import BLEDevice
from bleak.backends.scanner import AdvertisementData
from bleak.exc import BleakError

from drivers.simulated.model import diurnal

from . import payloads
from .hci import parse_hci_le_advertising_report
from .payloads import Measurement
from .scanner import DetectionCallback, TagProfile

_DAY: Final = 86400.0
MISS_RATE: Final = 0.1
"""Share of a tag's advertisements lost on air."""
MIN_SLEEP: Final = 0.01
MAX_SLEEP: Final = 1.0
"""Seconds the radio's task sleeps at least and at most between two deliveries."""
_THERMOMETER_DATA: Final = bytes.fromhex("0201040909384242414334394407160918440800fe04160f185b")


@dataclass(frozen=True, slots=True)
class Timing:
    """How often a firmware advertises, and how many advertisements carry one measurement."""

    advertise_every: float
    adverts_per_measurement: int


TIMINGS: Final = {
    "atc1441": Timing(2.5, 4),
    "pvvx": Timing(2.5, 4),
    "bthome": Timing(2.5, 4),
    "ruuvi": Timing(1.285, 1),
}


class SimulatedTag:
    """One imitated tag: its model, counters and advertising schedule.

    Args:
        profile: address, format and bind key of the configured tag.
        seed: the radio's seed; each address gets its own random stream from it.
        start: monotonic time of the first advertisement.
    """

    def __init__(self, profile: TagProfile, *, seed: int, start: float) -> None:
        self.profile = profile
        self.random = random.Random(seed ^ zlib.crc32(profile.address.encode()))
        fmt = profile.format
        if fmt == "auto":
            fmt = "bthome" if profile.bind_key is not None else "pvvx"
        self.format = fmt
        self.timing = TIMINGS[fmt]
        self.next_at = start + self.random.uniform(0, self.timing.advertise_every)
        self.adverts = 0
        self.counter = self.random.randrange(256)
        self.encryption_counter = self.random.randrange(1 << 16)
        self.battery_pct = self.random.randint(70, 100)
        self.indoor_c = self.random.uniform(19.0, 23.0)
        self._drift = 0.0
        self._data = b""

    def measure(self, wall: float) -> Measurement:
        """A new measurement at wall-clock time ``wall`` (epoch seconds, for the day cycle)."""
        fraction = ((wall + 3600.0) % _DAY) / _DAY  # Central European Time
        self._drift = 0.95 * self._drift + self.random.gauss(0, 0.05)
        temperature = diurnal(fraction, low=self.indoor_c - 1.5, high=self.indoor_c + 1.5)
        temperature += self._drift * 10
        humidity = diurnal(fraction, low=38.0, high=52.0, warmest=3 / 24) - self._drift * 20
        self.counter += 1
        return Measurement(
            mac=self.profile.address,
            temperature_c=round(temperature, 2),
            humidity_pct=round(min(100.0, max(0.0, humidity)), 2),
            battery_pct=self.battery_pct,
            battery_mv=2200 + 9 * self.battery_pct,
            counter=self.counter,
            pressure_hpa=round(1013.0 + self.random.gauss(0, 0.3), 2),
            movement_count=self.counter // 50,
        )

    def advertising_data(self, wall: float) -> bytes:
        """The AD structures of the next advertisement: a new measurement or a repeat."""
        if self.adverts % self.timing.adverts_per_measurement == 0:
            self._data = self._encode(self.measure(wall))
        self.adverts += 1
        return self._data

    def _encode(self, m: Measurement) -> bytes:
        if self.format in ("atc1441", "pvvx"):
            encode = payloads.atc1441 if self.format == "atc1441" else payloads.pvvx
            return payloads.service_data_ad(payloads.UUID_ENVIRONMENTAL_SENSING, encode(m))
        if self.format == "bthome":
            self.encryption_counter += 1
            payload = payloads.bthome(
                m, bind_key=self.profile.bind_key, encryption_counter=self.encryption_counter
            )
            return payloads.service_data_ad(payloads.UUID_BTHOME, payload)
        return payloads.manufacturer_data_ad(payloads.COMPANY_RUUVI, payloads.ruuvi_df5(m))


@dataclass(slots=True)
class Bystander:
    """A device nobody configured: a phone, another vendor's sensor."""

    address: str
    data: bytes
    every: float
    next_at: float


class SimulatedRadio:
    """A simulated adapter with the configured tags and two bystanders around it.

    Args:
        adapter: the adapter name, for messages.
        logger: the radio's logger.
        monotonic: its time source (seconds); tests pass a ManualClock's ``now``.
        wall: wall-clock time for the tags' day cycle (epoch seconds).
        seed: makes the room reproducible.
        miss_rate: share of tag advertisements lost on air.
    """

    name = "simulated"

    def __init__(
        self,
        adapter: str,
        *,
        logger: logging.Logger,
        monotonic: Callable[[], float] = time.monotonic,
        wall: Callable[[], float] = time.time,
        seed: int = 0,
        miss_rate: float = MISS_RATE,
    ) -> None:
        self.adapter = adapter
        self.log = logger
        self._monotonic = monotonic
        self._wall = wall
        self.seed = seed
        self.miss_rate = miss_rate
        self.random = random.Random(seed)
        self.tags: dict[str, SimulatedTag] = {}
        now = monotonic()
        self.bystanders = [
            # A phone: Apple manufacturer data from a random address.
            Bystander("5D:2A:91:0C:7E:13", _phone_data(), 1.0, now),
            # A health thermometer (service data 0x1809 and battery 0x180F): the advertising
            # data of the captured case tests/testcases/health_thermometer_unknown_format.
            Bystander("D9:4C:5D:C0:AB:B8", _THERMOMETER_DATA, 5.0, now),
        ]
        self.callback: DetectionCallback | None = None
        self.delivered = 0
        self.lost = 0
        self.stalled = False
        self.paused = False
        self.unplugged = False
        self._devices: dict[str, BLEDevice] = {}
        self._task: asyncio.Task[None] | None = None

    def describe(self) -> str:
        """``simulated radio on hci0: ...``, for logs."""
        return f"simulated radio on {self.adapter}: the configured tags and two bystanders"

    async def start(self, callback: DetectionCallback) -> None:
        """Start delivering advertisements to ``callback``; clears a :meth:`stall`.

        Raises:
            BleakError: the adapter is :meth:`unplug` ged, as bleak says for a missing adapter.
        """
        if self.unplugged:
            raise BleakError(f"adapter '{self.adapter}' not found")
        self.callback = callback
        self.stalled = False
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(
                self._run(), name=f"simulated-radio:{self.adapter}"
            )

    async def stop(self) -> None:
        """Stop delivering."""
        self.callback = None
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    def add_tag(self, profile: TagProfile) -> None:
        """Imitate the tag at ``profile.address``."""
        self.tags[profile.address] = SimulatedTag(profile, seed=self.seed, start=self._monotonic())

    def remove_tag(self, address: str) -> None:
        """Stop imitating the tag at ``address``."""
        self.tags.pop(address, None)

    def stall(self) -> None:
        """Deliver nothing until the radio is stopped and started again (a stalled BlueZ)."""
        self.stalled = True

    def pause(self) -> None:
        """Silence the room: nothing is on air until :meth:`resume`."""
        self.paused = True

    def resume(self) -> None:
        """End a :meth:`pause`."""
        self.paused = False

    def unplug(self) -> None:
        """Make :meth:`start` fail as with a missing adapter, until :meth:`plug_in`."""
        self.unplugged = True

    def plug_in(self) -> None:
        """End an :meth:`unplug`."""
        self.unplugged = False

    def step(self, now: float | None = None) -> int:
        """Send everything due by ``now`` (monotonic seconds); returns how many were delivered."""
        if now is None:
            now = self._monotonic()
        delivered = 0
        for tag in list(self.tags.values()):
            while tag.next_at <= now:
                data = tag.advertising_data(self._wall())
                tag.next_at += tag.timing.advertise_every * self.random.uniform(0.97, 1.03)
                if self.random.random() < self.miss_rate:
                    self.lost += 1
                    continue
                rssi = round(-68 + self.random.gauss(0, 3))
                delivered += self._deliver(tag.profile.address, data, rssi)
        for bystander in self.bystanders:
            while bystander.next_at <= now:
                bystander.next_at += bystander.every
                delivered += self._deliver(bystander.address, bystander.data, -85)
        return delivered

    def _deliver(self, address: str, data: bytes, rssi: int) -> int:
        callback = self.callback
        if callback is None or self.stalled or self.paused:
            return 0
        event = payloads.le_advertising_report(address, data, rssi_dbm=rssi)
        (report,) = parse_hci_le_advertising_report(event)
        device = self._devices.get(report.address)
        if device is None:
            device = self._devices[report.address] = BLEDevice(report.address, None, None)
        adv = AdvertisementData(
            local_name=report.local_name,
            manufacturer_data=dict(report.manufacturer_data),
            service_data=dict(report.service_data),
            service_uuids=list(report.service_uuids),
            tx_power=None,
            rssi=-127 if report.rssi_dbm is None else report.rssi_dbm,
            platform_data=("simulated", event),
        )
        self.delivered += 1
        callback(device, adv)
        return 1

    async def _run(self) -> None:
        while True:
            self.step()
            due = [tag.next_at for tag in self.tags.values()]
            due += [bystander.next_at for bystander in self.bystanders]
            wait = min(due) - self._monotonic()
            await asyncio.sleep(min(MAX_SLEEP, max(MIN_SLEEP, wait)))


def _phone_data() -> bytes:
    """Flags and Apple (0x004C) manufacturer data as a phone nearby sends it."""
    return payloads.ad_structure(payloads.AD_FLAGS, b"\x1a") + payloads.ad_structure(
        payloads.AD_MANUFACTURER_DATA, bytes.fromhex("4c00") + bytes.fromhex("1005031c4d2a1f")
    )


__all__ = ["MISS_RATE", "TIMINGS", "Bystander", "SimulatedRadio", "SimulatedTag", "Timing"]
