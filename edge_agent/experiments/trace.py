"""Trace files: readings recorded live (``edge-agent record``) and replayed on a laptop.

A trace is JSON lines. The first line is a header, each further line one reading::

    {"trace": 1, "device": "rastatt-lab-01", "recorded_at": 1732400000.0, "patterns": ["*"]}
    {"s": "road-surface/temperature", "t": 1732400001.25, "v": -0.5, "u": "Cel", "q": 0}

``q`` is the reading's :class:`~edge_agent.readings.Quality` as an integer. Readings are in
the order they were published; replay keeps that order and takes each reading's time as the
clock, so a replay gives the same result every time.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from ..errors import ConfigError
from ..readings import Quality, Reading

TRACE_VERSION = 1


@dataclass(frozen=True)
class TraceHeader:
    """What the first line of a trace says."""

    device: str = ""
    recorded_at: float = 0.0
    patterns: list[str] = field(default_factory=lambda: ["*"])


def reading_line(reading: Reading) -> str:
    """One reading as a trace line (without the newline)."""
    return json.dumps(
        {
            "s": reading.stream,
            "t": reading.time,
            "v": reading.value,
            "u": reading.unit,
            "q": int(reading.quality),
        },
        separators=(",", ":"),
    )


def write_header(out: IO[str], header: TraceHeader) -> None:
    """Write the header line of a new trace."""
    data = {"trace": TRACE_VERSION, **header.__dict__}
    out.write(json.dumps(data, separators=(",", ":")) + "\n")


def write_trace(path: Path, readings: Iterable[Reading], header: TraceHeader) -> int:
    """Write a whole trace file; returns the number of readings."""
    count = 0
    with path.open("w", encoding="utf-8") as out:
        write_header(out, header)
        for reading in readings:
            out.write(reading_line(reading) + "\n")
            count += 1
    return count


def _reading(data: Any) -> Reading:
    return Reading(
        str(data["s"]), float(data["t"]), data["v"], str(data.get("u", "")), Quality(data["q"])
    )


def read_trace(path: Path) -> tuple[TraceHeader, Iterator[Reading]]:
    """The header of the trace at ``path`` and an iterator over its readings.

    Raises:
        ConfigError: the file is missing, is not a trace, or a line does not parse (the
            message names the line).
    """
    try:
        handle = path.open(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read the trace: {exc.strerror}") from exc
    first = handle.readline()
    try:
        head = json.loads(first)
    except ValueError:
        head = None
    if not isinstance(head, dict) or head.get("trace") != TRACE_VERSION:
        handle.close()
        raise ConfigError(
            f"{path}:1: not a trace file (the first line must be a header like "
            f'{{"trace": {TRACE_VERSION}, ...}}); record one with `edge-agent record`'
        )
    header = TraceHeader(
        device=str(head.get("device", "")),
        recorded_at=float(head.get("recorded_at", 0.0)),
        patterns=list(head.get("patterns", ["*"])),
    )

    def readings() -> Iterator[Reading]:
        with handle:
            for number, line in enumerate(handle, start=2):
                if not line.strip():
                    continue
                try:
                    yield _reading(json.loads(line))
                except (ValueError, KeyError, TypeError) as exc:
                    raise ConfigError(
                        f"{path}:{number}: not a reading line ({exc}); expected "
                        '{"s": stream, "t": time, "v": value, "u": unit, "q": quality}'
                    ) from exc

    return header, readings()


__all__ = ["TraceHeader", "read_trace", "reading_line", "write_header", "write_trace"]
