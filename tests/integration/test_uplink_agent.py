"""The real ``edge-agent`` with an ``[uplink]`` against a real mosquitto: live readings reach the
``edge-agent region collect`` process exactly once and in order, ``sync status`` and ``region
export`` show them, and an agent started while the broker is down keeps its readings and sends
them once the broker is up."""

from __future__ import annotations

import csv
import io
import json
import signal
import subprocess
import threading
from pathlib import Path

import pytest

from edge_agent.cli import main

from .agent_process import AgentProcess
from .mosquitto import (
    Broker,
    CollectorThread,
    Pki,
    agent_config,
    assert_exactly_once_in_order,
    broker_fixture,  # noqa: F401
    committed_ids,
    password_file,
    pki_fixture,  # noqa: F401
    uplink_meta,
    uplink_table,
    wait_for_everything,
    wait_until,
)

pytestmark = pytest.mark.slow


def sync_status(data: Path, capsys: pytest.CaptureFixture[str]) -> dict[str, object]:
    """``edge-agent sync status --json`` (in this process: it only reads the store)."""
    capsys.readouterr()
    assert main(["sync", "status", "--data-dir", str(data), "--json"]) == 0
    return dict(json.loads(capsys.readouterr().out))


def drain_and_stop(cmd: list[str], tmp_path: Path, port: int, pki: Pki, data: Path) -> None:
    """Restart the agent without sensors until the outbox is empty; what was committed at the
    last stop goes out now."""
    config = agent_config(
        tmp_path / "drain.toml", data, uplink_table(port, pki, tmp_path), sensors=False
    )
    agent = AgentProcess(cmd, config)
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


class CollectorProcess:
    """``edge-agent region collect`` as a process, its stderr collected."""

    def __init__(self, cmd: list[str], broker: Broker, db: Path, tmp_path: Path) -> None:
        self.proc = subprocess.Popen(
            [
                *cmd,
                "region",
                "collect",
                "--broker",
                f"127.0.0.1:{broker.port}",
                "--db",
                str(db),
                "--ca-file",
                str(broker.pki.ca_cert),
                "--username",
                "region",
                "--password-file",
                str(password_file(tmp_path, "region")),
                "--client-id",
                "cli-collector",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        self.lines: list[str] = []
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.proc.stderr is not None
        for line in self.proc.stderr:
            self.lines.append(line)

    @property
    def log(self) -> str:
        return "".join(self.lines)

    def stop(self) -> int:
        self.proc.send_signal(signal.SIGTERM)
        code = self.proc.wait(30)
        self._reader.join(5)
        if self.proc.stderr is not None:
            self.proc.stderr.close()
        return code


def test_live_readings_reach_the_region_collector_once_and_in_order(
    edge_agent_cmd: list[str],
    tmp_path: Path,
    broker: Broker,
    pki: Pki,
    capsys: pytest.CaptureFixture[str],
) -> None:
    db = tmp_path / "region.db"
    collector = CollectorProcess(edge_agent_cmd, broker, db, tmp_path)
    try:
        wait_until(lambda: "collecting digitallabor/#" in collector.log, 30, lambda: collector.log)
        data = tmp_path / "data"
        config = agent_config(
            tmp_path / "agent.toml", data, uplink_table(broker.port, pki, tmp_path)
        )
        agent = AgentProcess(edge_agent_cmd, config)
        try:
            wait_until(
                lambda: int(uplink_meta(data).get("acked_total") or 0) >= 100,
                30,
                lambda: f"{uplink_meta(data)}\n{agent.log}",
            )
            live = sync_status(data, capsys)
        finally:
            agent.proc.send_signal(signal.SIGTERM)
            assert agent.wait(30) == 0, agent.log
        assert live["state"] == "connected" and live["protocol"] == "5"
        assert live["last_error"] is None and live["broker"] == f"127.0.0.1:{broker.port}"
        drain_and_stop(edge_agent_cmd, tmp_path, broker.port, pki, data)
        wait_for_everything(data, db)
    finally:
        assert collector.stop() == 0, collector.log
    count = assert_exactly_once_in_order(data, db)
    assert f"collected {count} readings" in collector.log

    final = sync_status(data, capsys)
    assert final["backlog"] == 0 and final["state"] == "stopped"
    assert str(final["last_ack_id"]) == committed_ids(data)[-1][0]
    assert main(["region", "export", "--db", str(db), "--format", "csv"]) == 0
    exported = capsys.readouterr().out
    rows = list(csv.DictReader(io.StringIO(exported)))
    # One topic, in-order delivery, repeats dropped: first arrivals are in commit order.
    assert [r["id"] for r in rows] == [rid for rid, _ in committed_ids(data)]
    assert len(rows) == count
    assert {r["stream"] for r in rows} >= {"road-surface/temperature", "air/humidity"}
    assert {(r["device"], r["city"], r["lab"]) for r in rows} == {("test-pi", "teststadt", "lab-1")}


def test_agent_started_while_the_broker_is_down_sends_everything_later(
    edge_agent_cmd: list[str], tmp_path: Path, pki: Pki, capsys: pytest.CaptureFixture[str]
) -> None:
    broker = Broker(tmp_path / "broker", pki)
    # The collector's persistent session exists before the outage, as in a running region.
    broker.start()
    collector = CollectorThread(broker, tmp_path / "region.db").start()
    broker.stop()
    data = tmp_path / "data"
    config = agent_config(tmp_path / "agent.toml", data, uplink_table(broker.port, pki, tmp_path))
    agent = AgentProcess(edge_agent_cmd, config)
    try:
        wait_until(
            lambda: (
                uplink_meta(data).get("state") == "waiting"
                and int(uplink_meta(data).get("backlog") or 0) >= 100
            ),
            30,
            lambda: f"{uplink_meta(data)}\n{agent.log}",
        )
        down = sync_status(data, capsys)
        assert "connection refused" in str(down["last_error"])
        assert down["last_ack_id"] is None
        broker.start()
        wait_until(
            lambda: (
                uplink_meta(data).get("state") == "connected"
                and int(uplink_meta(data).get("acked_total") or 0) >= int(down["backlog"])
            ),  # type: ignore[call-overload]
            30,
            lambda: f"{uplink_meta(data)}\n{agent.log}",
        )
    finally:
        agent.proc.send_signal(signal.SIGTERM)
        assert agent.wait(30) == 0, agent.log
    try:
        drain_and_stop(edge_agent_cmd, tmp_path, broker.port, pki, data)
        wait_for_everything(data, collector.db)
        assert_exactly_once_in_order(data, collector.db)
    finally:
        collector.stop()
        broker.stop()
    assert "cannot reach the broker" in agent.log and "readings stay queued" in agent.log
