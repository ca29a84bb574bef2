"""``edge-agent decode ble``: its options, their argument types, and the command.

The decoding itself is in :mod:`.ble_decoder`, imported only when the command runs: it needs
the optional ``ble`` extra (bleak, bthome-ble, ruuvitag-ble), and ``edge-agent --help`` must
work without it.
"""

from __future__ import annotations

import argparse
import re
from typing import Any, Final

from ...errors import ConfigError
from .inputs import no_inputs, sources
from .options import HelpFormatter, add_common, add_file, examples
from .report import EXIT_PARTIAL, EXIT_USAGE, Report, library_warnings_as_notes

BASE_UUID_SUFFIX: Final = "-0000-1000-8000-00805f9b34fb"
"""The Bluetooth base UUID after its first 32 bits: a 16- or 32-bit UUID goes in front."""

_MAC: Final = re.compile(r"[0-9a-fA-F]{2}(?:[:-]?[0-9a-fA-F]{2}){5}")


def register(sub: Any) -> None:
    """Add ``decode ble`` to the ``decode`` subcommands."""
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
        epilog=examples(
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
        formatter_class=HelpFormatter,
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
    add_file(ble, "'hcidump -R' output (or payloads, one per line)")
    add_common(ble, "ble")
    ble.set_defaults(handler=cmd_ble)


def cmd_ble(args: argparse.Namespace) -> int:
    """Decode BLE advertisements."""
    report = Report("ble", "advertisements")
    try:
        # The ble extra is optional: its libraries load only when BLE is decoded.
        from drivers.ble import bind_key_from_hex  # noqa: PLC0415

        from .ble_decoder import BleDecoder  # noqa: PLC0415
    except ImportError as exc:
        report.say(
            f"decoding BLE needs the 'ble' extra, which is not installed ({exc}); install it "
            "with: pip install 'digitallabor-edge-kit[ble]'"
        )
        return EXIT_PARTIAL
    key = None
    if args.key is not None:
        try:
            key = bind_key_from_hex(args.key)
        except ConfigError as exc:
            report.say(f"--key: {exc}")
            return EXIT_USAGE
    if no_inputs(args, report):
        return EXIT_USAGE
    decoder = BleDecoder(args, key, report)
    with library_warnings_as_notes(report, "bthome_ble", "bthome-ble"):
        for source in sources(args, report):
            decoder.source(source)
    return report.finish()


# --- argument types ---------------------------------------------------------------------------


def _uuid_text(text: str) -> str:
    """A 16- or 32-bit UUID in hex (``fcd2``, ``0x181A``) or a full 128-bit one, 128-bit spelt."""
    digits = text.lower().removeprefix("0x")
    if re.fullmatch(r"[0-9a-f]{4}|[0-9a-f]{8}", digits):
        return f"{digits:0>8}{BASE_UUID_SUFFIX}"
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
    """``a4c1388d18b2``, ``a4-c1-38-...`` or ``A4:C1:38:...`` as ``A4:C1:38:8D:18:B2``."""
    if not _MAC.fullmatch(text):
        raise argparse.ArgumentTypeError(
            f"address {text!r} is not a MAC address; write it as AA:BB:CC:DD:EE:FF"
        )
    digits = re.sub(r"[:-]", "", text).upper()
    return ":".join(digits[i : i + 2] for i in range(0, 12, 2))
