"""``ble.tag``: one BLE thermometer or environment tag, heard through the adapter's shared scanner.

Each ``[[sensor]]`` with ``driver = "ble.tag"`` is one tag (see :mod:`.options`). In
:meth:`BleTagDriver.start` the driver chooses its backend (``bleak`` where the ``ble`` extra
and a ``/sys/class/bluetooth/hci*`` adapter exist, else ``simulated`` with a warning), takes
the adapter's :class:`~.scanner.Scanner` from the agent's resources (the first tag creates and
starts it) and subscribes its address. From then on the scanner hands it every advertisement
from that address, on the event loop, in :meth:`BleTagDriver.on_advertisement`:

1. take the payload of the configured format (service data 0xFCD2 / 0x181A, Ruuvi's
   manufacturer data; ``auto`` takes the first present);
2. the same bytes as the last accepted packet are a repeat: counted, nothing decoded;
3. decode (:mod:`.bthome`, :mod:`.custom_firmware`, :mod:`.ruuvi`); what does not decode is
   counted under a reason (``input_errors.<sensor>.<reason>`` in ``edge-agent status``) and
   logged at debug level, plus one warning per reason for the ones a technician must fix;
4. drop repeats by packet id and replayed encrypted BTHome counters (:mod:`.tracking`);
5. publish the readings of :func:`~drivers.ble.to_readings` plus ``<sensor>/rssi`` (dBm), at
   most once per ``interval`` (the ``[[sensor]]`` key).

**Staleness** is visible in two ways. ``<sensor>/online`` (a boolean) is published when the tag
is first heard, when it goes silent for longer than its stale limit (``false``) and when it is
heard again (``true``). When it goes silent, the last values are also published once more with
the ``stale`` quality flag (the meaning of :attr:`~edge_agent.readings.Quality.STALE`: "the value
is the last one seen"), so a dashboard that shows the latest reading shows it stale.

Durations (repeats, interval, staleness) use a monotonic clock; reading times use the agent's
clock. :meth:`BleTagDriver.check_stale` runs from :meth:`BleTagDriver.run`, which also raises
:class:`~edge_agent.errors.DriverError` when the shared scanner failed to restart.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import zlib
from collections.abc import Callable, Mapping
from typing import Final

from bleak.backends.device import BLEDevice
from bleak.backends.scanner import AdvertisementData

from edge_agent import units
from edge_agent.backends import Backend, all_of, always, needs_module, needs_path
from edge_agent.clock import Clock
from edge_agent.driver import Driver, DriverOptions, Publish
from edge_agent.errors import DriverError, ParseError
from edge_agent.readings import Quality, Reading
from edge_agent.resources import Resources

from .bthome import ENCRYPTED_FLAG, decode_bthome
from .custom_firmware import decode_custom_firmware
from .options import BleTagOptions
from .readings import SensorReadings
from .ruuvi import decode_ruuvi
from .sample import BleFormat, BleSample
from .scanner import Radio, Scanner, TagProfile
from .tracking import TagTracker
from .uuids import BTHOME_UUID, ENVIRONMENTAL_SENSING_UUID, RUUVI_COMPANY_ID

RSSI_NOT_AVAILABLE: Final = -127
"""What bleak reports when BlueZ has no RSSI for an advertisement."""
REPLAY_RESTART_BELOW: Final = 100
"""An encrypted BTHome counter below this after a higher one means the tag restarted."""
CHECK_AT_LEAST_EVERY: Final = 30.0
"""Seconds; the longest :meth:`BleTagDriver.run` sleeps between two staleness checks."""
CHECK_AT_MOST_EVERY: Final = 0.5
"""Seconds; the shortest sleep, so a deadline just missed does not spin."""

BTHOME, CUSTOM, RUUVI = "bthome", "custom", "ruuvi"
SOURCES: Final[Mapping[str, tuple[str, ...]]] = {
    "auto": (BTHOME, CUSTOM, RUUVI),
    "bthome": (BTHOME,),
    "atc1441": (CUSTOM,),
    "pvvx": (CUSTOM,),
    "ruuvi": (RUUVI,),
}
"""Where each configured format's payload sits, tried in order (as decode_advertisement does)."""
EXPECTED_FORMAT: Final[Mapping[str, BleFormat]] = {
    "atc1441": BleFormat.ATC1441,
    "pvvx": BleFormat.PVVX,
}
NEEDS_FIXING: Final = frozenset(
    {
        "bthome_needs_bind_key",
        "bthome_decrypt_failed",
        "bthome_plaintext_refused",
        "format_mismatch",
    }
)
"""Input error reasons that mean the config or the tag's firmware settings are wrong."""

