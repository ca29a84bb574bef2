"""What every ``decode`` format's subcommand shares: ``--sensor``, ``--samples``, ``--file``,
and help whose examples are shown as written."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Final

from ...errors import ConfigError
from ...readings import check_name

_EXAMPLES: Final = "examples:"


def examples(*lines: str) -> str:
    """An epilog of example commands, shown as written (see :class:`HelpFormatter`)."""
    return _EXAMPLES + "".join(f"\n  {line}" for line in lines)


class HelpFormatter(argparse.HelpFormatter):
    """Wraps descriptions to the terminal like argparse does, but keeps examples as written."""

    def _fill_text(self, text: str, width: int, indent: str) -> str:
        if text.startswith(_EXAMPLES):
            return "".join(indent + line for line in text.splitlines(keepends=True))
        return super()._fill_text(text, width, indent)


def add_common(parser: argparse.ArgumentParser, default_sensor: str) -> None:
    """``--sensor NAME`` (the streams' sensor name) and ``--samples`` (parser output as is)."""
    parser.add_argument(
        "--sensor",
        default=default_sensor,
        type=_sensor_name,
        metavar="NAME",
        help=f"sensor name for the streams, as in the config (default: {default_sensor})",
    )
    parser.add_argument(
        "--samples",
        action="store_true",
        help="print one object per decoded sample with every field the parser returns, "
        "instead of one per reading",
    )


def add_file(parser: argparse.ArgumentParser, what: str) -> None:
    """``--file FILE``: read ``what`` from a file, after the INPUT arguments."""
    parser.add_argument(
        "--file", type=Path, metavar="FILE", help=f"read {what} from FILE (after any INPUT)"
    )


def _sensor_name(text: str) -> str:
    try:
        return check_name("sensor", text)
    except ConfigError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
