"""``serial.nmea``: a GNSS receiver talking NMEA 0183 on a serial port.

The receiver talks on its own, usually once a second (an *epoch*: GGA, RMC, VTG and more).
The driver reads the port in a thread, feeds :class:`~drivers.serial.nmea.NmeaStreamParser`
and publishes, per epoch: ``latitude`` (``lat``), ``longitude`` (``lon``), ``altitude``
(``m``), ``fix_quality`` (the GGA code), ``satellites`` (``count``), ``hdop`` (``/``),
``speed`` (``m/s``) and ``course`` (``deg``).

Each quantity comes from one sentence type only, the first in ``sentences`` that has it (with
the default ``["GGA", "RMC"]``: position, altitude, fix and satellites from GGA, speed and
course from RMC), so a position is never published twice per epoch. The sensor's
``interval`` caps the rate by the receiver's own UTC time: one epoch per interval passes
(``interval = "1s"`` keeps every epoch of a 1 Hz receiver and every fifth of a 5 Hz one;
USB latency cannot make it drop or double an epoch). Sentences that carry no time (VTG)
follow the last GGA/RMC time.

A position without a fix (GGA quality 0, RMC status ``V``, mode ``N``) is published flagged
``checksum_failed``, never as a good position; receivers usually send empty fields then,
which give no reading at all. Rejected sentences are counted per reason (``bad_checksum``,
``missing_checksum``, ``malformed``, ``overlong``, ``garbage_bytes``); other sentence types
(GSA, GSV, proprietary) are normal and not counted. Silence for ``read_timeout`` raises
:class:`~edge_agent.errors.DriverError` like a lost port, so the port is reopened.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Literal, Self

from pydantic import Field, model_validator

from edge_agent.durations import Duration

from .nmea import GgaFix, NmeaEvent, NmeaStreamParser, RmcFix, VtgVelocity
from .port_options import SerialPortOptions
from .serial_driver import StreamSerialDriver, counter_increases
from .simulation import SimulatedVehicle, vehicle_device
from .simulators import SerialDevice
from .to_readings import NMEA_SENTENCE_QUANTITIES, nmea_readings

if TYPE_CHECKING:
    pass

SentenceType = Literal["GGA", "RMC", "VTG"]

_DAY_S = 86400.0


class NmeaOptions(SerialPortOptions):
    """Options of ``serial.nmea``.

    Attributes:
        baudrate: 9600 by default (u-blox, MediaTek, Quectel); the BU-353-S4 talks 4800.
        sentences: sentence types to take readings from, in order of preference; each
            quantity comes from the first one that has it.
        require_checksum: refuse sentences without ``*hh`` (a few old receivers omit it).
        read_timeout: no bytes at all for this long counts as a lost device (reopen).
        simulation: the simulated vehicle (``simulated`` backend only).
    """

    baudrate: int = Field(default=9600, gt=0, le=4_000_000)
    sentences: tuple[SentenceType, ...] = ("GGA", "RMC")
    require_checksum: bool = True
    read_timeout: Duration = 10.0
    simulation: SimulatedVehicle = SimulatedVehicle()

    @model_validator(mode="after")
    def _sentences_listed_once(self) -> Self:
        if not self.sentences:
            raise ValueError("sentences is empty; list at least one of GGA, RMC, VTG")
        if len(set(self.sentences)) != len(self.sentences):
            raise ValueError(f"sentences {list(self.sentences)} names a type twice")
        return self


def quantity_sources(sentences: tuple[str, ...]) -> dict[str, frozenset[str]]:
    """Sentence type -> the quantities taken from it: each from the first type that has it."""
    taken: set[str] = set()
    sources: dict[str, frozenset[str]] = {}
    for kind in sentences:
        mine = [q for q in NMEA_SENTENCE_QUANTITIES[kind] if q not in taken]
        taken.update(mine)
        if mine:
            sources[kind] = frozenset(mine)
    return sources


class EpochGate:
    """Lets each sentence type through once per ``interval`` seconds of the receiver's time.

    Times are UTC seconds of the day, so midnight needs no care (differences are taken
    modulo a day), and a receiver whose clock jumps back (after a reset) passes at once.
    """

    def __init__(self, interval: float) -> None:
        self.interval = interval
        self._last: dict[str, float] = {}

    def admit(self, kind: str, second_of_day: float | None) -> bool:
        """Whether a ``kind`` sentence of the epoch at ``second_of_day`` should be published;
        without a time (no fix yet) every sentence passes."""
        if second_of_day is None:
            return True
        last = self._last.get(kind)
        # A millisecond of slack: "1s" must pass epochs that are exactly one second apart.
        if last is not None and (second_of_day - last) % _DAY_S < self.interval - 1e-3:
            return False
        self._last[kind] = second_of_day
        return True


def _second_of_day(time: dt.time | None) -> float | None:
    if time is None:
        return None
    return time.hour * 3600 + time.minute * 60 + time.second + time.microsecond / 1e6


class NmeaDriver(StreamSerialDriver):
    """GNSS position, speed and course from a receiver talking NMEA 0183."""

    Options = NmeaOptions
    options: NmeaOptions
    summary = (
        "GNSS receiver, NMEA 0183: latitude/longitude (lat, lon), altitude (m), speed (m/s), "
        "course (deg), fix quality, satellites (count), hdop"
    )
    NOT_ERRORS = frozenset({"frames_ok", "unsupported"})
    silent_hint = "the receiver is silent (powered? the right port and baud rate?)"

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        self.sources = quantity_sources(self.options.sentences)
        self.parser = NmeaStreamParser(require_checksum=self.options.require_checksum)
        self.has_fix: bool | None = None
        """Whether the receiver last reported a fix (``None`` before the first sentence)."""
        self._gate = EpochGate(self.interval)
        self._epoch_s: float | None = None

    def simulated_device(self) -> tuple[SerialDevice, float]:
        """A vehicle driving its route, its receiver's clock starting now."""
        simulation = self.options.simulation
        return vehicle_device(simulation, self.clock.now()), simulation.tick

    def reset_parser(self) -> None:
        """A fresh parser (a half sentence from before is gone); report the fix again."""
        self.parser = NmeaStreamParser(require_checksum=self.options.require_checksum)
        self.has_fix = None

    def receive(self, data: bytes, now: float) -> None:
        """Feed bytes that arrived at ``now`` (epoch s) and publish what they complete."""
        parser = self.parser
        before = parser.counters()
        joined_mid_stream = parser.frames_ok == 0
        parser.feed(data)
        for event in parser.events():
            self._publish_event(event, now)
        increases = counter_increases(before, parser.counters())
        if joined_mid_stream:
            # The port opened in the middle of a sentence: its tail is not an input error.
            increases.pop("garbage_bytes", None)
        self.count_parser_errors(increases, parser.last_rejection)

    def _publish_event(self, event: NmeaEvent, now: float) -> None:
        fix: bool | None
        match event:
            case GgaFix():
                kind, fix = "GGA", event.has_fix
                self._epoch_s = _second_of_day(event.utc_time)
            case RmcFix():
                kind, fix = "RMC", event.valid is True and event.mode != "N"
                self._epoch_s = _second_of_day(event.utc_time)
            case VtgVelocity():
                # VTG carries no time: it belongs to the epoch of the GGA/RMC before it.
                kind, fix = "VTG", None
        if fix is not None and fix != self.has_fix:
            if fix:
                self.log.info("sensor %r: GNSS fix (%s)", self.sensor, kind)
            elif self.has_fix is not None:
                self.log.warning(
                    "sensor %r: GNSS fix lost (%s): positions are flagged checksum_failed "
                    "until the antenna sees enough satellites again",
                    self.sensor,
                    kind,
                )
            self.has_fix = fix
        quantities = self.sources.get(kind)
        if quantities is None or not self._gate.admit(kind, self._epoch_s):
            return
        self.publish_readings(nmea_readings(event, self.sensor, now, quantities=quantities))


__all__ = ["EpochGate", "NmeaDriver", "NmeaOptions", "quantity_sources"]
