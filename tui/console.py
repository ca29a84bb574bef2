"""The console application: its screens, keys, connection to the agent and live updates.

::

    live worker ──messages──▶ LiveCache ──(a few times a second)──▶ current screen.on_live()
    screen timer ──▶ screen.load() in a worker ──API──▶ widgets

One worker follows the agent's live stream and reconnects with back-off when it ends; each
screen reloads what it shows on its own timer while it is shown. Widgets are updated from a
timer at ``refresh_hz`` at most, in one batch, and only where something changed, so the console
stays light on a slow SSH link. Nothing waits for the agent on the event loop.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable, Iterable
from datetime import tzinfo
from functools import partial
from typing import ClassVar

from textual import work
from textual.app import App, ScreenStackError, SystemCommand
from textual.binding import Binding, BindingType
from textual.css.query import NoMatches
from textual.screen import Screen
from textual.worker import WorkerCancelled, WorkerFailed

from edge_agent.api.client import ApiClient, ApiError
from edge_agent.api.models import DeviceInfo

from .format import clock_text, duration_text
from .link import LinkState, Target, TrackedConnector
from .live import LiveCache
from .screens import SCREENS
from .screens.base import ConsoleScreen

RETRY_DELAYS = (1.0, 2.0, 4.0, 8.0, 10.0)
"""Seconds between attempts to reach an agent that does not answer (the last one repeats)."""


class EdgeConsole(App[None]):
    """The technician's console for one agent.

    Args:
        target: where the agent is (ignored when ``api`` is given).
        api: a ready client (tests).
        read_only: visitors' mode: every action that changes something is hidden and refused.
        clock: the time shown and used for ages (a fixed one in snapshot tests).
        tz: time zone of the times shown (None: the local one).
        refresh_hz: how often at most live values are painted.
        first_screen: the screen shown first (a mode name: ``device``, ``fleet``, ...).
        live: follow the live stream (off in snapshot tests, whose data must not move).
    """

    CSS_PATH = "app.tcss"
    TITLE = "edge-tui"
    MODES: ClassVar[dict[str, str | Callable[[], Screen[None]]]] = {
        entry.mode: entry.make for entry in SCREENS
    }
    BINDINGS: ClassVar[list[BindingType]] = [
        *(
            Binding(entry.key, f"show('{entry.mode}')", entry.label, show=False)
            for entry in SCREENS
        ),
        Binding("q", "quit", "Quit"),
        Binding("ctrl+r", "reload", "Reload", show=False),
    ]

    def __init__(
        self,
        target: Target | None = None,
        *,
        api: ApiClient | None = None,
        read_only: bool = False,
        clock: Callable[[], float] = time.time,
        tz: tzinfo | None = None,
        refresh_hz: float = 1.0,
        first_screen: str = "device",
        live: bool = True,
    ) -> None:
        super().__init__()
        self.target = target or Target()
        self.connections: TrackedConnector | None = None
        if api is None:
            api, self.connections = self.target.client()
        self.api = api
        self.where = self.api.description
        self.read_only = read_only
        self.clock = clock
        self.tz = tz
        self.refresh_hz = refresh_hz
        self.first_screen = first_screen
        self.follow = live
        self.cache = LiveCache()
        self.device: DeviceInfo | None = None
        self.link = LinkState()
        self.faults: list[str] = []
        """Unexpected errors met in workers (shown as notifications; tests expect none)."""
        self.animation_level = "none"  # animations cost bytes on a slow link
        self.nav_entries = [(e.key, e.mode, e.label) for e in SCREENS]

    # -- start and stop ----------------------------------------------------------------------

    def on_mount(self) -> None:
        self.switch_mode(self.first_screen)
        self.set_interval(1 / self.refresh_hz, self.flush_live, name="flush-live")
        self.load_device()
        if self.follow:
            self.follow_live()

    async def on_unmount(self) -> None:
        self.workers.cancel_all()
        await self.api.close()
        if self.connections is not None:
            await self.connections.close_all()

    # -- the connection ----------------------------------------------------------------------

    def link_up(self, instance: str | None = None) -> None:
        """The agent answered (``instance``: the one the live stream greeted with)."""
        previous = self.link
        restarted = (
            instance is not None and previous.instance is not None and instance != previous.instance
        )
        self.set_link(previous.up(self.clock(), instance))
        if restarted or self.device is None:
            self.load_device()
        if restarted:
            screen = self.console_screen()
            if screen is not None:
                screen.reload()

    def link_down(self, error: ApiError, retry_in: float | None = None) -> None:
        """The agent did not answer."""
        now = self.clock()
        text = error.error + (f"; {error.fix}" if error.fix else "")
        self.set_link(self.link.down(now, text, now + retry_in if retry_in else None))

    def set_link(self, state: LinkState) -> None:
        if state != self.link:
            self.link = state
            self.update_status()

    def report(self, error: BaseException, what: str) -> None:
        """Tell the technician that ``what`` failed: an unreachable agent goes to the status
        line, an error answer (404, 409, 422, ...) to a notification."""
        if isinstance(error, ApiError) and error.status == 0:
            self.link_down(error)
            return
        if isinstance(error, ApiError):
            message = error.error + (f"\n{error.fix}" if error.fix else "")
            self.notify(message, title=f"{what} failed", severity="error", timeout=8)
            return
        self.faults.append(f"{what}: {type(error).__name__}: {error}")
        self.notify(f"{type(error).__name__}: {error}", title=f"{what} failed", severity="error")

    @work(group="device", exclusive=True)
    async def load_device(self) -> None:
        """Fetch who the agent is (at start, and when it restarted)."""
        try:
            device = await self.api.device()
        except Exception as exc:
            self.report(exc, "device")
            return
        self.device = device
        self.cache.health = device["health"]
        self.set_link(self.link.up(self.clock(), device["instance"]))
        self.update_status()

    @work(group="live", exclusive=True)
    async def follow_live(self) -> None:
        """Follow the live stream for ever; reconnect with back-off when it ends or fails."""
        failures = 0
        while True:
            try:
                async with self.api.live("*", heartbeat=5.0) as stream:
                    async for message in stream:
                        if message["type"] == "hello":
                            failures = 0
                            self.link_up(message["instance"])
                        elif message["type"] == "heartbeat":
                            self.link_up()
                        self.cache.add(message)
                error = ApiError(
                    0, f"the agent at {self.where} ended the live stream (stopping or restarting)"
                )
            except ApiError as exc:
                error = exc
            delay = RETRY_DELAYS[min(failures, len(RETRY_DELAYS) - 1)]
            failures += 1
            self.link_down(error, delay)
            await asyncio.sleep(delay)

    async def pause_live(self) -> None:
        """Close the live stream (before a config apply restarts the agent; it is opened again
        with :meth:`resume_live`). An agent that stops with live clients attached may fail to
        restart (see tui/README.md), so the console lets go of it first."""
        for worker in list(self.workers):
            if worker.group == "live":
                worker.cancel()
                with contextlib.suppress(WorkerCancelled, WorkerFailed):
                    await worker.wait()

    def resume_live(self) -> None:
        """Follow the live stream again."""
        if self.follow:
            self.follow_live()

    def flush_live(self) -> None:
        """Hand what the live stream brought to the current screen, in one batch."""
        changes = self.cache.take_changes()
        if changes.health:
            self.update_status()
        screen = self.console_screen()
        if changes and screen is not None and screen.ready:
            # NoMatches: the screen is being taken down (the console is closing).
            with contextlib.suppress(NoMatches):
                screen.on_live(changes)

    # -- status line -------------------------------------------------------------------------

    def status_markup(self) -> str:
        """The status line: the device, the link, the health, read-only."""
        link, device = self.link, self.device
        if link.connected is False:
            since = clock_text(link.since, self.tz)
            return f"[$error b]✖ unreachable[/] since {since}: {escape(link.error or '')}"
        parts = ["[$accent b]read-only[/]"] if self.read_only else []
        if device is not None:
            parts.append(f"[b]{escape(device['id'])}[/]")
            place = " · ".join(p for p in (device["city"], device["lab"]) if p)
            if place:
                parts.append(escape(place))
        health = self.cache.health or (device["health"] if device else None)
        if health is not None:
            if health["status"] == "ok":
                parts.append("[$success]● ok[/]")
            else:
                count = len(health["problems"])
                parts.append(f"[$warning]▲ degraded ({count})[/]")
        if device is not None:
            parts.append(f"up {duration_text(device['uptime_s'])}")
        if link.connected is None:
            parts.append("connecting …")
        parts.append(f"[$text-muted]{escape(self.where)}[/]")
        return "  ".join(parts)

    def console_screen(self) -> ConsoleScreen | None:
        """The screen shown, when it is one of the console's own (not a dialog)."""
        try:
            screen = self.screen
        except ScreenStackError:  # not started yet, or closing
            return None
        return screen if isinstance(screen, ConsoleScreen) else None

    def update_status(self) -> None:
        screen = self.console_screen()
        if screen is not None:
            screen.show_status(self.status_markup())

    # -- actions -----------------------------------------------------------------------------

    def action_show(self, mode: str) -> None:
        """Show the screen ``mode``."""
        if mode in self.MODES and self.current_mode != mode:
            self.switch_mode(mode)

    def action_reload(self) -> None:
        """Fetch the current screen's data now."""
        self.load_device()
        screen = self.console_screen()
        if screen is not None:
            screen.reload()

    def get_system_commands(self, screen: Screen[object]) -> Iterable[SystemCommand]:
        yield from super().get_system_commands(screen)
        for entry in SCREENS:
            yield SystemCommand(
                f"Show {entry.label}", entry.help, partial(self.action_show, entry.mode)
            )
        if isinstance(screen, ConsoleScreen):
            yield from screen.commands()


def escape(text: str) -> str:
    """``text`` safe inside content markup."""
    return text.replace("[", r"\[")
