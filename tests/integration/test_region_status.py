"""``GET /v1/region`` of a real agent against a real mosquitto (TLS, passwords, the ACL of
``mosquitto.py``): the agent's uplink connection subscribes to every device's retained status
and health, so its API lists the devices of the region, sees another device vanish (its last
will), keeps the table marked as old while the broker is gone, explains an ACL that does not let
devices read the others' status, and says plainly when no uplink is configured.

Agent A runs in this process (its API on a real Unix socket); agent B is the real ``edge-agent
run`` process, killed with SIGKILL so that only the broker can say it is gone.
"""

from __future__ import annotations

import signal
import time
import tomllib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from edge_agent import __version__
from edge_agent.api.client import ApiClient, SyncApiClient
from edge_agent.config import parse_config
from edge_agent.uplink.region_status import SILENT_AFTER

from .agent_process import AgentProcess
from .mosquitto import (
    ACL,
    CITY,
    DEVICE,
    LAB,
    SECOND_DEVICE,
    Broker,
    Pki,
    RunningUplink,
    agent_config,
    broker_fixture,  # noqa: F401
    password_file,
    pki_fixture,  # noqa: F401
    prefill,
    uplink_table,
)
from .test_api_support import AgentThread, existing_group, remove, short_tmp, wait_for

pytestmark = pytest.mark.slow

CONFIG = """
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
group = "{group}"

[[sensor]]
name = "air"
driver = "simulated.air"
interval = "200ms"
"""


def write_config(root: Path, device: str, city: str, lab: str, uplink: str) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    path = root / "agent.toml"
    text = CONFIG.format(device=device, city=city, lab=lab, root=root, group=existing_group())
    path.write_text(text + "\n" + uplink)
    return path


def start_agent(path: Path) -> AgentThread:
    config = parse_config(tomllib.loads(path.read_text()), source=path)
    return AgentThread(config).start()


def device_uplink(broker: Broker, pki: Pki, root: Path, user: str) -> str:
    root.mkdir(parents=True, exist_ok=True)
    return uplink_table(
        broker.port,
        pki,
        root,
        username=user,
        password_file=str(password_file(root, user)),
    )


