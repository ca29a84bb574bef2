"""Machines for the doctor's tests: the ``system.health`` driver's captured trees, completed
with the files the doctor reads besides (uptime, listening sockets, device-tree model, sshd)."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from drivers.system.tests.cases import captured_vcgencmd, fake_vcgencmd, root

# /proc/net/tcp as a Pi shows it: sshd on 0.0.0.0:22, a local broker on 127.0.0.1:1883 (loopback,
# harmless) and, in the unsafe machine, a web server on 0.0.0.0:8080 (socket inode 4242).
TCP_HEADER = (
    "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  "
    "timeout inode\n"
)
SSHD = "   0: 00000000:0016 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 1311 1 0000000000000000 100 0 0 10 0\n"  # noqa: E501
LOCAL_BROKER = "   1: 0100007F:075B 00000000:0000 0A 00000000:00000000 00:00000000 00000000   108        0 2010 1 0000000000000000 100 0 0 10 0\n"  # noqa: E501
ESTABLISHED = "   2: 0A00000F:0016 0A000001:C350 01 00000000:00000000 02:0009B5C1 00000000     0        0 5120 4 0000000000000000 20 4 30 10 -1\n"  # noqa: E501
WEB = "   3: 00000000:1F90 00000000:0000 0A 00000000:00000000 00:00000000 00000000    33        0 4242 1 0000000000000000 100 0 0 10 0\n"  # noqa: E501
TCP6_HEADER = (
    "  sl  local_address                         remote_address                        st "
    "tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n"
)
SSHD6 = "   0: 00000000000000000000000000000000:0016 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 1313 1 0000000000000000 100 0 0 10 0\n"  # noqa: E501
LOOPBACK6 = "   1: 00000000000000000000000001000000:0277 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 1400 1 0000000000000000 100 0 0 10 0\n"  # noqa: E501


def machine(
    tmp_path: Path,
    case: str,
    *,
    uptime_s: float,
    extra_listener: bool = False,
    password_logins: bool = False,
) -> Path:
    """A copy of the case's tree with uptime, sockets, model and sshd_config added."""
    tree = tmp_path / "root"
    shutil.copytree(root(case), tree)
    (tree / "proc" / "uptime").write_text(f"{uptime_s:.2f} {uptime_s * 3.5:.2f}\n")
    net = tree / "proc" / "net"
    net.mkdir()
    (net / "tcp").write_text(
        TCP_HEADER + SSHD + LOCAL_BROKER + ESTABLISHED + (WEB if extra_listener else "")
    )
    (net / "tcp6").write_text(TCP6_HEADER + SSHD6 + LOOPBACK6)
    if extra_listener:  # the process that holds socket 4242
        fd = tree / "proc" / "731" / "fd"
        fd.mkdir(parents=True)
        os.symlink("socket:[4242]", fd / "5")
        (tree / "proc" / "731" / "comm").write_text("lighttpd\n")
    model = tree / "proc" / "device-tree"
    model.mkdir()
    board = "Raspberry Pi 5 Model B Rev 1.0" if "pi5" in case else "Raspberry Pi 4 Model B Rev 1.4"
    (model / "model").write_bytes(board.encode() + b"\0")
    ssh = tree / "etc" / "ssh"
    (ssh / "sshd_config.d").mkdir(parents=True)
    (ssh / "sshd_config").write_text(
        "Include /etc/ssh/sshd_config.d/*.conf\nKbdInteractiveAuthentication no\nUsePAM yes\n"
    )
    if not password_logins:
        (ssh / "sshd_config.d" / "10-edge-kit.conf").write_text("PasswordAuthentication no\n")
    return tree


def vcgencmd_on_path(tmp_path: Path, case: str) -> str:
    """A PATH whose vcgencmd prints what the case's Pi printed."""
    captured = captured_vcgencmd(case)
    assert captured is not None
    fake_vcgencmd(tmp_path / "bin", prints=captured.read_text())
    return f"{tmp_path / 'bin'}:{os.environ['PATH']}"
