"""Experiments: each one's state, restarts and figures; the selected one's log; start, stop and
restart (refused and hidden in read-only mode; stop asks first).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import tzinfo
from typing import ClassVar

from rich.text import Text
from textual import work
from textual.app import ComposeResult, SystemCommand
from textual.binding import Binding, BindingType
from textual.widgets import DataTable, RichLog, Static

from edge_agent.api.client import ApiClient
from edge_agent.api.models import ExperimentInfo, LogEntry

from ..format import clock_text, count_text, shorten
from ..widgets.readout import Readout
from .base import ConsoleScreen
from .confirm import ConfirmScreen

STATE_STYLE = {
    "running": "green",
    "finished": "green",
    "backoff": "red",
    "stopped": "yellow",
    "disabled": "dim",
}
LEVEL_STYLE = {"debug": "dim", "info": "", "warning": "yellow", "error": "red", "critical": "red"}

ACTION_DONE = {"start": "started", "stop": "stopped", "restart": "restarted"}


def experiment_cells(info: ExperimentInfo) -> tuple[object, ...]:
    """name, state, version, restarts, emitted, last error."""
    service = info["service"]
    stats = info["stats"]
    error = service["last_error"] if service else None
    return (
        info["name"],
        Text(info["state"], style=STATE_STYLE.get(info["state"], "")),
        info["version"],
        str(service["restarts"]) if service else "—",
        count_text(stats.get("emitted")) if stats else "—",
        Text(shorten(error or "", 60), style="red") if error else "",
    )


def log_line(record: LogEntry, tz: tzinfo | None) -> Text:
    """One log record as a line: time, level, message."""
    text = Text(no_wrap=False)
    text.append(clock_text(record["time"], tz) + " ", style="dim")
    text.append(f"{record['level']:<7} ", style=LEVEL_STYLE.get(record["level"], ""))
    text.append(record["message"])
    return text


class ExperimentsScreen(ConsoleScreen):
    """The experiments and the selected one's log."""

    MODE = "experiments"
    CSS_PATH = "experiments.tcss"
    POLL = 3.0
    MUTATING = frozenset({"start", "stop", "restart"})
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("s", "start", "Start"),
        Binding("x", "stop", "Stop"),
        Binding("r", "restart", "Restart"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.experiments: list[ExperimentInfo] = []
        self.log_of: str | None = None
        self.log_seq = 0

    def compose_body(self) -> ComposeResult:
        table: DataTable[object] = DataTable(id="experiments", cursor_type="row")
        table.add_column("experiment", width=16, key="name")
        table.add_column("state", width=9, key="state")
        table.add_column("version", width=8, key="version")
        table.add_column("restarts", width=8, key="restarts")
        table.add_column("emitted", width=8, key="emitted")
        table.add_column("last error", key="error")
        yield table
        yield Readout("", id="log-title", classes="note")
        yield RichLog(id="experiment-log", wrap=True, max_lines=500, auto_scroll=True)

    async def load(self, api: ApiClient) -> None:
        experiments = await api.experiments()
        self.experiments = experiments
        table = self.query_one("#experiments", DataTable)
        keys = [e["name"] for e in experiments]
        if [k.value for k in table.rows] != keys:
            table.clear()
            for info in experiments:
                table.add_row(*experiment_cells(info), key=info["name"])
        else:
            for info in experiments:
                for column, old, new in zip(
                    ("name", "state", "version", "restarts", "emitted", "error"),
                    table.get_row(info["name"]),
                    experiment_cells(info),
                    strict=True,
                ):
                    if str(old) != str(new):
                        table.update_cell(info["name"], column, new)
        if not experiments:
            self.query_one("#log-title", Static).update(
                "No experiments configured: add \\[\\[experiment]] entries on the Config "
                "screen (8)."
            )
            return
        await self.load_log(api)

    def selected(self) -> ExperimentInfo | None:
        """The experiment under the cursor."""
        table = self.query_one("#experiments", DataTable)
        if table.row_count == 0:
            return None
        key = table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value
        return next((e for e in self.experiments if e["name"] == key), None)

    async def load_log(self, api: ApiClient) -> None:
        """Append the selected experiment's new log records (all of them after a switch)."""
        info = self.selected()
        if info is None:
            return
        log = self.query_one("#experiment-log", RichLog)
        if info["name"] != self.log_of:
            self.log_of, self.log_seq = info["name"], 0
            log.clear()
            self.query_one("#log-title", Static).update(
                f"Log of {info['name']}: {shorten(info['description'], 60)}"
            )
        reply = await api.experiment_log(info["name"], limit=200)
        if self.log_of != info["name"]:
            return  # the cursor moved meanwhile; the next load shows the other log
        for record in reply["records"]:
            if record["seq"] > self.log_seq:
                log.write(log_line(record, self.console.tz))
                self.log_seq = record["seq"]

    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        info = self.selected()
        if info is not None and info["name"] != self.log_of:
            self.reload()

    # -- actions -----------------------------------------------------------------------------

    def action_start(self) -> None:
        """Start the selected experiment."""
        self._act("start")

    def action_restart(self) -> None:
        """Restart the selected experiment."""
        self._act("restart")

    def action_stop(self) -> None:
        """Stop the selected experiment, after asking."""
        info = self.selected()
        if info is None:
            return
        name = info["name"]

        def answered(yes: bool | None) -> None:
            if yes:
                self._act("stop", name)

        self.app.push_screen(
            ConfirmScreen(
                f"Stop experiment {name}?\nIt stays stopped until started again or the agent "
                "restarts.",
                yes="Stop",
            ),
            answered,
        )

    def _act(self, action: str, name: str | None = None) -> None:
        if self.console.read_only:
            self.notify("Read-only console: actions are off.", severity="warning")
            return
        if name is None:
            info = self.selected()
            if info is None:
                self.notify("No experiment selected.", severity="warning")
                return
            name = info["name"]
        self.send_action(action, name)

    @work(group="experiment-action")
    async def send_action(self, action: str, name: str) -> None:
        """Send start/stop/restart, say what happened, and reload."""
        calls = {
            "start": self.api.start_experiment,
            "stop": self.api.stop_experiment,
            "restart": self.api.restart_experiment,
        }
        try:
            reply = await calls[action](name)
        except Exception as exc:
            self.console.report(exc, f"{action} {name}")
            return
        if reply["changed"]:
            self.notify(f"{name} {ACTION_DONE[action]}: now {reply['state']}", title="Experiment")
        else:
            self.notify(f"{name} was already {reply['state']}", title="Experiment")
        self.log_of = None  # show the log afresh, with the action's own record
        self.reload()

    def commands(self) -> Iterable[SystemCommand]:
        if self.console.read_only:
            return
        for info in self.experiments:
            name = info["name"]
            for action in ("start", "restart"):
                yield SystemCommand(
                    f"{action.capitalize()} experiment {name}",
                    info["description"],
                    lambda a=action, n=name: self.send_action(a, n),
                )
