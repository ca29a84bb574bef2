"""``edge-agent config check``."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from ..config import load_config
from ..durations import format_duration
from ..uplink.topics import DeviceTopics


def register(commands: Any) -> None:
    """Add ``config`` and its subcommands."""
    config = commands.add_parser(
        "config", help="check config files", description="Work with the agent's config file."
    )
    sub = config.add_subparsers(dest="config_command", metavar="SUBCOMMAND", required=True)
    check = sub.add_parser(
        "check",
        help="validate a config file and explain what it sets up",
        description=(
            "Validate FILE without touching hardware. Prints what the agent would run; exits 2 "
            "with the key path and the accepted values when something is wrong."
        ),
    )
    check.add_argument("file", type=Path, metavar="FILE")
    check.set_defaults(handler=cmd_check)


def cmd_check(args: argparse.Namespace) -> int:
    """Validate and explain."""
    config = load_config(args.file)
    device, store = config.device, config.store
    print(f"{args.file}: OK")
    print(f"device     {device.id} (city {device.city or '-'}, lab {device.lab or '-'})")
    limits = []
    if store.max_age:
        limits.append(f"max age {format_duration(store.max_age)}")
    if store.max_size:
        limits.append(f"max size {store.max_size / 1e6:.0f} MB")
    every = format_duration(store.flush_interval)
    print(
        f"store      {store.data_dir}/readings.db, commit every {every} or "
        f"{store.flush_count} readings; {', '.join(limits) or 'kept forever'}"
    )
    print(f"sensors    {len(config.sensors)}")
    for sensor in config.sensors:
        options = config.driver_options[sensor.name].model_dump(exclude_defaults=True)
        shown = ", ".join(f"{k}={v}" for k, v in options.items())
        state = "" if sensor.enabled else " (disabled)"
        print(
            f"  {sensor.name:<20} {sensor.driver} every {format_duration(sensor.interval)}"
            f"{state}{'  ' + shown if shown else ''}"
        )
    print(f"experiments {len(config.experiments)}")
    if config.uplink is None:
        print("uplink     none: readings stay on this device")
    else:
        up = config.uplink
        # Raises ConfigError (exit 2) when city or lab is missing, as the agent would at start.
        base = DeviceTopics.build(up.topic_prefix, device.city, device.lab, device.id).base
        print(
            f"uplink     {up.host}:{up.port} {'TLS' if up.tls else 'no TLS'}, topics under {base}"
        )
    return 0
