"""The fleet screen's region table.

- Against a real agent whose uplink talks to a real mosquitto (``tests/integration/mosquitto.py``)
  with a second device beside it: both appear, the second turns offline when it stops, and a
  broker that goes away is said to be unreachable while the last known devices stay.
- Against the static agent of the snapshot tests, with a region answer made by hand
  (``fleet_region.json``, five devices of the region, one offline for hours; times fit the
  recorded data set's fixed clock): the look, as the snapshot ``snapshots/fleet-region.txt``
  (regenerated like the others, see ``test_snapshots.py``); an agent without ``GET /v1/region``.
"""

from __future__ import annotations

import json
import tomllib
from datetime import UTC
from pathlib import Path
from typing import Any

import pytest
from textual.widgets import DataTable

from edge_agent.api.client import ApiClient, unix_connector
from edge_agent.config import parse_config
from tests.integration.mosquitto import (
    CITY,
    DEVICE,
    LAB,
    SECOND_DEVICE,
    Broker,
    Pki,
    RunningUplink,
    broker_fixture,  # noqa: F401
    password_file,
    pki_fixture,  # noqa: F401
    uplink_table,
)
from tui.console import EdgeConsole
from tui.link import Target
from tui.screens.fleet import REGION_UNKNOWN, FleetScreen

from . import test_snapshots as snapshots
from .record_dataset import RECORDED_NOW
from .rig import Agent, remove, run, screen_text, short_tmp, until
from .static_agent import StaticAgent

REGION = Path(__file__).parent / "fleet_region.json"

AGENT_CONFIG = """
[device]
id = "{device}"
city = "{city}"
lab = "{lab}"
trust_clock = true

[store]
data_dir = "{root}/data"
flush_interval = "100ms"

[api]
socket = "{root}/api.sock"

[[sensor]]
name = "air"
driver = "simulated.air"
interval = "500ms"
"""


def region_rows(app: EdgeConsole) -> dict[str, tuple[str, ...]]:
    """The region table as shown: device -> cells."""
    screen = app.screen
    assert isinstance(screen, FleetScreen)
    table = screen.query_one("#region-devices", DataTable)
    rows = [tuple(str(c) for c in table.get_row(key)) for key in table.rows]
    return {row[0]: row for row in rows} if table.display else {}


def region_note(app: EdgeConsole) -> str:
    return str(app.screen.query_one("#region").render())


@pytest.fixture
def lab(broker: Broker, pki: Pki) -> Any:
    """A real agent (``test-pi``) with its API and an uplink to the test broker."""
    root = short_tmp()
    uplink = uplink_table(
        broker.port,
        pki,
        root,
        username=DEVICE,
        password_file=str(password_file(root, DEVICE)),
        health_interval="1s",
    )
    config = root / "agent.toml"
    text = AGENT_CONFIG.format(device=DEVICE, city=CITY, lab=LAB, root=root)
    config.write_text(text + "\n" + uplink)
    agent = Agent(config, root).wait_ready()
    yield agent
    agent.stop()
    remove(root)


@pytest.mark.slow  # a broker, two uplinks, and the screen's 10 s reload three times over
def test_fleet_shows_the_region_and_a_device_going_offline_and_a_lost_broker(
    lab: Agent, broker: Broker, pki: Pki, tmp_path: Path
) -> None:
    # The second device: the real uplink of another device, in this process.
    uplink = uplink_table(
        broker.port,
        pki,
        tmp_path,
        username=SECOND_DEVICE,
        password_file=str(password_file(tmp_path, SECOND_DEVICE)),
    )
    text = AGENT_CONFIG.format(device=SECOND_DEVICE, city=CITY, lab="Lab 2", root=tmp_path)
    config = parse_config(tomllib.loads(text + "\n" + uplink))

    async def main() -> None:
        app = EdgeConsole(Target(socket=lab.socket), first_screen="fleet")
        async with app.run_test(size=(80, 24)) as pilot:
            with RunningUplink(config):
                rows = await until(
                    pilot,
                    lambda: (
                        (r := region_rows(app)).get(SECOND_DEVICE, ("",) * 3)[2] == "● online"
                        and DEVICE in r
                        and r
                    ),
                    what="both devices online in the region table",
                )
                assert rows[DEVICE][1] == "teststadt · lab-1"
                assert rows[SECOND_DEVICE][1] == "teststadt · lab-2"
                # Enter on the region table says how to reach the device under the cursor.
                await pilot.click("#region-devices")
                await pilot.press("enter")
                screen = app.screen
                assert isinstance(screen, FleetScreen)
                selected = screen.selected_region_device()
                assert selected is not None
                await until(
                    pilot,
                    lambda: any(
                        f"edge-tui --ssh USER@{selected['device']}.local" in n.message
                        for n in app._notifications
                    ),
                    what="how to reach the selected region device",
                )
                assert "2 devices, 2 online, 0 offline" in region_note(app)
            # Stopped: its uplink says offline; offline devices are listed first.
            await until(
                pilot,
                lambda: (
                    list(region_rows(app))[:1] == [SECOND_DEVICE]
                    and region_rows(app)[SECOND_DEVICE][2] == "✖ offline"
                ),
                what="the second device offline, listed first",
            )
            broker.stop()
            await until(
                pilot,
                lambda: "not reachable since" in region_note(app),
                what="the region broker reported unreachable",
            )
            # (mosquitto publishes the wills of its clients as it stops: this device's too.)
            assert "last known: 2 devices" in region_note(app)
            assert set(region_rows(app)) == {DEVICE, SECOND_DEVICE}
            assert app.faults == []

    run(main())


