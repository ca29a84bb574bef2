"""What the uplink knows, kept in the store's ``meta`` table so that ``edge-agent sync status``
(another process, read-only) can show it.

=============================  ===============================================================
key                            value
=============================  ===============================================================
``outbox.readings``            row id up to which the broker acknowledged every reading
``outbox.events``              event id up to which the broker acknowledged every event
``uplink.broker``              ``host:port``
``uplink.protocol``            ``5`` or ``3.1.1`` (of the last connection)
``uplink.state``               ``connecting``, ``connected``, ``waiting`` (to retry), ``stopped``
``uplink.state_since``         epoch seconds
``uplink.retry_at``            when ``waiting`` ends, epoch seconds
``uplink.last_error``          the last failure, with what to check
``uplink.last_error_at``       epoch seconds
``uplink.last_ack_id``         id of the newest reading the broker acknowledged
``uplink.last_ack_time``       that reading's time, epoch seconds
``uplink.last_ack_at``         when it was acknowledged, epoch seconds
``uplink.updated``             when the uplink last wrote any of these
``counter.uplink.acked``       readings acknowledged so far (in ``edge-agent status`` too)
=============================  ===============================================================
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any, Final

from ..store import Store

KEYS: Final = (
    "broker",
    "protocol",
    "state",
    "state_since",
    "retry_at",
    "last_error",
    "last_error_at",
    "last_ack_id",
    "last_ack_time",
    "last_ack_at",
    "updated",
)
EVENT_CURSOR: Final = "outbox.events"
ACKED_COUNTER: Final = "uplink.acked"


@dataclass(frozen=True, slots=True)
class SyncStatus:
    """The uplink's view as ``edge-agent sync status`` shows it (times in epoch seconds)."""

    broker: str | None
    protocol: str | None
    state: str | None
    state_since: float | None
    retry_at: float | None
    last_error: str | None
    last_error_at: float | None
    last_ack_id: str | None
    last_ack_time: float | None
    last_ack_at: float | None
    updated: float | None
    backlog: int
    oldest_unsynced: float | None
    events_pending: int
    acked_total: int
    dropped_unsynced: int

    def as_dict(self) -> dict[str, Any]:
        """Plain JSON-ready data."""
        return asdict(self)


def read_status(store: Store) -> SyncStatus:
    """The uplink's state and the outbox's figures from ``store`` (read-only is fine)."""
    values = {key: store.meta(f"uplink.{key}") for key in KEYS}
    cursor = store.outbox_cursor()
    oldest = store.after(cursor, limit=1)
    conn = store.connection
    events_pending = conn.execute(
        "SELECT count(*) FROM events WHERE id > ?", (int(store.meta(EVENT_CURSOR, 0)),)
    ).fetchone()[0]
    counters = store.counters()
    return SyncStatus(
        broker=values["broker"],
        protocol=values["protocol"],
        state=values["state"],
        state_since=values["state_since"],
        retry_at=values["retry_at"],
        last_error=values["last_error"],
        last_error_at=values["last_error_at"],
        last_ack_id=values["last_ack_id"],
        last_ack_time=values["last_ack_time"],
        last_ack_at=values["last_ack_at"],
        updated=values["updated"],
        backlog=store.backlog(),
        oldest_unsynced=oldest[0].time if oldest else None,
        events_pending=int(events_pending),
        acked_total=counters.get(ACKED_COUNTER, 0),
        dropped_unsynced=counters.get("dropped.unsynced", 0),
    )
