"""``python -m edge_agent.deploy``: install the service files, or list them.

::

    python -m edge_agent.deploy install [--root DIR] [--admin-user NAME ...] [--no-enable]
    python -m edge_agent.deploy list        # package file, target path, mode (for other tools)

Exit codes as ``edge-agent``: 0 done, 1 a step failed (the message says which), 2 usage.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from importlib import resources
from pathlib import Path

from .install import DEPLOY_FILES, DeployError, Installer


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command; returns the exit code."""
    parser = argparse.ArgumentParser(
        prog="python -m edge_agent.deploy",
        description="Install the agent's systemd unit, user, udev and journald files.",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    install = sub.add_parser("install", help="install into a root file system (default /)")
    install.add_argument("--root", type=Path, default=Path("/"), metavar="DIR")
    install.add_argument(
        "--admin-user",
        action="append",
        default=[],
        metavar="NAME",
        help="a technician's account to add to group edge-agent (repeatable)",
    )
    install.add_argument("--no-enable", action="store_true", help="do not enable the unit")
    sub.add_parser("list", help="print package file, target path and mode, tab-separated")
    args = parser.parse_args(argv)

    if args.command == "list":
        base = resources.files(__package__ or "edge_agent.deploy")
        for item in DEPLOY_FILES:
            print(f"{base.joinpath(item.source)}\t{item.target}\t{item.mode:04o}")
        return 0
    try:
        Installer(args.root).install(admin_users=args.admin_user, enable=not args.no_enable)
    except DeployError as exc:
        print(f"edge_agent.deploy: {exc}", file=sys.stderr)
        return 1
    except PermissionError as exc:
        print(
            f"edge_agent.deploy: {exc.filename}: permission denied; run as root",
            file=sys.stderr,
        )
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
