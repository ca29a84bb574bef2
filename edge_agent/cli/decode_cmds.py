"""``edge-agent decode ble|nmea|umb|w1``: what captured sensor input decodes to, as JSON lines.

A technician who doubts a sensor captures what it sends (``hcidump -R``, a serial log, the
``w1_slave`` file) and runs it through the same parsers the agent uses. Each reading becomes
one JSON object on stdout: ``stream`` and ``quantity`` (under the name given with
``--sensor``), ``value``, ``unit``, ``quality`` (flag names), what identifies the source (BLE:
``address``, ``format``, ``packet_id``; NMEA: ``sentence``; UMB: ``channel``, ``status``,
``device``) and ``input`` (which argument or line it came from). ``--samples`` prints one object
per decoded sample instead, with every field the parser returns.

Problems go to stderr, each naming the input, what is wrong and the fix. Valid input that
carries no reading (an advertisement of an unknown format, a GSV sentence, an echoed UMB
request) is skipped with a note; in a file or on stdin such skips are summed up at the end.

Exit codes: 0 everything decoded; 1 some inputs decoded and others were bad; 2 a usage error,
or nothing decoded (the same meanings as the other commands: 2 for usage and input errors).
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import datetime as dt
import enum
import json
import logging
import math
import os
import re
import sys
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final, cast

from drivers.onewire import parse_w1_slave
from drivers.onewire import to_readings as w1_readings
from drivers.serial.nmea import NmeaEvent, NmeaStreamParser, parse_sentence
from drivers.serial.to_readings import nmea_readings, umb_readings
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

from ..errors import ConfigError, ParseError
from ..readings import Reading, check_name

if TYPE_CHECKING:
    from types import ModuleType

    from drivers.ble import Advertisement, BleSample

# The same exit codes as the rest of the command line (see edge_agent.cli).
EXIT_OK: Final = 0
EXIT_PARTIAL: Final = 1
EXIT_USAGE: Final = 2

_HEX_TOKEN: Final = re.compile(r"[^\s,:]+")
_HEX_DIGITS: Final = re.compile(r"[0-9a-fA-F]*")
_MAC: Final = re.compile(r"[0-9a-fA-F]{2}(?:[:-]?[0-9a-fA-F]{2}){5}")
_HCIDUMP_HEADERS: Final = ("HCI sniffer", "device:")
_H4_EVENT: Final = 0x04
_LE_META_EVENT: Final = 0x3E
_ADVERTISING_SUBEVENTS: Final = (0x02, 0x0D)
_BLUETOOTH_BASE_UUID: Final = re.compile(r"0000([0-9a-f]{4})-0000-1000-8000-00805f9b34fb")

UNKNOWN_ADDRESS: Final = "??:??:??:??:??:??"
"""What the decoders are given (and show in messages) for a payload without ``--address``."""
_EXAMPLES: Final = "examples:"
HCI_EXAMPLE: Final = "04 3e 22 02 01 00 00 b2 18 8d 38 c1 a4 16 02 01 06 12 16 1a 18 ..."
UMB_EXAMPLE: Final = "01 10 01 f0 01 90 0a 02 23 10 00 65 00 16 ec f2 c4 41 03 24 51 04"


def register(commands: Any) -> None:
    """Add ``decode`` and its subcommands."""
    decode = commands.add_parser(
        "decode",
        help="decode captured sensor input (BLE, NMEA, UMB, w1_slave) to readings",
        description=(
            "Print what captured sensor input decodes to, one JSON object per reading, using "
            "the parsers the agent uses. Problems go to stderr with the input they concern. "
            "Exit codes: 0 everything decoded, 1 some inputs were bad (the rest is printed), "
            "2 a usage error or nothing decoded."
        ),
        epilog=_examples(
            "edge-agent decode ble --uuid fcd2 40003f015e02820803ac170c830b",
            "edge-agent decode nmea --file gps.log",
            f"edge-agent decode umb '{UMB_EXAMPLE}'",
            "edge-agent decode w1 /sys/bus/w1/devices/28-*/w1_slave",
        ),
        formatter_class=_HelpFormatter,
    )
    sub = decode.add_subparsers(dest="decode_command", metavar="FORMAT", required=True)
    _register_ble(sub)
    _register_nmea(sub)
    _register_umb(sub)
    _register_w1(sub)


def _examples(*lines: str) -> str:
    """An epilog of example commands, shown as written (see :class:`_HelpFormatter`)."""
    return _EXAMPLES + "".join(f"\n  {line}" for line in lines)


class _HelpFormatter(argparse.HelpFormatter):
    """Wraps descriptions to the terminal like argparse does, but keeps examples as written."""

    def _fill_text(self, text: str, width: int, indent: str) -> str:
        if text.startswith(_EXAMPLES):
            return "".join(indent + line for line in text.splitlines(keepends=True))
        return super()._fill_text(text, width, indent)


def _add_common(parser: argparse.ArgumentParser, default_sensor: str) -> None:
    parser.add_argument(
        "--sensor",
        default=default_sensor,
        type=_sensor_name,
        metavar="NAME",
        help=f"sensor name for the streams, as in the config (default: {default_sensor})",
    )
    parser.add_argument(
        "--samples",
        action="store_true",
        help="print one object per decoded sample with every field the parser returns, "
        "instead of one per reading",
    )


def _add_file(parser: argparse.ArgumentParser, what: str) -> None:
    parser.add_argument(
        "--file", type=Path, metavar="FILE", help=f"read {what} from FILE (after any INPUT)"
    )


def _register_ble(sub: Any) -> None:
    ble = sub.add_parser(
        "ble",
        help="BLE advertisements: HCI reports, service or manufacturer data",
        description=(
            "Decode BLE advertisements of the supported sensors (ATC1441 and pvvx firmware, "
            "BTHome v2 plain and encrypted, RuuviTag data format 5). INPUT is an HCI LE "
            "advertising report in hex as 'hcidump -R' prints it, or with --uuid the service "
            "data, with --company the manufacturer data, with --ad the advertising data. '-' "
            "reads standard input: 'hcidump -R' output (or one payload per line with --uuid, "
            "--company, --ad). Needs the 'ble' extra (bleak, bthome-ble, ruuvitag-ble)."
        ),
        epilog=_examples(
            "# an LE advertising report of a LYWSD03MMC with pvvx firmware, from 'hcidump -R'",
            "edge-agent decode ble '04 3e 22 02 01 00 00 b2 18 8d 38 c1 a4 16 02 01 06 12 16 "
            "1a 18 b2 18 8d 38 c1 a4 2b 08 90 11 f7 0a 43 20 0f c2'",
            "# the bytes btmon shows under 'Service Data (UUID 0xfcd2)' of a BTHome device",
            "edge-agent decode ble --uuid fcd2 40003f015e02820803ac170c830b",
            "# encrypted BTHome: the bind key, and the address the nonce is built from",
            "edge-agent decode ble --uuid fcd2 --address 54:48:E6:8F:80:A5 \\",
            "    --key 231d39c1d7cc1ab1aee224cd096db932 41a47266c95f730011223378237214",
            "# RuuviTag manufacturer data (btmon: 'Company: Ruuvi Innovations Ltd. (1177)')",
            "edge-agent decode ble --company 0x0499 \\",
            "    0512fc5394c37c0004fffc040cac364200cdcbb8334c884f",
            "# advertising data as a phone app shows it (nRF Connect 'raw data')",
            "edge-agent decode ble --ad --address 00:00:00:00:00:01 \\",
            "    '020106 0b094449592d73656e736f72 0a16d2fc4002c40903bf13'",
            "# watch one sensor live, or check it in a saved capture",
            "sudo hcidump -R | edge-agent decode ble --address A4:C1:38:8D:18:B2 -",
            "edge-agent decode ble --file capture.txt --address A4:C1:38:8D:18:B2",
        ),
        formatter_class=_HelpFormatter,
    )
    ble.add_argument(
        "inputs",
        nargs="*",
        metavar="INPUT",
        help="hex bytes, one report or payload each; - for stdin",
    )
    kind = ble.add_mutually_exclusive_group()
    kind.add_argument(
        "--uuid",
        type=_uuid_text,
        metavar="UUID",
        help="INPUT is service data of this UUID in hex: fcd2 (BTHome), 181a (ATC1441, pvvx)",
    )
    kind.add_argument(
        "--company",
        type=_company_id,
        metavar="ID",
        help="INPUT is manufacturer data of this company id: 0x0499 or 1177 (RuuviTag)",
    )
    kind.add_argument(
        "--ad",
        action="store_true",
        help="INPUT is advertising data: AD structures as sent on air (02 01 06 ...)",
    )
    ble.add_argument(
        "--address",
        type=_mac_address,
        metavar="MAC",
        help="the device's address AA:BB:CC:DD:EE:FF: needed to decrypt BTHome without the MAC "
        "in the payload; with HCI reports, decode only this device's advertisements",
    )
    ble.add_argument(
        "--key",
        metavar="HEX",
        help="BTHome bind key of an encrypted device, 32 hex characters",
    )
    _add_file(ble, "'hcidump -R' output (or payloads, one per line)")
    _add_common(ble, "ble")
    ble.set_defaults(handler=cmd_ble)


def _register_nmea(sub: Any) -> None:
    nmea = sub.add_parser(
        "nmea",
        help="NMEA 0183 sentences from a GNSS receiver (GGA, RMC, VTG)",
        description=(
            "Decode NMEA 0183 sentences (GGA, RMC, VTG) to position, altitude, speed and "
            "course readings. Give sentences as arguments (in single quotes: the shell would "
            "expand $GPGGA), '-' to read them from standard input, or --file. Other valid "
            "sentence types (GSA, GSV, proprietary) are skipped and counted."
        ),
        epilog=_examples(
            "edge-agent decode nmea "
            "'$GPGGA,123519,4807.038,N,01131.000,E,1,08,0.9,545.4,M,46.9,M,,*47'",
            "edge-agent decode nmea --file gps.log",
            "# what the receiver sends right now (the agent must not be reading the port)",
            "stty -F /dev/ttyUSB0 4800 raw && head -n 20 /dev/ttyUSB0 | edge-agent decode nmea -",
        ),
        formatter_class=_HelpFormatter,
    )
    nmea.add_argument(
        "inputs", nargs="*", metavar="SENTENCE", help="one sentence each; - for stdin"
    )
    nmea.add_argument(
        "--no-checksum",
        action="store_true",
        help="accept sentences without the '*hh' checksum (some old receivers omit it)",
    )
    _add_file(nmea, "sentences, one per line")
    _add_common(nmea, "gnss")
    nmea.set_defaults(handler=cmd_nmea)


def _register_umb(sub: Any) -> None:
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
        epilog=_examples(
            "# the IRS31Pro-UMB manual's example answer: channel 101, 24.6 degrees C",
            f"edge-agent decode umb '{UMB_EXAMPLE}'",
            "edge-agent decode umb --file bus.hex",
            "# a serial terminal's hex log",
            "xxd -p capture.bin | edge-agent decode umb -",
        ),
        formatter_class=_HelpFormatter,
    )
    umb.add_argument(
        "inputs", nargs="*", metavar="FRAME", help="one frame in hex each; - for stdin"
    )
    _add_file(umb, "a hex dump of the bus traffic")
    _add_common(umb, "umb")
    umb.set_defaults(handler=cmd_umb)


def _register_w1(sub: Any) -> None:
    w1 = sub.add_parser(
        "w1",
        help="w1_slave files of 1-Wire temperature probes (DS18B20)",
        description=(
            "Decode the w1_slave file of a DS18B20 (or another w1_therm chip) to its "
            "temperature reading, with the checksum and power-on-reset flags. PATH is the file, "
            "or the device directory holding it; '-' reads the content from standard input."
        ),
        epilog=_examples(
            "edge-agent decode w1 /sys/bus/w1/devices/28-*/w1_slave",
            "edge-agent decode w1 /sys/bus/w1/devices/28-000006b67845",
            "# content pasted from a forum post or a bug report",
            "edge-agent decode w1 - < w1_slave.txt",
        ),
        formatter_class=_HelpFormatter,
    )
    w1.add_argument(
        "inputs", nargs="+", metavar="PATH", help="w1_slave file or directory; - for stdin"
    )
    _add_common(w1, "w1")
    w1.set_defaults(handler=cmd_w1)


# --- argument types ---------------------------------------------------------------------------


def _sensor_name(text: str) -> str:
    try:
        return check_name("sensor", text)
    except ConfigError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _uuid_text(text: str) -> str:
    """A 16- or 32-bit UUID in hex (``fcd2``, ``0x181A``) or a full 128-bit one, 128-bit spelt."""
    digits = text.lower().removeprefix("0x")
    if re.fullmatch(r"[0-9a-f]{4}|[0-9a-f]{8}", digits):
        return f"{digits:0>8}-0000-1000-8000-00805f9b34fb"
    if re.fullmatch(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", digits):
        return digits
    raise argparse.ArgumentTypeError(
        f"UUID {text!r} is not understood; give the 16-bit UUID in hex as btmon shows it "
        "(fcd2 for BTHome, 181a for ATC1441/pvvx) or a full 128-bit UUID"
    )


def _company_id(text: str) -> int:
    """A Bluetooth company id: hex with ``0x`` (``0x0499``) or decimal (``1177``)."""
    try:
        value = int(text, 16) if text.lower().startswith("0x") else int(text, 10)
    except ValueError:
        value = -1
    if text[:1] == "0" and not text.lower().startswith("0x") and text != "0":
        value = -1  # "0499": hex without 0x, or decimal with a leading zero? Refuse to guess.
    if not 0 <= value <= 0xFFFF:
        raise argparse.ArgumentTypeError(
            f"company id {text!r} is not understood; write it in hex with 0x (0x0499 for "
            "Ruuvi) or in decimal as btmon shows it (1177)"
        )
    return value


def _mac_address(text: str) -> str:
    if not _MAC.fullmatch(text):
        raise argparse.ArgumentTypeError(
            f"address {text!r} is not a MAC address; write it as AA:BB:CC:DD:EE:FF"
        )
    digits = re.sub(r"[:-]", "", text).upper()
    return ":".join(digits[i : i + 2] for i in range(0, 12, 2))


# --- shared machinery -------------------------------------------------------------------------


class _Report:
    """Prints decoded objects and problems, counts them, and decides the exit code.

    Attributes:
        decoded: inputs that decoded (each may give several readings, or none).
        problems: errors reported: bad inputs, unreadable files, damaged frames.
    """

    def __init__(self, command: str, noun: str) -> None:
        self.prefix = f"edge-agent decode {command}"
        self.noun = noun
        self.decoded = 0
        self.problems = 0
        self.skipped = 0
        self._quiet_skips: Counter[str] = Counter()
        self._skip_details: dict[str, set[str]] = {}
        # Looked up now rather than at import, so that redirected streams are honoured.
        self.out = sys.stdout
        self.err = sys.stderr

    def emit(self, obj: Mapping[str, object]) -> None:
        """One JSON line on stdout, flushed at once for a live pipe (``hcidump | decode``)."""
        self.out.write(json.dumps(obj, ensure_ascii=False) + "\n")
        self.out.flush()

    def error(self, where: str, message: str) -> None:
        self.problems += 1
        print(f"{self.prefix}: {where}: {message}", file=self.err, flush=True)

    def note(self, where: str, message: str) -> None:
        print(f"{self.prefix}: {where}: note: {message}", file=self.err, flush=True)

    def skip(
        self, where: str, message: str, *, summary: str, detail: str = "", quiet: bool
    ) -> None:
        """Valid input without a reading: a note now, or (``quiet``) a line in the summary."""
        self.skipped += 1
        if not quiet:
            self.note(where, message)
            return
        self._quiet_skips[summary] += 1
        if detail:
            self._skip_details.setdefault(summary, set()).add(detail)

    def finish(self) -> int:
        """Print the summaries and return the exit code."""
        for summary, count in self._quiet_skips.items():
            details = sorted(self._skip_details.get(summary, ()))
            shown = ""
            if 0 < len(details) <= 6:
                shown = f" ({', '.join(details)})"
            elif details:
                shown = f" ({len(details)} different)"
            print(f"{self.prefix}: skipped {summary}: {count}{shown}", file=self.err)
        if not self.decoded:
            if not self.problems:
                reason = "every input was skipped" if self.skipped else f"no {self.noun} given"
                print(f"{self.prefix}: nothing decoded: {reason}", file=self.err)
            return EXIT_USAGE
        if self.problems:
            print(
                f"{self.prefix}: {_plural(self.problems, 'problem')} reported above; "
                f"{_plural(self.decoded, 'input')} decoded",
                file=self.err,
            )
            return EXIT_PARTIAL
        return EXIT_OK


def _plural(count: int, word: str) -> str:
    return f"{count} {word}" if count == 1 else f"{count} {word}s"


@dataclasses.dataclass(frozen=True, slots=True)
class _Argument:
    """One INPUT given on the command line."""

    where: str
    text: str


@dataclasses.dataclass(frozen=True, slots=True)
class _Stream:
    """Standard input or a ``--file``, read line by line as bytes."""

    name: str
    lines: Iterable[bytes]


def _sources(args: argparse.Namespace, report: _Report) -> Iterator[_Argument | _Stream]:
    """The INPUT arguments in order (``-`` is stdin), then ``--file``."""
    for index, text in enumerate(args.inputs, start=1):
        if text == "-":
            yield _Stream("stdin", sys.stdin.buffer)
        else:
            yield _Argument(f"arg {index}", text)
    path = getattr(args, "file", None)
    if path is not None:
        try:
            handle = path.open("rb")
        except OSError as exc:
            report.error(str(path), f"cannot read the file: {exc.strerror}")
            return
        with handle:
            yield _Stream(str(path), handle)


def _no_inputs(args: argparse.Namespace, report: _Report, what: str) -> bool:
    """Say what to give when neither INPUT nor ``--file`` was given."""
    if args.inputs or getattr(args, "file", None) is not None:
        return False
    print(
        f"{report.prefix}: give {what} as arguments, '-' to read standard input, or --file FILE "
        f"(see {report.prefix} --help)",
        file=report.err,
    )
    return True


def _parse_hex(text: str, what: str, example: str) -> bytes:
    """Hex bytes as people paste them: ``04 3e 2b``, ``043e2b``, ``04:3e:2b``, ``0x04,0x3e``.

    A leading ``>`` (how ``hcidump -R`` marks an event) is ignored. The error names the first
    token that is not hex and its position (1-based, in characters), so a typo is easy to find.

    Raises:
        ParseError: empty, not hex, or a token with an odd number of digits.
    """
    chunks: list[str] = []
    for match in _HEX_TOKEN.finditer(text):
        token, position = match.group(), match.start() + 1
        digits = token
        if not chunks and digits.startswith(">"):
            digits = digits[1:]
        if digits[:2].lower() == "0x":
            digits = digits[2:]
        if not _HEX_DIGITS.fullmatch(digits):
            raise ParseError(
                f"not hex: {token!r} at position {position}; give the {what} as hex bytes like "
                f"{example!r}"
            )
        if len(digits) % 2:
            raise ParseError(
                f"odd number of hex digits in {token!r} at position {position}: a byte takes "
                f"two ('0a', not 'a'); give the {what} as hex bytes like {example!r}"
            )
        chunks.append(digits)
    data = bytes.fromhex("".join(chunks))
    if not data:
        raise ParseError(f"no bytes given; give the {what} as hex bytes like {example!r}")
    return data


def _hex_lines(stream: _Stream) -> Iterator[tuple[str, str]]:
    """``(where, text)`` of each line of a hex stream that holds something besides comments."""
    for number, raw in enumerate(stream.lines, start=1):
        text = raw.decode("ascii", errors="replace").split("#", 1)[0]
        if text.strip():
            yield f"{stream.name} line {number}", text


def _reading_json(reading: Reading) -> dict[str, object]:
    return {
        "stream": reading.stream,
        "quantity": reading.stream.partition("/")[2],
        "value": _jsonable(reading.value),
        "unit": reading.unit,
        "quality": reading.quality.names(),
    }


def _jsonable(value: object) -> object:
    """A parser's result as JSON data: dataclasses become objects with a ``type`` key."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        data: dict[str, object] = {"type": type(value).__name__}
        for field in dataclasses.fields(value):
            data[field.name] = _jsonable(getattr(value, field.name))
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
        return {str(key): _jsonable(item) for key, item in value.items()}
    if isinstance(value, tuple | list):
        return [_jsonable(item) for item in value]
    return str(value)


