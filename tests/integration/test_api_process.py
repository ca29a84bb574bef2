"""Config apply through the API of ``edge-agent run`` as a process: a good config is confirmed,
and configs that do not work are rolled back, whether the agent runs unhealthy, cannot start at
all, or is stopped during the trial. Restarts use ``exec`` (the process keeps its pid)."""

from __future__ import annotations

import json
import signal
import time
from pathlib import Path

import pytest

from edge_agent.api.client import ApiClient, ApiError, SyncApiClient

from .agent_process import AgentProcess
from .test_api_support import remove, short_tmp, wait_for

pytestmark = pytest.mark.slow

BASE = """
[device]
id = "apply-pi"
trust_clock = true

[store]
data_dir = "{root}/data"
flush_interval = "200ms"

[api]
socket = "{root}/api.sock"
apply_timeout = "8s"
apply_settle = "1s"
restart = "exec"

[[sensor]]
name = "air"
driver = "simulated.air"
interval = "200ms"
"""

BAY = """
[[sensor]]
name = "bay-1"
driver = "simulated.parking_bay"
interval = "200ms"
"""

MISSING_PROBE = """
[[sensor]]
name = "missing-probe"
driver = "onewire.ds18b20"
interval = "1s"
options = {{ backend = "sysfs", sysfs_root = "{root}/w1" }}
"""


@pytest.fixture
def device(edge_agent_cmd):
    root = short_tmp()
    (root / "w1").mkdir()
    path = root / "agent.toml"
    text = BASE.format(root=root)
    path.write_text(text)
    agent = AgentProcess(edge_agent_cmd, path)
    client = SyncApiClient(ApiClient.unix(root / "api.sock"))
    try:
        first = wait_for(lambda: reachable(client, client.device), what="the agent's API")
        yield agent, client, root, text, first
    finally:
        client.close()
        if agent.proc.poll() is None:
            agent.proc.send_signal(signal.SIGTERM)
            agent.wait(30)
        remove(root)


def reachable(client: SyncApiClient, call):
    """``call()``, or None while the agent is restarting."""
    try:
        return call()
    except ApiError as exc:
        if exc.status:
            raise
        return None


def settled(client: SyncApiClient, instance: str) -> dict:
    """The config once the agent restarted after ``instance`` and the trial is over."""
    return client.call(client.client.wait_for_apply(instance, timeout=90, poll=0.2))


def running_sensors(client: SyncApiClient) -> list[str]:
    return [s["name"] for s in client.sensors()]


def test_a_good_config_is_confirmed_and_kept(device):
    agent, client, root, old, first = device
    new = old + BAY
    reply = client.call(client.client.apply_config(new))
    assert reply["status"] == "restarting"
    assert reply["instance"] == first["instance"]
    info = settled(client, first["instance"])
    assert info["apply"]["state"] == "confirmed"
    assert info["text"] == new
    assert (root / "agent.toml.bak").read_text() == old
    now = wait_for(lambda: reachable(client, client.device), what="the agent after the trial")
    assert now["pid"] == agent.proc.pid  # exec: same process, new program image
    assert now["instance"] != first["instance"]
    assert running_sensors(client) == ["air", "bay-1"]
    events = client.call(client.client.events(limit=50))["events"]
    assert any(e["kind"] == "config-apply" and e["data"]["state"] == "confirmed" for e in events)


def test_a_config_whose_sensor_cannot_start_is_rolled_back(device):
    agent, client, root, old, first = device
    new = old + MISSING_PROBE.format(root=root)
    assert client.call(client.client.apply_config(new))["status"] == "restarting"
    info = settled(client, first["instance"])
    record = info["apply"]
    assert record["state"] == "rolled-back"
    assert "not healthy within 8 s" in record["reason"]
    assert "sensor:missing-probe" in record["reason"]
    assert "DriverError" in record["reason"]
    assert (root / "agent.toml").read_text() == old
    assert (root / "agent.toml.failed").read_text() == new
    # The agent came back on the old config, as the same process.
    names = wait_for(
        lambda: (n := reachable(client, lambda: running_sensors(client))) == ["air"] and n,
        what="the agent on the old config",
    )
    assert names == ["air"]
    assert client.device()["pid"] == agent.proc.pid
    assert agent.proc.poll() is None
    assert "rolled back" in agent.log


def test_a_config_the_agent_cannot_start_with_is_rolled_back(device):
    agent, client, root, old, first = device
    (root / "not-a-dir").write_text("a file where the data directory should be\n")
    new = old.replace(f'data_dir = "{root}/data"', f'data_dir = "{root}/not-a-dir/data"')
    assert client.call(client.client.apply_config(new))["status"] == "restarting"
    info = settled(client, first["instance"])
    record = info["apply"]
    assert record["state"] == "rolled-back"
    assert "exited before the new config was confirmed" in record["reason"]
    assert (root / "agent.toml").read_text() == old
    device = wait_for(lambda: reachable(client, client.device), what="the agent on the old config")
    assert device["disk"]["path"] == f"{root}/data"
    assert device["pid"] == agent.proc.pid
    assert "cannot open" in agent.log  # the new agent's own message on the way down


def test_stopping_the_agent_during_the_trial_restores_the_old_config(device):
    agent, client, root, old, first = device
    new = old + MISSING_PROBE.format(root=root)
    client.call(client.client.apply_config(new))

    def on_trial():
        now = reachable(client, client.device)
        return now if now and now["instance"] != first["instance"] else None

    trial = wait_for(on_trial, what="the agent on trial")
    assert "a newly applied config is on trial" in trial["health"]["problems"]
    agent.proc.send_signal(signal.SIGTERM)
    assert agent.wait(30) == 0, agent.log
    record = json.loads((root / "agent.toml.apply.json").read_text())
    assert record["state"] == "rolled-back"
    assert "stopped before the new config was confirmed" in record["reason"]
    assert (root / "agent.toml").read_text() == old
    assert not Path(root / "api.sock").exists()
    time.sleep(0.5)
    assert agent.proc.poll() == 0  # stopped means stopped: no restart after a technician's stop
