"""Durations and sizes as people write them in config files: ``"30s"``, ``"5m"``, ``"2GB"``."""

from __future__ import annotations

import re
from typing import Annotated, Final

from pydantic import BeforeValidator

from .errors import ConfigError

_DURATION: Final = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)\s*$")
_DURATION_UNITS: Final = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0}

_SIZE: Final = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(B|kB|KB|KiB|MB|MiB|GB|GiB)\s*$")
_SIZE_UNITS: Final = {
    "B": 1,
    "kB": 1000,
    "KB": 1000,
    "KiB": 1024,
    "MB": 1000**2,
    "MiB": 1024**2,
    "GB": 1000**3,
    "GiB": 1024**3,
}


def parse_duration(text: str) -> float:
    """Parse ``"250ms"``, ``"30s"``, ``"5m"``, ``"2h"`` or ``"90d"`` into seconds (float > 0)."""
    match = _DURATION.match(text)
    if not match:
        raise ConfigError(
            f"duration {text!r} is not understood; write a number and a unit: ms, s, m, h or d "
            "(for example '30s' or '5m')"
        )
    seconds = float(match[1]) * _DURATION_UNITS[match[2]]
    if seconds <= 0:
        raise ConfigError(f"duration {text!r} must be greater than zero")
    return seconds


def format_duration(seconds: float) -> str:
    """Format seconds the way :func:`parse_duration` reads them, choosing the largest exact unit."""
    for unit in ("d", "h", "m", "s"):
        factor = _DURATION_UNITS[unit]
        if seconds >= factor and (seconds / factor).is_integer():
            return f"{int(seconds / factor)}{unit}"
    return f"{round(seconds * 1000)}ms"


def parse_size(text: str) -> int:
    """Parse ``"500MB"``, ``"2GiB"`` or ``"4096B"`` into bytes (int > 0)."""
    match = _SIZE.match(text)
    if not match:
        raise ConfigError(
            f"size {text!r} is not understood; write a number and a unit: B, kB, MB, GB, KiB, "
            "MiB or GiB (for example '2GB')"
        )
    size = int(float(match[1]) * _SIZE_UNITS[match[2]])
    if size <= 0:
        raise ConfigError(f"size {text!r} must be greater than zero")
    return size


def _duration(value: object) -> object:
    if isinstance(value, str):
        return parse_duration(value)
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ConfigError(f"expected a duration such as '30s' or '5m', got {value!r}")
    if value <= 0:
        raise ConfigError(f"duration {value!r} must be greater than zero")
    return float(value)


def _size(value: object) -> object:
    if isinstance(value, str):
        return parse_size(value)
    if isinstance(value, bool) or not isinstance(value, int):
        raise ConfigError(f"expected a size such as '500MB' or '2GB', got {value!r}")
    return value


Duration = Annotated[float, BeforeValidator(_duration)]
"""Seconds, written ``"250ms"``, ``"30s"``, ``"5m"``, ``"2h"``, ``"90d"`` or as a number."""
Size = Annotated[int, BeforeValidator(_size)]
"""Bytes, written ``"500MB"``, ``"2GiB"`` or as a number."""
