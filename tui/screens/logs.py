"""Logs: the agent's recent log records (``GET /v1/logs``), filtered by level and text, followed
as they come (new records only, every second while shown), or paused to read.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable
from datetime import tzinfo
from typing import ClassVar

from rich.text import Text
from textual.app import ComposeResult, SystemCommand
from textual.binding import Binding, BindingType
from textual.containers import Horizontal
from textual.widgets import Input, RichLog, Static

from edge_agent.api.client import ApiClient
from edge_agent.api.models import LogEntry

from ..format import clock_text
from ..widgets.readout import Readout
from .base import ConsoleScreen

LEVELS = ("debug", "info", "warning", "error")
LEVEL_RANK = {"debug": 10, "info": 20, "warning": 30, "error": 40, "critical": 50}
LEVEL_STYLE = {"debug": "dim", "info": "", "warning": "yellow", "error": "red", "critical": "b red"}
KEPT = 2000
"""Records kept in the console (the agent keeps ``[api] log_buffer``)."""
SHOWN = 500
"""Records written to the screen after a filter change."""


def matches(record: LogEntry, level: str, text: str) -> bool:
    """Whether ``record`` passes the level and the text filter (logger or message, any case)."""
    if LEVEL_RANK.get(record["level"], 0) < LEVEL_RANK[level]:
        return False
    if not text:
        return True
    needle = text.lower()
    return needle in record["message"].lower() or needle in record["logger"].lower()


def record_line(record: LogEntry, tz: tzinfo | None) -> Text:
    """time level logger: message."""
    line = Text()
    line.append(clock_text(record["time"], tz) + " ", style="dim")
    line.append(f"{record['level'][:4]:<4} ", style=LEVEL_STYLE.get(record["level"], ""))
    logger = record["logger"].removeprefix("edge_agent.").removeprefix("edge_agent")
    if logger:
        line.append(f"{logger}: ", style="cyan")
    line.append(record["message"])
    return line


class LogsScreen(ConsoleScreen):
    """The agent's log."""

    MODE = "logs"
    CSS_PATH = "logs.tcss"
    AUTO_FOCUS = "#log"
    POLL = 1.0
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("slash", "filter", "Filter"),
        Binding("v", "level", "Level"),
        Binding("f", "follow", "Follow/pause"),
        Binding("escape", "leave_filter", "Done", show=False),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.records: deque[LogEntry] = deque(maxlen=KEPT)
        self.last_seq = 0
        self.level = "info"
        self.text = ""
        self.following = True

    def compose_body(self) -> ComposeResult:
        with Horizontal(id="logs-bar"):
            yield Input(placeholder="filter: logger or text  (/)", id="log-filter")
            yield Readout("", id="log-mode")
        yield RichLog(id="log", wrap=True, max_lines=KEPT, auto_scroll=True)

    def on_mount(self) -> None:
        super().on_mount()
        self.query_one("#log-filter", Input).cursor_blink = False
        self.show_mode()

    def show_mode(self) -> None:
        state = "[$success]following[/]" if self.following else "[$warning]paused[/]"
        self.query_one("#log-mode", Static).update(f"level ≥ [b]{self.level}[/]  {state}")

    async def load(self, api: ApiClient) -> None:
        if not self.following and self.ready:
            return
        reply = await api.logs(after=self.last_seq or None, limit=SHOWN)
        new = [r for r in reply["records"] if r["seq"] > self.last_seq]
        if self.last_seq and reply["records"] and reply["records"][0]["seq"] > self.last_seq + 1:
            self.query_one("#log", RichLog).write(Text("… earlier records not shown", style="dim"))
        if not new:
            return
        self.last_seq = new[-1]["seq"]
        self.records.extend(new)
        log = self.query_one("#log", RichLog)
        for record in new:
            if matches(record, self.level, self.text):
                log.write(record_line(record, self.console.tz))

    def rewrite(self) -> None:
        """Write the kept records again through the current filter."""
        log = self.query_one("#log", RichLog)
        log.clear()
        chosen = [r for r in self.records if matches(r, self.level, self.text)][-SHOWN:]
        for record in chosen:
            log.write(record_line(record, self.console.tz))

    def on_input_changed(self, event: Input.Changed) -> None:
        self.text = event.value.strip()
        self.rewrite()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        self.query_one("#log", RichLog).focus()

    def action_filter(self) -> None:
        """Type a filter."""
        self.query_one("#log-filter", Input).focus()

    def action_leave_filter(self) -> None:
        """Back to the log."""
        self.query_one("#log", RichLog).focus()

    def action_level(self) -> None:
        """Show the next level up (debug, info, warning, error, then debug again)."""
        self.level = LEVELS[(LEVELS.index(self.level) + 1) % len(LEVELS)]
        self.show_mode()
        self.rewrite()

    def action_follow(self) -> None:
        """Follow new records, or pause to read."""
        self.following = not self.following
        self.query_one("#log", RichLog).auto_scroll = self.following
        self.show_mode()
        if self.following:
            self.reload()

    def commands(self) -> Iterable[SystemCommand]:
        for level in LEVELS:
            yield SystemCommand(
                f"Log level {level}",
                f"show records of level {level} and above",
                lambda chosen=level: self._set_level(chosen),
            )

    def _set_level(self, level: str) -> None:
        self.level = level
        self.show_mode()
        self.rewrite()
