"""Text lines from makers' microcontrollers: ``key=value`` pairs or one JSON object per line.

An Arduino, ESP32 or Pico on USB serial prints one line per measurement, either::

    temp=21.5 hum=40 door=true state="half open"
    {"temp": 21.5, "hum": 40, "door": true, "state": "half open"}

Keys become quantity names (``<sensor>/temp``), so they are lower-cased and must then be
valid names (letters, digits, ``_``, ``-``, ``.``; see :func:`edge_agent.readings.check_name`).
Pairs are separated by spaces, tabs, ``,`` or ``;``. A value is a number (``21``, ``-0.5``,
``1e3``), ``true``/``false`` (any case), empty, ``null``, or Arduino's ``nan``, ``inf``,
``-inf`` and ``ovf`` for floats it cannot print (all -> ``None``), a double-quoted string
(``\\"`` and ``\\\\`` escaped), or any other bare word, which stays a string. Units are not
written in the line: they come from the sensor's config (see
:func:`drivers.serial.to_readings.line_readings`).

A line is bad (counted, skipped) when it has no pairs, a pair without ``=``, a repeated key,
a key that is no valid name, a number that is not finite, control characters, invalid UTF-8,
or JSON that is not a flat object of numbers, booleans, strings and nulls. Blank lines are
skipped without counting. The first line after opening a port is often cut off (``mp=21.5``
from ``temp=21.5``) and may still parse: ``discard_first_line=True`` drops it unread.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass
from typing import Final, Literal

from edge_agent.errors import ConfigError, ParseError
from edge_agent.readings import check_name

from .need_data import NEED_DATA, NeedData
from .stream_parser import StreamParser

LineValue = float | int | bool | str | None
"""A value in a line: a number, a boolean, a text, or ``None`` for empty/``null``."""

DEFAULT_MAX_LINE_BYTES: Final = 1024
"""Longest line the stream parser keeps; longer ones are dropped up to their newline."""

MAX_FIELDS: Final = 64
"""Most pairs one line may hold."""

MAX_INTEGER_DIGITS: Final = 20
"""Longest integer accepted (a 64-bit counter has 20 digits); longer ones are noise."""


@dataclass(frozen=True, slots=True)
class LineRecord:
    """One decoded line.

    Attributes:
        values: ``(key, value)`` pairs in the order the line had them; keys are lower case.
        format: ``"pairs"`` for ``key=value`` lines, ``"json"`` for JSON objects.
    """

    values: tuple[tuple[str, LineValue], ...]
    format: Literal["pairs", "json"]

    def as_dict(self) -> dict[str, LineValue]:
        """The values as a new dict."""
        return dict(self.values)


_PAIR: Final = re.compile(
    r"""[\s,;]*(?P<key>[^\s=,;"]+)=(?P<value>"(?:[^"\\]|\\["\\])*"|[^\s,;"]*)(?=[\s,;]|\Z)"""
)
_SEPARATORS: Final = re.compile(r"[\s,;]*")
_INTEGER: Final = re.compile(r"[+-]?\d+")
_FLOAT: Final = re.compile(r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?")
_CONTROL: Final = re.compile(r"[\x00-\x08\x0a-\x1f\x7f]")
_UNESCAPE: Final = re.compile(r"\\([\"\\])")
_NOT_AVAILABLE: Final = frozenset({"", "null", "nan", "inf", "-inf", "+inf", "ovf"})


def parse_line(line: bytes) -> LineRecord:
    """Decode one line (a trailing CR LF, CR or LF is allowed).

    Raises:
        ParseError: naming the problem and the offending part of the line.
    """
    body = line.rstrip(b"\r\n")
    if not body.strip():
        raise ParseError("the line is blank; send key=value pairs or a JSON object")
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ParseError(f"line {body[:60]!r} is not UTF-8: {exc.reason}") from None
    if _CONTROL.search(text):
        raise ParseError(f"line {text[:60]!r} holds control characters (wrong baud rate?)")
    text = text.strip()
    if text.startswith("{"):
        return LineRecord(_json_values(text), "json")
    return LineRecord(_pair_values(text), "pairs")


class LineStreamParser(StreamParser[LineRecord]):
    """Splits a byte stream into lines and decodes each; bad lines are counted, never raised.

    ``feed()`` bytes as they arrive, then call :meth:`next_event` until it returns
    :data:`~drivers.serial.need_data.NEED_DATA`. With ``discard_first_line`` the bytes up to
    the first newline are dropped unread (counted in ``garbage_bytes``), for a port opened
    while the board was already printing.

    Attributes:
        frames_ok: lines decoded into records.
        bad_lines: lines that did not decode (see the module docstring for why a line is bad).
        overlong: lines dropped for exceeding ``max_line_bytes``.
        garbage_bytes: bytes of bad and overlong lines.
    """

    COUNTERS = ("frames_ok", "bad_lines", "overlong", "garbage_bytes")

    def __init__(
        self, *, max_line_bytes: int = DEFAULT_MAX_LINE_BYTES, discard_first_line: bool = False
    ) -> None:
        if max_line_bytes < 16:
            raise ValueError(f"max_line_bytes={max_line_bytes} is too small; use 16 or more")
        super().__init__()
        self.max_line_bytes = max_line_bytes
        self.discard_first_line = discard_first_line
        self.frames_ok = 0
        self.bad_lines = 0
        self.overlong = 0
        self.garbage_bytes = 0
        # Dropping up to the next newline is the same for an overlong line and a cut-off one.
        self._discarding = discard_first_line

    def next_event(self) -> LineRecord | NeedData:
        """The next decoded line, or ``NEED_DATA`` when no complete good line is buffered."""
        buffer = self._buffer
        while True:
            end = buffer.find(b"\n", 0, self.max_line_bytes + 1)
            if end < 0:
                if len(buffer) > self.max_line_bytes:
                    if not self._discarding:
                        self.overlong += 1
                        limit = self.max_line_bytes
                        start = bytes(buffer[:40])
                        self.last_rejection = f"line longer than {limit} bytes: {start!r}..."
                    self._discarding = True
                    self.garbage_bytes += len(buffer)
                    buffer.clear()
                return NEED_DATA
            line = bytes(buffer[:end])
            del buffer[: end + 1]
            if self._discarding:
                self._discarding = False
                self.garbage_bytes += len(line) + 1
                continue
            if not line.strip():
                continue
            try:
                record = parse_line(line)
            except ParseError as exc:
                self.bad_lines += 1
                self.last_rejection = str(exc)
                self.garbage_bytes += len(line) + 1
                continue
            self.frames_ok += 1
            return record

    def reset(self) -> None:
        """Drop buffered bytes of an unfinished frame, e.g. after the port was reopened.

        A fragment from before an unplug would otherwise be joined to the first bytes after
        it (and then rejected). The dropped bytes count as garbage; counters are kept.
        With ``discard_first_line`` the first line after the reset is dropped again.
        """
        super().reset()
        self._discarding = self.discard_first_line


def encode_pairs(values: dict[str, LineValue]) -> bytes:
    """A ``key=value`` line with LF, as a microcontroller would print it (for simulators)."""
    parts = []
    for key, value in values.items():
        match value:
            case None:
                text = ""
            case bool():
                text = "true" if value else "false"
            case int() | float():
                text = repr(value)
            case str():
                escaped = value.replace("\\", "\\\\").replace('"', '\\"')
                text = f'"{escaped}"'
        parts.append(f"{key}={text}")
    return (" ".join(parts) + "\n").encode("utf-8")


def _key(raw: str) -> str:
    key = raw.lower()
    try:
        return check_name("quantity", key)
    except ConfigError as exc:
        raise ParseError(f"key {raw!r}: {exc}") from None


def _pair_values(text: str) -> tuple[tuple[str, LineValue], ...]:
    values: dict[str, LineValue] = {}
    position = 0
    while True:
        match = _PAIR.match(text, position)
        if match is None:
            break
        key = _key(match.group("key"))
        if key in values:
            raise ParseError(f"key {key!r} appears twice in {text[:60]!r}")
        values[key] = _pair_value(match.group("value"))
        position = match.end()
        if len(values) > MAX_FIELDS:
            raise ParseError(f"line holds more than {MAX_FIELDS} pairs")
    rest = _SEPARATORS.match(text, position)
    if not values or rest is None or rest.end() != len(text):
        remainder = text[position:][:40]
        raise ParseError(
            f"line {text[:60]!r} is not key=value pairs (stuck at {remainder!r}); separate "
            "pairs with spaces, ',' or ';' and quote strings with spaces"
        )
    return tuple(values.items())


def _pair_value(raw: str) -> LineValue:
    if raw.startswith('"'):
        return _UNESCAPE.sub(r"\1", raw[1:-1])
    lowered = raw.lower()
    if lowered in _NOT_AVAILABLE:
        return None
    if lowered in ("true", "false"):
        return lowered == "true"
    if _INTEGER.fullmatch(raw):
        if len(raw.lstrip("+-")) > MAX_INTEGER_DIGITS:
            raise ParseError(f"integer {raw[:24]!r}... has more than {MAX_INTEGER_DIGITS} digits")
        return int(raw)
    if _FLOAT.fullmatch(raw):
        number = float(raw)
        if not math.isfinite(number):
            raise ParseError(f"number {raw!r} is too large for a float")
        return number
    return raw


def _json_values(text: str) -> tuple[tuple[str, LineValue], ...]:
    try:
        loaded = json.loads(text, object_pairs_hook=_no_duplicates, parse_constant=_no_constant)
    except (ValueError, RecursionError) as exc:
        raise ParseError(f"line {text[:60]!r} is not valid JSON: {exc}") from None
    if not isinstance(loaded, list) or not loaded:
        raise ParseError(f"JSON line {text[:60]!r} is not an object with at least one key")
    values: list[tuple[str, LineValue]] = []
    for raw_key, value in loaded:
        if isinstance(value, list | tuple) or not (
            value is None or isinstance(value, bool | int | float | str)
        ):
            raise ParseError(
                f"JSON key {raw_key!r} holds {type(value).__name__}; only numbers, booleans, "
                "strings and null are readings"
            )
        if isinstance(value, float) and not math.isfinite(value):
            raise ParseError(f"JSON key {raw_key!r}: number is too large for a float")
        if isinstance(value, int) and len(str(abs(value))) > MAX_INTEGER_DIGITS:
            raise ParseError(f"JSON key {raw_key!r}: integer has more than 20 digits")
        values.append((_key(raw_key), value))
    if len(values) > MAX_FIELDS:
        raise ParseError(f"JSON line holds more than {MAX_FIELDS} keys")
    keys = [key for key, _ in values]
    if len(set(keys)) != len(keys):
        raise ParseError(f"JSON line {text[:60]!r} repeats a key after lower-casing")
    return tuple(values)


def _no_duplicates(pairs: list[tuple[str, object]]) -> list[tuple[str, object]]:
    # Kept as a list of pairs: nested objects then show up as lists and are rejected above.
    return pairs


def _no_constant(name: str) -> object:
    raise ValueError(f"{name} is not a number JSON allows")
