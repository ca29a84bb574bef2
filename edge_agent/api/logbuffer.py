"""The agent's recent log records in memory, for ``GET /v1/logs`` and the live stream.

A :class:`LogBuffer` is a :class:`logging.Handler` attached to the agent's root logger: every
record the agent logs (from the event loop, the writer thread, the uplink thread) is kept in a
ring of ``capacity`` entries, oldest dropped first, and handed to live listeners on the event
loop. Nothing is written to disk: the journal keeps the permanent log.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import threading
from collections import deque
from collections.abc import Callable
from typing import Final

from .models import LogEntry

LEVELS: Final = {"debug": 10, "info": 20, "warning": 30, "error": 40, "critical": 50}
"""Level names as the API writes them, with their :mod:`logging` numbers."""


def level_number(name: str) -> int:
    """The :mod:`logging` number of a level name (``"warning"`` -> 30); ValueError if unknown."""
    try:
        return LEVELS[name.lower()]
    except KeyError:
        raise ValueError(f"unknown log level {name!r}; known levels: {', '.join(LEVELS)}") from None


def level_name(number: int) -> str:
    """The API's name for a :mod:`logging` level number (rounded down to a known level)."""
    name = "debug"
    for candidate, value in LEVELS.items():
        if number >= value:
            name = candidate
    return name


LogListener = Callable[[LogEntry], None]


class LogBuffer(logging.Handler):
    """A ring buffer of log records.

    Args:
        capacity: records kept; the oldest go first.
    """

    def __init__(self, capacity: int) -> None:
        super().__init__(logging.DEBUG)
        self._entries: deque[LogEntry] = deque(maxlen=capacity)
        self._seq = itertools.count(1)
        self._listeners: list[LogListener] = []
        self._loop: asyncio.AbstractEventLoop | None = None
        self._loop_thread: int | None = None
        self.setFormatter(logging.Formatter("%(message)s"))

    def attach(self, logger: logging.Logger, loop: asyncio.AbstractEventLoop) -> None:
        """Start collecting ``logger``'s records; listeners are called on ``loop``."""
        self._loop = loop
        self._loop_thread = threading.get_ident()
        logger.addHandler(self)

    def detach(self, logger: logging.Logger) -> None:
        """Stop collecting; the records kept so far stay readable."""
        logger.removeHandler(self)
        self._listeners.clear()

    def emit(self, record: logging.LogRecord) -> None:
        """Keep one record (called by :mod:`logging` with the handler's lock held)."""
        try:
            message = self.format(record)
        except Exception:  # a broken log call must not break the agent
            message = str(record.msg)
        entry: LogEntry = {
            "seq": next(self._seq),
            "time": record.created,
            "level": level_name(record.levelno),
            "logger": record.name,
            "message": message,
        }
        self._entries.append(entry)
        if not self._listeners or self._loop is None:
            return
        if threading.get_ident() == self._loop_thread:
            self._notify(entry)
        else:
            # RuntimeError: the loop is closed, the agent is shutting down.
            with contextlib.suppress(RuntimeError):
                self._loop.call_soon_threadsafe(self._notify, entry)

    def _notify(self, entry: LogEntry) -> None:
        for listener in list(self._listeners):
            listener(entry)

    def listen(self, listener: LogListener) -> Callable[[], None]:
        """Call ``listener`` (on the event loop) with each new record; returns the remover."""
        self._listeners.append(listener)

        def remove() -> None:
            if listener in self._listeners:
                self._listeners.remove(listener)

        return remove

    def records(
        self,
        *,
        level: int = logging.DEBUG,
        since: float | None = None,
        after_seq: int = 0,
        match: Callable[[LogEntry], bool] | None = None,
        limit: int | None = None,
    ) -> list[LogEntry]:
        """Kept records at ``level`` or above, newer than ``since`` (epoch s) and
        ``after_seq``, that ``match`` accepts; the newest ``limit`` of them, oldest first."""
        with self.lock or threading.Lock():
            entries = list(self._entries)
        out = [
            e
            for e in entries
            if LEVELS[e["level"]] >= level
            and e["seq"] > after_seq
            and (since is None or e["time"] >= since)
            and (match is None or match(e))
        ]
        if limit is not None:
            out = out[-limit:] if limit else []
        return out
