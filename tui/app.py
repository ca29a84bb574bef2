"""``edge-tui``: the technician's terminal console for Digitallabor edge agents.

::

    edge-tui                              # the agent on this device
    edge-tui --socket /run/edge-agent/api.sock
    edge-tui --ssh pi@lab-pi.local        # a remote agent, through SSH (no new port)
    edge-tui --read-only                  # for visitors: look, change nothing

The console (:mod:`tui.console`) is imported only after the options are read, because Textual
takes its frame-rate cap from the environment when it is imported.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from pathlib import Path

SCREEN_NAMES = ("fleet", "device", "experiments", "parking", "icing", "sync", "logs", "config")

DESCRIPTION = """\
Technician's console for a Digitallabor edge agent: sensors with live values, health and
alerts, experiments, parking bays, road icing, sync backlog, logs and config. Talks to the
agent's control API on its Unix socket, or through SSH ('ssh HOST edge-agent api bridge'), so
no network port is opened on the device.

keys: 1-8 screens, q quit, ctrl+p command palette; each screen's keys are in the footer."""

EPILOG = """\
examples:
  edge-tui
  edge-tui --ssh pi@lab-pi.local
  edge-tui --ssh tech@10.0.0.7 --ssh-option=-p2222 --remote-command /opt/edge-agent/bin/edge-agent
  edge-tui --read-only --screen fleet"""


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    """The command line."""
    parser = argparse.ArgumentParser(
        prog="edge-tui",
        description=DESCRIPTION,
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--socket",
        type=Path,
        metavar="PATH",
        help="the agent's API socket (default: [api] socket of $EDGE_AGENT_CONFIG or "
        "/etc/edge-agent/agent.toml, else $EDGE_AGENT_SOCKET, /run/edge-agent/api.sock); "
        "with --ssh: the socket on the remote device",
    )
    parser.add_argument(
        "--ssh",
        metavar="[USER@]HOST",
        help="reach a remote agent through SSH (runs 'edge-agent api bridge' there)",
    )
    parser.add_argument(
        "--ssh-option",
        action="append",
        default=[],
        metavar="OPT",
        help="an option for ssh, e.g. --ssh-option=-p2222 or --ssh-option=-ikey (repeatable)",
    )
    parser.add_argument(
        "--remote-command",
        default="edge-agent",
        metavar="PROGRAM",
        help="the edge-agent program on the remote device (default: edge-agent)",
    )
    parser.add_argument(
        "--read-only",
        action="store_true",
        help="visitors' mode: show everything, hide and refuse every action",
    )
    parser.add_argument(
        "--screen",
        choices=SCREEN_NAMES,
        default="device",
        help="the screen to open on (default: device)",
    )
    parser.add_argument(
        "--refresh",
        type=float,
        default=1.0,
        metavar="HZ",
        help="how often at most live values are repainted (default 1; 0.2 on a very slow "
        "link, up to 10 on a fast one)",
    )
    parser.add_argument(
        "--max-fps",
        type=int,
        default=15,
        metavar="N",
        help="frames per second at most for any repaint (default 15)",
    )
    parser.add_argument(
        "--timeout",
        type=float,
        default=10.0,
        metavar="SECONDS",
        help="per request (default 10; at least 20 over SSH)",
    )
    args = parser.parse_args(argv)
    if not 0.1 <= args.refresh <= 30:
        parser.error(f"--refresh {args.refresh:g}: give 0.1 to 30 (repaints per second)")
    if not 1 <= args.max_fps <= 60:
        parser.error(f"--max-fps {args.max_fps}: give 1 to 60")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    """Run the console until the technician quits (q)."""
    args = parse_args(argv)
    if not sys.stdin.isatty() or not sys.stderr.isatty():  # Textual draws on stderr
        print("edge-tui: needs a terminal (run it in a terminal or over 'ssh -t')", file=sys.stderr)
        return 2
    os.environ.setdefault("TEXTUAL_FPS", str(args.max_fps))

    from .console import EdgeConsole  # noqa: PLC0415 - after TEXTUAL_FPS is set
    from .link import Target  # noqa: PLC0415

    target = Target(
        socket=args.socket,
        ssh=args.ssh,
        ssh_options=tuple(args.ssh_option),
        remote_command=args.remote_command,
        timeout=args.timeout,
    )
    app = EdgeConsole(
        target,
        read_only=args.read_only,
        refresh_hz=args.refresh,
        first_screen=args.screen,
    )
    app.run()
    return app.return_code or 0


if __name__ == "__main__":
    sys.exit(main())
