"""Sync: the uplink to the region broker: its state, the outbox backlog, how fast it drains, and
the last error (``GET /v1/sync``).

The rate is measured by the console itself, from the acknowledged total of two successive
loads; the backlog's trend likewise (positive: the outbox grows).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import tzinfo
from typing import Any

from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.widgets import Static

from edge_agent.api.client import ApiClient
from edge_agent.api.models import SyncInfo

from ..format import age_text, clock_text, count_text, rate_text, shorten
from ..widgets.readout import Readout
from .base import ConsoleScreen

NOT_CONFIGURED = (
    "No uplink configured: the device keeps every reading locally. Add an \\[uplink] section "
    "on the Config screen (8) to sync to the region broker."
)


@dataclass(frozen=True)
class Sample:
    """One load's figures, for the rates."""

    at: float
    acked: int
    backlog: int


def rates(previous: Sample | None, current: Sample) -> tuple[float | None, float | None]:
    """(acknowledged readings per second, backlog change per second) between two samples."""
    if previous is None or current.at <= previous.at:
        return None, None
    span = current.at - previous.at
    return (
        max(0.0, (current.acked - previous.acked) / span),
        (current.backlog - previous.backlog) / span,
    )


def live_value(info: SyncInfo, key: str) -> Any:
    """A figure of the running uplink (None without one)."""
    live = info["live"]
    return live.get(key) if live is not None else None


def uplink_markup(info: SyncInfo, now: float, tz: tzinfo | None) -> str:
    """The uplink panel."""
    status = info["status"]
    live = info["live"]
    state = live_value(info, "state") or status.get("state") or "—"
    style = "$success" if state in ("connected", "sending", "idle") else "$warning"
    since = status.get("state_since")
    lines = [
        f"broker    {info['broker'] or '—'}",
        f"state     [{style} b]{state}[/]" + (f" since {clock_text(since, tz)}" if since else ""),
        f"protocol  {live_value(info, 'protocol') or status.get('protocol') or '—'}",
    ]
    retry = status.get("retry_at")
    if retry and state != "connected":
        lines.append(f"retry at  {clock_text(retry, tz)}")
    if live is not None:
        lines.append(f"packs     {count_text(live['packs_sent'])} sent")
    return "\n".join(lines)


def outbox_markup(
    info: SyncInfo, now: float, acked_rate: float | None, growth: float | None
) -> str:
    """The outbox panel: backlog, trend, rate, oldest, acknowledged."""
    status = info["status"]
    trend = ""
    if growth is not None:
        arrow = "↑" if growth > 0.05 else "↓" if growth < -0.05 else "→"
        trend = f" {arrow} {abs(growth):.1f}/s"
    lines = [
        f"backlog   [b]{count_text(status.get('backlog'))}[/] readings{trend}",
        f"events    {count_text(status.get('events_pending'))} pending",
        f"oldest    {age_text(status.get('oldest_unsynced'), now)}",
        f"rate      {rate_text(acked_rate)}",
        f"acked     {count_text(status.get('acked_total'))} in all",
    ]
    dropped = status.get("dropped_unsynced") or 0
    if dropped:
        lines.append(f"[$error]dropped   {count_text(dropped)} unsynced by retention[/]")
    return "\n".join(lines)


def error_markup(info: SyncInfo, now: float, tz: tzinfo | None) -> str:
    """The last error and the last acknowledgement."""
    status = info["status"]
    live_error = live_value(info, "last_error")
    error = live_error or status.get("last_error")
    lines = []
    if error:
        when = status.get("last_error_at")
        at = f" ({age_text(when, now)})" if when else ""
        lines.append(
            f"[$error]last error{at}:[/] {shorten(str(error), 300).replace('[', chr(92) + '[')}"
        )
    else:
        lines.append("[$success]no error recorded[/]")
    ack = status.get("last_ack_at")
    lines.append(
        f"last acknowledgement {age_text(ack, now)}"
        + (f" (reading {status.get('last_ack_id')})" if status.get("last_ack_id") else "")
    )
    return "\n".join(lines)


class SyncScreen(ConsoleScreen):
    """Uplink and outbox."""

    MODE = "sync"
    CSS_PATH = "sync.tcss"
    POLL = 2.0

    def __init__(self) -> None:
        super().__init__()
        self.previous: Sample | None = None
        self.info: SyncInfo | None = None

    def compose_body(self) -> ComposeResult:
        yield Readout("", id="sync-state", classes="message")
        with Horizontal(id="sync-top"):
            uplink = Readout("", id="uplink", classes="panel")
            uplink.border_title = "Uplink"
            yield uplink
            outbox = Readout("", id="outbox", classes="panel")
            outbox.border_title = "Outbox"
            yield outbox
        errors = Readout("", id="sync-errors", classes="panel")
        errors.border_title = "Errors"
        yield errors

    async def load(self, api: ApiClient) -> None:
        info = await api.sync()
        now = self.console.clock()
        status = info["status"]
        sample = Sample(now, int(status.get("acked_total") or 0), int(status.get("backlog") or 0))
        acked_rate, growth = rates(self.previous, sample)
        self.previous = sample
        self.info = info
        tz = self.console.tz
        note = self.query_one("#sync-state", Static)
        note.display = not info["configured"]
        note.update(NOT_CONFIGURED)
        self.query_one("#uplink", Static).update(uplink_markup(info, now, tz))
        self.query_one("#outbox", Static).update(outbox_markup(info, now, acked_rate, growth))
        self.query_one("#sync-errors", Static).update(error_markup(info, now, tz))
