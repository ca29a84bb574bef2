"""``edge-tui``: the technician's terminal console.

The Textual console (fleet, dashboard, experiments, sync, logs, config screens over SSH) is not
built yet. Until it is, this entry point says so and points to the commands that show the same
information, and exits non-zero so that scripts do not mistake it for a working console.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

NOT_YET = (
    "edge-tui: the terminal console is not part of this version yet.\n"
    "Meanwhile: 'edge-agent status --data-dir DIR' shows streams and latest values, and\n"
    "'edge-agent readings tail --data-dir DIR -f' follows new readings."
)


def main(argv: Sequence[str] | None = None) -> int:
    """Parse the arguments (so ``--help`` works) and explain what to use instead."""
    parser = argparse.ArgumentParser(
        prog="edge-tui",
        description="Technician's console for Digitallabor edge agents (not built yet).",
    )
    parser.parse_args(argv)
    print(NOT_YET, file=sys.stderr)
    return 1
