"""Device dashboard: every sensor's streams with live values and sparklines, the agent's health,
and the recent alerts.

Values arrive on the live stream and are painted in batches; sensor states, health and events
are reloaded every few seconds. Enter opens a sensor's detail (options, backend, statistics of
the last day).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import tzinfo

from rich.text import Text
from textual.app import ComposeResult, SystemCommand
from textual.binding import Binding
from textual.containers import Horizontal
from textual.widgets import DataTable, Static

from edge_agent.api.client import ApiClient
from edge_agent.api.models import DeviceInfo, EventDict, Health, SensorInfo

from ..format import clock_text, count_text, shorten, size_text, sparkline, value_text
from ..live import Changes, Latest
from ..widgets.readout import Readout
from .base import ConsoleScreen
from .sensor_detail import SensorDetailScreen

TREND_WIDTH = 16
"""Values in a row's sparkline."""

HISTORY_POINTS = 60
"""Stored readings fetched per stream for the sparklines when the screen first loads."""

ALERT_SEVERITIES = frozenset({"warning", "alert", "error", "critical"})
SEVERITY_MARK = {"warning": "[$warning]▲[/]", "alert": "[$error]◆[/]", "error": "[$error]✖[/]"}

STATE_STYLE = {"running": "green", "finished": "green", "backoff": "red", "stopped": "yellow"}


def health_markup(device: DeviceInfo, health: Health | None = None) -> str:
    """The health panel: status, problems, counters, disk and CPU temperature."""
    current = health or device["health"]
    stats = current["stats"]
    lines = []
    if current["status"] == "ok":
        lines.append("[$success b]● ok[/]")
    else:
        problems = current["problems"]
        lines.append(f"[$warning b]▲ degraded[/]: {shorten('; '.join(problems), 120)}")
    dropped = stats["dropped_hub"] + stats["dropped_writer"]
    lines.append(
        f"stored {count_text(stats['committed'])}, {count_text(stats['pending'])} pending"
        + (f", [$error]{count_text(dropped)} dropped[/]" if dropped else "")
        + (f", {count_text(stats['input_errors'])} bad input" if stats["input_errors"] else "")
    )
    disk = device["disk"]
    temp = device["cpu_temperature_c"]
    lines.append(
        f"disk {size_text(disk['free_bytes'])} free, db {size_text(disk['store_bytes'])}"
        + (f"  CPU {temp:.0f} °C" if temp is not None else "")
    )
    return "\n".join(lines)


def alerts_markup(events: Iterable[EventDict], tz: tzinfo | None, count: int = 4) -> str:
    """The newest warnings and alerts, newest first."""
    chosen = [e for e in events if e["severity"] in ALERT_SEVERITIES][-count:]
    if not chosen:
        return "[$text-muted]no alerts[/]"
    lines = []
    for event in reversed(chosen):
        mark = SEVERITY_MARK.get(event["severity"], "•")
        when = clock_text(event["time"], tz)
        text = shorten(f"{event['kind']}: {event['message']}", 200).replace("[", r"\[")
        lines.append(f"{mark} {when} {text}")
    return "\n".join(lines)


