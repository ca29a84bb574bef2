"""Fleet: this device, the lab's other agents and MQTT brokers as mDNS finds them, and every
device of the region as the region broker knows it.

Peers come from ``GET /v1/peers`` (the agent's own discovery); the region from ``GET
/v1/region``: the retained status and health of every device, which the agent's uplink
connection receives (only asked for when the device has an uplink). Offline devices come first,
then by city, lab and id; "seen" is how long ago the device last sent its health.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import tzinfo

from textual.app import ComposeResult, SystemCommand
from textual.binding import Binding
from textual.containers import Vertical
from textual.markup import escape
from textual.widgets import DataTable, Static

from edge_agent.api.client import ApiClient, ApiError
from edge_agent.api.models import DeviceInfo, Peer, PeersReply, RegionDeviceInfo, RegionInfo

from ..format import clock_text, count_text, duration_text, shorten, size_text
from ..widgets.readout import Readout
from .base import ConsoleScreen

NO_UPLINK = "Region: no uplink configured on this device (it keeps its data locally)."
REGION_UNKNOWN = (
    "Region: this agent's version does not pass on the region broker's device status "
    "(no GET /v1/region); update it. Its own uplink is on the Sync screen (6)."
)
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


REGION_COLUMNS = (
    ("device", 16),
    ("place", 24),
    ("status", 9),
    ("seen", 10),
    ("backlog", 7),
)
"""The region table's columns and widths (they fit 80 columns)."""

STATUS_TEXT = {"online": "● online", "offline": "✖ offline", None: "? unknown"}


def region_order(device: RegionDeviceInfo) -> tuple[bool, str, str, str]:
    """Offline (and unknown) devices first: those are what a technician looks for."""
    return (device["status"] == "online", device["city"], device["lab"], device["device"])


def region_row(device: RegionDeviceInfo, now: float) -> tuple[str, ...]:
    """One row of the region table: device, place, status, seen (an age), backlog. The place is
    the lab, with the city in front when the lab's name does not hold it."""
    health = device["health"]
    seen = device["last_seen"]
    city, lab = device["city"], device["lab"]
    cells = (
        device["device"],
        lab if city in lab else f"{city} · {lab}",
        STATUS_TEXT.get(device["status"], device["status"] or ""),
        "—" if seen is None else duration_text(now - seen),
        "—" if health is None else count_text(health["backlog"]),
    )
    return tuple(
        shorten(cell, width) for cell, (_, width) in zip(cells, REGION_COLUMNS, strict=True)
    )


def region_markup(region: RegionInfo, tz: tzinfo | None) -> str:
    """The line above the region table: the broker, the counts, and why the table is not
    current when it is not."""
    broker = escape(region["broker"] or "")
    count = len(region["devices"])
    counts = (
        f"{count} device{'s' if count != 1 else ''}, {region['online']} online, "
        f"{region['offline']} offline"
    )
    if region["ignored_devices"]:
        counts += f", {region['ignored_devices']} more not kept"
    error = escape(shorten(region["error"] or "", 150))
    if not region["connected"]:
        since = region["stale_since"]
        head = f"[$warning]▲ Region broker {broker} not reachable[/]"
        if since is not None:
            head += f" since {clock_text(since, tz)}; last known: {counts}"
        elif not count:
            head += " yet"
        return head + (f"\n{error}" if error else "")
    if region["subscription"] == "refused" or region["error"]:
        return f"[$warning]▲ Region {broker}: {counts}[/]\n{error}"
    if region["subscription"] != "granted":
        return f"Region {broker}: asking the broker for every device's status …"
    return f"Region {broker}: {counts}"


class FleetScreen(ConsoleScreen):
    """This device, its peers, and the region."""

    MODE = "fleet"
    CSS_PATH = "fleet.tcss"
    POLL = 10.0
    BINDINGS = [Binding("enter", "reach", "How to reach", priority=True)]  # noqa: RUF012

    def __init__(self) -> None:
        super().__init__()
        self.peers: PeersReply | None = None
        self.region_info: RegionInfo | None = None
        """What ``GET /v1/region`` said last (None: no uplink, or an agent without it)."""

    def compose_body(self) -> ComposeResult:
        with Vertical(id="fleet-body"):
            yield Readout("", id="this-device", classes="panel")
            yield Readout("", id="discovery-note")
            table: DataTable[str] = DataTable(id="peers", cursor_type="row", zebra_stripes=True)
            for label, width in PEER_COLUMNS:
                table.add_column(label, width=width, key=label)
            yield table
            yield Readout("", id="region")
            region: DataTable[str] = DataTable(
                id="region-devices", cursor_type="row", zebra_stripes=True
            )
            for label, width in REGION_COLUMNS:
                region.add_column(label, width=width, key=label)
            yield region

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
        fill_table(table, rows)
        await self.load_region(api, device)

    async def load_region(self, api: ApiClient, device: DeviceInfo) -> None:
        """The region part: asked for only when the device has an uplink."""
        note = self.query_one("#region", Static)
        table = self.query_one("#region-devices", DataTable)
        region: RegionInfo | None = None
        if device["uplink"]:
            try:
                region = await api.region()
            except ApiError as exc:
                if exc.status != 404:  # an older agent: say so; anything else is reported
                    raise
                note.update(REGION_UNKNOWN)
            else:
                note.update(region_markup(region, self.console.tz))
        else:
            note.update(NO_UPLINK)
        self.region_info = region
        table.display = region is not None and bool(region["devices"])
        if region is not None:
            now = self.console.clock()
            devices = sorted(region["devices"], key=region_order)
            fill_table(
                table,
                {f"{d['city']}/{d['lab']}/{d['device']}": region_row(d, now) for d in devices},
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

    def selected_region_device(self) -> RegionDeviceInfo | None:
        """The region device under the cursor."""
        table = self.query_one("#region-devices", DataTable)
        if self.region_info is None or table.row_count == 0:
            return None
        key = table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value
        for device in self.region_info["devices"]:
            if f"{device['city']}/{device['lab']}/{device['device']}" == key:
                return device
        return None

    def action_reach(self) -> None:
        """Say how to open the selected device's console (of the table that has the focus)."""
        if self.focused is self.query_one("#region-devices"):
            device = self.selected_region_device()
            if device is not None:
                # Agents announce themselves as <id>.local on their lab's network (mDNS).
                self.notify(
                    f"edge-tui --ssh USER@{device['device']}.local (from its lab's network)",
                    title=f"Console of {device['device']}",
                )
                return
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


def fill_table(table: DataTable[str], rows: dict[str, tuple[str, ...]]) -> None:
    """Show ``rows`` (by key, in order), touching the table only when something changed."""
    if list(rows) != [key.value for key in table.rows] or any(
        tuple(table.get_row(key)) != row for key, row in rows.items()
    ):
        table.clear()
        for key, row in rows.items():
            table.add_row(*row, key=key)
