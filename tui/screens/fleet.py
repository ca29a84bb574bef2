"""Fleet: this device, the lab's other agents and MQTT brokers as mDNS finds them, and what is
known of the region.

Peers come from ``GET /v1/peers`` (the agent's own discovery). The region broker's retained
status of every device is not exposed by the agent's API: with an uplink configured the screen
says so and points to the sync screen, which shows this device's own uplink.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import tzinfo

from textual.app import ComposeResult, SystemCommand
from textual.binding import Binding
from textual.containers import Vertical
from textual.widgets import DataTable, Static

from edge_agent.api.client import ApiClient
from edge_agent.api.models import DeviceInfo, Peer, PeersReply

from ..format import clock_text, duration_text, shorten, size_text
from ..widgets.readout import Readout
from .base import ConsoleScreen

REGION_NOT_EXPOSED = (
    "Region: an uplink is configured, but the agent's API does not pass on the region "
    "broker's retained device status; this device's own uplink is on the Sync screen (6)."
)
NO_UPLINK = "Region: no uplink configured on this device (it keeps its data locally)."
DISCOVERY_OFF = (
    "mDNS discovery is off on this agent: set \\[discovery] enabled = true to see the lab's "
    "other devices here."
)


def device_markup(device: DeviceInfo) -> str:
    """The 'this device' panel."""
    health = device["health"]
    stats = health["stats"]
    state = (
        "[$success]● ok[/]"
        if health["status"] == "ok"
        else f"[$warning]▲ degraded[/]: {'; '.join(health['problems'])}"
    )
    disk = device["disk"]
    free = size_text(disk["free_bytes"])
    lines = [
        f"[b]{device['id']}[/]  {device['city']} · {device['lab']}  "
        f"host {device['hostname']}  version {device['version']}",
        f"{state}   up {duration_text(device['uptime_s'])}   services "
        f"{stats['services_running']} running, {stats['services_failing']} failing   "
        f"store {size_text(disk['store_bytes'])}, {free} free",
        f"discovery {'on' if device['discovery'] else 'off'}   "
        f"uplink {'configured' if device['uplink'] else 'none'}",
    ]
    return "\n".join(lines)


PEER_COLUMNS = (
    ("kind", 6),
    ("device", 16),
    ("place", 14),
    ("health", 8),
    ("address", 14),
    ("seen", 8),
)
"""The lab table's columns and widths (they fit 80 columns)."""


def peer_row(peer: Peer, tz: tzinfo | None) -> tuple[str, ...]:
    """One row of the lab table: kind, name, place, health, address, seen."""
    txt = peer["txt"]
    name = peer["name"].split("._", 1)[0]
    if peer["kind"] == "broker":
        place, health = "", ""
    else:
        name = txt.get("id") or name
        place = txt.get("lab", "") or txt.get("city", "")
        health = txt.get("health", "")
    address = ", ".join(peer["addresses"]) or (peer["host"] or "")
    if peer["port"] and peer["kind"] == "broker":
        address += f":{peer['port']}"
    cells = (peer["kind"], name, place, health, address, clock_text(peer["seen"], tz))
    return tuple(shorten(cell, width) for cell, (_, width) in zip(cells, PEER_COLUMNS, strict=True))


class FleetScreen(ConsoleScreen):
    """This device, its peers, and the region."""

    MODE = "fleet"
    CSS_PATH = "fleet.tcss"
    POLL = 10.0
    BINDINGS = [Binding("enter", "reach", "How to reach", priority=True)]  # noqa: RUF012

    def __init__(self) -> None:
        super().__init__()
        self.peers: PeersReply | None = None

    def compose_body(self) -> ComposeResult:
        with Vertical(id="fleet-body"):
            yield Readout("", id="this-device", classes="panel")
            yield Readout("", id="discovery-note")
            table: DataTable[str] = DataTable(id="peers", cursor_type="row", zebra_stripes=True)
            for label, width in PEER_COLUMNS:
                table.add_column(label, width=width, key=label)
            yield table
            yield Readout("", id="region")

    async def load(self, api: ApiClient) -> None:
        device = await api.device()
        peers = await api.peers()
        self.console.device = device
        self.peers = peers
        self.query_one("#this-device", Static).update(device_markup(device))
        note = self.query_one("#discovery-note", Static)
        if not peers["enabled"]:
            note.update(DISCOVERY_OFF)
        else:
            count = len(peers["peers"])
            note.update(
                f"Announced as {(peers['announced_as'] or '—').split('._', 1)[0]}; "
                f"{count} other agent{'s' if count != 1 else ''} and "
                f"{len(peers['brokers'])} broker{'s' if len(peers['brokers']) != 1 else ''}"
            )
        table = self.query_one("#peers", DataTable)
        rows = {
            f"{p['kind']}:{p['name']}": peer_row(p, self.console.tz)
            for p in (*peers["peers"], *peers["brokers"])
        }
        existing = {key.value for key in table.rows}
        if existing != set(rows) or any(tuple(table.get_row(key)) != rows[key] for key in rows):
            table.clear()
            for key, row in rows.items():
                table.add_row(*row, key=key)
        self.query_one("#region", Static).update(
            REGION_NOT_EXPOSED if device["uplink"] else NO_UPLINK
        )

    def selected_peer(self) -> Peer | None:
        """The peer under the cursor."""
        table = self.query_one("#peers", DataTable)
        if self.peers is None or table.row_count == 0:
            return None
        key = table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value
        for peer in (*self.peers["peers"], *self.peers["brokers"]):
            if f"{peer['kind']}:{peer['name']}" == key:
                return peer
        return None

    def action_reach(self) -> None:
        """Say how to open the selected device's console."""
        peer = self.selected_peer()
        if peer is None:
            self.notify("No device selected.", severity="warning")
            return
        host = peer["host"] or (peer["addresses"][0] if peer["addresses"] else "?")
        host = host.rstrip(".")
        if peer["kind"] == "broker":
            self.notify(f"MQTT broker at {host}:{peer['port']}", title=peer["name"])
        else:
            self.notify(f"edge-tui --ssh USER@{host}", title=f"Console of {peer['name']}")

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        self.action_reach()

    def commands(self) -> Iterable[SystemCommand]:
        yield SystemCommand("Reach selected device", "how to open its console", self.action_reach)
