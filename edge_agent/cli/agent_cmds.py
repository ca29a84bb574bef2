"""``edge-agent run``, ``demo``, ``status`` and ``drivers``."""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import signal
import sys
import time
import tomllib
from typing import Any

from ..agent import Agent
from ..api.configapply import roll_back_unloadable_apply
from ..config import bundled_config, parse_config, resolve_config_path
from ..driver import available_drivers, load_driver
from ..durations import format_duration
from ..logs import setup_logging
from ..store import Store
from .common import (
    add_config_option,
    add_data_dir_option,
    config_from,
    data_dir_from,
    demo_data_dir,
)
from .live import LiveView

LOG_LEVELS = ["debug", "info", "warning", "error"]


def register(commands: Any) -> None:
    """Add this module's subcommands."""
    run = commands.add_parser(
        "run",
        help="run the agent (as the systemd service does)",
        description="Run the agent with a config until SIGTERM or Ctrl-C.",
    )
    add_config_option(run)
    run.add_argument("--log-level", choices=LOG_LEVELS, help="override the config's log.level")
    run.set_defaults(handler=cmd_run)

    demo = commands.add_parser(
        "demo",
        help="run a simulated lab Pi and show its readings live",
        description=(
            "Run the agent on the built-in demo config (simulated road-surface and air "
            "sensors, a parking bay, a BLE tag; local store; no broker) and show the latest "
            "readings live. Ctrl-C stops it; the readings stay in the data directory."
        ),
    )
    demo.add_argument("--data-dir", metavar="DIR", help=f"default: {demo_data_dir()}")
    demo.add_argument(
        "--duration", type=float, metavar="SECONDS", help="stop after this many seconds"
    )
    demo.add_argument("--log-level", choices=LOG_LEVELS, default="warning")
    demo.set_defaults(handler=cmd_demo)

    status = commands.add_parser(
        "status",
        help="show what the store holds: streams, latest values, counters",
        description="Summarise the readings database of a device (read-only).",
    )
    add_data_dir_option(status)
    status.add_argument("--json", action="store_true", help="print JSON instead of a table")
    status.set_defaults(handler=cmd_status)

    drivers = commands.add_parser(
        "drivers",
        help="list the installed sensor drivers",
        description="List the drivers registered under the edge_agent.drivers entry points.",
    )
    drivers.set_defaults(handler=cmd_drivers)


def cmd_run(args: argparse.Namespace) -> int:
    """Run the agent until stopped."""
    # Until the agent's own handler is installed, a stop request (systemd stopping a unit
    # that is still starting) ends the process cleanly: nothing has been read yet.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    # A config applied through the API that no longer loads goes back to the previous one
    # before anything else, so systemd does not restart the agent into the same error.
    roll_back_unloadable_apply(
        resolve_config_path(args.config), logging.getLogger("edge_agent.api")
    )
    config = config_from(args)
    logger = setup_logging(args.log_level or config.log.level)
    asyncio.run(Agent(config, logger=logger).run())
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    """Run the demo config with a live view."""
    data = tomllib.loads(bundled_config("demo.toml"))
    data_dir = args.data_dir or demo_data_dir()
    data.setdefault("store", {})["data_dir"] = str(data_dir)
    config = parse_config(data)
    logger = setup_logging(args.log_level)
    view = LiveView(sys.stdout, title=f"{config.device.id} ({config.device.city}) demo")
    agent = Agent(config, logger=logger, on_reading=view.update)
    print(
        f"Simulated lab Pi {config.device.id!r}: {len(config.sensors)} sensors, "
        f"readings stored in {data_dir}/readings.db. Ctrl-C stops.",
        flush=True,
    )

    async def main() -> None:
        loop = asyncio.get_running_loop()
        runner = loop.create_task(agent.run())
        started = time.monotonic()
        while not runner.done():
            await asyncio.sleep(1.0)
            view.render(agent.stats())
            if args.duration is not None and time.monotonic() - started >= args.duration:
                agent.request_stop()
        await runner

    asyncio.run(main())
    stats = agent.stats()
    print(
        f"\nStopped after {format_duration(round(stats.uptime_s))}: {stats.committed} readings "
        f"committed to {data_dir}/readings.db.\n"
        f"Look at them with: edge-agent readings tail --data-dir {data_dir}",
        flush=True,
    )
    return 0


def cmd_status(args: argparse.Namespace) -> int:
    """Print the store's summary."""
    with Store(data_dir_from(args), readonly=True) as store:
        latest = store.latest()
        counters = store.counters()
        events = store.recent_events(5)
        summary = {
            "database": str(store.path),
            "store_uid": store.uid,
            "readings": store.count(),
            "last_row": store.last_row(),
            "file_bytes": store.file_bytes(),
            "counters": counters,
            "streams": [r.as_dict() for r in latest],
            "recent_events": events,
        }
    if args.json:
        print(json.dumps(summary, indent=2))
        return 0
    print(f"database   {summary['database']} ({store.file_bytes() / 1e6:.1f} MB on disk)")
    print(f"readings   {summary['readings']} stored, last row {summary['last_row']}")
    for name, amount in sorted(counters.items()):
        print(f"counter    {name} = {amount}")
    print(f"streams    {len(latest)}")
    now = time.time()
    for r in latest:
        flags = ",".join(r.quality.names())
        value = f"{r.value} {r.unit}".strip()
        age = format_duration(max(1, round(now - r.time)))
        print(f"  {r.stream:<28} {value:>16}  {age} ago{'  [' + flags + ']' if flags else ''}")
    for event in events:
        stamp = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(event["time"]))
        print(f"event      {stamp} {event['severity']}: {event['message']}")
    return 0


def cmd_drivers(args: argparse.Namespace) -> int:
    """List registered drivers with their one-line summaries and backends.

    A driver package that fails to import is listed with the error and makes the command
    exit 1, so a broken third-party plugin is visible rather than hiding the others.
    """
    failed = 0
    for name, entry in sorted(available_drivers().items()):
        try:
            cls = load_driver(name)
        except Exception as exc:
            print(f"{name:<28} cannot be loaded ({entry.value}): {type(exc).__name__}: {exc}")
            failed += 1
            continue
        print(f"{name:<28} {cls.summary or entry.value}")
        if cls.family is not None:
            names = ", ".join(b.name for b in cls.backends)
            print(f"{'':<28} {cls.family} backends: {names}")
    return 1 if failed else 0