def _sample_json(sample: object, where: str, **more: object) -> dict[str, object]:
    data = cast(dict[str, object], _jsonable(sample))
    data.update(more)
    data["input"] = where
    return data


# --- ble --------------------------------------------------------------------------------------


def cmd_ble(args: argparse.Namespace) -> int:
    """Decode BLE advertisements."""
    report = _Report("ble", "advertisements")
    try:
        # The ble extra is optional: its libraries load only when BLE is decoded.
        from drivers import ble  # noqa: PLC0415
    except ImportError as exc:
        print(
            f"{report.prefix}: decoding BLE needs the 'ble' extra, which is not installed "
            f"({exc}); install it with: pip install 'digitallabor-edge-kit[ble]'",
            file=report.err,
        )
        return EXIT_PARTIAL
    key = None
    if args.key is not None:
        try:
            key = ble.bind_key_from_hex(args.key)
        except ConfigError as exc:
            print(f"{report.prefix}: --key: {exc}", file=report.err)
            return EXIT_USAGE
    if _no_inputs(args, report, "advertisements"):
        return EXIT_USAGE
    decoder = _BleDecoder(ble, args, key, report)
    with _library_warnings_as_notes(report, "bthome_ble", "bthome-ble"):
        for source in _sources(args, report):
            if isinstance(source, _Argument):
                decoder.argument(source.where, source.text)
            elif decoder.hci:
                decoder.hcidump(source)
            else:
                for where, text in _hex_lines(source):
                    decoder.argument(where, text)
    return report.finish()


