"""Parking: a grid of bays and the free/occupied counts, from the parking experiment's streams.

The parking experiment (an ``[[experiment]]`` named ``parking``, or any experiment that writes
``free`` and ``occupied``) publishes, under its name:

- ``<experiment>/<bay>.occupied`` per bay (true/false; a flagged value shows as unknown);
  ``<experiment>/<bay>/occupied`` is read too, should stream names ever allow the deeper form
  (experiments' quantities have no ``/`` today),
- ``<experiment>/free``, ``<experiment>/occupied`` and ``<experiment>/total`` counts.

When the counts are missing they are counted from the bays. Without such an experiment running
the screen says so, and still shows bay sensors of the device itself (streams
``<sensor>/occupied``, such as an ultrasonic bay sensor).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from textual.app import ComposeResult
from textual.containers import VerticalScroll
from textual.widgets import Static

from edge_agent.api.client import ApiClient
from edge_agent.api.models import ExperimentInfo

from ..live import Changes, Latest
from ..widgets.bay_grid import Bay, BayGrid
from ..widgets.readout import Readout
from .base import ConsoleScreen, find_experiment

NO_PARKING = "no parking experiment running"
COUNTS = ("free", "occupied", "total")


def parking_experiment(experiments: Iterable[ExperimentInfo]) -> ExperimentInfo | None:
    """The parking experiment: the one named ``parking``, else one that writes the counts."""
    return find_experiment(experiments, "parking", {"free", "occupied"})


def occupied_of(latest: Latest | None) -> bool | None:
    """A bay's state from its newest reading (None when missing or flagged)."""
    if latest is None or latest.quality or latest.value is None:
        return None
    if isinstance(latest.value, str):
        return latest.value.lower() in ("true", "1", "yes", "occupied")
    return bool(latest.value)


@dataclass(frozen=True)
class ParkingView:
    """What the screen shows."""

    bays: tuple[Bay, ...]
    free: int | None
    occupied: int | None
    total: int | None


def parking_view(prefix: str, latest: Mapping[str, Latest]) -> ParkingView:
    """Bays and counts from the streams under ``prefix/`` (an experiment's name)."""
    bays = []
    counts: dict[str, int | None] = dict.fromkeys(COUNTS)
    for stream in sorted(latest):
        if not stream.startswith(f"{prefix}/"):
            continue
        rest = stream[len(prefix) + 1 :]
        bay, _, quantity = rest.rpartition("/")
        if not bay and rest.endswith(".occupied"):
            bay, quantity = rest.removesuffix(".occupied"), "occupied"
        if bay and quantity == "occupied":
            bays.append(Bay(bay, occupied_of(latest[stream])))
        elif not bay and quantity in COUNTS:
            value = latest[stream].value
            counts[quantity] = int(value) if isinstance(value, int | float) else None
    known = [b.occupied for b in bays if b.occupied is not None]
    if counts["occupied"] is None and bays:
        counts["occupied"] = sum(known)
    if counts["total"] is None and bays:
        counts["total"] = len(bays)
    if counts["free"] is None and bays:
        counts["free"] = len(known) - sum(known)
    return ParkingView(tuple(bays), counts["free"], counts["occupied"], counts["total"])


def sensor_bays(latest: Mapping[str, Latest], sensors: Iterable[str]) -> tuple[Bay, ...]:
    """Bay sensors of the device itself: ``<sensor>/occupied`` streams."""
    names = set(sensors)
    return tuple(
        Bay(stream.split("/")[0], occupied_of(latest[stream]))
        for stream in sorted(latest)
        if stream.count("/") == 1 and stream.endswith("/occupied") and stream.split("/")[0] in names
    )


def counts_markup(view: ParkingView) -> str:
    """``Free 3   Occupied 3   Total 6``."""

    def text(value: int | None) -> str:
        return "—" if value is None else str(value)

    return (
        f"[$success b]Free {text(view.free)}[/]   [$error b]Occupied {text(view.occupied)}[/]   "
        f"[b]Total {text(view.total)}[/]"
    )


class ParkingScreen(ConsoleScreen):
    """Bays and counts of the parking experiment."""

    MODE = "parking"
    CSS_PATH = "parking.tcss"
    POLL = 10.0

    def __init__(self) -> None:
        super().__init__()
        self.experiment: ExperimentInfo | None = None
        self.sensor_names: list[str] = []

    def compose_body(self) -> ComposeResult:
        with VerticalScroll(id="parking-body"):
            yield Readout("", id="parking-state", classes="message")
            yield Readout("", id="parking-counts")
            yield BayGrid(id="bays", empty="no bays reported yet")
            yield Readout("", id="sensor-bays-title", classes="note")
            yield BayGrid(id="sensor-bays", empty="")

    async def load(self, api: ApiClient) -> None:
        experiments = await api.experiments()
        sensors = await api.sensors()
        self.sensor_names = [s["name"] for s in sensors]
        self.experiment = parking_experiment(experiments)
        cache = self.console.cache
        if self.experiment is not None:
            for reading in await api.streams(f"{self.experiment['name']}/*"):
                cache.add_reading(Latest.of(reading))
        for sensor in sensors:
            for reading in sensor["latest"]:
                if reading["stream"].endswith("/occupied"):
                    cache.add_reading(Latest.of(reading))
        self.paint()

    def paint(self) -> None:
        """Show the experiment's bays and counts, or say why there are none."""
        latest = self.console.cache.latest
        state = self.query_one("#parking-state", Static)
        counts = self.query_one("#parking-counts", Static)
        grid = self.query_one("#bays", BayGrid)
        info = self.experiment
        if info is None or info["state"] != "running":
            why = NO_PARKING
            if info is not None:
                why += f" (experiment {info['name']} is {info['state']}; see Experiments, 3)"
            state.update(why)
            state.display = True
            counts.display = False
            grid.display = False
        else:
            view = parking_view(info["name"], latest)
            state.display = False
            counts.display = True
            grid.display = True
            counts.update(counts_markup(view))
            grid.show(view.bays)
        own = sensor_bays(latest, self.sensor_names)
        title = self.query_one("#sensor-bays-title", Static)
        title.update(f"Bay sensors of this device ({len(own)})" if own else "")
        title.display = bool(own)
        self.query_one("#sensor-bays", BayGrid).show(own)

    def on_live(self, changes: Changes) -> None:
        if any(s.endswith(("occupied", "/free", "/total")) for s in changes.streams):
            self.paint()
