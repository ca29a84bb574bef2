"""``edge-agent sync status``: what the uplink has sent, what waits, and what went wrong."""

from __future__ import annotations

import argparse
import json
import time
from typing import Any

from ..store import Store
from ..uplink.state import SyncStatus, read_status
from .common import add_data_dir_option, data_dir_from


def register(commands: Any) -> None:
    """Add ``sync`` and its subcommands."""
    sync = commands.add_parser(
        "sync",
        help="show the uplink to the region: backlog, last acknowledged reading, errors",
        description="Look at the uplink of a device (reads the store, never blocks the agent).",
    )
    sub = sync.add_subparsers(dest="sync_command", metavar="SUBCOMMAND", required=True)
    status = sub.add_parser(
        "status",
        help="backlog, last acknowledged reading, connection state and last error",
        description=(
            "Show what waits in the outbox, the newest reading the broker acknowledged, the "
            "uplink's connection state and its last error, as the agent last recorded them."
        ),
    )
    add_data_dir_option(status)
    status.add_argument("--json", action="store_true", help="print JSON instead of text")
    status.set_defaults(handler=cmd_status)


def span(seconds: float) -> str:
    """A time span in its two largest units, as people read it: ``1h31m``, ``327d14h``."""
    rest = round(seconds)
    parts: list[str] = []
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60), ("s", 1)):
        if rest >= size or (unit == "s" and not parts):
            count, rest = divmod(rest, size)
            parts.append(f"{count}{unit}")
        elif parts:
            break
        if len(parts) == 2:
            break
    return "".join(parts)


def _when(stamp: float | None, now: float) -> str:
    if stamp is None:
        return "-"
    text = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(stamp))
    age = now - stamp
    if age >= 1:
        return f"{text} ({span(age)} ago)"
    if age <= -1:
        return f"{text} (in {span(-age)})"
    return text


def render(status: SyncStatus, *, now: float) -> list[str]:
    """The text lines of ``sync status``."""
    lines = []
    if status.state is None:
        lines.append(
            "uplink     has not run on this data directory (no [uplink] in the config?); "
            "readings stay on the device"
        )
    else:
        protocol = f" (MQTT {status.protocol})" if status.protocol else ""
        lines.append(f"broker     {status.broker}{protocol}")
        state = f"{status.state} since {_when(status.state_since, now)}"
        if status.state == "waiting" and status.retry_at is not None:
            state += f"; next try {_when(status.retry_at, now)}"
        lines.append(f"state      {state}")
        lines.append(f"recorded   {_when(status.updated, now)}")
    backlog = f"backlog    {status.backlog} readings"
    if status.oldest_unsynced is not None:
        backlog += f", oldest taken {_when(status.oldest_unsynced, now)}"
    if status.events_pending:
        backlog += f"; {status.events_pending} events"
    lines.append(backlog)
    if status.last_ack_id is not None:
        lines.append(
            f"last ack   reading {status.last_ack_id} taken {_when(status.last_ack_time, now)}, "
            f"acknowledged {_when(status.last_ack_at, now)}"
        )
    else:
        lines.append("last ack   none yet")
    lines.append(
        f"sent       {status.acked_total} readings acknowledged in total; "
        f"{status.dropped_unsynced} dropped by retention before they were sent"
    )
    if status.last_error is not None:
        lines.append(f"last error {_when(status.last_error_at, now)}: {status.last_error}")
    return lines


def cmd_status(args: argparse.Namespace) -> int:
    """Print the uplink's status."""
    with Store(data_dir_from(args), readonly=True) as store:
        status = read_status(store)
    if args.json:
        print(json.dumps(status.as_dict(), indent=2))
        return 0
    for line in render(status, now=time.time()):
        print(line)
    return 0
