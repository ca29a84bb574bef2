"""The uplink when things go wrong: wrong credentials, an untrusted certificate, an unreachable
broker, a readable password file, the broker stopped in the middle of a drain, and the agent
killed with SIGKILL in the middle of a drain.

Each failure must say what to fix and keep the readings queued; each interruption must end, once
the agent has run to an empty outbox, with every committed reading at the collector exactly
once and every stream in commit order.
"""

from __future__ import annotations

import signal
import subprocess
import tomllib
from pathlib import Path
from typing import Any

import pytest

from edge_agent.cli.sync_cmds import render
from edge_agent.config import AgentConfig, parse_config
from tests.integration.agent_process import AgentProcess
from tests.integration.mosquitto import (
    Broker,
    CollectorThread,
    Pki,
    RunningUplink,
    agent_config,
    assert_exactly_once_in_order,
    broker_fixture,  # noqa: F401
    collected_count,
    collected_ids,
    collector_counter,
    collector_fixture,  # noqa: F401
    committed_ids,
    free_port,
    password_file,
    pki_fixture,  # noqa: F401
    prefill,
    uplink_meta,
    uplink_table,
    wait_for_everything,
    wait_until,
)


def uplink_config(tmp_path: Path, port: int, pki: Pki, **uplink: object) -> AgentConfig:
    path = agent_config(
        tmp_path / "agent.toml",
        tmp_path / "data",
        uplink_table(port, pki, tmp_path, **uplink),
        sensors=False,
    )
    return parse_config(tomllib.loads(path.read_text()))


def failure_of(tmp_path: Path, port: int, pki: Pki, **uplink: object) -> tuple[str, list[str]]:
    """Run the uplink against a broker that will not take it; (last error, sync status)."""
    config = uplink_config(tmp_path, port, pki, **uplink)
    prefill(config.store.data_dir, 500)
    with RunningUplink(config) as run:
        # The uplink cycles between waiting (backoff) and connecting; on a loaded machine a
        # single look can land on a retry, so look until it is seen waiting with its error.
        seen: dict[str, Any] = {}

        def waiting_with_error() -> bool:
            if run.uplink.last_error is None:
                return False
            seen["status"] = run.status()
            return bool(seen["status"].state == "waiting")

        wait_until(waiting_with_error, 30, "no error was reported while waiting")
        status = seen["status"]
    assert status.backlog == 500, "the readings must stay queued"
    assert status.last_ack_id is None and status.acked_total == 0
    assert status.state == "waiting" and status.retry_at is not None
    return status.last_error or "", render(status, now=status.updated or 0.0)


def test_wrong_password_says_whose_login_and_where_the_password_is(
    tmp_path: Path, broker: Broker, pki: Pki, collector: CollectorThread
) -> None:
    wrong = password_file(tmp_path, "test-pi", "not-the-password", name="wrong")
    message, lines = failure_of(tmp_path, broker.port, pki, password_file=str(wrong))
    assert f"the broker at 127.0.0.1:{broker.port} refused the login of user 'test-pi'" in message
    assert f"the password in {wrong} is wrong" in message
    assert "check uplink.username and the password file" in message
    assert any(line.startswith("last error") and "refused the login" in line for line in lines)
    assert collected_ids(collector.db) == []


def test_untrusted_certificate_says_which_ca_to_set(
    tmp_path: Path, broker: Broker, pki: Pki
) -> None:
    message, _ = failure_of(tmp_path, broker.port, pki, ca_file=str(pki.other_ca_cert))
    assert (
        f"TLS: the certificate of the broker at 127.0.0.1:{broker.port} is not trusted" in message
    )
    assert f"uplink.ca_file ({pki.other_ca_cert}) did not sign it" in message
    assert "set uplink.ca_file to the CA certificate that signed the broker's" in message


def test_system_trust_store_not_knowing_the_broker_says_to_set_a_ca_file(
    tmp_path: Path, broker: Broker, pki: Pki
) -> None:
    message, _ = failure_of(tmp_path, broker.port, pki, ca_file=None)
    assert "the system trust store does not know its CA; set uplink.ca_file" in message


def test_unreachable_broker_says_what_to_check(tmp_path: Path, pki: Pki) -> None:
    port = free_port()  # nothing listens there
    message, lines = failure_of(tmp_path, port, pki)
    assert f"cannot reach the broker at 127.0.0.1:{port}: connection refused" in message
    assert "check uplink.host and uplink.port and that the broker is running" in message
    assert any(line.startswith("state      waiting since") for line in lines)


