"""The uplink against a real mosquitto (TLS, password file, ACL), run in threads of the test
process: delivery exactly once and in order, events first, status and health, MQTT 3.1.1 and
client certificates, a refused publish, the bandwidth cap, resuming after a stop."""

from __future__ import annotations

import json
import sqlite3
import time
import tomllib
from pathlib import Path

import pytest

from edge_agent.cli import main
from edge_agent.config import AgentConfig, parse_config
from edge_agent.store import RetentionPolicy, Store
from edge_agent.store.retention import apply_retention

from .mosquitto import (
    DEVICE,
    Broker,
    CollectorThread,
    Pki,
    RunningUplink,
    agent_config,
    assert_exactly_once_in_order,
    backlog_reading,
    broker_fixture,  # noqa: F401
    collected_count,
    collected_ids,
    collector_counter,
    collector_fixture,  # noqa: F401
    password_file,
    pki_fixture,  # noqa: F401
    prefill,
    uplink_table,
    wait_until,
)


def config(tmp_path: Path, port: int, pki: Pki, **uplink: object) -> AgentConfig:
    path = agent_config(
        tmp_path / "agent.toml",
        tmp_path / "data",
        uplink_table(port, pki, tmp_path, **uplink),
        sensors=False,
    )
    return parse_config(tomllib.loads(path.read_text()))


def wait_synced(run: RunningUplink, row: int, timeout: float = 30) -> None:
    wait_until(
        lambda: run.uplink.acked_row >= row,
        timeout,
        lambda: f"acked {run.uplink.acked_row} of {row}; last error: {run.uplink.last_error}",
    )


def test_committed_readings_and_events_arrive_once_in_order(
    tmp_path: Path, broker: Broker, pki: Pki, collector: CollectorThread, capsys
) -> None:
    cfg = config(tmp_path, broker.port, pki, pack_size=400)
    data = cfg.store.data_dir
    prefill(data, 6000)
    with Store(data) as store:  # recorded after the backlog, sent before it
        store.record_event("frost", "road surface below 0 °C", severity="alert", data={"c": -1})
    with RunningUplink(cfg) as run:
        wait_synced(run, 6000)
        # Live readings go through the writer, as in the agent.
        for first in range(6000, 9000, 500):
            run.writer.add(backlog_reading(i) for i in range(first, first + 500))
        last = run.writer.flush(10)
        wait_synced(run, last)
        wait_until(
            lambda: collected_count(collector.db) == 9000, 20, "collector is missing readings"
        )
        status = run.status()
        db = sqlite3.connect(collector.db)
        health_text, online = db.execute(
            "SELECT health, status FROM devices WHERE device = ?", (DEVICE,)
        ).fetchone()
        db.close()
    assert assert_exactly_once_in_order(data, collector.db) == 9000
    assert online == "online"
    health = json.loads(health_text)
    assert health["device"] == DEVICE and health["protocol"] == "5" and health["version"]
    assert {"backlog", "oldest_unsynced", "disk", "cpu_temperature_c", "last_ack"} <= set(health)
    assert health["disk"]["free_bytes"] > 0

    db = sqlite3.connect(collector.db)
    ((kind, severity, text, message_no),) = db.execute(
        "SELECT kind, severity, text, message FROM events"
    ).fetchall()
    first_readings = db.execute("SELECT min(message) FROM readings").fetchone()[0]
    final_status = db.execute("SELECT status FROM devices").fetchone()[0]
    value, unit, t = db.execute(
        "SELECT value, unit, t FROM readings WHERE id LIKE '%-2'"
    ).fetchone()
    db.close()
    assert (kind, severity, text) == ("frost", "alert", "road surface below 0 °C")
    assert message_no < first_readings, "the alert should go before the backlog of readings"
    assert final_status == "offline"  # said on the way out
    expected = backlog_reading(1)
    assert (value, unit, t) == (expected.value, expected.unit, round(expected.time * 1e6))

    assert status.state == "connected" and status.backlog == 0 and status.events_pending == 0
    assert status.last_ack_id is not None and status.last_ack_id.endswith(f"-{last}")
    assert status.acked_total == 9000 and status.last_error is None
    assert main(["sync", "status", "--data-dir", str(data)]) == 0
    out = capsys.readouterr().out
    assert f"broker     127.0.0.1:{broker.port} (MQTT 5)" in out
    assert "state      stopped since" in out and "backlog    0 readings" in out
    assert f"reading {status.last_ack_id} taken" in out


