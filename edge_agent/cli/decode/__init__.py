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

The modules: :mod:`.report` (stderr and the exit code), :mod:`.inputs` (arguments, stdin,
``--file``, hex), :mod:`.output` (the JSON objects), :mod:`.options` (the options every format
shares), and one module per format: :mod:`.ble` (with :mod:`.ble_decoder`, which needs the
``ble`` extra), :mod:`.nmea`, :mod:`.umb`, :mod:`.w1`.
"""

from __future__ import annotations

from typing import Any

from . import ble, nmea, umb, w1
from .options import HelpFormatter, examples


def register(commands: Any) -> None:
    """Add ``decode`` and its subcommands, one per format module."""
    decode = commands.add_parser(
        "decode",
        help="decode captured sensor input (BLE, NMEA, UMB, w1_slave) to readings",
        description=(
            "Print what captured sensor input decodes to, one JSON object per reading, using "
            "the parsers the agent uses. Problems go to stderr with the input they concern. "
            "Exit codes: 0 everything decoded, 1 some inputs were bad (the rest is printed), "
            "2 a usage error or nothing decoded."
        ),
        epilog=examples(
            "edge-agent decode ble --uuid fcd2 40003f015e02820803ac170c830b",
            "edge-agent decode nmea --file gps.log",
            f"edge-agent decode umb '{umb.UMB_EXAMPLE}'",
            "edge-agent decode w1 /sys/bus/w1/devices/28-*/w1_slave",
        ),
        formatter_class=HelpFormatter,
    )
    sub = decode.add_subparsers(dest="decode_command", metavar="FORMAT", required=True)
    ble.register(sub)
    nmea.register(sub)
    umb.register(sub)
    w1.register(sub)