def by_device(region: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {d["device"]: d for d in region["devices"]}


@pytest.fixture
def agent_a(broker: Broker, pki: Pki) -> Iterator[tuple[AgentThread, SyncApiClient]]:
    """Agent A (``test-pi`` in Teststadt) with its API, synced to the broker."""
    root = short_tmp()
    config = write_config(root, DEVICE, CITY, LAB, device_uplink(broker, pki, root, DEVICE))
    agent = start_agent(config)
    try:
        with SyncApiClient(ApiClient.unix(root / "api.sock")) as api:
            yield agent, api
    finally:
        agent.stop()
        remove(root)


def test_region_lists_every_device_and_the_last_will_of_one_that_vanished(
    edge_agent_cmd: list[str],
    tmp_path: Path,
    broker: Broker,
    pki: Pki,
    agent_a: tuple[AgentThread, SyncApiClient],
) -> None:
    _, api = agent_a
    region = wait_for(
        lambda: (r := api.region())["subscription"] == "granted" and DEVICE in by_device(r) and r,
        what="agent A's own status in its region table",
    )
    assert region["configured"] and region["connected"]
    assert region["broker"] == f"127.0.0.1:{broker.port}"
    assert region["device"] == DEVICE and region["error"] is None

    config_b = write_config(
        tmp_path / "b",
        SECOND_DEVICE,
        "Bad Schönborn",
        "Lab 2",
        device_uplink(broker, pki, tmp_path / "b", SECOND_DEVICE),
    )
    agent_b = AgentProcess(edge_agent_cmd, config_b)
    try:
        region = wait_for(
            lambda: (
                (b := by_device(r := api.region()).get(SECOND_DEVICE)) is not None
                and b["status"] == "online"
                and b["health"] is not None
                and r
            ),
            timeout=60,
            what="agent B online with its health in A's region table",
        )
        b = by_device(region)[SECOND_DEVICE]
        assert (b["city"], b["lab"]) == ("bad-schönborn", "lab-2")
        health = b["health"]
        assert health["version"] == __version__
        assert health["backlog"] is not None and health["disk_free_bytes"] is not None
        assert b["last_seen"] == health["time"] and abs(health["time"] - time.time()) < 60
        a = by_device(region)[DEVICE]
        assert (a["city"], a["lab"], a["status"]) == ("teststadt", "lab-1", "online")
        assert (region["online"], region["offline"]) == (2, 0)

        # SIGKILL: B cannot say goodbye; the broker publishes its last will.
        agent_b.proc.send_signal(signal.SIGKILL)
        agent_b.wait(20)
        region = wait_for(
            lambda: by_device(r := api.region())[SECOND_DEVICE]["status"] == "offline" and r,
            timeout=30,
            what="B's last will (offline) in A's region table",
        )
    finally:
        if agent_b.proc.poll() is None:
            agent_b.proc.kill()
            agent_b.wait(20)
    gone = by_device(region)[SECOND_DEVICE]
    assert gone["health"] is not None, "the retained health of a vanished device stays"
    assert gone["status_at"] is not None and gone["status_at"] >= gone["health_at"]
    assert (region["online"], region["offline"]) == (1, 1)
    assert agent_b.proc.returncode == -signal.SIGKILL, "B never ran its own goodbye"


def test_a_lost_broker_keeps_the_table_marked_old_until_it_is_back(
    broker: Broker, agent_a: tuple[AgentThread, SyncApiClient]
) -> None:
    _, api = agent_a
    wait_for(
        lambda: DEVICE in by_device(api.region()),
        what="agent A's own status in its region table",
    )
    broker.stop()
    region = wait_for(
        lambda: not (r := api.region())["connected"] and r["stale_since"] is not None and r,
        timeout=30,
        what="the region table marked as not current",
    )
    assert region["error"], "the reason the table is not current"
    assert DEVICE in by_device(region), "what was known stays while the broker is gone"

    broker.start()  # persistent: the retained messages are still there
    region = wait_for(
        lambda: (
            (r := api.region())["connected"]
            and r["subscription"] == "granted"
            and DEVICE in by_device(r)
            and r
        ),
        timeout=60,
        what="the region table filled again after the broker came back",
    )
    assert region["stale_since"] is None and region["error"] is None
    assert by_device(region)[DEVICE]["status"] == "online"


def test_an_acl_without_region_reads_is_explained_and_sync_goes_on(
    tmp_path: Path, pki: Pki
) -> None:
    strict = Broker(tmp_path / "strict", pki)
    # The ACL before devices could read the region's status: mosquitto grants the subscription
    # and then drops every message.
    acl = "".join(line + "\n" for line in ACL.splitlines() if not line.startswith("pattern read"))
    (strict.directory / "acl").write_text(acl)
    strict.start()
    try:
        config_path = agent_config(
            tmp_path / "agent.toml",
            tmp_path / "data",
            uplink_table(strict.port, pki, tmp_path),
            sensors=False,
        )
        config = parse_config(tomllib.loads(config_path.read_text()), source=config_path)
        last = prefill(config.store.data_dir, 300)
        with RunningUplink(config) as run:
            wait_for(lambda: run.uplink.acked_row >= last, 30, "the readings to be synced")
            snapshot = wait_for(
                lambda: (s := run.uplink.region.snapshot()).error and s,
                timeout=SILENT_AFTER + 30,
                what="an explanation of the empty region table",
            )
            assert snapshot.subscription == "granted" and snapshot.devices == ()
            assert f"its ACL must let user '{DEVICE}' read digitallabor/+/+/+/status" in (
                snapshot.error
            )
            assert run.uplink.last_error is None, "the region table costs the sync nothing"
    finally:
        strict.stop()


def test_without_an_uplink_the_region_says_so_and_is_no_error() -> None:
    root = short_tmp()
    agent = start_agent(write_config(root, "lonely-pi", "Rastatt", "lab", ""))
    try:
        with SyncApiClient(ApiClient.unix(root / "api.sock")) as api:
            region = api.region()
            paths = {e["path"] for e in api.get("/v1")["endpoints"]}
    finally:
        agent.stop()
        remove(root)
    assert "/v1/region" in paths
    assert region["configured"] is False and region["broker"] is None
    assert region["connected"] is False and region["subscription"] is None
    assert region["devices"] == [] and region["device"] == "lonely-pi"


def test_region_table_off_subscribes_to_nothing_and_says_so(broker: Broker, pki: Pki) -> None:
    root = short_tmp()
    uplink = device_uplink(broker, pki, root, DEVICE) + "\nregion_table = false\n"
    agent = start_agent(write_config(root, DEVICE, CITY, LAB, uplink))
    try:
        with SyncApiClient(ApiClient.unix(root / "api.sock")) as api:
            uplink = agent.agent.uplink
            assert uplink is not None
            wait_for(lambda: uplink.state == "connected", 30, "the uplink to connect")
            region = api.region()
            subscription = uplink.region.snapshot().subscription
    finally:
        agent.stop()
        remove(root)
    assert region["configured"] is False and region["devices"] == []
    assert subscription == "waiting"  # the broker was never asked for the region's status
