"""The agent as a process: it runs, stores, stops cleanly on SIGTERM and speaks sd_notify."""

from __future__ import annotations

import signal
import socket
import subprocess
import time
from pathlib import Path

import pytest

from edge_agent.store import Store

from .agent_process import AgentProcess, write_config

pytestmark = pytest.mark.slow


def wait_for_rows(data_dir: Path, rows: int, timeout: float) -> float:
    """Seconds until the store holds ``rows`` readings; fails after ``timeout``."""
    start = time.monotonic()
    while time.monotonic() - start < timeout:
        if (data_dir / "readings.db").exists():
            try:
                with Store(data_dir, readonly=True) as store:
                    if store.count() >= rows:
                        return time.monotonic() - start
            except Exception:  # the writer may be creating the schema right now
                pass
        time.sleep(0.1)
    pytest.fail(f"fewer than {rows} readings stored after {timeout} s")


def test_demo_shows_and_stores_readings_within_ten_seconds(
    edge_agent_cmd: list[str], tmp_path: Path
) -> None:
    data = tmp_path / "demo"
    proc = subprocess.Popen(
        [*edge_agent_cmd, "demo", "--duration", "5", "--data-dir", str(data)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    first = wait_for_rows(data, 1, timeout=10)
    out, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, err
    assert first < 10
    for stream in ("road-surface/temperature", "air/humidity", "bay-1/"):
        assert stream in out
    assert "readings committed to" in out
    with Store(data, readonly=True) as store:
        streams = store.streams()
        assert store.count() >= 20
    # One stream of each family that reports within seconds: 1-Wire, GPIO, serial (NMEA over
    # a pty, UMB polled), system health.
    for stream in (
        "road-surface/temperature",
        "bay-1/distance",
        "spreader-gps/latitude",
        "road-irs31/surface_temperature",
        "pi/cpu_temperature",
    ):
        assert stream in streams


def test_sigterm_commits_everything_and_exits_zero(
    edge_agent_cmd: list[str], tmp_path: Path
) -> None:
    # A long flush interval: only the shutdown path can commit what the drivers produced.
    config = write_config(tmp_path / "agent.toml", tmp_path / "data", flush="1h", flush_count=10**6)
    agent = AgentProcess(edge_agent_cmd, config)
    agent.wait_for_log(" running as ")
    time.sleep(1.0)
    agent.proc.send_signal(signal.SIGTERM)
    assert agent.wait() == 0, agent.log
    assert "stopped;" in agent.log
    with Store(tmp_path / "data", readonly=True) as store:
        count = store.count()
        assert store.integrity_check() == []
    assert count >= 40  # 4 sensors, 7 readings each per 100 ms tick... at least a few ticks
    assert f"{count} readings stored" in agent.log


def test_ready_and_watchdog_reach_systemd(edge_agent_cmd: list[str], tmp_path: Path) -> None:
    config = write_config(tmp_path / "agent.toml", tmp_path / "data")
    sock_path = tmp_path / "notify"
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as listener:
        listener.bind(str(sock_path))
        listener.settimeout(15)
        agent = AgentProcess(
            edge_agent_cmd,
            config,
            env={"NOTIFY_SOCKET": str(sock_path), "WATCHDOG_USEC": "1000000"},
        )
        messages: list[str] = []
        try:
            while not any("READY=1" in m for m in messages) or messages.count("WATCHDOG=1") < 2:
                messages.append(listener.recv(4096).decode())
        finally:
            agent.proc.send_signal(signal.SIGTERM)
            agent.wait()
        listener.settimeout(0.5)
        while "STOPPING=1" not in messages:
            messages.append(listener.recv(4096).decode())  # times out if it never came
    assert any(m.startswith("READY=1\nSTATUS=running 4 sensors") for m in messages)
    assert "STOPPING=1" in messages


def test_unusable_data_dir_fails_with_a_clear_message(
    edge_agent_cmd: list[str], tmp_path: Path
) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    config = write_config(tmp_path / "agent.toml", blocker / "data")
    proc = subprocess.run(
        [*edge_agent_cmd, "run", "--config", str(config)],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert proc.returncode == 1
    assert "cannot open" in proc.stderr and str(blocker / "data") in proc.stderr
