"""How the console writes values, times, sizes and durations: short, so a row fits 80 columns.

Every function here is pure (the current time is passed in), so the screens stay deterministic
under a fixed clock in the snapshot tests.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import datetime, tzinfo
from typing import Final

SPARK_BARS: Final = "▁▂▃▄▅▆▇█"
"""Eight heights of a sparkline, lowest first."""

UNIT_TEXT: Final = {
    "Cel": "°C",
    "K": "K",
    "%RH": "%",
    "%EL": "%",
    "/": "",
    "count": "",
    "": "",
}
"""SenML units written as a technician reads them; others are shown as they are."""


def unit_text(unit: str) -> str:
    """``Cel`` -> ``°C``, ``%RH`` -> ``%``; unknown units unchanged."""
    return UNIT_TEXT.get(unit, unit)


def value_text(value: object, unit: str = "") -> str:
    """A reading's value with its unit: ``-1.4 °C``, ``yes``, ``—`` for a missing value."""
    if value is None:
        return "—"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        if not math.isfinite(value):
            return str(value)
        text = f"{value:.3f}".rstrip("0").rstrip(".") if abs(value) < 1000 else f"{value:.0f}"
        if text in ("-0", ""):
            text = "0"
    else:
        text = str(value)
    suffix = unit_text(unit)
    if not suffix:
        return text
    return f"{text}{suffix}" if suffix in ("%", "°C") else f"{text} {suffix}"


def clock_text(when: float | None, tz: tzinfo | None = None) -> str:
    """A time of day, ``14:03:27`` (``—`` for None)."""
    if when is None:
        return "—"
    return datetime.fromtimestamp(when, tz).strftime("%H:%M:%S")


def stamp_text(when: float | None, tz: tzinfo | None = None) -> str:
    """A date and time, ``2026-11-24 14:03`` (``—`` for None)."""
    if when is None:
        return "—"
    return datetime.fromtimestamp(when, tz).strftime("%Y-%m-%d %H:%M")


def duration_text(seconds: float | None) -> str:
    """A duration at the precision a technician needs: ``42 s``, ``7 min``, ``3 h 12 min``,
    ``4 d 2 h``. Minutes and above drop the seconds, so an uptime repaints once a minute."""
    if seconds is None or not math.isfinite(seconds):
        return "—"
    s = max(0, int(seconds))
    if s < 60:
        return f"{s} s"
    minutes, hours, days = s // 60, s // 3600, s // 86400
    if s < 3600:
        return f"{minutes} min"
    if s < 86400:
        return f"{hours} h {minutes % 60} min"
    return f"{days} d {hours % 24} h"


def age_text(when: float | None, now: float) -> str:
    """How long ago: ``12 s ago``, ``3 min ago`` (``never`` for None)."""
    if when is None:
        return "never"
    return f"{duration_text(now - when)} ago"


def size_text(size: float | None) -> str:
    """Bytes in binary multiples: ``812 B``, ``3.4 MiB``, ``58 GiB``."""
    if size is None:
        return "—"
    value = float(size)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if abs(value) < 1024 or unit == "GiB":
            if unit == "B":
                return f"{int(value)} B"
            return f"{value:.1f} {unit}" if abs(value) < 10 else f"{value:.0f} {unit}"
        value /= 1024
    raise AssertionError("unreachable")


def count_text(count: float | None) -> str:
    """A count with thin grouping: ``12 408``."""
    if count is None:
        return "—"
    return f"{int(count):,}".replace(",", " ")


def rate_text(per_second: float | None, what: str = "readings") -> str:
    """A rate, ``12.5 readings/s`` or ``40 readings/min`` when slow."""
    if per_second is None:
        return "—"
    if 0 < per_second < 1:
        return f"{per_second * 60:.0f} {what}/min"
    return f"{per_second:.1f} {what}/s" if per_second < 100 else f"{per_second:.0f} {what}/s"


def sparkline(values: Sequence[float], width: int) -> str:
    """The last ``width`` values as a line of block characters, scaled to their own range.

    A flat series is drawn at mid height; fewer values than ``width`` are right-aligned (the
    newest value is always at the right edge).
    """
    if width <= 0:
        return ""
    tail = [v for v in values if math.isfinite(v)][-width:]
    if not tail:
        return " " * width
    low, high = min(tail), max(tail)
    top = len(SPARK_BARS) - 1
    if high == low:
        bars = SPARK_BARS[top // 2] * len(tail)
    else:
        scale = top / (high - low)
        bars = "".join(SPARK_BARS[round((v - low) * scale)] for v in tail)
    return bars.rjust(width)


def numeric(value: object) -> float | None:
    """A reading's value as a number for charts (booleans as 0/1), else None."""
    if isinstance(value, bool):
        return 1.0 if value else 0.0
    if isinstance(value, int | float) and math.isfinite(value):
        return float(value)
    return None


def shorten(text: str, width: int) -> str:
    """``text`` cut to ``width`` characters with an ellipsis."""
    if len(text) <= width:
        return text
    return text[: max(0, width - 1)] + "…"
