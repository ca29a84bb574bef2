"""Road icing: the risk the road-icing experiment reports, the surface temperature against the
dew point over the last two hours, and its forecast.

Streams of the experiment (``experiments/road_icing``), under its name: ``risk`` (0 none ...
4 ice observed), ``dew_point``, ``frost_point``, ``dew_margin``, ``forecast_30min``,
``forecast_60min``, ``forecast_120min``. The surface temperature is the experiment's own input,
its ``surface`` parameter (``road-surface/temperature`` by default).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable
from datetime import tzinfo

from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.widgets import Static

from edge_agent.api.client import ApiClient, ApiError
from edge_agent.api.models import EventDict, ExperimentInfo

from ..format import clock_text, numeric, shorten, value_text
from ..live import Changes, Latest
from ..widgets.line_chart import LineChart, Series
from ..widgets.readout import Readout
from .base import ConsoleScreen, find_experiment

NO_ICING = "no road-icing experiment running"
RISK_LABELS = ("none", "low", "moderate", "high", "ice observed")
RISK_STYLE = ("$success", "$success", "$warning", "$error", "$error")
FORECASTS = (30, 60, 120)
CHART_SPAN = 7200.0
"""Seconds of history in the chart."""
CHART_POINTS = 1500
"""Stored readings fetched per chart series at most."""


def icing_experiment(experiments: Iterable[ExperimentInfo]) -> ExperimentInfo | None:
    """The road-icing experiment: named ``road-icing``, else one that writes risk and margin."""
    return find_experiment(experiments, "road-icing", {"risk", "dew_margin"})


def risk_markup(latest: Latest | None, tz: tzinfo | None) -> str:
    """The risk, large and coloured, with the time it was assessed."""
    level = numeric(latest.value) if latest is not None else None
    if latest is None or level is None:
        return "Risk\n[$text-muted]not assessed yet[/]"
    index = max(0, min(len(RISK_LABELS) - 1, int(level)))
    style = RISK_STYLE[index]
    return (
        f"Risk\n[{style} b reverse] {RISK_LABELS[index].upper()} [/]\n"
        f"[$text-muted]at {clock_text(latest.time, tz)}[/]"
    )


def values_markup(surface: Latest | None, prefix: str, latest: dict[str, Latest]) -> str:
    """Surface, dew point, margin and frost point."""

    def show(item: Latest | None) -> str:
        return value_text(item.value, item.unit) if item is not None else "—"

    margin = latest.get(f"{prefix}/dew_margin")
    return (
        f"surface     [b]{show(surface)}[/]\n"
        f"dew point   {show(latest.get(f'{prefix}/dew_point'))}\n"
        f"margin      {show(margin)}\n"
        f"frost point {show(latest.get(f'{prefix}/frost_point'))}"
    )


def forecast_markup(prefix: str, latest: dict[str, Latest]) -> str:
    """The surface temperature forecast, with the freezing ones marked."""
    lines = ["forecast"]
    for minutes in FORECASTS:
        item = latest.get(f"{prefix}/forecast_{minutes}min")
        value = numeric(item.value) if item is not None else None
        text = value_text(item.value, item.unit) if item is not None else "—"
        if value is not None and value <= 0:
            text = f"[$error b]{text} ❄[/]"
        lines.append(f"{minutes:>4} min  {text}")
    return "\n".join(lines)


def last_event_markup(events: Iterable[EventDict], tz: tzinfo | None) -> str:
    """The newest icing alert or all-clear."""
    chosen = [e for e in events if e["kind"] in ("icing-alert", "icing-clear")]
    if not chosen:
        return "[$text-muted]no icing alerts recorded[/]"
    event = chosen[-1]
    mark = "[$error]◆[/]" if event["kind"] == "icing-alert" else "[$success]✔[/]"
    when = clock_text(event["time"], tz)
    message = shorten(event["message"], 150).replace("[", r"\[")
    return f"{mark} {when} {message}"


class IcingScreen(ConsoleScreen):
    """Risk, surface vs dew point, forecast."""

    MODE = "icing"
    CSS_PATH = "icing.tcss"
    POLL = 10.0

    def __init__(self) -> None:
        super().__init__()
        self.experiment: ExperimentInfo | None = None
        self.surface_stream = ""
        self.charted: dict[str, deque[tuple[float, float]]] = {}
        self.events: list[EventDict] = []

    def compose_body(self) -> ComposeResult:
        yield Readout("", id="icing-state", classes="message")
        with Horizontal(id="icing-top"):
            yield Readout("", id="risk", classes="panel")
            yield Readout("", id="icing-values", classes="panel")
            yield Readout("", id="forecast", classes="panel")
        yield LineChart(id="icing-chart", reference=0.0, reference_label="0 °C")
        yield Readout("", id="icing-event", classes="note")

    @property
    def prefix(self) -> str:
        return self.experiment["name"] if self.experiment else "road-icing"

    async def load(self, api: ApiClient) -> None:
        self.experiment = icing_experiment(await api.experiments())
        info = self.experiment
        if info is None or info["state"] != "running":
            self.paint()
            return
        surface = str(info["params"].get("surface") or "road-surface/temperature")
        cache = self.console.cache
        for reading in await api.streams(f"{info['name']}/*"):
            cache.add_reading(Latest.of(reading))
        for reading in await api.streams(surface):
            cache.add_reading(Latest.of(reading))
        if surface != self.surface_stream or not self.charted:
            self.surface_stream = surface
            self.charted = {}
            for stream in (surface, f"{info['name']}/dew_point"):
                self.charted[stream] = await self.chart_history(api, stream)
        self.events = (await api.events(limit=100))["events"]
        self.paint()

    async def chart_history(self, api: ApiClient, stream: str) -> deque[tuple[float, float]]:
        """The stream's stored readings of the chart's span (the newest ones)."""
        points: deque[tuple[float, float]] = deque(maxlen=4 * CHART_POINTS)
        latest = self.console.cache.latest.get(stream)
        if latest is None:
            return points
        try:
            history = await api.history(stream, since=latest.time - CHART_SPAN, limit=CHART_POINTS)
            if history["truncated"] and history["count"]:
                # Too many for one answer: take the newest part of the span instead.
                step = (latest.time - history["readings"][0]["time"]) / history["count"]
                since = latest.time - step * CHART_POINTS * 0.9
                history = await api.history(stream, since=since, limit=CHART_POINTS)
        except ApiError as exc:
            if exc.status == 404:  # nothing stored yet
                return points
            raise
        for reading in history["readings"]:
            value = numeric(reading["value"])
            if value is not None and not reading["quality"]:
                points.append((reading["time"], value))
        return points

    def paint(self) -> None:
        info = self.experiment
        state = self.query_one("#icing-state", Static)
        running = info is not None and info["state"] == "running"
        for widget_id in ("#icing-top", "#icing-chart", "#icing-event"):
            self.query_one(widget_id).display = running
        state.display = not running
        if not running:
            why = NO_ICING
            if info is not None:
                why += f" (experiment {info['name']} is {info['state']}; see Experiments, 3)"
            state.update(why)
            return
        latest = self.console.cache.latest
        tz = self.console.tz
        prefix = self.prefix
        surface = latest.get(self.surface_stream)
        self.query_one("#risk", Static).update(risk_markup(latest.get(f"{prefix}/risk"), tz))
        self.query_one("#icing-values", Static).update(values_markup(surface, prefix, latest))
        self.query_one("#forecast", Static).update(forecast_markup(prefix, latest))
        chart = self.query_one("#icing-chart", LineChart)
        chart.tz = tz
        surface_points = self.charted.get(self.surface_stream, deque())
        dew_points = self.charted.get(f"{prefix}/dew_point", deque())
        chart.plot(
            [
                Series(
                    f"surface ({shorten(self.surface_stream, 30)})",
                    "•",
                    "cyan",
                    tuple(surface_points),
                ),
                Series("dew point", "×", "magenta", tuple(dew_points)),
            ]
        )
        events = [*self.events, *(e for e in self.console.cache.events if e not in self.events)]
        self.query_one("#icing-event", Static).update(last_event_markup(events, tz))

    def on_live(self, changes: Changes) -> None:
        if self.experiment is None or self.experiment["state"] != "running":
            return
        prefix = f"{self.prefix}/"
        relevant = [s for s in changes.streams if s.startswith(prefix) or s == self.surface_stream]
        if not relevant and not changes.events:
            return
        latest = self.console.cache.latest
        for stream, points in self.charted.items():
            item = latest.get(stream)
            value = numeric(item.value) if item is not None else None
            if item is None or value is None or item.quality:
                continue
            if not points or points[-1][0] < item.time:
                points.append((item.time, value))
                while points and points[0][0] < item.time - CHART_SPAN:
                    points.popleft()
        self.paint()
