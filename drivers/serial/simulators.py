"""Simulated serial devices: a GNSS receiver in a moving vehicle, an IRS31 road sensor, a
maker's microcontroller, and a line-noise wrapper.

They are sans-I/O like the parsers: a device turns "a tick passed" and "these bytes arrived"
into the bytes it would send (:class:`SerialDevice`). :class:`~drivers.serial.pty_device.PtyDevice`
puts one behind a real pseudo-terminal, so that pyserial and the real driver talk to it like
to a USB serial port; tests call the methods directly. Time inside a simulator advances by
its own tick (one second per NMEA epoch), never by reading the clock, so runs repeat exactly
for a given seed.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import random
from collections.abc import Sequence
from typing import Literal, Protocol

from .irs31 import CHANNELS as IRS31_CHANNELS
from .irs31 import DEFAULT_ADDRESS as IRS31_ADDRESS
from .lines import LineValue, encode_pairs
from .nmea import KNOT_IN_KMH, encode_sentence
from .umb import (
    ChannelValue,
    DataType,
    MultiChannelRequest,
    MultiChannelResponse,
    OnlineDataRequest,
    OnlineDataResponse,
    Status,
    UmbStreamParser,
    encode,
    split_address,
)

_METRES_PER_DEGREE = 111_320.0
"""Length of one degree of latitude (and of longitude at the equator), in metres."""


class SerialDevice(Protocol):
    """A device on a serial line, as the simulators model it."""

    def on_tick(self) -> bytes:
        """Bytes the device sends on its own when one tick has passed (may be empty)."""
        ...

    def on_receive(self, data: bytes) -> bytes:
        """Bytes the device answers to ``data`` received from the host (may be empty)."""
        ...


class NmeaTalker:
    """A GNSS receiver on a winter-service vehicle, sending one epoch of sentences per tick.

    The vehicle drives from ``latitude_deg``/``longitude_deg`` at about ``speed_kmh``,
    turning now and then and stopping at junctions; each tick is one second of UTC time from
    ``start``. :meth:`epoch` returns that second's sentences (``sentences``, in order).
    The attributes hold the true state of the current epoch for tests to compare against.

    Attributes:
        time: UTC time of the next epoch.
        latitude_deg, longitude_deg: position of the next epoch.
        speed_kmh: speed over ground of the next epoch in km/h.
        course_deg: course over ground of the next epoch in degrees from true north.
        epochs_sent: epochs produced so far.
    """

    def __init__(
        self,
        *,
        start: dt.datetime,
        latitude_deg: float = 48.7784,
        longitude_deg: float = 9.1800,
        speed_kmh: float = 35.0,
        course_deg: float = 75.0,
        altitude_m: float = 247.0,
        talker: str = "GN",
        sentences: Sequence[str] = ("GGA", "RMC", "VTG"),
        seed: int = 0,
    ) -> None:
        if start.tzinfo is None:
            raise ValueError("start must be an aware datetime, e.g. datetime(..., tzinfo=UTC)")
        self.time = start.astimezone(dt.UTC)
        self.latitude_deg = latitude_deg
        self.longitude_deg = longitude_deg
        self.speed_kmh = speed_kmh
        self.course_deg = course_deg % 360
        self.altitude_m = altitude_m
        self.talker = talker
        self.sentences = tuple(sentences)
        self.epochs_sent = 0
        self._cruise_kmh = speed_kmh
        self._random = random.Random(seed)

    def on_tick(self) -> bytes:
        """One epoch of sentences (see :meth:`epoch`)."""
        return self.epoch()

    def on_receive(self, data: bytes) -> bytes:
        """Receivers ignore what the host sends unless it is a configuration command."""
        return b""

    def epoch(self) -> bytes:
        """This second's sentences, then move the vehicle on by one second."""
        out = b"".join(self._sentence(kind) for kind in self.sentences)
        self.epochs_sent += 1
        self._drive(1.0)
        return out

    def _sentence(self, kind: str) -> bytes:
        address = self.talker + kind
        hhmmss = self.time.strftime("%H%M%S") + f".{self.time.microsecond // 10_000:02d}"
        lat, ns = _ddmm(self.latitude_deg, 2), "N" if self.latitude_deg >= 0 else "S"
        lon, ew = _ddmm(self.longitude_deg, 3), "E" if self.longitude_deg >= 0 else "W"
        knots = f"{self.speed_kmh / KNOT_IN_KMH:.3f}"
        course = f"{self.course_deg:.2f}"
        match kind:
            case "GGA":
                satellites = f"{self._random.randint(7, 12):02d}"
                hdop = f"{self._random.uniform(0.7, 1.4):.2f}"
                fields = [
                    hhmmss,
                    lat,
                    ns,
                    lon,
                    ew,
                    "1",
                    satellites,
                    hdop,
                    f"{self.altitude_m:.1f}",
                    "M",
                    "47.9",
                    "M",
                    "",
                    "",
                ]
            case "RMC":
                fields = [
                    hhmmss,
                    "A",
                    lat,
                    ns,
                    lon,
                    ew,
                    knots,
                    course,
                    self.time.strftime("%d%m%y"),
                    "",
                    "",
                    "A",
                    "V",
                ]
            case "VTG":
                fields = [course, "T", "", "M", knots, "N", f"{self.speed_kmh:.3f}", "K", "A"]
            case _:
                raise ValueError(f"NmeaTalker cannot send {kind!r}; it sends GGA, RMC and VTG")
        return encode_sentence(address, fields)

    def _drive(self, seconds: float) -> None:
        rnd = self._random
        if self.speed_kmh < 1 and rnd.random() < 0.3:
            self.speed_kmh = 5.0  # pull away from the junction
        elif rnd.random() < 0.03:
            self.speed_kmh = 0.0  # stop at a junction
            self.course_deg = (self.course_deg + rnd.choice((-90, 90))) % 360
        elif self.speed_kmh >= 1:
            target = self._cruise_kmh + rnd.uniform(-5, 5)
            self.speed_kmh = max(1.0, self.speed_kmh + 0.3 * (target - self.speed_kmh))
            self.course_deg = (self.course_deg + rnd.uniform(-3, 3)) % 360
        metres = self.speed_kmh / 3.6 * seconds
        heading = math.radians(self.course_deg)
        self.latitude_deg += metres * math.cos(heading) / _METRES_PER_DEGREE
        metres_per_degree_east = _METRES_PER_DEGREE * math.cos(math.radians(self.latitude_deg))
        self.longitude_deg += metres * math.sin(heading) / metres_per_degree_east
        self.time += dt.timedelta(seconds=seconds)


