"""``edge-agent readings tail`` and ``edge-agent readings query``."""

from __future__ import annotations

import argparse
import csv
import json
import sys
import time
from datetime import datetime
from pathlib import Path
from typing import Any, TextIO

from ..durations import parse_duration
from ..errors import ConfigError
from ..store import Store, StoredReading
from .common import add_data_dir_option, data_dir_from


def register(commands: Any) -> None:
    """Add ``readings`` and its subcommands."""
    readings = commands.add_parser(
        "readings", help="show and export stored readings", description="Read the local store."
    )
    sub = readings.add_subparsers(dest="readings_command", metavar="SUBCOMMAND", required=True)

    tail = sub.add_parser(
        "tail",
        help="print the newest readings, and follow new ones with -f",
        description="Print the last N committed readings, optionally following new commits.",
    )
    add_data_dir_option(tail)
    tail.add_argument("--stream", default="*", metavar="PATTERN", help="e.g. 'air/*' (default *)")
    tail.add_argument("-n", "--lines", type=int, default=20, metavar="N", help="default 20")
    tail.add_argument("-f", "--follow", action="store_true", help="keep printing new readings")
    tail.add_argument("--json", action="store_true", help="JSON lines instead of text")
    tail.set_defaults(handler=cmd_tail)

    query = sub.add_parser(
        "query",
        help="export readings as CSV or JSON lines",
        description=(
            "Export readings of the streams matching PATTERN in a time range. Times are ISO "
            "8601 ('2026-01-31T06:00', local time unless an offset is given) or an age such "
            "as '2h' (two hours ago)."
        ),
    )
    add_data_dir_option(query)
    query.add_argument("--stream", default="*", metavar="PATTERN", help="e.g. 'air/*' (default *)")
    query.add_argument("--since", metavar="TIME", help="from this time (inclusive)")
    query.add_argument("--until", metavar="TIME", help="to this time (exclusive)")
    query.add_argument("--format", choices=["csv", "jsonl"], default="csv")
    query.add_argument("--limit", type=int, metavar="N")
    query.add_argument("-o", "--output", type=Path, metavar="FILE", help="default: stdout")
    query.set_defaults(handler=cmd_query)


def parse_time(text: str, *, now: float) -> float:
    """An ISO 8601 time or an age (``"2h"``) as epoch seconds."""
    try:
        return now - parse_duration(text)
    except ConfigError:
        pass
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise ConfigError(
            f"time {text!r} is not understood; give ISO 8601 ('2026-01-31T06:00') or an age "
            "such as '30m' or '2d'"
        ) from None
    return moment.timestamp()


def _text_line(r: StoredReading) -> str:
    stamp = datetime.fromtimestamp(r.time).isoformat(sep=" ", timespec="milliseconds")
    flags = ",".join(r.quality.names())
    return f"{stamp}  {r.stream:<28} {r.value!s:>10} {r.unit:<5} {flags}".rstrip()


def cmd_tail(args: argparse.Namespace) -> int:
    """Print the newest readings; follow with -f."""
    with Store(data_dir_from(args), readonly=True) as store:
        rows = list(store.query(args.stream))[-args.lines :] if args.lines else []
        last = store.last_row()
        show = (lambda r: json.dumps(r.as_dict())) if args.json else _text_line
        for r in rows:
            print(show(r), flush=False)
        sys.stdout.flush()
        if not args.follow:
            return 0
        matcher_streams = set(store.streams(args.stream))
        while True:
            time.sleep(0.5)
            batch = store.after(last, limit=10_000)
            if not batch:
                continue
            last = batch[-1].row
            if any(r.stream not in matcher_streams for r in batch):
                matcher_streams = set(store.streams(args.stream))
            for r in batch:
                if r.stream in matcher_streams:
                    print(show(r))
            sys.stdout.flush()


def cmd_query(args: argparse.Namespace) -> int:
    """Export readings as CSV or JSON lines."""
    now = time.time()
    since = parse_time(args.since, now=now) if args.since else None
    until = parse_time(args.until, now=now) if args.until else None
    with Store(data_dir_from(args), readonly=True) as store:
        rows = store.query(args.stream, since=since, until=until, limit=args.limit)
        if args.output is None:
            written = _export(rows, sys.stdout, args.format, progress=False)
        else:
            with args.output.open("w", encoding="utf-8", newline="") as out:
                written = _export(rows, out, args.format, progress=sys.stderr.isatty())
            print(f"wrote {written} readings to {args.output}", file=sys.stderr)
    return 0


def _export(rows: Any, out: TextIO, fmt: str, *, progress: bool) -> int:
    count = 0
    if fmt == "csv":
        writer = csv.writer(out)
        writer.writerow(["id", "time", "iso_time", "stream", "value", "unit", "quality"])
    for r in rows:
        if fmt == "csv":
            iso = datetime.fromtimestamp(r.time).astimezone().isoformat(timespec="milliseconds")
            writer.writerow(
                [r.id, f"{r.time:.6f}", iso, r.stream, r.value, r.unit, "|".join(r.quality.names())]
            )
        else:
            out.write(json.dumps(r.as_dict()) + "\n")
        count += 1
        if progress and count % 50_000 == 0:
            print(f"\r{count} readings exported", end="", file=sys.stderr, flush=True)
    if progress and count >= 50_000:
        print(file=sys.stderr)
    return count
