"""Logging that suits journald under systemd and stays readable in a terminal.

Under systemd (``$JOURNAL_STREAM`` names our stderr) each line starts with a syslog priority
prefix such as ``<4>``, which journald turns into the entry's priority, and carries no time
stamp (the journal has its own). Elsewhere lines carry a local time stamp and the level.
"""

from __future__ import annotations

import logging
import os
import sys

_PRIORITY = {
    logging.DEBUG: 7,
    logging.INFO: 6,
    logging.WARNING: 4,
    logging.ERROR: 3,
    logging.CRITICAL: 2,
}


class JournalFormatter(logging.Formatter):
    """``<priority>logger: message``, the form journald parses from a stream."""

    def format(self, record: logging.LogRecord) -> str:
        """Prefix every line of the record with its syslog priority."""
        priority = _PRIORITY.get(record.levelno, 6)
        text = f"{record.name}: {super().format(record)}"
        return "\n".join(f"<{priority}>{line}" for line in text.splitlines())


def under_journald() -> bool:
    """Whether stderr is connected to the journal (``$JOURNAL_STREAM`` is ``dev:inode``)."""
    stream = os.environ.get("JOURNAL_STREAM", "")
    try:
        dev, inode = (int(part) for part in stream.split(":"))
        st = os.fstat(sys.stderr.fileno())
    except (ValueError, OSError):
        return False
    return (st.st_dev, st.st_ino) == (dev, inode)


def setup_logging(level: str = "info") -> logging.Logger:
    """Configure the ``edge_agent`` logger tree once for a process and return its root."""
    handler = logging.StreamHandler(sys.stderr)
    if under_journald():
        handler.setFormatter(JournalFormatter("%(message)s"))
    else:
        handler.setFormatter(
            logging.Formatter("%(asctime)s %(levelname)-7s %(name)s: %(message)s", "%H:%M:%S")
        )
    root = logging.getLogger("edge_agent")
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    root.propagate = False
    # Libraries (bthome-ble, bleak, zeroconf) log through the root logger: give them the same
    # handler at warning level, so their messages are formatted (and reach the journal) too.
    others = logging.getLogger()
    others.handlers[:] = [handler]
    others.setLevel(max(logging.WARNING, root.level))
    return root
