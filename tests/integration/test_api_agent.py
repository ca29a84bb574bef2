"""The control API of a real agent over its real Unix socket: every endpoint, the live stream,
experiments control, credentials, and the SSH bridge path through ``edge-agent api bridge``."""

from __future__ import annotations

import asyncio
import grp
import json
import os
import socket
import stat
import subprocess
import sys
import time

import pytest

from edge_agent.api.client import ApiClient, ApiError, SyncApiClient
from edge_agent.api.credentials import PeerPolicy
from edge_agent.readings import Reading

from .test_api_support import (
    AgentThread,
    existing_group,
    make_config,
    make_probe,
    remove,
    short_tmp,
    wait_for,
)


@pytest.fixture(scope="module")
def lab():
    root = short_tmp()
    make_probe(root)
    config, _ = make_config(root)
    running = AgentThread(config).start()
    yield running, root
    running.stop()
    remove(root)


@pytest.fixture(scope="module")
def api(lab):
    _, root = lab
    with SyncApiClient(ApiClient.unix(root / "api.sock")) as client:
        # Readings of every simulated sensor are committed before the tests look.
        wait_for(
            lambda: (
                {"air", "bay-1", "road-probe"}
                <= {s["name"] for s in client.sensors() if s["latest"]}
            ),
            what="committed readings of every simulated sensor",
        )
        yield client


def test_socket_is_group_owned_with_mode_0660(lab, api):
    _, root = lab
    st = os.stat(root / "api.sock")
    assert stat.S_ISSOCK(st.st_mode)
    assert stat.S_IMODE(st.st_mode) == 0o660
    assert st.st_gid == grp.getgrnam(existing_group()).gr_gid


def test_index_lists_the_endpoints(api):
    paths = {e["path"] for e in api.get("/v1")["endpoints"]}
    assert {"/v1/device", "/v1/live", "/v1/config/apply"} <= paths


def test_device_says_who_it_is_and_why_it_is_degraded(lab, api):
    running, root = lab
    device = api.device()
    assert (device["id"], device["city"], device["lab"]) == (
        "api-pi",
        "Rastatt",
        "digitallabor-rastatt",
    )
    assert device["pid"] == os.getpid()
    assert device["config_path"] == str(root / "agent.toml")
    assert device["api_socket"] == str(root / "api.sock")
    assert device["disk"]["free_bytes"] > 0
    assert device["disk"]["store_bytes"] > 0
    stats = device["health"]["stats"]
    assert stats["committed"] > 0
    assert device["uptime_s"] > 0
    # The probe on the empty 1-Wire bus keeps failing: the device is degraded, and says why.
    health = wait_for(
        lambda: (h := api.device()["health"])["status"] == "degraded" and h,
        what="degraded health",
    )
    assert any("sensor:missing-probe" in p for p in health["problems"])
    assert device["instance"] == running.agent.api.instance


def test_sensors_show_config_backend_state_errors_and_latest(api):
    sensors = {s["name"]: s for s in api.sensors()}
    assert list(sensors) == ["air", "bay-1", "road-probe", "missing-probe", "spare"]
    air = sensors["air"]
    assert air["driver"] == "simulated.air"
    assert air["interval_s"] == 0.1
    assert air["service"]["state"] == "running"
    assert {r["stream"] for r in air["latest"]} == {"air/temperature", "air/humidity"}
    assert all(r["id"] and r["unit"] for r in air["latest"])
    probe = sensors["road-probe"]
    assert probe["family"] == "onewire"
    assert probe["backend"]["name"] == "simulated"
    assert probe["backend"]["source"] == "option"
    assert probe["options"]["backend"] == "simulated"
    missing = sensors["missing-probe"]
    assert missing["latest"] == []
    assert missing["service"]["restarts"] >= 1
    assert "DriverError" in missing["service"]["last_error"]
    spare = sensors["spare"]
    assert (spare["enabled"], spare["service"], spare["emitted"]) == (False, None, 0)


def test_one_sensor_with_statistics_and_unknown_sensor_404(api):
    detail = api.call(api.client.sensor("air"))
    stats = {s["stream"]: s for s in detail["stats"]}
    temperature = stats["air/temperature"]
    assert temperature["count"] >= 1
    assert temperature["minimum"] <= temperature["mean"] <= temperature["maximum"]
    with pytest.raises(ApiError) as missing:
        api.call(api.client.sensor("ari"))
    assert missing.value.status == 404
    assert "did you mean 'air'?" in missing.value.error


