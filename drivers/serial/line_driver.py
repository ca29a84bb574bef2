"""``serial.lines``: a maker's microcontroller printing ``key=value`` or JSON lines.

An Arduino, ESP32 or Pico on USB serial prints one line per measurement; every good line is
published, one reading per key (``<sensor>/<key>``), so the sketch sets the pace and the
sensor's ``interval`` is not used. Numbers get the unit the ``units`` option gives their key
(SenML: ``Cel``, ``%RH``, ``V``, ...), or none; booleans and texts have none. A number outside
its ``ranges`` entry is flagged ``out_of_range``. Bad lines are counted (``bad_lines``,
``overlong``) and skipped; see :mod:`drivers.serial.lines` for what makes a line bad.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from pydantic import Field, field_validator

from edge_agent.durations import Duration
from edge_agent.readings import check_name, check_unit

from .lines import LineStreamParser
from .port_options import SerialPortOptions
from .serial_driver import StreamSerialDriver, counter_increases
from .simulation import SimulatedBoard, board_device
from .simulators import SerialDevice
from .to_readings import line_readings

if TYPE_CHECKING:
    pass


class LineOptions(SerialPortOptions):
    """Options of ``serial.lines``.

    Attributes:
        baudrate: 115200 by default (``Serial.begin(115200)``); native USB boards ignore it.
        discard_first_line: drop the first line after opening the port, which is usually
            cut off (the board was printing already).
        units: SenML unit per key (``{ temp = "Cel", hum = "%RH" }``).
        ranges: ``[low, high]`` per key; numbers outside are flagged ``out_of_range``.
        max_line_bytes: longer lines are dropped and counted as ``overlong``.
        read_timeout: no bytes for this long counts as a lost device and reopens the port;
            unset (the default) waits for ever, for boards that print rarely.
        simulation: the simulated board (``simulated`` backend only).
    """

    baudrate: int = Field(default=115200, gt=0, le=4_000_000)
    discard_first_line: bool = True
    units: dict[str, str] = Field(default_factory=dict)
    ranges: dict[str, tuple[float, float]] = Field(default_factory=dict)
    max_line_bytes: int = Field(default=1024, ge=16, le=65536)
    read_timeout: Duration | None = None
    simulation: SimulatedBoard = SimulatedBoard()

    @field_validator("units")
    @classmethod
    def _known_units(cls, value: dict[str, str]) -> dict[str, str]:
        for key, unit in value.items():
            check_name("key", key)
            check_unit(unit)
        return value

    @field_validator("ranges")
    @classmethod
    def _ordered_ranges(
        cls, value: dict[str, tuple[float, float]]
    ) -> dict[str, tuple[float, float]]:
        for key, (low, high) in value.items():
            check_name("key", key)
            if not low < high:
                raise ValueError(f"range of {key!r} is [{low}, {high}]; write [low, high]")
        return value


class LineDriver(StreamSerialDriver):
    """Readings from the lines a microcontroller prints."""

    Options = LineOptions
    options: LineOptions
    summary = "microcontroller printing key=value or JSON lines (units from the config)"
    NOT_ERRORS = frozenset({"frames_ok", "garbage_bytes"})  # garbage = bad lines' own bytes
    silent_hint = "the board is silent (sketch running? the right port?)"

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        self.parser = self._new_parser()

    def reset_parser(self) -> None:
        """A fresh parser: after a reopen the first line may be cut again."""
        self.parser = self._new_parser()

    def _new_parser(self) -> LineStreamParser:
        return LineStreamParser(
            max_line_bytes=self.options.max_line_bytes,
            discard_first_line=self.options.discard_first_line,
        )

    def simulated_device(self) -> tuple[SerialDevice, float]:
        """A board printing temperature, humidity, a door switch and a state."""
        simulation = self.options.simulation
        return board_device(simulation), simulation.tick

    def receive(self, data: bytes, now: float) -> None:
        """Feed bytes that arrived at ``now`` (epoch s) and publish the lines they complete."""
        parser = self.parser
        before = parser.counters()
        parser.feed(data)
        opts = self.options
        for record in parser.events():
            readings = line_readings(
                record, self.sensor, now, units_by_key=opts.units, ranges=opts.ranges
            )
            self.publish_readings(readings)
        self.count_parser_errors(
            counter_increases(before, parser.counters()), parser.last_rejection
        )


__all__ = ["LineDriver", "LineOptions"]
