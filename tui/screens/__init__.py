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

from dataclasses import dataclass

from textual.screen import Screen

from .config import ConfigScreen
from .dashboard import DashboardScreen
from .experiments import ExperimentsScreen
from .fleet import FleetScreen
from .icing import IcingScreen
from .logs import LogsScreen
from .parking import ParkingScreen
from .sync import SyncScreen


@dataclass(frozen=True)
class ScreenEntry:
    """A screen of the console: its key, mode name, label and class."""

    key: str
    mode: str
    label: str
    help: str
    screen: type[Screen[None]]


SCREENS = (
    ScreenEntry("1", "fleet", "Fleet", "this device, the lab's agents, the region", FleetScreen),
    ScreenEntry("2", "device", "Device", "sensors, health and alerts", DashboardScreen),
    ScreenEntry("3", "experiments", "Experiments", "state, log, restart", ExperimentsScreen),
    ScreenEntry("4", "parking", "Parking", "bays, free and occupied", ParkingScreen),
    ScreenEntry("5", "icing", "Icing", "road-icing risk and forecast", IcingScreen),
    ScreenEntry("6", "sync", "Sync", "uplink backlog, rate, errors", SyncScreen),
    ScreenEntry("7", "logs", "Logs", "the agent's log", LogsScreen),
    ScreenEntry("8", "config", "Config", "view, edit, validate, apply", ConfigScreen),
)

__all__ = ["SCREENS", "ScreenEntry"]