def test_history_of_a_stream_in_a_time_range(api):
    history = wait_for(
        lambda: (
            (h := api.call(api.client.history("air/temperature", since="1h", limit=3)))["truncated"]
            and h
        ),
        what="more than three committed air temperatures",
    )
    assert history["stream"] == "air/temperature"
    assert history["unit"] == "Cel"
    assert history["count"] == 3
    assert history["truncated"] is True
    times = [r["time"] for r in history["readings"]]
    assert times == sorted(times)
    assert history["stats"]["count"] >= 3
    later = api.call(api.client.history("air/temperature", since=times[-1], limit=100_000))
    assert later["readings"][0]["time"] >= times[-1]
    empty = api.call(api.client.history("air/temperature", since=time.time() + 3600))
    assert (empty["count"], empty["stats"]["count"]) == (0, 0)
    with pytest.raises(ApiError) as unknown:
        api.call(api.client.history("air/temprature"))
    assert unknown.value.status == 404
    assert "air/temperature" in unknown.value.error
    with pytest.raises(ApiError) as bad_time:
        api.call(api.client.history("air/temperature", since="yesterday-ish"))
    assert bad_time.value.status == 400
    assert "since" in bad_time.value.error
    with pytest.raises(ApiError) as pattern:
        api.get("/v1/streams/air/*/history")
    assert pattern.value.status == 400


def test_streams_lists_the_latest_reading_of_each(api):
    streams = {r["stream"] for r in api.call(api.client.streams())}
    assert {"air/temperature", "bay-1/occupied", "road-probe/temperature"} <= streams


def test_experiments_list_and_control(lab, api):
    running, _ = lab
    experiments = {e["name"]: e for e in api.experiments()}
    probe = experiments["probe"]
    assert (probe["state"], probe["version"], probe["reads"]) == (
        "running",
        "0.2.0",
        ["air/temperature"],
    )
    assert experiments["road-icing"]["state"] == "disabled"
    runner = running.agent.experiments["probe"]
    wait_for(lambda: runner.stats()["emitted"] > 0, what="the probe's output")

    stopped = api.call(api.client.stop_experiment("probe"))
    assert (stopped["changed"], stopped["state"]) == (True, "stopped")
    assert api.call(api.client.stop_experiment("probe"))["changed"] is False
    starts = runner.calls["on_start"]
    started = api.call(api.client.start_experiment("probe"))
    assert started["changed"] is True
    wait_for(lambda: api.call(api.client.experiment("probe"))["state"] == "running")
    wait_for(lambda: runner.calls["on_start"] == starts + 1, what="a fresh instance")
    restarted = api.call(api.client.restart_experiment("probe"))
    assert restarted["changed"] is True
    wait_for(lambda: runner.calls["on_start"] == starts + 2, what="another fresh instance")

    with pytest.raises(ApiError) as disabled:
        api.call(api.client.start_experiment("road-icing"))
    assert disabled.value.status == 409
    assert "enabled = true" in disabled.value.fix
    with pytest.raises(ApiError) as unknown:
        api.call(api.client.restart_experiment("prob"))
    assert unknown.value.status == 404

    log = api.call(api.client.experiment_log("probe"))["records"]
    messages = [r["message"] for r in log]
    assert "probe started" in messages
    assert any(m.startswith("restarted through the API by ") for m in messages)
    assert all(r["logger"].endswith("experiment.probe") for r in log)


def test_logs_filter_by_level_logger_and_sequence(api):
    errors = api.call(api.client.logs(level="error"))["records"]
    assert errors, "the failing probe logs errors"
    assert {r["level"] for r in errors} <= {"error", "critical"}
    assert any("missing-probe" in r["message"] for r in errors)
    everything = api.call(api.client.logs(limit=2000))["records"]
    assert len(everything) > len(errors)
    after = api.call(api.client.logs(after=everything[-2]["seq"]))["records"]
    assert after[0]["seq"] == everything[-1]["seq"]
    api_only = api.call(api.client.logs(logger="edge_agent.apitest.api"))["records"]
    assert any("control API on" in r["message"] for r in api_only)
    with pytest.raises(ApiError) as bad:
        api.call(api.client.logs(level="loud"))
    assert bad.value.status == 400