class RegionAgent(StaticAgent):
    """The recorded agent, with an uplink and ``region`` as its ``GET /v1/region`` (None: an
    agent that does not know the endpoint)."""

    def __init__(self, socket: Path, region: dict[str, Any] | None) -> None:
        super().__init__(socket)
        self.region = region

    def answer(self, target: str) -> tuple[int, bytes]:
        status, body = super().answer(target)
        if target.startswith("/v1/device"):
            device = json.loads(body)
            device["uplink"] = True
            return status, json.dumps(device).encode()
        if target.startswith("/v1/region") and self.region is not None:
            return 200, json.dumps(self.region).encode()
        return status, body


@pytest.fixture
def socket_dir() -> Any:
    root = short_tmp()
    yield root
    remove(root)


async def show_fleet(agent: RegionAgent) -> tuple[str, str, list[str], dict[str, Any]]:
    api = ApiClient(unix_connector(agent.socket), description="lab-pi (recorded)")
    app = EdgeConsole(api=api, clock=lambda: RECORDED_NOW, tz=UTC, live=False, first_screen="fleet")
    async with app.run_test(size=snapshots.SIZE) as pilot:
        await until(pilot, lambda: app.screen.ready, what="the fleet screen")
        await pilot.pause(0.3)
        await pilot.wait_for_scheduled_animations()
        shown = (screen_text(app), app.export_screenshot(), list(app.faults), region_rows(app))
    await api.close()
    return shown


def test_region_table_looks_as_recorded(socket_dir: Path, tmp_path: Path) -> None:
    region = json.loads(REGION.read_text())

    async def main() -> tuple[str, str, list[str], dict[str, Any]]:
        async with RegionAgent(socket_dir / "api.sock", region) as agent:
            return await show_fleet(agent)

    text, svg, faults, rows = run(main())
    assert faults == []
    assert next(iter(rows)) == "rastatt-lab-01", "offline devices come first"
    assert rows["rastatt-lab-01"][2:] == ("✖ offline", "3 h 12 min", "18 234")
    problem = snapshots.check("fleet-region", text, svg, tmp_path)
    assert problem is None, problem


def test_an_unreachable_region_broker_is_said_with_the_last_known_table(
    socket_dir: Path,
) -> None:
    region = json.loads(REGION.read_text())
    region.update(
        connected=False,
        uplink_state="waiting",
        stale_since=RECORDED_NOW - 300,
        error="cannot reach the broker at mqtt.region.example:8883: connection refused",
    )

    async def main() -> tuple[str, str, list[str], dict[str, Any]]:
        async with RegionAgent(socket_dir / "api.sock", region) as agent:
            return await show_fleet(agent)

    text, _, faults, rows = run(main())
    assert faults == []
    assert "Region broker mqtt.region.example:8883 not reachable since 13:45:00" in text
    assert "cannot reach the broker at mqtt.region.example:8883: connection refused" in text
    assert len(rows) == 5, "the last known devices stay on screen"


def test_an_agent_without_the_region_endpoint_is_told_apart(socket_dir: Path) -> None:
    async def main() -> tuple[str, str, list[str], dict[str, Any]]:
        async with RegionAgent(socket_dir / "api.sock", None) as agent:
            return await show_fleet(agent)

    text, _, faults, rows = run(main())
    assert faults == [] and rows == {}
    assert " ".join(REGION_UNKNOWN.split()[:8]) in " ".join(text.split())
