"""The reading: one value of one stream at one time, with its unit and quality flags.

A stream is named ``<sensor>/<quantity>`` inside a device (``road-surface/temperature``) and
``<device>/<sensor>/<quantity>`` outside it. Bad values are never dropped silently: they travel
with a :class:`Quality` flag so that the store, the uplink and the region can see them.

A reading gets its stable id when the store commits it (see :mod:`edge_agent.store`): before
that it does not exist as far as the rest of the kit is concerned.
"""

from __future__ import annotations

import enum
import fnmatch
import re
from collections.abc import Sequence
from typing import Final, NamedTuple

from .errors import ConfigError
from .units import KNOWN_UNITS

Value = float | int | bool | str | None
"""A reading's value: a number (SenML ``v``), a boolean (``vb``), a text (``vs``), or ``None``
when the sensor reported its "not available" sentinel."""


class Quality(enum.IntFlag):
    """Flags that qualify a value; ``GOOD`` (0) means none apply."""

    GOOD = 0
    STALE = 1
    """The sensor did not report within its expected interval; the value is the last one seen."""
    OUT_OF_RANGE = 2
    """The value lies outside the sensor's physical range (e.g. the DS18B20's 85 °C reset value)."""
    CHECKSUM_FAILED = 4
    """The sensor or its bus reported a checksum or CRC failure for this value."""
    CLOCK_UNSYNCED = 8
    """The time was taken before the system clock was synchronised (a Pi has no RTC)."""

    def names(self) -> list[str]:
        """The set flags' names in lower case (``["stale", "clock_unsynced"]``); empty if good."""
        return [flag.name.lower() for flag in Quality if flag and flag in self and flag.name]


_STREAM_PART: Final = re.compile(r"^[a-z0-9][a-z0-9_.-]*$")


def check_name(kind: str, name: str) -> str:
    """Return ``name`` if it is a valid sensor or quantity name, else raise :class:`ConfigError`.

    Names are lower-case ASCII letters, digits, ``-``, ``_`` and ``.``, starting with a letter
    or digit, so they are safe as MQTT topic levels and file names.
    """
    if not _STREAM_PART.match(name):
        raise ConfigError(
            f"{kind} name {name!r} is not allowed: use lower-case letters, digits, '-', '_' "
            "and '.', starting with a letter or digit (for example 'road-surface')"
        )
    return name


class Reading(NamedTuple):
    """One value of one stream; immutable, so one object can go to every consumer.

    A named tuple rather than a frozen dataclass: readings are created at up to hundreds of
    thousands per second, and a tuple is about four times cheaper to make.

    Attributes:
        stream: ``<sensor>/<quantity>``, e.g. ``air/humidity``.
        time: when the value was measured, in seconds since the Unix epoch (UTC).
        value: see :data:`Value`.
        unit: SenML unit (:mod:`edge_agent.units`), ``""`` for unitless booleans and texts.
        quality: :class:`Quality` flags; ``Quality.GOOD`` when nothing is wrong.
    """

    stream: str
    time: float
    value: Value
    unit: str
    quality: Quality = Quality.GOOD


def make_stream(sensor: str, quantity: str) -> str:
    """Join a sensor and a quantity name into a stream name, checking both."""
    return f"{check_name('sensor', sensor)}/{check_name('quantity', quantity)}"


def check_unit(unit: str) -> str:
    """Return ``unit`` if SenML knows it, else raise :class:`ConfigError` naming the choices."""
    if unit not in KNOWN_UNITS:
        known = ", ".join(sorted(u for u in KNOWN_UNITS if u))
        raise ConfigError(f"unknown unit {unit!r}; known SenML units: {known}")
    return unit


def stream_matcher(pattern: str | Sequence[str]) -> re.Pattern[str]:
    """Compile a stream pattern with shell wildcards (``air/*``, ``*/temperature``) to a regex.

    ``*`` matches within one level and across levels alike, which is what people expect from
    ``*/temperature``; a pattern without wildcards matches exactly that stream. A sequence of
    patterns matches a stream that any of them matches.
    """
    if isinstance(pattern, str):
        return re.compile(fnmatch.translate(pattern))
    return re.compile("|".join(f"(?:{fnmatch.translate(p)})" for p in pattern) or r"(?!)")