def test_events_and_sync_status(api):
    events = wait_for(
        lambda: [e for e in api.call(api.client.events(limit=50))["events"] if e["kind"] == "tick"],
        what="stored tick events",
    )
    assert events[0]["data"]["seen"] >= 0
    newer = api.call(api.client.events(after=events[0]["row"]))["events"]
    assert all(e["row"] > events[0]["row"] for e in newer)
    sync = api.call(api.client.sync())
    assert (sync["configured"], sync["broker"], sync["live"]) == (False, None, None)
    assert sync["status"]["backlog"] > 0  # no uplink: everything waits
    assert sync["status"]["state"] is None


def test_peers_when_discovery_is_off(api):
    assert api.peers() == {"enabled": False, "announced_as": None, "peers": [], "brokers": []}


def test_config_view_and_validation(lab, api):
    _, root = lab
    info = api.call(api.client.config())
    text = (root / "agent.toml").read_text()
    assert info["text"] == text
    assert info["effective"]["device"]["id"] == "api-pi"
    assert info["apply"] is None
    assert info["backup"]["exists"] is False
    assert api.call(api.client.validate_config(text)) == {"ok": True, "problems": []}
    bad = text.replace('driver = "simulated.parking_bay"', 'driver = "simulated.parking_bey"')
    reply = api.call(api.client.validate_config(bad))
    assert reply["ok"] is False
    assert "did you mean 'simulated.parking_bay'?" in reply["problems"][0]
    assert reply["problems"][0].startswith("sensor[1].driver")


def test_apply_of_an_invalid_config_changes_nothing(lab, api):
    running, root = lab
    before = (root / "agent.toml").read_text()
    with pytest.raises(ApiError) as refused:
        api.call(api.client.apply_config(before + "\n[uplink]\nport = 1883\n"))
    assert refused.value.status == 422
    assert any("uplink.host: required key is missing" in p for p in refused.value.body["problems"])
    assert (root / "agent.toml").read_text() == before
    assert not (root / "agent.toml.bak").exists()
    assert running.agent.api.restart_requested is False
    assert api.call(api.client.apply_config(before))["status"] == "unchanged"


def test_unknown_paths_and_methods_and_malformed_requests(lab, api):
    _, root = lab
    with pytest.raises(ApiError) as missing:
        api.get("/v2/device")
    assert (missing.value.status, missing.value.fix) == (404, "GET /v1 lists the endpoints")
    with pytest.raises(ApiError) as method:
        api.post("/v1/sensors")
    assert (method.value.status, method.value.fix) == (405, "use GET")
    with socket.socket(socket.AF_UNIX) as raw:
        raw.connect(str(root / "api.sock"))
        raw.sendall(b"HELLO\r\n\r\n")
        assert raw.recv(4096).startswith(b"HTTP/1.1 400 Bad Request")


async def _live_messages(root, *, want, streams="air/*", timeout=20.0, **options):
    """Collect live messages until ``want(messages)`` says enough."""
    messages = []
    async with (
        ApiClient.unix(root / "api.sock") as client,
        client.live(streams, **options) as live,
        asyncio.timeout(timeout),
    ):
        async for message in live:
            messages.append(message)
            if want(messages):
                break
    return messages


def test_live_stream_delivers_readings_events_logs_and_heartbeats(lab, api):
    running, root = lab

    def enough(messages):
        kinds = {m["type"] for m in messages}
        return {"reading", "event", "log", "heartbeat"} <= kinds

    messages = asyncio.run(_live_messages(root, want=enough, logs="debug", heartbeat=0.2))
    hello = messages[0]
    assert hello["type"] == "hello"
    assert (hello["device"], hello["streams"]) == ("api-pi", ["air/*"])
    readings = [m for m in messages if m["type"] == "reading"]
    assert {r["stream"] for r in readings} <= {"air/temperature", "air/humidity"}
    assert all(r["unit"] in ("Cel", "%RH") for r in readings)
    events = [m["event"] for m in messages if m["type"] == "event"]
    assert any(e["kind"] == "tick" for e in events)
    heartbeat = next(m for m in messages if m["type"] == "heartbeat")
    assert heartbeat["health"]["status"] in ("ok", "degraded")
    # The stream's subscription is gone once the client went away.
    wait_for(
        lambda: not any(s.name == "api-live" for s in running.agent.hub.subscriptions),
        what="the live subscription to close",
    )