class _NoteHandler(logging.Handler):
    """Shows a library's log records as notes of the report, in the command's own format."""

    def __init__(self, report: _Report, library: str) -> None:
        super().__init__(logging.WARNING)
        self.report = report
        self.library = library

    def emit(self, record: logging.LogRecord) -> None:
        self.report.note(self.library, record.getMessage().rstrip(": "))


@contextlib.contextmanager
def _library_warnings_as_notes(report: _Report, logger_name: str, library: str) -> Iterator[None]:
    """While decoding, a library's warnings (``bthome-ble``: objects out of order, decryption
    failed) become notes instead of bare lines from logging's last-resort handler."""
    logger = logging.getLogger(logger_name)
    handler = _NoteHandler(report, library)
    propagate = logger.propagate
    logger.addHandler(handler)
    logger.propagate = False
    try:
        yield
    finally:
        logger.removeHandler(handler)
        logger.propagate = propagate


class _BleDecoder:
    """Feeds inputs of one ``decode ble`` run to the decoders in :mod:`drivers.ble`."""

    def __init__(
        self, ble: ModuleType, args: argparse.Namespace, key: bytes | None, report: _Report
    ) -> None:
        self.ble = ble
        self.args = args
        self.key = key
        self.report = report
        self.hci = args.uuid is None and args.company is None and not args.ad
        if args.uuid is not None:
            self.what, self.example = "service data", "40 00 3f 01 5e 02 82 08 ..."
        elif args.company is not None:
            self.what, self.example = "manufacturer data", "05 12 fc 53 94 c3 7c 00 ..."
        elif args.ad:
            self.what, self.example = "advertising data", "02 01 06 0a 16 d2 fc 40 ..."
        else:
            self.what, self.example = "report", HCI_EXAMPLE

    def argument(self, where: str, text: str) -> None:
        """One INPUT, or one line of a stream of service, manufacturer or advertising data."""
        try:
            data = _parse_hex(text, self.what, self.example)
        except ParseError as exc:
            self.report.error(where, str(exc))
            return
        if self.hci:
            self.packet(where, data, quiet=False)
        else:
            self._decode_payload(where, data)

    def hcidump(self, stream: _Stream) -> None:
        """``hcidump -R`` output: ``>`` starts an event, ``<`` a command, indented lines go on.

        Read line by line, so that ``hcidump -R | edge-agent decode ble -`` shows each
        advertisement as soon as its last byte is in. Packets other than LE advertising reports
        (commands, other events, ACL data) are counted in the summary.
        """
        packet: bytearray | None = None
        start = ""
        dropping = False  # the current packet is a command, or has a line that is not hex
        for number, raw in enumerate(stream.lines, start=1):
            line = raw.decode("ascii", errors="replace").rstrip("\r\n")
            text = line.split("#", 1)[0].strip()
            if not text or text.startswith(_HCIDUMP_HEADERS):
                continue
            where = f"{stream.name} line {number}"
            marker = text[0] if text[0] in "<>" else ""
            begins = bool(marker) or not line[:1].isspace()
            if begins:
                if packet is not None:
                    self.packet(start, bytes(packet), quiet=True)
                packet, start, dropping = None, where, marker == "<"
                if dropping:
                    self.report.skip(where, "", summary="HCI commands ('<' lines)", quiet=True)
            if dropping:
                continue
            try:
                chunk = _parse_hex(text.removeprefix(marker), "packet", HCI_EXAMPLE)
            except ParseError as exc:
                self.report.error(where, f"{exc}; the packet is left out")
                packet, dropping = None, True
                continue
            if packet is None:
                packet, start = bytearray(chunk), where
            else:
                packet += chunk
            if _event_complete(packet):  # decode now rather than when the next packet starts
                self.packet(start, bytes(packet), quiet=True)
                packet = None
        if packet is not None:
            self.packet(start, bytes(packet), quiet=True)

    def packet(self, where: str, data: bytes, *, quiet: bool) -> None:
        """One HCI packet; ``quiet`` for captures, where most packets are other traffic."""
        event = data[1:] if data[:1] == bytes((_H4_EVENT,)) else data
        if event[:1] != bytes((_LE_META_EVENT,)) or (
            quiet and (len(event) < 3 or event[2] not in _ADVERTISING_SUBEVENTS)
        ):
            if quiet:
                self.report.skip(
                    where, "", summary="HCI packets that are not LE advertising reports", quiet=True
                )
                return
            self.report.error(
                where,
                f"not an HCI LE advertising report (those start with '04 3e', this with "
                f"{data[:2].hex(' ')!r}); for service data give --uuid (fcd2 BTHome, 181a "
                "ATC1441/pvvx), for manufacturer data --company (0x0499 RuuviTag), for "
                "advertising data --ad",
            )
            return
        try:
            ads: list[Advertisement] = self.ble.parse_hci_le_advertising_report(data)
        except ParseError as exc:
            self.report.error(where, str(exc))
            return
        for index, ad in enumerate(ads, start=1):
            label = where if len(ads) == 1 else f"{where} report {index}"
            if self.args.address is not None and ad.address != self.args.address:
                self.report.skip(
                    label,
                    f"advertisement from {ad.address} left out: not the --address "
                    f"{self.args.address}",
                    summary="advertisements from other addresses",
                    detail=ad.address,
                    quiet=quiet,
                )
                continue
            self._decode(
                label,
                ad.address,
                ad.service_data,
                ad.manufacturer_data,
                rssi=ad.rssi_dbm,
                quiet=quiet,
                describe=self._describe(ad.service_data, ad.manufacturer_data, ad.local_name),
            )

    def _decode_payload(self, where: str, data: bytes) -> None:
        service_data: Mapping[str, bytes] = {}
        manufacturer_data: Mapping[int, bytes] = {}
        if self.args.uuid is not None:
            service_data = {self.args.uuid: data}
        elif self.args.company is not None:
            manufacturer_data = {self.args.company: data}
        else:
            try:
                parsed = self.ble.parse_ad_structures(data)
            except ParseError as exc:
                self.report.error(where, str(exc))
                return
            service_data, manufacturer_data = parsed.service_data, parsed.manufacturer_data
        self._decode(
            where,
            self.args.address,
            service_data,
            manufacturer_data,
            rssi=None,
            quiet=False,
            describe=self._describe(service_data, manufacturer_data, None),
        )

    def _decode(
        self,
        where: str,
        address: str | None,
        service_data: Mapping[str, bytes],
        manufacturer_data: Mapping[int, bytes],
        *,
        rssi: int | None,
        quiet: bool,
        describe: str,
    ) -> None:
        problem = self._bthome_problem(service_data, address is not None)
        if problem is not None:
            self.report.error(where, problem)
            return
        shown = address or UNKNOWN_ADDRESS
        try:
            sample: BleSample | None = self.ble.decode_advertisement(
                shown, service_data, manufacturer_data, bind_key=self.key
            )
        except ParseError as exc:
            self.report.error(where, str(exc))
            return
        if sample is None:
            self.report.skip(
                where,
                f"advertisement{'' if address is None else ' from ' + address} is in no known "
                f"format ({describe}); decoded are service data fcd2 (BTHome v2), 181a "
                "(ATC1441, pvvx) and manufacturer data 0x0499 (RuuviTag data format 5)",
                summary="advertisements in no known format (phones, beacons, other devices)",
                detail=address or "",
                quiet=quiet,
            )
            return
        self.report.decoded += 1
        more: dict[str, object] = {"rssi_dbm": rssi} if self.hci else {}
        if self.args.samples:
            # Without --address the decoder was given a stand-in; the sample shows null.
            self.report.emit(_sample_json(sample, where, address=address, **more))
            return
        readings = self.ble.to_readings(sample, self.args.sensor, 0.0)
        for reading in readings:
            obj = _reading_json(reading)
            obj["address"] = address or sample.payload_mac
            obj["format"] = str(sample.format)
            obj["packet_id"] = sample.packet_id
            obj.update(more)
            obj["input"] = where
            self.report.emit(obj)
        if not readings:
            carried = ", ".join(f"{k}={v}" for k, v in sample.extra.items()) or "nothing else"
            self.report.note(
                where,
                f"{sample.format} advertisement decoded, but it carries no reading (it "
                f"carries {carried}); --samples shows every field",
            )

    def _bthome_problem(self, service_data: Mapping[str, bytes], address_known: bool) -> str | None:
        """What this command line lacks to decrypt a BTHome payload, with the option to add."""
        bthome = self.ble.bthome
        payload = service_data.get(self.ble.BTHOME_UUID)
        if not payload or payload[0] >> 5 != bthome.SUPPORTED_VERSION:
            return None
        if not payload[0] & bthome.ENCRYPTED_FLAG:
            return None
        if self.key is None:
            return (
                "the BTHome advertisement is encrypted: give the device's bind key with --key "
                "(32 hex characters, as the device's firmware or vendor app shows it)"
            )
        if not payload[0] & bthome.MAC_INCLUDED_FLAG and not address_known:
            return (
                "the encrypted BTHome advertisement does not carry the device's MAC, which "
                "decrypting needs: give it with --address AA:BB:CC:DD:EE:FF"
            )
        return None

    @staticmethod
    def _describe(
        service_data: Mapping[str, bytes],
        manufacturer_data: Mapping[int, bytes],
        name: str | None,
    ) -> str:
        parts = []
        if name:
            parts.append(f"name {name!r}")
        if service_data:
            uuids = (_short_uuid(uuid) for uuid in service_data)
            parts.append(f"service data {', '.join(uuids)}")
        if manufacturer_data:
            ids = (f"0x{company:04x}" for company in manufacturer_data)
            parts.append(f"manufacturer data {', '.join(ids)}")
        return "; ".join(parts) or "no service or manufacturer data"


