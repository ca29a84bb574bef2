"""``edge-agent``: the agent's command line.

Exit codes: 0 success, 1 a runtime failure (store unusable, device error), 2 a usage or config
error (the message names the file, key path and accepted values), 130 interrupted.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from experiments.parking import cli as parking_cli

from .. import __version__
from ..errors import ConfigError, EdgeKitError
from . import (
    agent_cmds,
    api_cmds,
    config_cmds,
    decode,
    doctor_cmds,
    experiment_cmds,
    image_cmds,
    inventory_cmds,
    peers_cmds,
    readings_cmds,
    region_cmds,
    sync_cmds,
)

EXIT_OK = 0
EXIT_FAILURE = 1
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130


def build_parser() -> argparse.ArgumentParser:
    """The whole command tree; each module adds its own subcommands."""
    parser = argparse.ArgumentParser(
        prog="edge-agent",
        description="Digitallabor Edge Kit agent: reads sensors, keeps every reading, syncs.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    agent_cmds.register(commands)
    config_cmds.register(commands)
    readings_cmds.register(commands)
    parking_cli.register(commands)
    decode.register(commands)
    experiment_cmds.register(commands)
    sync_cmds.register(commands)
    region_cmds.register(commands)
    api_cmds.register(commands)
    peers_cmds.register(commands)
    image_cmds.register(commands)
    inventory_cmds.register(commands)
    doctor_cmds.register(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command; returns the exit code (also used as the console script)."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        code: int = args.handler(args)
    except ConfigError as exc:
        print(f"edge-agent: config error:\n{exc}", file=sys.stderr)
        return EXIT_USAGE
    except EdgeKitError as exc:
        print(f"edge-agent: {exc}", file=sys.stderr)
        return EXIT_FAILURE
    except KeyboardInterrupt:
        return EXIT_INTERRUPTED
    except BrokenPipeError:  # output piped into head(1) and friends
        return EXIT_OK
    return code
