"""``edge-agent doctor`` and ``edge-agent factory-reset``."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from ..config import load_config, resolve_config_path
from ..doctor import Device, run_checks
from ..doctor.reset import factory_reset, plan_reset
from ..doctor.result import format_bytes
from ..errors import ConfigError
from .common import add_config_option

_MARK = {"ok": "ok  ", "warn": "WARN", "fail": "FAIL"}


def register(commands: Any) -> None:
    """Add this module's subcommands."""
    doctor = commands.add_parser(
        "doctor",
        help="check this device and say what to fix",
        description=(
            "Check the device the agent runs on: config and secrets permissions, clock sync, "
            "under-voltage and throttling, CPU temperature, free space, SD card writes, the "
            "broker, sensors alive, the API socket, open TCP ports and SSH. Each check prints "
            "ok, WARN or FAIL with what to fix; exits 1 when a check fails."
        ),
    )
    add_config_option(doctor)
    doctor.add_argument("--json", action="store_true", help="print JSON instead of lines")
    doctor.add_argument(
        "--timeout",
        type=float,
        default=5.0,
        metavar="SECONDS",
        help="how long connecting to the broker may take (default 5)",
    )
    doctor.add_argument(
        "--root",
        type=Path,
        default=Path("/"),
        metavar="DIR",
        help="read /proc, /sys and /etc below DIR (default /; for tests and mounted images)",
    )
    doctor.set_defaults(handler=cmd_doctor)

    reset = commands.add_parser(
        "factory-reset",
        help="wipe the readings and the credentials (keeps the software and the config)",
        description=(
            "Remove everything in the data directory (readings, events, outbox state, the "
            "lab's own experiments) and the credential files the config names (broker password, "
            "client key and certificate, camera passwords). The software and the config stay. "
            "Stop the agent first. Without --yes, only shows what would be removed."
        ),
    )
    add_config_option(reset)
    reset.add_argument("--yes", action="store_true", help="really remove it")
    reset.set_defaults(handler=cmd_factory_reset)


def cmd_doctor(args: argparse.Namespace) -> int:
    """Run every check and print the results."""
    path = resolve_config_path(args.config)
    config, error = None, None
    try:
        config = load_config(path)
    except ConfigError as exc:
        error = str(exc)
    device = Device(
        config=config,
        config_path=path,
        config_error=error,
        root=args.root,
        connect_timeout=args.timeout,
    )
    results = run_checks(device)
    failed = any(r.status == "fail" for r in results)
    if args.json:
        counts = {s: sum(r.status == s for r in results) for s in ("ok", "warn", "fail")}
        print(json.dumps({"checks": [r.as_dict() for r in results], **counts}, indent=2))
        return 1 if failed else 0
    width = max(len(r.name) for r in results)
    for r in results:
        print(f"{_MARK[r.status]}  {r.name:<{width}}  {r.summary}")
        if r.fix:
            print(f"{'':4}  {'':<{width}}  fix: {r.fix}")
    warned = sum(r.status == "warn" for r in results)
    fails = sum(r.status == "fail" for r in results)
    print(f"\n{len(results)} checks: {fails} failed, {warned} to look at", file=sys.stderr)
    return 1 if failed else 0


def cmd_factory_reset(args: argparse.Namespace) -> int:
    """Show or carry out the factory reset."""
    config = load_config(resolve_config_path(args.config))
    plan = plan_reset(config)
    size = format_bytes(plan.data_bytes())
    print(f"Factory reset of {config.device.id!r}:")
    print(f"  data directory {plan.data_dir}: {len(plan.entries)} entries, {size}, removed")
    for setting, path in plan.credentials:
        print(f"  credential {path} ({setting}): overwritten with zeros and removed")
    if not plan.credentials:
        print("  no credential files named by the config exist")
    print(f"  kept: the installed agent and the config {plan.config_path or '(none)'}")
    if not args.yes:
        print("Nothing removed: run again with --yes to do it.", file=sys.stderr)
        return 2
    report = factory_reset(plan)
    for error in report.errors:
        print(f"edge-agent: {error}", file=sys.stderr)
    print(
        f"Removed {report.removed} entries from {plan.data_dir} and "
        f"{len(report.credentials)} credential files. Provision new credentials before the "
        "agent starts again (the config still names them)."
    )
    return 1 if report.errors else 0
