"""What the ``simulated`` serial backend runs: the device simulators, configured from options.

The simulated backend puts one of these behind a real pseudo-terminal
(:class:`~drivers.serial.pty_device.PtyDevice`) inside the agent, and the driver opens the
pty's ``/dev/pts/N`` with pyserial exactly like a USB port, so a demo runs the real port,
parser and polling code:

- a GNSS receiver on a winter-service vehicle driving a route (:class:`SimulatedVehicle`);
- a Lufft IRS31Pro-UMB road sensor whose road freezes at night (:class:`SimulatedRoadSensor`,
  :class:`DiurnalRoad`), using the day cycle of :mod:`drivers.simulated.model`;
- a maker's board printing ``key=value`` or JSON lines (:class:`SimulatedBoard`).

``noise`` puts a :class:`~drivers.serial.simulators.NoisyLine` in between, so bad checksums and
garbage show up in the counters as they do on a long cable.
"""

from __future__ import annotations

import datetime as dt
import math
import random
from typing import Literal

from pydantic import Field

from drivers.simulated.model import SimulatedOptions, day_fraction, diurnal
from edge_agent.driver import DriverOptions
from edge_agent.durations import Duration

from .simulators import (
    Irs31Responder,
    MicrocontrollerTalker,
    NmeaTalker,
    NoisyLine,
    SerialDevice,
)

_DAY_S = 86400.0


class SimulatedSerialDevice(DriverOptions):
    """Options every simulated serial device has (used by the ``simulated`` backend only).

    Attributes:
        seed: makes the device's behaviour reproducible.
        tick: how often the device sends on its own (an NMEA epoch, a line) or, for a UMB
            sensor, moves its measurements on.
        noise: share of the device's outputs damaged on the line (0 to 1): a byte changed
            and random bytes put in front, each with this probability.
    """

    seed: int = 0
    tick: Duration = 1.0
    noise: float = Field(default=0.0, ge=0, le=1)


class SimulatedVehicle(SimulatedSerialDevice):
    """A winter-service vehicle with a GNSS receiver (1 epoch of GGA, RMC, VTG per tick).

    Attributes:
        latitude_deg, longitude_deg: where the route starts (WGS 84 degrees).
        speed_kmh: cruising speed in km/h; it stops at junctions and turns now and then.
        course_deg: initial course in degrees from true north.
    """

    latitude_deg: float = Field(default=48.7784, ge=-89, le=89)
    longitude_deg: float = Field(default=9.1800, ge=-180, le=180)
    speed_kmh: float = Field(default=35.0, gt=0, le=130)
    course_deg: float = Field(default=75.0, ge=0, lt=360)


class SimulatedRoadSensor(SimulatedOptions):
    """An IRS31Pro-UMB in a road whose surface follows a day/night cycle.

    ``seed``, ``day_length`` and ``utc_offset_h`` are those of every simulated sensor
    (:class:`drivers.simulated.model.SimulatedOptions`). The surface is coldest
    (``night_low_c``) before dawn and warmest (``day_high_c``) in the afternoon; showers wet
    the road and it dries again; a spreader passes within an hour or two once the road nears
    freezing and the salt is gone, which lowers the freezing temperature until the salt washes
    off (until it comes, a wet road freezes).

    Attributes:
        tick: how often the simulated measurements move on (real time).
        noise: share of answers damaged on the line (0 to 1).
        night_low_c, day_high_c: surface temperature range in °C.
    """

    tick: Duration = 1.0
    noise: float = Field(default=0.0, ge=0, le=1)
    night_low_c: float = -4.0
    day_high_c: float = 6.0


class SimulatedBoard(SimulatedSerialDevice):
    """A maker's board printing ``temp`` (°C), ``hum`` (%), ``door`` and ``state`` per tick.

    Attributes:
        mean_c: the temperature swings by 2 °C around this.
        format: ``pairs`` (``temp=4.2 hum=71.3 ...``) or ``json`` (one object per line).
    """

    mean_c: float = 4.0
    format: Literal["pairs", "json"] = "pairs"


