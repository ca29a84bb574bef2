"""sd_notify over a real Unix datagram socket, as systemd listens for it."""

from __future__ import annotations

import os
import socket
from pathlib import Path

from edge_agent.systemd import Notifier


def test_messages_arrive_on_the_notify_socket(tmp_path: Path) -> None:
    path = tmp_path / "notify"
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as listener:
        listener.bind(str(path))
        notifier = Notifier(
            {
                "NOTIFY_SOCKET": str(path),
                "WATCHDOG_USEC": "4000000",
                "WATCHDOG_PID": str(os.getpid()),
            }
        )
        assert notifier.watchdog_interval == 2.0
        assert notifier.ready("running 3 sensors")
        assert notifier.watchdog()
        assert notifier.stopping()
        notifier.close()
        got = [listener.recv(4096).decode() for _ in range(3)]
    assert got == ["READY=1\nSTATUS=running 3 sensors", "WATCHDOG=1", "STOPPING=1"]


def test_abstract_socket_address() -> None:
    name = f"edge-agent-test-{os.getpid()}"
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as listener:
        listener.bind("\0" + name)
        notifier = Notifier({"NOTIFY_SOCKET": "@" + name})
        assert notifier.status("hello")
        notifier.close()
        assert listener.recv(100) == b"STATUS=hello"


def test_outside_systemd_nothing_is_sent() -> None:
    notifier = Notifier({})
    assert not notifier.enabled
    assert not notifier.ready("x")
    assert notifier.watchdog_interval is None


def test_watchdog_for_another_pid_is_ignored() -> None:
    notifier = Notifier({"NOTIFY_SOCKET": "/x", "WATCHDOG_USEC": "1000", "WATCHDOG_PID": "1"})
    assert notifier.watchdog_interval is None
