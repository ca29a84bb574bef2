"""Readings and parser samples as the JSON objects ``decode`` prints, one per line."""

from __future__ import annotations

import dataclasses
import datetime as dt
import enum
import math
from collections.abc import Mapping
from typing import cast

from ...readings import Reading


def reading_json(reading: Reading, where: str, **source: object) -> dict[str, object]:
    """A reading (without its time: decoding has no clock), what sent it, and its input.

    ``quantity`` is the stream's part after the sensor name; ``source`` names what the reading
    came from (BLE: ``address``, ``format``, ...; UMB: ``channel``, ...), ``where`` the input.
    """
    data: dict[str, object] = {
        "stream": reading.stream,
        "quantity": reading.stream.partition("/")[2],
        "value": jsonable(reading.value),
        "unit": reading.unit,
        "quality": reading.quality.names(),
    }
    data.update(source)
    data["input"] = where
    return data


def sample_json(sample: object, where: str, **more: object) -> dict[str, object]:
    """Every field a parser returned (see :func:`jsonable`), then ``more``, then the input."""
    data = cast(dict[str, object], jsonable(sample))
    data.update(more)
    data["input"] = where
    return data


def jsonable(value: object) -> object:
    """A parser's result as JSON data: dataclasses become objects with a ``type`` key."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        data: dict[str, object] = {"type": type(value).__name__}
        for field in dataclasses.fields(value):
            data[field.name] = jsonable(getattr(value, field.name))
        return data
    if isinstance(value, enum.StrEnum):
        return str(value)
    if isinstance(value, enum.Enum):
        return value.name
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, bytes):
        return value.hex()
    if isinstance(value, dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, Mapping):
        return {str(key): jsonable(item) for key, item in value.items()}
    if isinstance(value, tuple | list):
        return [jsonable(item) for item in value]
    return str(value)