def _event_complete(packet: bytearray) -> bool:
    """Whether ``packet`` is an H4 event (``04``) holding all the bytes its length byte says."""
    return packet[:1] == bytes((_H4_EVENT,)) and len(packet) >= 3 and len(packet) >= 3 + packet[2]


def _short_uuid(uuid: str) -> str:
    match = _BLUETOOTH_BASE_UUID.fullmatch(uuid)
    return match.group(1) if match else uuid


# --- nmea -------------------------------------------------------------------------------------


def cmd_nmea(args: argparse.Namespace) -> int:
    """Decode NMEA sentences."""
    report = _Report("nmea", "sentences")
    if _no_inputs(args, report, "sentences"):
        return EXIT_USAGE
    for source in _sources(args, report):
        if isinstance(source, _Argument):
            _nmea_sentence(report, args, source.where, os.fsencode(source.text), quiet=False)
            continue
        for number, line in enumerate(source.lines, start=1):
            where = f"{source.name} line {number}"
            _nmea_sentence(report, args, where, line, quiet=True)
    return report.finish()


def _nmea_sentence(
    report: _Report, args: argparse.Namespace, where: str, line: bytes, *, quiet: bool
) -> None:
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
        report.emit(_sample_json(event, where))
        return
    name = sentence[1:].split(b",", 1)[0].decode("ascii")
    readings = nmea_readings(event, args.sensor, 0.0)
    for reading in readings:
        obj = _reading_json(reading)
        obj["sentence"] = name
        obj["input"] = where
        report.emit(obj)
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