class Irs31Responder:
    """An IRS31Pro-UMB road sensor answering online data requests (0x23 and 0x2F).

    Set the attributes to change what it measures; the road condition follows from them
    unless ``road_condition`` is set (a code of :data:`drivers.serial.irs31.ROAD_CONDITIONS`).
    It answers requests to its own address and to the class and device broadcasts. No
    external temperature sensors are connected, so channels 111-126 answer
    ``DATA_ERROR`` without a value; channels it does not have answer ``INVALID_CHANNEL``.

    Attributes:
        surface_temperature_c: road surface temperature in °C.
        freezing_temperature_c: freezing temperature of the water film in °C.
        water_film_mm: water film height in mm.
        road_condition: forced condition code, or ``None`` to derive it.
        busy: answer every request with ``DEVICE_BUSY`` (a sensor that is still starting).
        requests_answered: requests it has answered.
    """

    def __init__(
        self,
        address: int = IRS31_ADDRESS,
        *,
        surface_temperature_c: float = -1.5,
        freezing_temperature_c: float = -4.2,
        water_film_mm: float = 0.35,
        road_condition: int | None = None,
    ) -> None:
        self.address = address
        self.surface_temperature_c = surface_temperature_c
        self.freezing_temperature_c = freezing_temperature_c
        self.water_film_mm = water_film_mm
        self.road_condition = road_condition
        self.busy = False
        self.requests_answered = 0
        self._parser = UmbStreamParser()

    def on_tick(self) -> bytes:
        """A UMB slave never speaks unasked."""
        return b""

    def on_receive(self, data: bytes) -> bytes:
        """Answer every complete request in ``data`` (requests may arrive in pieces)."""
        self._parser.feed(data)
        answers = []
        for event in self._parser.events():
            if isinstance(event, OnlineDataRequest | MultiChannelRequest) and self._for_me(
                event.to_address
            ):
                answers.append(encode(self.respond(event)))
        return b"".join(answers)

    def respond(
        self, request: OnlineDataRequest | MultiChannelRequest
    ) -> OnlineDataResponse | MultiChannelResponse:
        """The response event to one request."""
        self.requests_answered += 1
        if isinstance(request, OnlineDataRequest):
            value = self._value(request.channel)
            return OnlineDataResponse(request.from_address, self.address, value.status, value)
        values = tuple(self._value(channel) for channel in request.channels)
        return MultiChannelResponse(request.from_address, self.address, Status.OK, values)

    def condition_code(self) -> int:
        """The native road condition code (channel 900) for the current state."""
        if self.road_condition is not None:
            return self.road_condition
        if self.water_film_mm < 0.02:
            return 10
        if self.surface_temperature_c <= self.freezing_temperature_c:
            return 35
        return 15 if self.water_film_mm < 0.2 else 20

    def _for_me(self, to_address: int) -> bool:
        class_id, device_id = split_address(to_address)
        mine = split_address(self.address)
        return class_id in (0, mine[0]) and device_id in (0, mine[1])

    def _value(self, channel: int) -> ChannelValue:
        if self.busy:
            return ChannelValue(channel, Status.DEVICE_BUSY, None, None)
        code = self.condition_code()
        tls_code = {10: 0, 15: 1, 20: 32, 25: 1, 30: 32, 35: 66, 40: 65, 45: 67}.get(code, 255)
        counter = self.requests_answered & 0xFFFF
        match channel:
            case 101 | 106:
                return _float(channel, self.surface_temperature_c)
            case 151 | 156:
                return _float(channel, self.freezing_temperature_c)
            case 900 | 905:
                return ChannelValue(channel, Status.OK, DataType.UCHAR, code)
            case 1049:
                raw = round(self.surface_temperature_c * 10)
                return ChannelValue(channel, Status.OK, DataType.SHORT, raw)
            case 1065:
                raw = round(self.freezing_temperature_c * 10)
                return ChannelValue(channel, Status.OK, DataType.SHORT, raw)
            case 1070:
                return ChannelValue(channel, Status.OK, DataType.UCHAR, tls_code)
            case 1072:
                raw = min(0xFFFE, round(self.water_film_mm * 100))
                return ChannelValue(channel, Status.OK, DataType.USHORT, raw)
            case 20001:
                return ChannelValue(channel, Status.OK, DataType.USHORT, counter)
            case 111 | 116 | 121 | 126:
                return ChannelValue(channel, Status.DATA_ERROR, None, None)
            case _ if channel in IRS31_CHANNELS:
                return ChannelValue(channel, Status.UNABLE_TO_MEASURE, None, None)
            case _:
                return ChannelValue(channel, Status.INVALID_CHANNEL, None, None)