@pytest.mark.parametrize("login", ["mqtt-3.1.1", "client-certificate"])
def test_mqtt_311_and_client_certificate_logins_deliver(
    tmp_path: Path, broker: Broker, pki: Pki, collector: CollectorThread, login: str
) -> None:
    if login == "mqtt-3.1.1":
        cfg = config(tmp_path, broker.port, pki, protocol="3.1.1")
    else:
        cfg = config(
            tmp_path,
            broker.cert_port,
            pki,
            username=None,
            password_file=None,
            client_cert=str(pki.client_cert),
            client_key=str(pki.client_key),
        )
    last = prefill(cfg.store.data_dir, 1500)
    with RunningUplink(cfg) as run:
        wait_synced(run, last)
        wait_until(lambda: collected_count(collector.db) == 1500, 20, "readings missing")
        assert run.status().protocol == ("3.1.1" if login == "mqtt-3.1.1" else "5")
    assert_exactly_once_in_order(cfg.store.data_dir, collector.db)


def test_a_publish_the_broker_refuses_keeps_the_readings_queued(
    tmp_path: Path, broker: Broker, pki: Pki, collector: CollectorThread
) -> None:
    # "stranger" may log in, but the ACL lets it write only below its own device topics.
    cfg = config(
        tmp_path,
        broker.port,
        pki,
        username="stranger",
        password_file=str(password_file(tmp_path, "stranger")),
    )
    prefill(cfg.store.data_dir, 800)
    with RunningUplink(cfg) as run:
        wait_until(lambda: run.uplink.last_error is not None, 20, "no error was reported")
        status = run.status()
    message = status.last_error or ""
    assert "refused a message on digitallabor/teststadt/lab-1/test-pi/" in message
    assert "not authorized" in message and "user 'stranger'" in message
    assert "digitallabor/teststadt/lab-1/test-pi/#" in message
    assert status.backlog == 800 and status.last_ack_id is None
    assert collected_ids(collector.db) == []


def test_bandwidth_cap_bounds_what_is_sent(
    tmp_path: Path, broker: Broker, pki: Pki, collector: CollectorThread
) -> None:
    rate = 40_000
    cfg = config(tmp_path, broker.port, pki, max_bandwidth="40kB")
    prefill(cfg.store.data_dir, 20_000)  # about 1.3 MB of packs: half a minute at this rate
    started = time.monotonic()
    with RunningUplink(cfg) as run:
        wait_until(lambda: run.uplink.acked_row > 0, 20, "nothing was sent")
        time.sleep(1.5)
        sent = run.uplink.bytes_sent
        elapsed = time.monotonic() - started
    # An upper bound only: a slow machine sends less, never more. One burst (a second's worth)
    # and the pack that overdrew the bucket come on top of the rate.
    assert 0 < sent <= rate * elapsed + rate + rate
    assert run.uplink.acked_row < 20_000


def test_a_restarted_uplink_resumes_from_the_acknowledged_reading(
    tmp_path: Path, broker: Broker, pki: Pki, collector: CollectorThread
) -> None:
    cfg = config(tmp_path, broker.port, pki, pack_size=200, max_inflight=4)
    data = cfg.store.data_dir
    prefill(data, 3000)
    with RunningUplink(cfg) as run:
        wait_synced(run, 3000)
    prefill(data, 2000, start=3000)
    with RunningUplink(cfg) as run:
        wait_synced(run, 5000)
        wait_until(lambda: collected_count(collector.db) == 5000, 20, "readings missing")
    assert_exactly_once_in_order(data, collector.db)
    # Stopping may lose the PUBACKs of what was in flight, never more than that.
    assert collector_counter(collector.db, "duplicates") <= 4 * 200


def test_readings_dropped_by_retention_while_offline_are_counted_and_reported(
    tmp_path: Path, broker: Broker, pki: Pki, collector: CollectorThread
) -> None:
    cfg = config(tmp_path, broker.port, pki)
    data = cfg.store.data_dir
    prefill(data, 1000)
    with Store(data) as store:  # the lab was offline longer than the store keeps readings
        newest = store.after(999, limit=1)[0].time
        result = apply_retention(
            store,
            RetentionPolicy(max_age=5.0),
            now=newest + 0.005,
            synced_row=store.outbox_cursor(),
        )
    assert result.unsynced == 500
    with RunningUplink(cfg) as run:
        wait_synced(run, 1000)
        wait_until(lambda: collected_count(collector.db) == 500, 20, "readings missing")
        status = run.status()
    assert status.dropped_unsynced == 500 and status.backlog == 0
    db = sqlite3.connect(collector.db)
    kind, severity, data_json = db.execute("SELECT kind, severity, data FROM events").fetchone()
    db.close()
    assert (kind, severity) == ("retention", "warning")
    assert json.loads(data_json)["unsynced"] == 500
    assert assert_exactly_once_in_order(data, collector.db) == 500
