"""Test cases as data: loading ``testcases/<case>/`` and replaying streams in chunks.

A case folder holds ``input.nmea`` / ``input.txt`` (raw bytes) or ``input.hex`` (hex bytes,
``#`` comment lines allowed), ``expected.json`` (``parser``, ``options``, ``events`` and
``counters``) and ``SOURCE.md`` (where the bytes come from).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import enum
import json
import random
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from drivers.serial.lines import LineStreamParser
from drivers.serial.nmea import NmeaStreamParser
from drivers.serial.umb import UmbStreamParser

CASES_DIR = Path(__file__).parent / "testcases"

Parser = NmeaStreamParser | UmbStreamParser | LineStreamParser


def case_dirs() -> list[Path]:
    """Every case folder, sorted by name."""
    return sorted(path for path in CASES_DIR.iterdir() if (path / "expected.json").exists())


def load_input(case: Path) -> bytes:
    """The case's input bytes."""
    hex_file = case / "input.hex"
    if hex_file.exists():
        lines = hex_file.read_text().splitlines()
        return bytes.fromhex(" ".join(line for line in lines if not line.startswith("#")))
    (raw,) = [path for path in case.glob("input.*") if path.suffix in (".nmea", ".txt")]
    return raw.read_bytes()


def load_expected(case: Path) -> dict[str, Any]:
    """The case's ``expected.json``."""
    loaded: dict[str, Any] = json.loads((case / "expected.json").read_text())
    return loaded


def make_parser(kind: str, options: dict[str, Any]) -> Parser:
    """A fresh stream parser of ``kind`` (``nmea``, ``umb`` or ``lines``)."""
    match kind:
        case "nmea":
            return NmeaStreamParser(**options)
        case "umb":
            return UmbStreamParser(**options)
        case "lines":
            return LineStreamParser(**options)
    raise ValueError(f"unknown parser kind {kind!r} in expected.json")


def to_json(value: Any) -> Any:
    """Events as JSON-compatible data: dataclasses become dicts with a ``type`` key."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        data = {"type": type(value).__name__}
        data.update({f.name: to_json(getattr(value, f.name)) for f in dataclasses.fields(value)})
        return data
    if isinstance(value, enum.Enum):
        return value.name
    if isinstance(value, dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, tuple | list):
        return [to_json(item) for item in value]
    if isinstance(value, bytes):
        return value.hex(" ")
    return value


def chunks(data: bytes, sizes: Iterable[int]) -> Iterator[bytes]:
    """``data`` cut into pieces of the given sizes (repeated from the start as needed)."""
    sizes = list(sizes)
    position, index = 0, 0
    while position < len(data):
        size = sizes[index % len(sizes)]
        yield data[position : position + size]
        position += size
        index += 1


def random_sizes(seed: int, count: int = 64, largest: int = 40) -> list[int]:
    """Reproducible random chunk sizes from 1 to ``largest``."""
    rnd = random.Random(seed)
    return [rnd.randint(1, largest) for _ in range(count)]


def replay(parser: Parser, data: bytes, sizes: Iterable[int]) -> list[Any]:
    """Feed ``data`` in chunks, draining events after each, and return all events."""
    events: list[Any] = []
    for piece in chunks(data, sizes):
        parser.feed(piece)
        events.extend(parser.events())
    return events
