"""One sensor in detail (a dialog over the dashboard): driver, backend and why it was chosen,
options, service state and last error, input errors, and each stream's statistics of the last
day (``GET /v1/sensors/{name}``)."""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar, cast

from textual import work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

from edge_agent.api.models import SensorDetail

from ..format import count_text, duration_text, value_text
from ..widgets.readout import Readout

if TYPE_CHECKING:
    from ..console import EdgeConsole


def esc(text: object) -> str:
    """``text`` safe inside content markup."""
    return str(text).replace("[", r"\[")


def detail_markup(sensor: SensorDetail) -> str:
    """The dialog's text."""
    lines = [f"[b]{esc(sensor['name'])}[/]  {esc(sensor['driver'])}", esc(sensor["summary"]), ""]
    backend = sensor["backend"]
    if backend is not None:
        lines.append(
            f"backend  {esc(backend['family'])}/{esc(backend['name'])} "
            f"({esc(backend['source'])}: {esc(backend['reason'])})"
        )
    service = sensor["service"]
    if service is not None:
        state = f"state    {service['state']}, {service['restarts']} restarts"
        if service["last_error"]:
            state += f"\n         last error: {esc(service['last_error'])}"
        lines.append(state)
    lines.append(
        f"interval {duration_text(sensor['interval_s'])}   emitted {count_text(sensor['emitted'])}"
    )
    if sensor["input_errors"]:
        errors = ", ".join(f"{k} {v}" for k, v in sorted(sensor["input_errors"].items()))
        lines.append(f"input errors  {esc(errors)}")
    options = ", ".join(f"{k}={v}" for k, v in sensor["options"].items())
    lines += [f"options  {esc(options)}", "", "[b]last day[/]"]
    for stats in sensor["stats"]:
        unit = stats["unit"]
        lines.append(
            f"  {esc(stats['stream'])}: {count_text(stats['count'])} readings "
            f"({count_text(stats['flagged'])} flagged), min {value_text(stats['minimum'], unit)}, "
            f"mean {value_text(stats['mean'] and round(stats['mean'], 2), unit)}, "
            f"max {value_text(stats['maximum'], unit)}"
        )
    if not sensor["stats"]:
        lines.append("  no readings stored")
    return "\n".join(lines)


class SensorDetailScreen(ModalScreen[None]):
    """A sensor's detail; Escape closes it."""

    CSS_PATH = "sensor_detail.tcss"
    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "dismiss", "Close")]

    def __init__(self, name: str) -> None:
        super().__init__()
        self.sensor_name = name

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="sensor-dialog", classes="panel"):
            yield Readout(f"loading {self.sensor_name} …", id="sensor-text")

    def on_mount(self) -> None:
        self.query_one("#sensor-dialog").border_title = f"Sensor {self.sensor_name}"
        self.load()

    @work(exclusive=True)
    async def load(self) -> None:
        console = cast("EdgeConsole", self.app)
        try:
            sensor = await console.api.sensor(self.sensor_name)
        except Exception as exc:
            console.report(exc, f"sensor {self.sensor_name}")
            return
        self.query_one("#sensor-text", Static).update(detail_markup(sensor))