def test_a_slow_live_client_is_told_how_many_readings_it_skipped(lab, api):
    running, root = lab
    queue = running.agent.config.api.live_queue
    burst = [Reading("burst/value", time.time(), float(i), "count") for i in range(5000)]

    async def scenario():
        got = []
        async with (
            ApiClient.unix(root / "api.sock") as client,
            client.live("burst/*", events=False) as live,
        ):
            assert (await anext(live))["type"] == "hello"
            # The client does not read while 5000 readings arrive at once.
            running.call(lambda: running.agent.hub.publish_many(burst))
            async with asyncio.timeout(20):
                async for message in live:
                    got.append(message)
                    if message["type"] == "reading" and message["value"] == 4999.0:
                        break
        return got

    got = asyncio.run(scenario())
    skipped = [m for m in got if m["type"] == "skipped"]
    readings = [m for m in got if m["type"] == "reading"]
    assert skipped[0]["what"] == "readings"
    assert skipped[0]["count"] == 5000 - queue
    assert len(readings) == queue
    assert readings[0]["value"] == float(5000 - queue)  # the oldest went first
    # A slow console is not a problem of the device.
    assert not any("dropped" in p for p in api.device()["health"]["problems"])


def test_live_with_a_bad_parameter_is_refused(lab):
    _, root = lab
    with pytest.raises(ApiError) as bad:
        asyncio.run(_live_messages(root, want=lambda m: True, heartbeat=0.0))
    assert bad.value.status == 400


@pytest.mark.slow  # starts the edge-agent console script
def test_the_bridge_carries_the_api_over_a_process_pipe(lab, api, edge_agent_cmd):
    _, root = lab
    # What ApiClient.ssh runs on the device, here without ssh in front: a plain process pipe.
    bridge = [*edge_agent_cmd, "api", "bridge", "--socket", str(root / "api.sock")]
    with SyncApiClient(ApiClient.command(bridge)) as remote:
        assert remote.device()["id"] == "api-pi"
        assert remote.sensors()[0]["name"] == "air"  # a second request on the same pipe
        live = remote.live("air/*", heartbeat=1.0)
        first = [next(live) for _ in range(3)]
        live.close()
    assert first[0]["type"] == "hello"
    assert all(m["type"] == "reading" for m in first[1:])


@pytest.mark.slow  # starts the edge-agent console script
def test_the_bridge_explains_a_missing_socket(lab, edge_agent_cmd):
    _, root = lab
    proc = subprocess.run(
        [*edge_agent_cmd, "api", "bridge", "--socket", str(root / "nope.sock")],
        input=b"",
        capture_output=True,
        timeout=30,
        check=False,
    )
    assert proc.returncode == 1
    assert b"cannot connect to" in proc.stderr
    # The light bridge module (no CLI import) says the same through the client.
    light = [sys.executable, "-m", "edge_agent.api.bridge", "--socket", str(root / "nope.sock")]
    with SyncApiClient(ApiClient.command(light)) as remote, pytest.raises(ApiError) as lost:
        remote.device()
    assert "cannot connect to" in lost.value.error


@pytest.mark.slow  # starts the edge-agent console script
def test_edge_agent_api_get_prints_json(lab, edge_agent_cmd):
    _, root = lab
    sock = str(root / "api.sock")
    out = subprocess.run(
        [*edge_agent_cmd, "api", "get", "/v1/sensors/air", "--socket", sock],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout)["name"] == "air"
    missing = subprocess.run(
        [*edge_agent_cmd, "api", "get", "/v1/sensors/nope", "--socket", sock],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert missing.returncode == 1
    assert "unknown sensor 'nope'" in missing.stderr


def test_a_user_the_policy_refuses_gets_403_with_the_reason():
    root = short_tmp()
    make_probe(root)
    config, _ = make_config(root)

    def refuse_everyone(agent):
        # Only uid 4242 may connect: this test's own uid (root or not) is refused, through
        # the real SO_PEERCRED check of the agent's socket.
        agent.api.policy = PeerPolicy(frozenset({4242}), group="edge-agent", group_gid=None)

    running = AgentThread(config, prepare=refuse_everyone).start()
    try:
        with SyncApiClient(ApiClient.unix(root / "api.sock")) as api, pytest.raises(ApiError) as no:
            api.device()
        assert no.value.status == 403
        assert f"uid {os.getuid()}" in no.value.error
        assert "groupadd --system edge-agent" in no.value.error
        assert running.agent.api.server.refused == 1
    finally:
        running.stop()
        remove(root)
