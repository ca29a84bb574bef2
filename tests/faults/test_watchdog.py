"""A hung event loop: the systemd watchdog notices.

The agent runs as systemd runs it under ``WatchdogSec=``: ``$NOTIFY_SOCKET`` names a Unix
datagram socket (bound here by the test, as systemd binds its own) and ``$WATCHDOG_USEC`` the
timeout. An experiment then blocks the event loop for good (``time.sleep`` in a hook, the
mistake the experiment runner cannot interrupt from inside).

What must hold: ``READY=1`` and regular ``WATCHDOG=1`` pings arrive while the loop runs; once the
loop is blocked not one more ping arrives for three times the watchdog timeout, which is what
makes systemd act. The test then does what systemd does on a watchdog timeout, ``SIGABRT``,
and starts the agent again: the database is intact and the agent is ready again.
"""

from __future__ import annotations

import signal
import socket
import time
from pathlib import Path

import pytest

from edge_agent.store import Store
from tests.integration.agent_process import AgentProcess

pytestmark = pytest.mark.slow

WATCHDOG_USEC = 1_000_000

SLEEPER_MANIFEST = """
name = "sleeper"
entry = "experiment:Sleeper"
timer = "200ms"

[params.trigger]
type = "str"
default = ""
"""

SLEEPER_CODE = """
import time
from pathlib import Path

from edge_agent.experiments import Experiment


class Sleeper(Experiment):
    async def on_timer(self, now):
        trigger = Path(self.params["trigger"])
        if trigger.exists():
            trigger.with_suffix(".blocking").touch()
            time.sleep(3600)  # blocks the event loop: no await
"""


def config_text(tmp_path: Path, trigger: Path) -> str:
    return f"""
experiments_dir = "{tmp_path / "experiments"}"

[device]
id = "watchdog-pi"
trust_clock = true

[store]
data_dir = "{tmp_path / "data"}"
flush_interval = "100ms"

[api]
socket = "{tmp_path / "api.sock"}"

[[sensor]]
name = "air"
driver = "simulated.air"
interval = "100ms"

[[experiment]]
name = "sleeper"
params = {{ trigger = "{trigger}" }}
"""


def messages(listener: socket.socket, timeout: float) -> list[str]:
    """Every datagram that arrives within ``timeout`` seconds."""
    got = []
    deadline = time.monotonic() + timeout
    while (left := deadline - time.monotonic()) > 0:
        listener.settimeout(left)
        try:
            got.append(listener.recv(4096).decode())
        except TimeoutError:
            break
    return got


def drain(listener: socket.socket) -> None:
    """Drop every datagram already queued (a zero timeout would read none)."""
    listener.setblocking(False)
    try:
        while True:
            listener.recv(4096)
    except BlockingIOError:
        pass
    finally:
        listener.setblocking(True)


def wait_for_message(listener: socket.socket, wanted: str, agent: AgentProcess) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if any(wanted in m.split("\n") for m in messages(listener, 0.5)):
            return
        if agent.proc.poll() is not None:
            pytest.fail(f"the agent exited:\n{agent.log}")
    pytest.fail(f"no {wanted} from the agent:\n{agent.log}")


def test_a_blocked_event_loop_stops_the_watchdog_pings(
    edge_agent_cmd: list[str], tmp_path: Path
) -> None:
    folder = tmp_path / "experiments" / "sleeper"
    folder.mkdir(parents=True)
    (folder / "experiment.toml").write_text(SLEEPER_MANIFEST)
    (folder / "experiment.py").write_text(SLEEPER_CODE)
    trigger = tmp_path / "hang.now"
    config = tmp_path / "agent.toml"
    config.write_text(config_text(tmp_path, trigger))
    notify = tmp_path / "notify"
    # WATCHDOG_PID empty: any process may ping (the agent's pid is not known before it starts).
    env = {"NOTIFY_SOCKET": str(notify), "WATCHDOG_USEC": str(WATCHDOG_USEC), "WATCHDOG_PID": ""}
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as listener:
        listener.bind(str(notify))
        agent = AgentProcess(edge_agent_cmd, config, env=env)
        try:
            wait_for_message(listener, "READY=1", agent)
            pings = 0
            while pings < 3:  # the loop runs: pings keep coming
                wait_for_message(listener, "WATCHDOG=1", agent)
                pings += 1

            trigger.touch()
            blocking = trigger.with_suffix(".blocking")
            deadline = time.monotonic() + 30
            while not blocking.exists():
                assert time.monotonic() < deadline, "the experiment never blocked the loop"
                time.sleep(0.05)
            drain(listener)  # drop what the loop sent before it blocked
            silent = messages(listener, 3 * WATCHDOG_USEC / 1e6)
            assert not any("WATCHDOG=1" in m.split("\n") for m in silent), silent
            assert agent.proc.poll() is None  # hung, not dead: only the watchdog can tell

            agent.proc.send_signal(signal.SIGABRT)  # what systemd does on a watchdog timeout
            assert agent.wait() == -signal.SIGABRT
        finally:
            if agent.proc.poll() is None:
                agent.proc.kill()
                agent.wait()
        committed = agent.committed_row
        assert committed > 0

        trigger.unlink()
        with Store(tmp_path / "data") as store:  # as the restarted agent opens it
            assert store.integrity_check() == []
            assert store.last_row() >= committed
        again = AgentProcess(edge_agent_cmd, config, env=env)
        try:
            wait_for_message(listener, "READY=1", again)
            wait_for_message(listener, "WATCHDOG=1", again)
        finally:
            again.proc.send_signal(signal.SIGTERM)
            assert again.wait() == 0, again.log
