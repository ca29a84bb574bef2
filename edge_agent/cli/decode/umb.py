"""``edge-agent decode umb``: Lufft UMB frames (online data 23h, multi-channel 2Fh) to readings."""

from __future__ import annotations

import argparse
from typing import Any, Final

from drivers.serial.to_readings import umb_readings
from drivers.serial.umb import (
    ChannelValue,
    MultiChannelRequest,
    MultiChannelResponse,
    OnlineDataRequest,
    OnlineDataResponse,
    UmbEvent,
    UmbStreamParser,
    describe_status,
    parse_frame,
)

from ...errors import ParseError
from .inputs import Argument, Stream, no_inputs, parse_hex, sources
from .options import HelpFormatter, add_common, add_file, examples
from .output import reading_json, sample_json
from .report import EXIT_USAGE, Report

UMB_EXAMPLE: Final = "01 10 01 f0 01 90 0a 02 23 10 00 65 00 16 ec f2 c4 41 03 24 51 04"
"""The IRS31Pro-UMB manual's example answer: channel 101, 24.6 degrees C."""

_STREAM_PROBLEMS: Final = (
    ("bad_checksum", "frames that failed the CRC check (damaged on the line)"),
    ("bad_framing", "frames that broke off, or lack ETX/EOT where their length byte puts them"),
    ("malformed", "frames with a good CRC but a payload that does not fit the command"),
)
"""The stream parser's counters that are problems, and what to call them."""


def register(sub: Any) -> None:
    """Add ``decode umb`` to the ``decode`` subcommands."""
    umb = sub.add_parser(
        "umb",
        help="Lufft UMB frames in hex (IRS31Pro-UMB road sensor and other UMB devices)",
        description=(
            "Decode Lufft UMB binary frames (online data 23h and multi-channel 2Fh) to "
            "readings, with the IRS31Pro-UMB's channel table; channels it does not know "
            "become 'channel-<n>' with the raw value. Each INPUT is one frame in hex. '-' and "
            "--file read a hex dump of the bus traffic (any line wrapping, '#' comments), "
            "which is split into frames the way the agent does, skipping noise."
        ),
        epilog=examples(
            "# the IRS31Pro-UMB manual's example answer: channel 101, 24.6 degrees C",
            f"edge-agent decode umb '{UMB_EXAMPLE}'",
            "edge-agent decode umb --file bus.hex",
            "# a serial terminal's hex log",
            "xxd -p capture.bin | edge-agent decode umb -",
        ),
        formatter_class=HelpFormatter,
    )
    umb.add_argument(
        "inputs", nargs="*", metavar="FRAME", help="one frame in hex each; - for stdin"
    )
    add_file(umb, "a hex dump of the bus traffic")
    add_common(umb, "umb")
    umb.set_defaults(handler=cmd_umb)


def cmd_umb(args: argparse.Namespace) -> int:
    """Decode UMB frames."""
    report = Report("umb", "frames")
    if no_inputs(args, report):
        return EXIT_USAGE
    for source in sources(args, report):
        if isinstance(source, Argument):
            try:
                event = parse_frame(parse_hex(source.text, "frame", UMB_EXAMPLE))
            except ParseError as exc:
                report.error(source.where, str(exc))
                continue
            _event(report, args, source.where, event, quiet=False)
        else:
            _stream(report, args, source)
    return report.finish()


def _stream(report: Report, args: argparse.Namespace, stream: Stream) -> None:
    """A hex dump of bus traffic, split into frames by the agent's stream parser."""
    parser = UmbStreamParser()
    for where, text in stream.hex_lines():
        try:
            parser.feed(parse_hex(text, "bus traffic", UMB_EXAMPLE))
        except ParseError as exc:
            report.error(where, f"{exc}; the line is left out")
            continue
        for event in parser.events():
            _event(report, args, where, event, quiet=True)
    before = parser.garbage_bytes
    parser.reset()
    unfinished = parser.garbage_bytes - before
    for counter, problem in _STREAM_PROBLEMS:
        count = getattr(parser, counter)
        if count:
            report.error(stream.name, f"{problem}: {count}")
    if unfinished:
        report.error(stream.name, f"the input ends inside a frame ({unfinished} bytes)")
    if parser.garbage_bytes and not report.problems:
        report.error(
            stream.name,
            f"{parser.garbage_bytes} bytes outside any frame (line noise; or a wrong baud rate "
            "when the capture was taken)",
        )
    elif parser.garbage_bytes:
        report.note(
            stream.name, f"{parser.garbage_bytes} bytes in all were not part of a good frame"
        )


def _event(
    report: Report, args: argparse.Namespace, where: str, event: UmbEvent, *, quiet: bool
) -> None:
    """One frame; requests (echoes on RS-485) and other commands are skipped with a note."""
    if args.samples:
        report.decoded += 1
        report.emit(sample_json(event, where))
        return
    match event:
        case OnlineDataRequest() | MultiChannelRequest():
            channels = (event.channel,) if isinstance(event, OnlineDataRequest) else event.channels
            report.skip(
                where,
                f"request from 0x{event.from_address:04X} to 0x{event.to_address:04X} for "
                f"channel {', '.join(map(str, channels))}: it carries no values (an RS-485 "
                "adapter echoes what the master sends)",
                summary="requests from the master (echoes of what it sent)",
                quiet=quiet,
            )
            return
        case OnlineDataResponse() | MultiChannelResponse():
            pass
        case _:
            report.skip(
                where,
                f"frame with command 0x{event.command:02X} (version 0x{event.command_version:02X}) "
                "is not decoded; decoded are 23h online data and 2Fh multi-channel, version 10h",
                summary="frames of other commands",
                detail=f"0x{event.command:02X}",
                quiet=quiet,
            )
            return
    report.decoded += 1
    values: tuple[ChannelValue, ...]
    if isinstance(event, OnlineDataResponse):
        values = () if event.value is None else (event.value,)
    else:
        values = event.values
    readings = umb_readings(event, args.sensor, 0.0)
    for value, reading in zip(values, readings, strict=True):
        report.emit(
            reading_json(
                reading,
                where,
                channel=value.channel,
                status=describe_status(value.status),
                device=f"0x{event.from_address:04X}",
            )
        )
    if not readings:
        report.note(
            where,
            f"response from 0x{event.from_address:04X} with status "
            f"{describe_status(event.status)} carries no value",
        )
