"""The console's screens, one module each (with its ``.tcss`` where it has a layout).

==============  =====  ======================================================================
screen          key    what it shows
==============  =====  ======================================================================
fleet           1      this device, the lab's other agents and brokers (mDNS), the region
device          2      sensors with live values and sparklines, health, alerts
experiments     3      experiments' state and log; start, stop, restart
parking         4      the parking experiment's bays, free and occupied counts
icing           5      road-icing risk, surface vs dew point, forecast
sync            6      the uplink: backlog, rate, last error
logs            7      the agent's log: level, filter, follow
config          8      the config file: view, edit, validate, diff, apply
==============  =====  ======================================================================
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import cast

from textual.screen import Screen


@dataclass(frozen=True)
class ScreenEntry:
    """A screen of the console: its key, mode name, label, and where its class is.

    The class is imported the first time the screen is shown, not when the console starts:
    the first frame waits for no other screen's module (the config screen alone brings
    Textual's text editor, the experiments and logs screens its log widget)."""

    key: str
    mode: str
    label: str
    help: str
    module: str
    """Module of this package that holds the class (``dashboard``)."""
    class_name: str

    @property
    def screen(self) -> type[Screen[None]]:
        """The screen's class (its module is imported on first use)."""
        module = importlib.import_module(f"{__name__}.{self.module}")
        return cast("type[Screen[None]]", getattr(module, self.class_name))

    def make(self) -> Screen[None]:
        """A new instance of the screen (what the console's modes call)."""
        return self.screen()


SCREENS = (
    ScreenEntry(
        "1", "fleet", "Fleet", "this device, the lab's agents, the region", "fleet", "FleetScreen"
    ),
    ScreenEntry(
        "2", "device", "Device", "sensors, health and alerts", "dashboard", "DashboardScreen"
    ),
    ScreenEntry(
        "3",
        "experiments",
        "Experiments",
        "state, log, restart",
        "experiments",
        "ExperimentsScreen",
    ),
    ScreenEntry("4", "parking", "Parking", "bays, free and occupied", "parking", "ParkingScreen"),
    ScreenEntry("5", "icing", "Icing", "road-icing risk and forecast", "icing", "IcingScreen"),
    ScreenEntry("6", "sync", "Sync", "uplink backlog, rate, errors", "sync", "SyncScreen"),
    ScreenEntry("7", "logs", "Logs", "the agent's log", "logs", "LogsScreen"),
    ScreenEntry("8", "config", "Config", "view, edit, validate, apply", "config", "ConfigScreen"),
)

__all__ = ["SCREENS", "ScreenEntry"]