class DiurnalRoad:
    """An :class:`~drivers.serial.simulators.Irs31Responder` whose road changes with time.

    Each tick moves the simulated time on by ``tick`` seconds (scaled by ``day_length``) from
    ``start`` and sets the responder's surface temperature, water film and freezing
    temperature; the responder derives the road condition (dry, moist, wet, ice) from them.
    Requests go straight to the responder.
    """

    def __init__(self, responder: Irs31Responder, options: SimulatedRoadSensor, start: float):
        self.responder = responder
        self.options = options
        self.time = start
        self._random = random.Random(options.seed)
        self._salt = 0.0
        """Residual salt, 0 (none) to 1 (just spread)."""
        self._film_mm = 0.1
        self._raining = False
        self._update(0.0)

    def on_tick(self) -> bytes:
        """Move the road on by one tick; a UMB sensor never speaks unasked."""
        self.time += self.options.tick
        self._update(self.options.tick * _DAY_S / self.options.day_length)
        return b""

    def on_receive(self, data: bytes) -> bytes:
        """The responder's answers to ``data``."""
        return self.responder.on_receive(data)

    def _update(self, simulated_s: float) -> None:
        opts, rnd = self.options, self._random
        fraction = day_fraction(
            self.time, day_length=opts.day_length, utc_offset_h=opts.utc_offset_h
        )
        surface = diurnal(fraction, low=opts.night_low_c, high=opts.day_high_c, warmest=15 / 24)
        surface += rnd.gauss(0, 0.1)
        hours = simulated_s / 3600
        # Showers start about twice a day and last about two hours; the film dries in hours.
        if self._raining:
            self._raining = rnd.random() > 1 - math.exp(-hours / 2)
            self._film_mm = min(2.0, self._film_mm + 0.3 * hours)
        else:
            self._raining = rnd.random() < 1 - math.exp(-hours / 12)
            self._film_mm *= math.exp(-hours / 3)
        # Salt washes off over about half a day, faster in the rain. Once the road nears
        # freezing with little salt left, a spreader comes within an hour or two: until then
        # a wet road can freeze.
        self._salt *= math.exp(-hours / (4 if self._raining else 12))
        if surface < 1.0 and self._salt < 0.2 and rnd.random() < 1 - math.exp(-hours / 1.5):
            self._salt = 1.0
        responder = self.responder
        responder.surface_temperature_c = round(surface, 2)
        responder.water_film_mm = round(self._film_mm, 2)
        responder.freezing_temperature_c = round(-0.5 - 7.5 * self._salt, 2)


def vehicle_device(options: SimulatedVehicle, start: float) -> SerialDevice:
    """The GNSS receiver of :class:`SimulatedVehicle`, its clock starting at ``start`` (epoch s)."""
    talker = NmeaTalker(
        start=dt.datetime.fromtimestamp(start, dt.UTC),
        latitude_deg=options.latitude_deg,
        longitude_deg=options.longitude_deg,
        speed_kmh=options.speed_kmh,
        course_deg=options.course_deg,
        seed=options.seed,
    )
    return _with_noise(talker, options.noise, options.seed)


def road_sensor_device(options: SimulatedRoadSensor, address: int, start: float) -> SerialDevice:
    """The IRS31 of :class:`SimulatedRoadSensor` at UMB ``address``, its time from ``start``."""
    road = DiurnalRoad(Irs31Responder(address), options, start)
    return _with_noise(road, options.noise, options.seed)


def board_device(options: SimulatedBoard) -> SerialDevice:
    """The board of :class:`SimulatedBoard`."""
    board = MicrocontrollerTalker(mean_c=options.mean_c, seed=options.seed, format=options.format)
    return _with_noise(board, options.noise, options.seed)


def _with_noise(device: SerialDevice, noise: float, seed: int) -> SerialDevice:
    if not noise:
        return device
    return NoisyLine(device, seed=seed, garbage_rate=noise, corrupt_rate=noise)


__all__ = [
    "DiurnalRoad",
    "SimulatedBoard",
    "SimulatedRoadSensor",
    "SimulatedSerialDevice",
    "SimulatedVehicle",
    "board_device",
    "road_sensor_device",
    "vehicle_device",
]
