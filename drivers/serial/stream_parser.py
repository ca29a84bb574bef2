"""What every serial stream parser shares: the receive buffer, ``feed``, ``events``,
``counters`` and ``reset``. A parser adds its own ``next_event`` and names its counters."""

from __future__ import annotations

import abc
from collections.abc import Iterator
from typing import ClassVar, Generic, TypeVar

from .need_data import NeedData

E = TypeVar("E")


class StreamParser(abc.ABC, Generic[E]):
    """Base of the h11-shaped parsers: ``feed()`` bytes, then ``next_event()`` until it returns
    ``NEED_DATA``. Subclasses set :attr:`COUNTERS` and initialise each counter to 0."""

    COUNTERS: ClassVar[tuple[str, ...]]
    """Names of the integer counter attributes, in the order :meth:`counters` lists them."""

    garbage_bytes: int

    def __init__(self) -> None:
        self._buffer = bytearray()
        self.last_rejection = ""
        """Why the most recently rejected frame or line was rejected (for debug logs)."""

    def feed(self, data: bytes) -> None:
        """Append received bytes; an empty ``data`` is allowed and does nothing."""
        self._buffer += data

    @abc.abstractmethod
    def next_event(self) -> E | NeedData:
        """The next decoded event, or ``NEED_DATA`` when no complete one is buffered."""

    def events(self) -> Iterator[E]:
        """Iterate over the buffered events until ``NEED_DATA``."""
        while not isinstance(event := self.next_event(), NeedData):
            yield event

    def counters(self) -> dict[str, int]:
        """The counters by name, for logs and health reports."""
        return {name: getattr(self, name) for name in self.COUNTERS}

    def reset(self) -> None:
        """Drop buffered bytes of an unfinished frame, e.g. after the port was reopened.

        A fragment from before an unplug would otherwise be joined to the first bytes after
        it (and then rejected). The dropped bytes count as garbage; counters are kept.
        """
        self._count_garbage(self._buffer)
        self._buffer.clear()

    def _count_garbage(self, chunk: bytes | bytearray) -> None:
        self.garbage_bytes += len(chunk)
