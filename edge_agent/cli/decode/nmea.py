"""``edge-agent decode nmea``: NMEA 0183 sentences (GGA, RMC, VTG) to readings."""

from __future__ import annotations

import argparse
import os
import re
from typing import Any

from drivers.serial.nmea import NmeaEvent, NmeaStreamParser, parse_sentence
from drivers.serial.to_readings import nmea_readings

from ...errors import ParseError
from .inputs import Argument, no_inputs, sources
from .options import HelpFormatter, add_common, add_file, examples
from .output import reading_json, sample_json
from .report import EXIT_USAGE, Report


def register(sub: Any) -> None:
    """Add ``decode nmea`` to the ``decode`` subcommands."""
    nmea = sub.add_parser(
        "nmea",
        help="NMEA 0183 sentences from a GNSS receiver (GGA, RMC, VTG)",
        description=(
            "Decode NMEA 0183 sentences (GGA, RMC, VTG) to position, altitude, speed and "
            "course readings. Give sentences as arguments (in single quotes: the shell would "
            "expand $GPGGA), '-' to read them from standard input, or --file. Other valid "
            "sentence types (GSA, GSV, proprietary) are skipped and counted."
        ),
        epilog=examples(
            "edge-agent decode nmea "
            "'$GPGGA,123519,4807.038,N,01131.000,E,1,08,0.9,545.4,M,46.9,M,,*47'",
            "edge-agent decode nmea --file gps.log",
            "# what the receiver sends right now (the agent must not be reading the port)",
            "stty -F /dev/ttyUSB0 4800 raw && head -n 20 /dev/ttyUSB0 | edge-agent decode nmea -",
        ),
        formatter_class=HelpFormatter,
    )
    nmea.add_argument(
        "inputs", nargs="*", metavar="SENTENCE", help="one sentence each; - for stdin"
    )
    nmea.add_argument(
        "--no-checksum",
        action="store_true",
        help="accept sentences without the '*hh' checksum (some old receivers omit it)",
    )
    add_file(nmea, "sentences, one per line")
    add_common(nmea, "gnss")
    nmea.set_defaults(handler=cmd_nmea)


def cmd_nmea(args: argparse.Namespace) -> int:
    """Decode NMEA sentences."""
    report = Report("nmea", "sentences")
    if no_inputs(args, report):
        return EXIT_USAGE
    for source in sources(args, report):
        if isinstance(source, Argument):
            _sentence(report, args, source.where, os.fsencode(source.text), quiet=False)
            continue
        for where, line in source.numbered_lines():
            _sentence(report, args, where, line, quiet=True)
    return report.finish()


def _sentence(
    report: Report, args: argparse.Namespace, where: str, line: bytes, *, quiet: bool
) -> None:
    """One sentence; ``quiet`` for streams, where skipped sentences are only summed up."""
    sentence = line.strip()
    if not sentence:
        if not quiet:
            report.error(where, "empty; give a sentence like '$GPGGA,123519,4807.038,N,...*47'")
        return
    address = sentence[1:].split(b",", 1)[0].split(b"*", 1)[0]
    if sentence.startswith(b"$P") and address.isalnum():
        report.skip(
            where,
            f"{address.decode()} is a proprietary sentence; decoded are GGA, RMC and VTG",
            summary="proprietary sentences",
            detail=address.decode(),
            quiet=quiet,
        )
        return
    require_checksum = not args.no_checksum
    try:
        event: NmeaEvent = parse_sentence(sentence, require_checksum=require_checksum)
    except ParseError as exc:
        reason = _rejection(sentence, require_checksum)
        if reason == "unsupported":
            report.skip(
                where,
                str(exc),
                summary="sentences of types not decoded here",
                detail=address.decode("ascii", errors="replace"),
                quiet=quiet,
            )
        elif reason == "missing_checksum":
            report.error(
                where,
                f"the sentence {sentence[:100]!r} has no '*hh' checksum; --no-checksum accepts "
                "sentences without one",
            )
        else:
            report.error(where, f"{exc}{_dollar_hint(sentence)}")
        return
    report.decoded += 1
    if args.samples:
        report.emit(sample_json(event, where))
        return
    name = address.decode("ascii")
    readings = nmea_readings(event, args.sensor, 0.0)
    for reading in readings:
        report.emit(reading_json(reading, where, sentence=name))
    if not readings:
        report.note(where, f"{name} decoded, but all its measurement fields are empty")


def _rejection(sentence: bytes, require_checksum: bool) -> str:
    """Which counter of the agent's stream parser a rejected sentence lands in."""
    parser = NmeaStreamParser(
        max_line_bytes=max(128, len(sentence) + 2), require_checksum=require_checksum
    )
    parser.feed(sentence + b"\r\n")
    list(parser.events())
    counted = [name for name, count in parser.counters().items() if count]
    return next((name for name in counted if name != "garbage_bytes"), "malformed")


def _dollar_hint(sentence: bytes) -> str:
    """Why a sentence may have lost its ``$``: the shell expands ``$GPGGA`` in double quotes."""
    if sentence.startswith(b","):
        return (
            "; the sentence starts with ',': did the shell expand $GPGGA to nothing? Put the "
            "sentence in single quotes: '$GPGGA,...'"
        )
    if re.match(rb"[A-Z]{5},", sentence):
        return "; it lacks the leading '$' (in a shell, quote it with single quotes: '$GPGGA,...')"
    return ""