class MicrocontrollerTalker:
    """A maker's board printing one line per tick (a tick is one second).

    It reports ``temp`` (air temperature in °C, a slow sine around ``mean_c``), ``hum``
    (relative humidity in %), ``door`` (a boolean) and ``state`` (a text), as ``key=value``
    pairs (``format="pairs"``, like ``Serial.print``) or as a JSON object (``format="json"``,
    like ArduinoJson's ``serializeJson``).
    """

    def __init__(
        self, *, mean_c: float = 4.0, seed: int = 0, format: Literal["pairs", "json"] = "pairs"
    ) -> None:
        self.mean_c = mean_c
        self.format = format
        self.seconds = 0
        self._random = random.Random(seed)

    def on_tick(self) -> bytes:
        """The next line."""
        self.seconds += 1
        phase = 2 * math.pi * self.seconds / 600
        values: dict[str, LineValue] = {
            "temp": round(self.mean_c + 2 * math.sin(phase) + self._random.gauss(0, 0.05), 2),
            "hum": round(70 + 10 * math.cos(phase), 1),
            "door": self._random.random() < 0.1,
            "state": "running",
        }
        if self.format == "json":
            return json.dumps(values, separators=(",", ":")).encode() + b"\n"
        return encode_pairs(values)

    def on_receive(self, data: bytes) -> bytes:
        """The sketch reads nothing."""
        return b""


class NoisyLine:
    """Wraps a device and damages what it sends, like a long cable next to a spreader motor.

    Before an output, with probability ``garbage_rate``, it inserts 1 to ``max_garbage``
    random bytes; within an output, with probability ``corrupt_rate``, it changes one byte.

    Attributes:
        garbage_bursts: outputs that got garbage in front.
        corrupted_outputs: outputs in which one byte was changed.
    """

    def __init__(
        self,
        device: SerialDevice,
        *,
        seed: int = 0,
        garbage_rate: float = 0.2,
        corrupt_rate: float = 0.1,
        max_garbage: int = 12,
    ) -> None:
        self.device = device
        self.garbage_rate = garbage_rate
        self.corrupt_rate = corrupt_rate
        self.max_garbage = max_garbage
        self.garbage_bursts = 0
        self.corrupted_outputs = 0
        self._random = random.Random(seed)

    def on_tick(self) -> bytes:
        """The device's own output, damaged."""
        return self._damage(self.device.on_tick())

    def on_receive(self, data: bytes) -> bytes:
        """The device's answer, damaged (what it receives is passed on intact)."""
        return self._damage(self.device.on_receive(data))

    def _damage(self, data: bytes) -> bytes:
        if not data:
            return data
        rnd = self._random
        out = bytearray(data)
        if rnd.random() < self.corrupt_rate:
            position = rnd.randrange(len(out))
            out[position] ^= rnd.randint(1, 255)
            self.corrupted_outputs += 1
        if rnd.random() < self.garbage_rate:
            out[:0] = rnd.randbytes(rnd.randint(1, self.max_garbage))
            self.garbage_bursts += 1
        return bytes(out)


def _float(channel: int, value: float) -> ChannelValue:
    return ChannelValue(channel, Status.OK, DataType.FLOAT, value)


def _ddmm(degrees: float, width: int) -> str:
    """Unsigned degrees as NMEA ``ddmm.mmmmm`` (``width`` digits of whole degrees)."""
    whole = int(abs(degrees))
    minutes = round((abs(degrees) - whole) * 60, 5)
    if minutes >= 60:
        whole, minutes = whole + 1, 0.0
    return f"{whole:0{width}d}{minutes:08.5f}"