class DashboardScreen(ConsoleScreen):
    """Sensors, health and alerts of the device."""

    MODE = "device"
    CSS_PATH = "dashboard.tcss"
    POLL = 5.0
    BINDINGS = [Binding("enter", "detail", "Sensor detail", priority=True)]  # noqa: RUF012

    def __init__(self) -> None:
        super().__init__()
        self.sensors: list[SensorInfo] = []
        self.stream_sensor: dict[str, str] = {}
        self.seeded: set[str] = set()
        self.events: list[EventDict] = []

    def compose_body(self) -> ComposeResult:
        with Horizontal(id="dash-top"):
            health = Readout("", id="health", classes="panel")
            health.border_title = "Health"
            yield health
            alerts = Readout("", id="alerts", classes="panel")
            alerts.border_title = "Alerts"
            yield alerts
        table: DataTable[object] = DataTable(id="sensors", cursor_type="row")
        table.add_column("stream", width=22, key="stream")
        table.add_column("value", width=11, key="value")
        table.add_column("trend", width=TREND_WIDTH, key="trend")
        table.add_column("state", width=9, key="state")
        table.add_column("time", width=8, key="time")
        yield table

    async def load(self, api: ApiClient) -> None:
        device = await api.device()
        sensors = await api.sensors()
        events = (await api.events(limit=50))["events"]
        self.console.device = device
        self.events = events
        cache = self.console.cache
        for sensor in sensors:
            for reading in sensor["latest"]:
                cache.add_reading(Latest.of(reading))
        self.sensors = sensors
        self.query_one("#health", Static).update(health_markup(device, cache.health))
        self.query_one("#alerts", Static).update(
            alerts_markup([*events, *self._newer_live_events(events)], self.console.tz)
        )
        self.rebuild()
        await self.seed_history(api)

    def _newer_live_events(self, events: list[EventDict]) -> list[EventDict]:
        last = events[-1]["row"] if events else 0
        return [e for e in self.console.cache.events if e["row"] > last]

    async def seed_history(self, api: ApiClient) -> None:
        """Fetch the recent stored values of each stream once, for the sparklines."""
        cache = self.console.cache
        for sensor in self.sensors:
            for reading in sensor["latest"]:
                stream = reading["stream"]
                if stream in self.seeded or not isinstance(reading["value"], int | float):
                    continue
                self.seeded.add(stream)
                since = reading["time"] - max(sensor["interval_s"], 0.1) * HISTORY_POINTS
                history = await api.history(stream, since=since, limit=HISTORY_POINTS)
                cache.seed_history(
                    stream,
                    [
                        (r["time"], float(r["value"]))
                        for r in history["readings"]
                        if isinstance(r["value"], int | float)
                    ],
                )
                self.paint_stream(stream)

    def state_cell(self, sensor: SensorInfo, latest: Latest | None) -> Text:
        """Quality flags of the newest value, else the sensor's state."""
        if latest is not None and latest.quality:
            return Text(shorten(",".join(latest.quality), 9), style="yellow")
        if not sensor["enabled"]:
            return Text("disabled", style="dim")
        service = sensor["service"]
        state = service["state"] if service else "—"
        errors = sum(sensor["input_errors"].values())
        if state == "running" and errors:
            return Text(f"{errors} err", style="yellow")
        return Text(state, style=STATE_STYLE.get(state, ""))

    def rebuild(self) -> None:
        """Rows for every sensor's streams (kept where they exist, so the cursor stays)."""
        table = self.query_one("#sensors", DataTable)
        cache = self.console.cache
        wanted: list[tuple[str, SensorInfo, str | None]] = []
        for sensor in self.sensors:
            prefix = f"{sensor['name']}/"
            streams = sorted(
                {r["stream"] for r in sensor["latest"]}
                | {s for s in cache.latest if s.startswith(prefix)}
            )
            if not streams:
                wanted.append((f"sensor:{sensor['name']}", sensor, None))
            for stream in streams:
                wanted.append((stream, sensor, stream))
                self.stream_sensor[stream] = sensor["name"]
        keys = [key for key, _, _ in wanted]
        if [k.value for k in table.rows] != keys:
            table.clear()
            for key, owner, shown in wanted:
                table.add_row(*self.row_cells(owner, shown), key=key)
            return
        for key, owner, shown in wanted:
            self.update_row(key, self.row_cells(owner, shown))

    def row_cells(self, sensor: SensorInfo, stream: str | None) -> tuple[object, ...]:
        """stream, value, trend, state, time."""
        if stream is None:
            name = Text(shorten(sensor["name"], 22), style="dim")
            return (name, "—", "", self.state_cell(sensor, None), "")
        latest = self.console.cache.latest.get(stream)
        values = self.console.cache.values(stream)
        return (
            shorten(stream, 22),
            value_text(latest.value, latest.unit) if latest else "—",
            Text(sparkline(values, TREND_WIDTH), style="cyan"),
            self.state_cell(sensor, latest),
            clock_text(latest.time, self.console.tz) if latest else "",
        )

    def update_row(self, key: str, cells: tuple[object, ...]) -> None:
        """Change only the cells whose content differs (no repaint otherwise)."""
        table = self.query_one("#sensors", DataTable)
        current = table.get_row(key)
        for column, old, new in zip(
            ("stream", "value", "trend", "state", "time"), current, cells, strict=True
        ):
            if str(old) != str(new) or (
                isinstance(old, Text) and isinstance(new, Text) and old.style != new.style
            ):
                table.update_cell(key, column, new)

    def paint_stream(self, stream: str) -> None:
        sensor_name = self.stream_sensor.get(stream)
        sensor = next((s for s in self.sensors if s["name"] == sensor_name), None)
        table = self.query_one("#sensors", DataTable)
        if sensor is None or stream not in {k.value for k in table.rows}:
            return
        self.update_row(stream, self.row_cells(sensor, stream))

    def on_live(self, changes: Changes) -> None:
        if any(s not in self.stream_sensor for s in changes.streams if self._owned(s)):
            self.rebuild()
        else:
            for stream in changes.streams:
                self.paint_stream(stream)
        if changes.events:
            self.query_one("#alerts", Static).update(
                alerts_markup(
                    [*self.events, *self._newer_live_events(self.events)], self.console.tz
                )
            )
        if changes.health and self.console.device is not None:
            self.query_one("#health", Static).update(
                health_markup(self.console.device, self.console.cache.health)
            )

    def _owned(self, stream: str) -> bool:
        """Whether a stream belongs to one of the sensors (experiments' streams do not)."""
        return any(stream.startswith(f"{s['name']}/") for s in self.sensors)

    def selected_sensor(self) -> SensorInfo | None:
        table = self.query_one("#sensors", DataTable)
        if table.row_count == 0:
            return None
        key = str(table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value)
        name = (
            key.removeprefix("sensor:")
            if key.startswith("sensor:")
            else self.stream_sensor.get(key)
        )
        return next((s for s in self.sensors if s["name"] == name), None)

    def action_detail(self) -> None:
        """Open the selected sensor's detail."""
        sensor = self.selected_sensor()
        if sensor is not None:
            self.app.push_screen(SensorDetailScreen(sensor["name"]))

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        self.action_detail()

    def commands(self) -> Iterable[SystemCommand]:
        for sensor in self.sensors:
            yield SystemCommand(
                f"Sensor {sensor['name']}",
                f"{sensor['driver']}: options, backend, statistics",
                lambda name=sensor["name"]: self.app.push_screen(SensorDetailScreen(name)),
            )