@pytest.mark.slow
def test_readable_password_file_stops_the_agent_with_the_chmod_fix(
    edge_agent_cmd: list[str], tmp_path: Path, pki: Pki
) -> None:
    config = agent_config(
        tmp_path / "agent.toml", tmp_path / "data", uplink_table(free_port(), pki, tmp_path)
    )
    secret = password_file(tmp_path, "test-pi")
    secret.chmod(0o644)
    proc = subprocess.run(
        [*edge_agent_cmd, "run", "--config", str(config)],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert proc.returncode == 2, proc.stderr
    assert f"uplink.password_file: {secret} can be read by every user" in proc.stderr
    assert f"chmod 600 {secret}" in proc.stderr


def drain_and_stop(
    edge_agent_cmd: list[str], tmp_path: Path, broker: Broker, pki: Pki, data: Path
) -> None:
    """Run the agent without sensors until its outbox is empty, then stop it with SIGTERM."""
    config = agent_config(
        tmp_path / "drain.toml", data, uplink_table(broker.port, pki, tmp_path), sensors=False
    )
    agent = AgentProcess(edge_agent_cmd, config)
    try:
        wait_until(
            lambda: (
                uplink_meta(data).get("backlog") == 0
                and uplink_meta(data).get("state") == "connected"
            ),
            60,
            lambda: f"the outbox did not empty: {uplink_meta(data)}\n{agent.log}",
        )
    finally:
        agent.proc.send_signal(signal.SIGTERM)
        assert agent.wait(30) == 0, agent.log


@pytest.mark.slow
def test_broker_stopped_and_started_again_mid_drain(
    edge_agent_cmd: list[str],
    tmp_path: Path,
    broker: Broker,
    pki: Pki,
    collector: CollectorThread,
) -> None:
    data = tmp_path / "data"
    prefill(data, 20_000)
    config = agent_config(
        tmp_path / "agent.toml",
        data,
        uplink_table(broker.port, pki, tmp_path, max_bandwidth="1MB"),
        interval="100ms",
    )
    agent = AgentProcess(edge_agent_cmd, config)
    try:
        wait_until(lambda: collected_count(collector.db) >= 5000, 30, lambda: agent.log)
        # SIGTERM: mosquitto saves what it queued for the collector's session, as a broker
        # that is restarted for maintenance does.
        broker.stop()
        wait_until(
            lambda: uplink_meta(data).get("state") == "waiting",
            20,
            lambda: f"the agent did not notice: {uplink_meta(data)}",
        )
        assert f"127.0.0.1:{broker.port}" in str(uplink_meta(data)["last_error"])
        assert len(collected_ids(collector.db)) < 20_000, "the drain was over before the stop"
        broker.start()
        wait_until(lambda: collected_count(collector.db) >= 20_000, 60, lambda: agent.log)
    finally:
        agent.proc.send_signal(signal.SIGTERM)
        assert agent.wait(30) == 0, agent.log
    drain_and_stop(edge_agent_cmd, tmp_path, broker, pki, data)
    wait_for_everything(data, collector.db)
    count = assert_exactly_once_in_order(data, collector.db)
    print(f"\n{count} readings, {collector_counter(collector.db, 'duplicates')} repeats dropped")


@pytest.mark.slow
def test_agent_killed_mid_drain_resends_from_the_acknowledged_reading(
    edge_agent_cmd: list[str],
    tmp_path: Path,
    broker: Broker,
    pki: Pki,
    collector: CollectorThread,
) -> None:
    data = tmp_path / "data"
    prefill(data, 20_000)
    config = agent_config(
        tmp_path / "agent.toml",
        data,
        uplink_table(broker.port, pki, tmp_path, max_bandwidth="1MB"),
        interval="100ms",
    )
    agent = AgentProcess(edge_agent_cmd, config)
    wait_until(lambda: collected_count(collector.db) >= 5000, 30, lambda: agent.log)
    agent.proc.send_signal(signal.SIGKILL)
    assert agent.wait() == -signal.SIGKILL
    # Everything the store marked synced was acknowledged by the broker: it all arrives.
    meta = uplink_meta(data)
    assert 0 < int(meta["acked_total"]) < 20_000, "kill the agent in the middle of the drain"
    acked_row = int(str(meta["last_ack_id"]).rsplit("-", 1)[1])
    synced = {rid for rid, _ in committed_ids(data) if int(rid.rsplit("-", 1)[1]) <= acked_row}
    wait_until(
        lambda: synced <= {rid for rid, _ in collected_ids(collector.db)},
        20,
        "a reading marked synced never reached the collector",
    )
    drain_and_stop(edge_agent_cmd, tmp_path, broker, pki, data)
    wait_for_everything(data, collector.db)
    count = assert_exactly_once_in_order(data, collector.db)
    print(f"\n{count} readings, {collector_counter(collector.db, 'duplicates')} repeats dropped")
