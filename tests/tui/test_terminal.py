"""``edge-tui`` in a real terminal: tmux runs it at 100x30 against a real agent, the test types
keys with send-keys and reads the screen with capture-pane."""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import time

import pytest

from .rig import edge_tui_command, remove, start_lab

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux is not installed"),
]


class Tmux:
    """A private tmux server (its own socket name) with one session."""

    def __init__(self, command: list[str], *, width: int = 100, height: int = 30) -> None:
        self.name = f"edge-tui-test-{os.getpid()}"
        self.tmux(
            "new-session",
            "-d",
            "-s",
            "tui",
            "-x",
            str(width),
            "-y",
            str(height),
            shlex.join(command),
        )

    def tmux(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            ["tmux", "-L", self.name, *args],
            check=False,
            capture_output=True,
            text=True,
            timeout=20,
        )

    def screen(self) -> str:
        return self.tmux("capture-pane", "-p", "-t", "tui").stdout

    def keys(self, *keys: str) -> None:
        self.tmux("send-keys", "-t", "tui", *keys)

    def alive(self) -> bool:
        return self.tmux("has-session", "-t", "tui").returncode == 0

    def wait_for(self, *texts: str, timeout: float = 40.0) -> str:
        deadline = time.monotonic() + timeout
        screen = ""
        while time.monotonic() < deadline:
            screen = self.screen()
            if all(t in screen for t in texts):
                return screen
            time.sleep(0.2)
        raise AssertionError(f"{texts} not on the screen after {timeout} s:\n{screen}")

    def close(self) -> None:
        self.tmux("kill-server")


@pytest.fixture(scope="module")
def lab():
    agent, root = start_lab()
    yield agent
    agent.stop()
    remove(root)


def test_edge_tui_in_tmux_shows_the_agent_and_follows_keys(lab):
    term = Tmux([*edge_tui_command(), "--socket", str(lab.socket)])
    try:
        screen = term.wait_for("tui-pi", "road-surface/temperat", "°C", "● ok")
        assert "1 Fleet" in screen and "8 Config" in screen
        assert "q Quit" in screen
        term.keys("3")
        term.wait_for("road-icing", "lot", "running", "r Restart")
        term.keys("5")
        term.wait_for("Risk", "dew point")
        term.keys("4")
        term.wait_for("Free", "Occupied", "Total 2")
        term.keys("C-p")
        term.wait_for("Search for commands")
        term.keys("show sync")
        term.wait_for("Show Sync")
        term.keys("Enter")
        term.wait_for("No uplink configured")
        term.keys("q")
        deadline = time.monotonic() + 20
        while term.alive() and time.monotonic() < deadline:
            time.sleep(0.2)
        assert not term.alive(), "q did not quit edge-tui"
    finally:
        term.close()


def test_edge_tui_read_only_in_tmux(lab):
    term = Tmux(
        [*edge_tui_command(), "--socket", str(lab.socket), "--read-only", "--screen", "experiments"]
    )
    try:
        screen = term.wait_for("road-icing", "read-only")
        assert "Restart" not in screen.splitlines()[-1]
        term.keys("x")
        time.sleep(1)
        assert "Stop experiment" not in term.screen()
    finally:
        term.close()


def test_edge_tui_help_and_no_terminal():
    done = subprocess.run(
        [*edge_tui_command(), "--help"], check=False, capture_output=True, text=True
    )
    assert done.returncode == 0
    assert "--ssh" in done.stdout and "--read-only" in done.stdout
    done = subprocess.run(
        edge_tui_command(), check=False, capture_output=True, text=True, stdin=subprocess.DEVNULL
    )
    assert done.returncode == 2
    assert "needs a terminal" in done.stderr
