"""What every screen of the console shares: the bar of screens, the status line, the footer,
a reload timer that runs only while the screen is shown, and read-only mode.

A screen implements :meth:`ConsoleScreen.compose_body`, :meth:`ConsoleScreen.load` (fetch
and show, run in a worker), and :meth:`ConsoleScreen.on_live` (paint what the live stream
changed). Actions named in ``MUTATING`` are hidden from the footer and refused in read-only
mode.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, ClassVar, cast

from textual.app import ComposeResult, SystemCommand
from textual.css.query import NoMatches
from textual.screen import Screen
from textual.widgets import Footer
from textual.worker import Worker

from edge_agent.api.client import ApiClient
from edge_agent.api.models import ExperimentInfo

from ..live import Changes
from ..widgets.nav_bar import NavBar
from ..widgets.status_line import StatusLine

if TYPE_CHECKING:
    from ..console import EdgeConsole


class ConsoleScreen(Screen[None]):
    """A screen of the console (abstract)."""

    MODE: ClassVar[str] = ""
    """The mode name (see :data:`tui.screens.SCREENS`)."""
    POLL: ClassVar[float] = 5.0
    """Seconds between two reloads while the screen is shown."""
    MUTATING: ClassVar[frozenset[str]] = frozenset()
    """Actions that change the agent: hidden and refused in read-only mode."""

    def __init__(self) -> None:
        super().__init__()
        self.ready = False
        """True once the first load succeeded (tests wait for it)."""
        self.loads = 0
        """Successful loads so far."""
        self._loading: Worker[None] | None = None

    @property
    def console(self) -> EdgeConsole:
        """The app, typed."""
        return cast("EdgeConsole", self.app)

    @property
    def api(self) -> ApiClient:
        """The agent's API."""
        return self.console.api

    def compose(self) -> ComposeResult:
        yield NavBar(self.console.nav_entries, self.MODE)
        yield StatusLine()
        yield from self.compose_body()
        yield Footer()

    def compose_body(self) -> ComposeResult:
        """The screen's own widgets."""
        return iter(())

    def on_mount(self) -> None:
        self.set_interval(self.POLL, self._tick, name=f"{self.MODE}-poll")

    def on_screen_resume(self) -> None:
        self.show_status(self.console.status_markup())
        self.reload()

    def show_status(self, markup: str) -> None:
        """Show the status line's text."""
        self.query_one(StatusLine).show(markup)

    def _tick(self) -> None:
        if self.is_active:
            self.reload()

    def reload(self) -> None:
        """Fetch and show this screen's data in a worker (skipped while one still runs)."""
        if self._loading is not None and self._loading.is_running:
            return
        self._loading = self.run_worker(self._load(), group="load", name=f"{self.MODE}-load")

    async def _load(self) -> None:
        try:
            await self.load(self.api)
        except NoMatches:  # the screen is being taken down (the console is closing)
            return
        except Exception as exc:
            self.console.report(exc, f"loading the {self.MODE} screen")
            return
        self.loads += 1
        self.ready = True
        self.console.link_up()

    async def load(self, api: ApiClient) -> None:
        """Fetch what the screen shows, and show it (runs in a worker)."""

    def on_live(self, changes: Changes) -> None:
        """Paint what the live stream changed (called a few times a second at most)."""

    def commands(self) -> Iterable[SystemCommand]:
        """This screen's entries in the command palette."""
        return iter(())

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        return not (action in self.MUTATING and self.console.read_only)


def find_experiment(
    experiments: Iterable[ExperimentInfo], name: str, writes: set[str]
) -> ExperimentInfo | None:
    """The experiment called ``name``, else the first that writes all of ``writes``."""
    candidates = list(experiments)
    for info in candidates:
        if info["name"] == name:
            return info
    for info in candidates:
        if writes <= set(info["writes"]):
            return info
    return None