# --- umb --------------------------------------------------------------------------------------

_UMB_STREAM_PROBLEMS: Final = (
    ("bad_checksum", "frames that failed the CRC check (damaged on the line)"),
    ("bad_framing", "frames that broke off, or lack ETX/EOT where their length byte puts them"),
    ("malformed", "frames with a good CRC but a payload that does not fit the command"),
)


def cmd_umb(args: argparse.Namespace) -> int:
    """Decode UMB frames."""
    report = _Report("umb", "frames")
    if _no_inputs(args, report, "frames"):
        return EXIT_USAGE
    for source in _sources(args, report):
        if isinstance(source, _Argument):
            try:
                event = parse_frame(_parse_hex(source.text, "frame", UMB_EXAMPLE))
            except ParseError as exc:
                report.error(source.where, str(exc))
                continue
            _umb_event(report, args, source.where, event, quiet=False)
        else:
            _umb_stream(report, args, source)
    return report.finish()


def _umb_stream(report: _Report, args: argparse.Namespace, stream: _Stream) -> None:
    """A hex dump of bus traffic, split into frames by the agent's stream parser."""
    parser = UmbStreamParser()
    for where, text in _hex_lines(stream):
        try:
            parser.feed(_parse_hex(text, "bus traffic", UMB_EXAMPLE))
        except ParseError as exc:
            report.error(where, f"{exc}; the line is left out")
            continue
        for event in parser.events():
            _umb_event(report, args, where, event, quiet=True)
    before = parser.garbage_bytes
    parser.reset()
    unfinished = parser.garbage_bytes - before
    for counter, problem in _UMB_STREAM_PROBLEMS:
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


def _umb_event(
    report: _Report, args: argparse.Namespace, where: str, event: UmbEvent, *, quiet: bool
) -> None:
    if args.samples:
        report.decoded += 1
        report.emit(_sample_json(event, where))
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
        obj = _reading_json(reading)
        obj["channel"] = value.channel
        obj["status"] = describe_status(value.status)
        obj["device"] = f"0x{event.from_address:04X}"
        obj["input"] = where
        report.emit(obj)
    if not readings:
        report.note(
            where,
            f"response from 0x{event.from_address:04X} with status "
            f"{describe_status(event.status)} carries no value",
        )


# --- w1 ---------------------------------------------------------------------------------------


def cmd_w1(args: argparse.Namespace) -> int:
    """Decode w1_slave files."""
    report = _Report("w1", "w1_slave files")
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
            report.emit(_sample_json(sample, where))
            continue
        for reading in w1_readings(sample, args.sensor, 0.0):
            obj = _reading_json(reading)
            obj["input"] = where
            report.emit(obj)
    return report.finish()
