"""A full disk: the data directory sits on a small tmpfs that another file fills up.

What must hold: the agent keeps running and keeps storing new readings; it makes room by
dropping the oldest readings (its retention order), counted in ``dropped.retention_disk_full``
with a ``retention`` event; once space returns it stops dropping and makes its reserve file
anew; the database stays intact, and every row id ever committed is either in the database or
counted as dropped.

Mounting a tmpfs needs root (``CAP_SYS_ADMIN``); elsewhere the test is skipped and says so.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from edge_agent.readings import Reading
from edge_agent.store import Store
from edge_agent.store.database import RESERVE_BYTES
from tests.integration.agent_process import AgentProcess, write_config

pytestmark = pytest.mark.slow

TMPFS_SIZE = "48m"
LEFT_FREE = 512 * 1024
"""Bytes left free when the disk is filled: the agent fills them within seconds."""


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A tmpfs of :data:`TMPFS_SIZE` mounted for this test, unmounted after it."""
    if os.geteuid() != 0:
        pytest.skip("mounting a tmpfs for the data directory needs root (run the suite as root)")
    if shutil.which("mount") is None:
        pytest.skip("mount(8) is not installed")
    mountpoint = tmp_path / "disk"
    mountpoint.mkdir()
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={TMPFS_SIZE},mode=0755", "tmpfs", str(mountpoint)],
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here (no CAP_SYS_ADMIN?): {done.stderr.strip()}")
    try:
        yield mountpoint
    finally:
        subprocess.run(["umount", "-l", str(mountpoint)], check=False)


def free_bytes(path: Path) -> int:
    stat = os.statvfs(path)
    return stat.f_bavail * stat.f_frsize


def fill(path: Path, leave: int) -> Path:
    """Take all but ``leave`` bytes of the file system with one file (blocks really held)."""
    filler = path / "filler"
    fd = os.open(filler, os.O_WRONLY | os.O_CREAT, 0o600)
    try:
        os.posix_fallocate(fd, 0, free_bytes(path) - leave)
    finally:
        os.close(fd)
    return filler


def counters(data: Path) -> dict[str, int]:
    with Store(data, readonly=True) as store:
        return store.counters()


def wait_for(condition: object, what: str, agent: AgentProcess, timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    while not condition():  # type: ignore[operator]
        if agent.proc.poll() is not None:
            pytest.fail(f"the agent exited ({agent.proc.returncode}) before {what}:\n{agent.log}")
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for {what}:\n{agent.log[-3000:]}")
        time.sleep(0.1)


def test_disk_full_drops_oldest_counted_and_recovers(
    edge_agent_cmd: list[str], small_disk: Path, tmp_path: Path
) -> None:
    data = small_disk / "data"
    now = time.time()
    with Store(data) as store:  # a device that has run a while: 30,000 readings
        for part in range(10):
            store.write(
                [
                    Reading("history/temperature", now - 86400 + part * 3000 + i, 1.0, "Cel")
                    for i in range(3000)
                ]
            )
    config = write_config(tmp_path / "agent.toml", data, interval="5ms", flush="100ms")
    agent = AgentProcess(edge_agent_cmd, config)
    try:
        wait_for(lambda: agent.committed_row > 30_000, "the first commit", agent)
        reserve = data / "readings.db-reserve"
        assert reserve.stat().st_size == RESERVE_BYTES

        filler = fill(small_disk, LEFT_FREE)
        wait_for(lambda: "disk full: dropped" in agent.log, "a drop for room", agent)
        first_full_row = agent.committed_row
        assert not reserve.exists()  # given to SQLite first
        # The agent keeps running and storing while the disk stays full, dropping again as the
        # freed pages fill up, and no more than it needs.
        wait_for(
            lambda: agent.committed_row > first_full_row + 15_000, "commits on a full disk", agent
        )
        stored = agent.committed_row - first_full_row
        full = counters(data)
        assert agent.log.count("disk full: dropped") >= 2
        assert full["dropped.retention_disk_full"] <= stored + 2 * 5000
        assert free_bytes(small_disk) < RESERVE_BYTES  # still full

        # Space returns: nothing more is dropped, the reserve comes back, the database grows.
        filler.unlink()
        wait_for(reserve.exists, "the reserve file to be made anew", agent)
        dropped = counters(data)["dropped.retention_disk_full"]
        row = agent.committed_row
        wait_for(lambda: agent.committed_row > row + 5000, "commits after recovery", agent)
        assert counters(data)["dropped.retention_disk_full"] == dropped
    finally:
        if agent.proc.poll() is None:
            agent.proc.send_signal(signal.SIGTERM)
    assert agent.wait(60) == 0, agent.log[-3000:]

    with Store(data, readonly=True) as store:
        assert store.integrity_check() == []
        last, count = store.last_row(), store.count()
        final = store.counters()
        events = [e for e in store.recent_events(500) if e["kind"] == "retention"]
        oldest = next(store.query(limit=1))
    # Every row id ever committed is stored or counted as dropped: nothing vanished silently.
    assert count + final["dropped.retention_disk_full"] == last
    assert final.get("dropped.writer_overflow", 0) == 0
    assert oldest.row == final["dropped.retention_disk_full"] + 1  # the oldest went first
    assert events and all(e["message"].startswith("disk full: dropped") for e in events)
    assert sum(e["data"]["disk_full"] for e in events) == final["dropped.retention_disk_full"]
    full_errors = agent.log.count("the disk is full")
    print(
        f"\n{len(events)} drops for room ({final['dropped.retention_disk_full']} oldest readings), "
        f"{full_errors} commits failed for want of space (kept in memory and retried), "
        f"{count} readings kept of {last}"
    )
