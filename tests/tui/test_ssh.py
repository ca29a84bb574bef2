"""The console over SSH: a real sshd on a loopback port (host and user keys made in a temporary
directory, run as the current user), ``ssh ... edge-agent api bridge`` to the real agent."""

from __future__ import annotations

import getpass
import os
import shutil
import socket
import subprocess
import time
from pathlib import Path

import pytest

from tui.console import EdgeConsole
from tui.link import Target

from .rig import edge_agent_command, remove, run, screen_text, short_tmp, start_lab, until

SSHD = shutil.which("sshd") or ("/usr/sbin/sshd" if os.path.exists("/usr/sbin/sshd") else None)

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        SSHD is None, reason="sshd is not installed (apt-get install openssh-server)"
    ),
    pytest.mark.skipif(shutil.which("ssh") is None, reason="ssh is not installed"),
]

SIZE = (100, 30)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class Sshd:
    """``sshd -D`` on 127.0.0.1:PORT with keys and config in ``root``."""

    def __init__(self, root: Path) -> None:
        assert SSHD is not None
        self.root = root
        self.port = free_port()
        for name in ("host", "user"):
            subprocess.run(
                ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(root / name)],
                check=True,
            )
        (root / "authorized_keys").write_text((root / "user.pub").read_text())
        os.chmod(root / "authorized_keys", 0o600)
        config = root / "sshd_config"
        config.write_text(
            f"Port {self.port}\nListenAddress 127.0.0.1\nHostKey {root / 'host'}\n"
            f"AuthorizedKeysFile {root / 'authorized_keys'}\nPidFile {root / 'sshd.pid'}\n"
            "UsePAM no\nStrictModes no\nPasswordAuthentication no\n"
            "KbdInteractiveAuthentication no\nPubkeyAuthentication yes\n"
            "PermitRootLogin prohibit-password\nLogLevel VERBOSE\n"
        )
        if os.geteuid() == 0:
            Path("/run/sshd").mkdir(mode=0o755, exist_ok=True)  # sshd's privilege separation
        check = subprocess.run(
            [SSHD, "-t", "-f", str(config)], check=False, capture_output=True, text=True
        )
        if check.returncode != 0:
            pytest.skip(f"sshd cannot run here: {check.stderr.strip()}")
        self.log = open(root / "sshd.log", "w")  # noqa: SIM115 - closed in stop()
        self.proc = subprocess.Popen(
            [SSHD, "-D", "-e", "-f", str(config)], stdout=self.log, stderr=subprocess.STDOUT
        )
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                self.stop()
                pytest.skip(f"sshd cannot run here: {(root / 'sshd.log').read_text().strip()}")
            with socket.socket() as probe:
                if probe.connect_ex(("127.0.0.1", self.port)) == 0:
                    return
            time.sleep(0.1)
        self.stop()
        pytest.skip("sshd did not listen within 20 s")

    def options(self, port: int | None = None) -> tuple[str, ...]:
        return (
            "-p",
            str(port or self.port),
            "-i",
            str(self.root / "user"),
            "-o",
            "StrictHostKeyChecking=no",
            "-o",
            "UserKnownHostsFile=/dev/null",
            "-o",
            "LogLevel=ERROR",
            "-o",
            "ConnectTimeout=10",
        )

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(10)
        self.log.close()


@pytest.fixture(scope="module")
def lab():
    agent, root = start_lab()
    yield agent
    agent.stop()
    remove(root)


@pytest.fixture(scope="module")
def sshd():
    root = short_tmp()
    server = Sshd(root)
    yield server
    server.stop()
    remove(root)


def ssh_target(lab, sshd, port: int | None = None) -> Target:
    return Target(
        socket=lab.socket,
        ssh=f"{getpass.getuser()}@127.0.0.1",
        ssh_options=sshd.options(port),
        remote_command=edge_agent_command()[0],
    )


def test_the_console_reaches_an_agent_through_ssh_and_acts_on_it(lab, sshd):
    async def main() -> None:
        app = EdgeConsole(ssh_target(lab, sshd))
        async with app.run_test(size=SIZE) as pilot:
            await until(pilot, lambda: app.screen.ready, 60, "the device screen over SSH")
            await until(
                pilot, lambda: "road-surface/temperat" in screen_text(app), 60, "sensor rows"
            )
            await until(pilot, lambda: "tui-pi" in screen_text(app), 60, "the device's name")
            assert "127.0.0.1 over SSH" in screen_text(app)
            table = app.screen.query_one("#sensors")
            first = str(table.get_cell("air/temperature", "time"))
            await until(
                pilot,
                lambda: str(table.get_cell("air/temperature", "time")) != first,
                60,
                "a live update through the SSH bridge",
            )
            await pilot.press("3")
            await until(pilot, lambda: app.screen.ready, 60, "the experiments over SSH")
            table = app.screen.query_one("#experiments")
            table.move_cursor(row=table.get_row_index("lot"))
            await pilot.press("r")
            await until(
                pilot,
                lambda: any("lot restarted" in n.message for n in app._notifications),
                60,
                "the restart through SSH",
            )
            assert app.faults == []
        assert "Accepted publickey" in (sshd.root / "sshd.log").read_text()

    run(main())


def test_an_ssh_target_that_does_not_answer_is_said(lab, sshd):
    async def main() -> None:
        app = EdgeConsole(ssh_target(lab, sshd, port=free_port()))
        async with app.run_test(size=SIZE) as pilot:
            await until(pilot, lambda: "unreachable" in screen_text(app), 60, "the news")
            assert "Connection refused" in screen_text(app) or "refused" in app.link.error
            await pilot.press("6")  # still answers keys
            assert app.current_mode == "sync"

    run(main())
