"""``edge-agent decode w1``: ``w1_slave`` files of 1-Wire temperature probes to readings."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from drivers.onewire import parse_w1_slave
from drivers.onewire import to_readings as w1_readings

from ...errors import ParseError
from .options import HelpFormatter, add_common, examples
from .output import reading_json, sample_json
from .report import Report


def register(sub: Any) -> None:
    """Add ``decode w1`` to the ``decode`` subcommands."""
    w1 = sub.add_parser(
        "w1",
        help="w1_slave files of 1-Wire temperature probes (DS18B20)",
        description=(
            "Decode the w1_slave file of a DS18B20 (or another w1_therm chip) to its "
            "temperature reading, with the checksum and power-on-reset flags. PATH is the file, "
            "or the device directory holding it; '-' reads the content from standard input."
        ),
        epilog=examples(
            "edge-agent decode w1 /sys/bus/w1/devices/28-*/w1_slave",
            "edge-agent decode w1 /sys/bus/w1/devices/28-000006b67845",
            "# content pasted from a forum post or a bug report",
            "edge-agent decode w1 - < w1_slave.txt",
        ),
        formatter_class=HelpFormatter,
    )
    w1.add_argument(
        "inputs", nargs="+", metavar="PATH", help="w1_slave file or directory; - for stdin"
    )
    add_common(w1, "w1")
    w1.set_defaults(handler=cmd_w1)


def cmd_w1(args: argparse.Namespace) -> int:
    """Decode w1_slave files: each PATH is read whole, as the kernel hands it out."""
    report = Report("w1", "w1_slave files")
    for text in args.inputs:
        if text == "-":
            where, content = "stdin", sys.stdin.buffer.read()
        else:
            where, path = text, Path(text)
            if path.is_dir():
                path = path / "w1_slave"
            try:
                content = path.read_bytes()
            except OSError as exc:
                report.error(
                    where,
                    f"cannot read {path}: {exc.strerror}; give a w1_slave file such as "
                    "/sys/bus/w1/devices/28-000006b67845/w1_slave, or its directory",
                )
                continue
        try:
            sample = parse_w1_slave(content)
        except ParseError as exc:
            report.error(where, str(exc))
            continue
        report.decoded += 1
        if args.samples:
            report.emit(sample_json(sample, where))
            continue
        for reading in w1_readings(sample, args.sensor, 0.0):
            report.emit(reading_json(reading, where))
    return report.finish()