PROBE_BLEAK = all_of(
    needs_module("bleak", "the 'ble' extra: pip install 'digitallabor-edge-kit[ble]'"),
    needs_path("/sys/class/bluetooth/hci*", "Bluetooth adapter"),
)


class BleTagDriver(Driver):
    """A BLE tag: temperature (Cel), humidity (%RH), battery (%EL, V), RSSI (dBm) and more."""

    Options = BleTagOptions
    options: BleTagOptions
    summary = (
        "BLE tag (LYWSD03MMC with ATC1441/pvvx firmware, BTHome, RuuviTag): temperature, "
        "humidity, battery, RSSI, online"
    )
    family = "ble"
    backends = (
        Backend("bleak", "BlueZ through bleak, passive scanning where BlueZ allows", PROBE_BLEAK),
        Backend("simulated", "a simulated room of tags in each supported format", always),
    )

    def __init__(
        self,
        sensor: str,
        options: DriverOptions,
        *,
        interval: float,
        publish: Publish,
        clock: Clock,
        logger: logging.Logger,
        resources: Resources | None = None,
        configured_backends: Mapping[str, str] | None = None,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        super().__init__(
            sensor,
            options,
            interval=interval,
            publish=publish,
            clock=clock,
            logger=logger,
            resources=resources,
            configured_backends=configured_backends,
        )
        opts = self.options
        self.monotonic = monotonic
        """The time source of repeats and staleness (seconds, monotonic)."""
        self._profile = TagProfile(opts.address, opts.format, opts.bind_key_bytes())
        self.tracker = TagTracker(stale_after=opts.stale_after, publish_every=interval)
        self.scanner: Scanner | None = None
        self._readings = SensorReadings(sensor)
        self._rssi_stream = self.stream("rssi")
        self._sources = SOURCES[opts.format]
        self._expected = EXPECTED_FORMAT.get(opts.format)
        self._last_payload: bytes | None = None
        self._last_bad: tuple[bytes, str] | None = None
        self._last_sample: BleSample | None = None
        self._last_rssi: int | None = None
        self._last_counter: int | None = None
        self._warned: set[str] = set()

    @property
    def scanner_key(self) -> str:
        """The resource key of this tag's scanner: ``ble.scanner:hci0``."""
        return f"ble.scanner:{self.options.adapter}"

    @property
    def profile(self) -> TagProfile:
        """Address, format and bind key, for the scanner and the simulated radio."""
        return self._profile

    def expected_gap(self) -> float:
        """Seconds this tag normally stays silent: its learnt interval (0 until learnt)."""
        return self.tracker.interval or 0.0

    async def start(self) -> None:
        """Choose the backend, join the adapter's scanner and subscribe this tag's address.

        Raises:
            DriverError: the scanner cannot start, or runs another backend for other tags.
            ConfigError: the backend named in the config is unknown.
        """
        choice = self.choose_backend()
        adapter = self.options.adapter
        base = self.log.parent.name if self.log.parent is not None else "edge_agent"
        scanner_log = logging.getLogger(f"{base}.ble_scanner.{adapter}")

        def create() -> Scanner:
            return Scanner(
                adapter,
                self._make_radio(choice.name, scanner_log),
                logger=scanner_log,
                monotonic=self.monotonic,
            )

        scanner = await self.resources.acquire(self.scanner_key, create, Scanner)
        try:
            self._check_same_backend(scanner, choice.name)
            await scanner.recover()
            scanner.subscribe(self)
        except BaseException:
            await self.resources.release(self.scanner_key)
            raise
        self.scanner = scanner
        self.log.info(
            "sensor %r: listening for %s (%s) with %s",
            self.sensor,
            self.options.address,
            self.options.format,
            choice.describe(),
        )

    def _check_same_backend(self, scanner: Scanner, backend: str) -> None:
        if scanner.backend != backend:
            raise DriverError(
                f"sensor {self.sensor!r} wants the {backend!r} BLE backend, but the scanner on "
                f"{self.options.adapter} already runs the {scanner.backend!r} backend for other "
                "tags; all tags on one adapter share one backend: set [backends] ble in the "
                "config, or give this tag another adapter"
            )

    def _make_radio(self, backend: str, logger: logging.Logger) -> Radio:
        adapter = self.options.adapter
        if backend == "bleak":
            from .bleak_radio import BleakRadio  # noqa: PLC0415 - only when chosen

            return BleakRadio(adapter, logger=logger)
        from .simulated_radio import SimulatedRadio  # noqa: PLC0415 - only when chosen

        return SimulatedRadio(
            adapter,
            logger=logger,
            monotonic=self.monotonic,
            wall=self.clock.now,
            seed=zlib.crc32(adapter.encode()),
        )

    async def stop(self) -> None:
        """Unsubscribe and leave the scanner (the last tag stops it); log what was seen."""
        scanner, self.scanner = self.scanner, None
        if scanner is not None:
            scanner.unsubscribe(self.options.address)
            await self.resources.release(self.scanner_key)
        tracker = self.tracker
        interval = tracker.interval
        self.log.info(
            "sensor %r: %d measurements, %d repeats dropped, %d held back by interval, "
            "learnt interval %s, input errors %s",
            self.sensor,
            tracker.new,
            tracker.repeats,
            tracker.held_back,
            "none yet" if interval is None else f"{interval:.1f} s",
            dict(self.input_errors) or "none",
        )

    async def run(self) -> None:
        """Check staleness on time until cancelled; raise when the shared scanner failed."""
        while True:
            scanner = self.scanner
            if scanner is None:
                raise DriverError(f"sensor {self.sensor!r}: run() without start()")
            if scanner.failure is not None:
                raise DriverError(str(scanner.failure)) from scanner.failure
            self.check_stale()
            # asyncio.timeout, not wait_for, which on 3.11 can lose a cancellation.
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self._next_check_in()):
                    await scanner.failed.wait()

    def _next_check_in(self) -> float:
        deadline = self.tracker.deadline
        if deadline is None:
            return CHECK_AT_LEAST_EVERY
        wait = deadline - self.monotonic()
        return min(CHECK_AT_LEAST_EVERY, max(CHECK_AT_MOST_EVERY, wait))

    def check_stale(self) -> bool:
        """Flag the tag stale if it stayed silent past its limit; True on that transition."""
        if not self.tracker.check(self.monotonic()):
            return False
        self.log.warning(
            "sensor %r: no new measurement from %s for %.0f s; flagged stale until it is heard",
            self.sensor,
            self.options.address,
            self.tracker.stale_limit,
        )
        at = self.clock.now()
        self.emit("online", False, units.NONE, at=at)
        if self._last_sample is not None:
            self._publish_sample(self._last_sample, self._last_rssi, at, Quality.STALE)
        return True

    def on_advertisement(self, device: BLEDevice, adv: AdvertisementData) -> None:
        """Take one advertisement from this tag's address (the scanner's fan-out calls it)."""
        payload: bytes | None = None
        kind = ""
        for kind in self._sources:
            if kind == RUUVI:
                payload = adv.manufacturer_data.get(RUUVI_COMPANY_ID)
            else:
                payload = adv.service_data.get(
                    BTHOME_UUID if kind == BTHOME else ENVIRONMENTAL_SENSING_UUID
                )
            if payload is not None:
                break
        if payload is None:
            self.count_error("no_tag_data", adv)  # formatted only when debug logging is on
            return
        if payload == self._last_payload:
            self.tracker.count_repeat()
            return
        last_bad = self._last_bad
        if last_bad is not None and payload == last_bad[0]:
            self.count_error(last_bad[1], "the same advertisement again")
            return
        try:
            sample = self._decode(kind, device.address, payload)
        except ParseError as exc:
            self._reject(payload, self._reason(kind, payload), exc)
            return
        if sample is None:
            self._reject(payload, "unknown_format", f"{kind} payload {payload.hex()}")
            return
        if self._expected is not None and sample.format is not self._expected:
            self._reject(
                payload,
                "format_mismatch",
                f"the tag sends {sample.format.value}, the sensor is configured for "
                f"{self._expected.value}: set format = {sample.format.value!r}",
            )
            return
        self._take(sample, payload, adv.rssi)

    def _decode(self, kind: str, address: str, payload: bytes) -> BleSample | None:
        if kind == CUSTOM:
            return decode_custom_firmware(address, payload)
        if kind == BTHOME:
            return decode_bthome(address, payload, bind_key=self._profile.bind_key)
        return decode_ruuvi(address, payload)

    def _reason(self, kind: str, payload: bytes) -> str:
        """The input error reason of a payload that did not decode."""
        if kind != BTHOME or not payload:
            return f"undecodable_{kind}"
        has_key = self._profile.bind_key is not None
        if payload[0] & ENCRYPTED_FLAG:
            return "bthome_decrypt_failed" if has_key else "bthome_needs_bind_key"
        return "bthome_plaintext_refused" if has_key else "undecodable_bthome"

    def _reject(self, payload: bytes, reason: str, detail: object) -> None:
        self._last_bad = (payload, reason)
        self.count_error(reason, detail)
        if reason in NEEDS_FIXING and reason not in self._warned:
            self._warned.add(reason)
            self.log.warning(
                "sensor %r: %s (counted as input_errors.%s.%s; warned once)",
                self.sensor,
                detail,
                self.sensor,
                reason,
            )

    def _take(self, sample: BleSample, payload: bytes, rssi: int) -> None:
        tracker = self.tracker
        packet_id = sample.packet_id
        if tracker.is_repeat(packet_id):
            self._last_payload = payload
            return
        counter = sample.encryption_counter
        if counter is not None and not self._counter_ok(counter):
            self.count_error(
                "bthome_replayed",
                f"encryption counter {counter} after {self._last_counter}: replayed",
            )
            return
        now = self.monotonic()
        self._last_payload = payload if packet_id is not None else None
        self._last_sample = sample
        self._last_rssi = None if rssi == RSSI_NOT_AVAILABLE else rssi
        came_online = tracker.accept(packet_id, now)
        at = self.clock.now()
        if came_online:
            self.emit("online", True, units.NONE, at=at)
            self.log.info("sensor %r: heard %s (%s)", self.sensor, sample.address, sample.format)
        if tracker.due(now):
            self._publish_sample(sample, self._last_rssi, at, Quality.GOOD)

    def _counter_ok(self, counter: int) -> bool:
        """Replay protection: the BTHome encryption counter must grow, unless the tag restarted."""
        last = self._last_counter
        if last is not None and counter <= last and counter >= REPLAY_RESTART_BELOW:
            return False
        self._last_counter = counter
        return True

    def _publish_sample(
        self, sample: BleSample, rssi: int | None, at: float, quality: Quality
    ) -> None:
        if not self.clock.synchronized:
            quality |= Quality.CLOCK_UNSYNCED
        publish = self._publish
        readings = self._readings(sample, at, quality=quality)
        for reading in readings:
            publish(reading)
        publish(Reading(self._rssi_stream, at, rssi, units.DECIBEL_MILLIWATT, quality))
        self.emitted += len(readings) + 1


__all__ = ["BleTagDriver"]
