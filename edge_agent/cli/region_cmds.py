"""``edge-agent region collect`` and ``edge-agent region export``: the regional collector."""

from __future__ import annotations

import argparse
import signal
import sys
from pathlib import Path
from typing import Any

from ..errors import ConfigError
from ..logs import setup_logging
from ..uplink.collector import Collector, collected, export
from ..uplink.connection import BrokerSettings, read_password

LOG_LEVELS = ["debug", "info", "warning", "error"]


def register(commands: Any) -> None:
    """Add ``region`` and its subcommands."""
    region = commands.add_parser(
        "region",
        help="the regional collector: receive the devices' readings into SQLite",
        description=(
            "For regions without a data platform: subscribe to the devices' topics on the "
            "regional broker and keep every reading once, in SQLite."
        ),
    )
    sub = region.add_subparsers(dest="region_command", metavar="SUBCOMMAND", required=True)

    collect = sub.add_parser(
        "collect",
        help="subscribe to the broker and store what the devices send",
        description=(
            "Subscribe to PREFIX/# and store readings, events, status and health in the "
            "SQLite file --db, dropping repeats by reading id. Keeps a persistent session "
            "(the broker holds messages while the collector is away) and acknowledges each "
            "message only after it is committed. Runs until SIGTERM or Ctrl-C."
        ),
    )
    collect.add_argument(
        "--broker",
        required=True,
        metavar="HOST[:PORT]",
        help="default port 8883, 1883 with --no-tls",
    )
    collect.add_argument(
        "--db", required=True, type=Path, metavar="FILE", help="SQLite file to store into"
    )
    collect.add_argument(
        "--prefix", default="digitallabor", help="topic prefix (default digitallabor)"
    )
    collect.add_argument(
        "--client-id",
        default="region-collector",
        help="MQTT client id; keep it fixed to keep the session",
    )
    collect.add_argument("--username", metavar="USER")
    collect.add_argument(
        "--password-file", type=Path, metavar="FILE", help="first line: the password; chmod 600"
    )
    collect.add_argument(
        "--ca-file", type=Path, metavar="FILE", help="CA certificate of the broker (PEM)"
    )
    collect.add_argument("--client-cert", type=Path, metavar="FILE")
    collect.add_argument("--client-key", type=Path, metavar="FILE")
    collect.add_argument("--no-tls", action="store_true", help="plain MQTT (trusted networks only)")
    collect.add_argument("--protocol", choices=["auto", "5", "3.1.1"], default="auto")
    collect.add_argument("--duration", type=float, metavar="SECONDS", help="stop after this long")
    collect.add_argument("--log-level", choices=LOG_LEVELS, default="info")
    collect.set_defaults(handler=cmd_collect)

    exp = sub.add_parser(
        "export",
        help="write collected readings as CSV or JSON lines",
        description="Export the readings of a collector database in arrival order.",
    )
    exp.add_argument("--db", required=True, type=Path, metavar="FILE")
    exp.add_argument("--device", metavar="ID", help="only this device")
    exp.add_argument("--format", choices=["csv", "jsonl"], default="csv")
    exp.add_argument("-o", "--output", type=Path, metavar="FILE", help="default: stdout")
    exp.set_defaults(handler=cmd_export)


def _broker(args: argparse.Namespace) -> BrokerSettings:
    host, _, port_text = (
        args.broker.rpartition(":") if ":" in args.broker else (args.broker, "", "")
    )
    port = 1883 if args.no_tls else 8883
    if port_text:
        if not port_text.isdigit() or not 1 <= int(port_text) <= 65535:
            raise ConfigError(f"--broker {args.broker!r}: port {port_text!r} is not 1 to 65535")
        port = int(port_text)
    if args.password_file is not None and args.username is None:
        raise ConfigError("--password-file needs --username")
    if args.client_key is not None and args.client_cert is None:
        raise ConfigError("--client-key needs --client-cert")
    return BrokerSettings(
        host=host,
        port=port,
        client_id=args.client_id,
        tls=not args.no_tls,
        ca_file=args.ca_file,
        client_cert=args.client_cert,
        client_key=args.client_key,
        username=args.username,
        password_file=args.password_file,
        protocol=args.protocol,
        setting_prefix="--",
    )


def cmd_collect(args: argparse.Namespace) -> int:
    """Run the collector until stopped."""
    settings = _broker(args)
    password = (
        None
        if settings.password_file is None
        else read_password(settings.password_file, setting="--password-file")
    )
    logger = setup_logging(args.log_level)
    collector = Collector(
        settings, args.db, prefix=args.prefix, password=password, logger=logger.getChild("region")
    )

    def stop(_signum: int, _frame: Any) -> None:
        collector.stop()

    previous = {s: signal.signal(s, stop) for s in (signal.SIGTERM, signal.SIGINT)}
    try:
        collector.run(duration=args.duration)
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
        collector.close()
    counts = collector.counts
    print(
        f"collected {counts['readings']} readings and {counts['events']} events into {args.db} "
        f"({counts['duplicates']} repeats dropped, {counts['rejected']} packs rejected, "
        f"{counts['messages']} messages in all)",
        file=sys.stderr,
    )
    return 0


def cmd_export(args: argparse.Namespace) -> int:
    """Export collected readings."""
    rows = collected(args.db, device=args.device)
    if args.output is None:
        export(rows, sys.stdout, args.format)
        return 0
    with args.output.open("w", encoding="utf-8", newline="") as out:
        written = export(rows, out, args.format)
    print(f"wrote {written} readings to {args.output}", file=sys.stderr)
    return 0
