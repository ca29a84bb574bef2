"""What drivers share with each other and with experiments, owned by the agent.

Two kinds of things live here:

- **Shared I/O** that several drivers use at once, such as the one BLE scanner every BLE tag
  listens to, or one serial bus polled for several UMB sensors. The first driver that
  :meth:`Resources.acquire` s a key creates and starts it; the last one to
  :meth:`Resources.release` it stops it.
- **Handles** that a driver offers to experiments: an output (LED, buzzer) they may switch, a
  camera whose frames they may read. A driver :meth:`Resources.provide` s a handle under
  ``(kind, sensor)``; an experiment :meth:`Resources.lookup` s it.

There is one :class:`Resources` per agent, so nothing is shared through module state.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Protocol, TypeVar

from .errors import ConfigError, unknown_choice


class SharedIO(Protocol):
    """Something started once for all its users and stopped after the last one leaves."""

    async def start(self) -> None:
        """Open the device."""

    async def stop(self) -> None:
        """Close the device."""


S = TypeVar("S", bound=SharedIO)
H = TypeVar("H")


class Resources:
    """Shared I/O by key, with reference counts, and handles by kind and name."""

    def __init__(self) -> None:
        self._shared: dict[str, tuple[SharedIO, int]] = {}
        self._handles: dict[tuple[str, str], object] = {}
        self._lock = asyncio.Lock()

    async def acquire(self, key: str, create: Callable[[], S], kind: type[S]) -> S:
        """The shared I/O under ``key``: created with ``create()`` and started on first use.

        ``kind`` is checked, so two drivers that disagree about what ``key`` holds get a
        clear :class:`TypeError` instead of a confusing failure later.
        """
        async with self._lock:
            entry = self._shared.get(key)
            if entry is None:
                item: SharedIO = create()
                await item.start()
                users = 0
            else:
                item, users = entry
            if not isinstance(item, kind):
                raise TypeError(f"shared {key!r} is a {type(item).__name__}, not {kind.__name__}")
            self._shared[key] = (item, users + 1)
            return item

    async def release(self, key: str) -> None:
        """One user less of ``key``; the last one stops it."""
        async with self._lock:
            entry = self._shared.get(key)
            if entry is None:
                return
            item, users = entry
            if users > 1:
                self._shared[key] = (item, users - 1)
                return
            del self._shared[key]
            await item.stop()

    def users(self, key: str) -> int:
        """How many drivers hold ``key`` now."""
        entry = self._shared.get(key)
        return entry[1] if entry else 0

    def provide(self, kind: str, name: str, handle: object) -> None:
        """Offer ``handle`` (an output, a camera) to experiments as ``(kind, name)``."""
        self._handles[(kind, name)] = handle

    def withdraw(self, kind: str, name: str) -> None:
        """Take a handle back (its driver stopped)."""
        self._handles.pop((kind, name), None)

    def lookup(self, kind: str, name: str, expected: type[H]) -> H:
        """The handle ``(kind, name)``; :class:`ConfigError` names the ones there are."""
        handle = self._handles.get((kind, name))
        if handle is None:
            names = [n for k, n in self._handles if k == kind]
            raise ConfigError(unknown_choice(kind, name, names))
        if not isinstance(handle, expected):
            actual = type(handle).__name__
            raise TypeError(f"{kind} {name!r} is a {actual}, not {expected.__name__}")
        return handle

    def names(self, kind: str) -> list[str]:
        """The names of the handles of ``kind`` on offer."""
        return sorted(n for k, n in self._handles if k == kind)


__all__ = ["Resources", "SharedIO"]
