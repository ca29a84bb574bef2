"""Opening the store for writing when the database file may be damaged.

An SD card that lost power at the wrong moment, or a card that is wearing out, can leave a
database that SQLite cannot use: garbage where the header should be, a file cut short, or pages
that fail ``PRAGMA quick_check``. :class:`~edge_agent.store.Store` detects these at opening
(see :mod:`edge_agent.store.database`) and raises
:class:`~edge_agent.errors.StoreCorruptError`. :func:`open_store` then, without anyone's help:

1. sets the damaged file aside, renamed with the time it was found
   (``readings.db`` -> ``readings-corrupt-20261124T220501Z.db``; its ``-wal`` and ``-shm``
   files move with it, so that ``sqlite3`` can still open the pair to rescue what is readable);
2. creates a fresh database (a new store uid, so reading ids never repeat those of the old one);
3. records an ``alert`` event ``store_replaced`` in the new database, which says what was wrong
   and where the old file went (the uplink sends events to the region), and counts it in the
   persistent counter ``store.replaced``.

Damage that shows only while the agent runs (``SQLITE_CORRUPT`` or ``SQLITE_NOTADB`` from a
write or a read: pages that were fine at start went bad on the card) is handled the same way by
:func:`replace_damaged`, which the batch writer calls (:class:`~edge_agent.store.BatchWriter`):
the damaged store is closed and set aside, the fresh database takes its place with the same
alert, and the writer commits the readings it holds there. The fresh database continues the
old one's row and event numbering (:meth:`~edge_agent.store.Store.raise_floors`), so that a
position the uplink learnt from the old file can never skip readings or events of the new one;
read-only stores notice the change with :meth:`~edge_agent.store.Store.is_replaced`.

Only damage is handled so: a database that is locked by another agent, newer than this agent, or
on a disk that fails to read raises :class:`~edge_agent.errors.StoreError` as before, and the
file stays where it is. Set-aside files are never deleted by the agent; ``edge-agent doctor``
lists them.
"""

from __future__ import annotations

import contextlib
import logging
import os
import sqlite3
import time
from collections.abc import Callable
from pathlib import Path
from typing import Final

from ..errors import StoreCorruptError
from .database import DB_FILENAME, Store

SET_ASIDE_PATTERN: Final = "readings-corrupt-*.db"
"""Glob of set-aside databases in the data directory."""


def set_aside(data_dir: Path, *, now: float) -> Path:
    """Rename the database (and its WAL and shared-memory files) out of the way.

    Returns the new path of the database file; the name carries the UTC time ``now`` and, if
    that name is taken, a counter.
    """
    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime(now))
    source = data_dir / DB_FILENAME
    target = data_dir / f"readings-corrupt-{stamp}.db"
    number = 1
    while target.exists():
        number += 1
        target = data_dir / f"readings-corrupt-{stamp}-{number}.db"
    os.rename(source, target)
    for suffix in ("-wal", "-shm"):
        companion = Path(f"{source}{suffix}")
        if companion.exists():
            os.rename(companion, Path(f"{target}{suffix}"))
    return target


def open_store(
    data_dir: Path, *, logger: logging.Logger, now: Callable[[], float] = time.time
) -> Store:
    """A writable :class:`Store` for ``data_dir``; a damaged database is replaced (see above)."""
    try:
        return Store(data_dir)
    except StoreCorruptError as exc:
        damage = str(exc)
    return _start_afresh(Path(data_dir), damage, logger=logger, now=now)


def replace_damaged(
    store: Store, damage: str, *, logger: logging.Logger, now: Callable[[], float] = time.time
) -> Store:
    """Close ``store``, found damaged while in use, set its file aside and return a fresh store
    in its place, numbered on from the old one, with the alert (see above)."""
    floor_row = store.next_row - 1
    try:
        floor_event = store.last_event_id()
    except sqlite3.Error:  # the damage may lie there too
        floor_event = store.events_seen
    with contextlib.suppress(sqlite3.Error):
        store.close()
    return _start_afresh(
        store.data_dir, damage, logger=logger, now=now, floors=(floor_row, floor_event)
    )


def _start_afresh(
    data_dir: Path,
    damage: str,
    *,
    logger: logging.Logger,
    now: Callable[[], float],
    floors: tuple[int, int] | None = None,
) -> Store:
    moved = set_aside(data_dir, now=now())
    logger.error(
        "%s; set it aside as %s and started a fresh database (the readings in it are not "
        "lost for good: sqlite3 %s '.recover' can rescue what is readable)",
        damage,
        moved,
        moved,
    )
    store = Store(data_dir)
    try:
        if floors is not None:
            store.raise_floors(row=floors[0], event=floors[1])
        store.add_counter("store.replaced", 1)
        store.record_event(
            "store_replaced",
            f"the readings database was damaged and was replaced by a fresh one: {damage}; "
            f"the old file is kept as {moved.name}",
            severity="alert",
            data={"damage": damage, "moved_to": str(moved)},
            at=now(),
        )
    except BaseException:
        store.close()  # and its lock: whoever tries next must be able to open it
        raise
    return store


__all__ = ["SET_ASIDE_PATTERN", "open_store", "replace_damaged", "set_aside"]
