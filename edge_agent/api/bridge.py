"""``edge-agent api bridge``: connect stdin and stdout to the API socket, byte for byte.

This is what a remote client runs through SSH (``ssh pi edge-agent api bridge``), so the API
needs no network port: SSH authenticates the technician, and the agent checks the bridge
process's credentials like any local client's.

Two directions, two threads: stdin to the socket (its end becomes a half-close, so the agent
sees the client finish), and the socket to stdout (its end ends the bridge). Threads rather
than a selector, because stdin may be a file or a pipe that ``epoll`` cannot watch.
"""

from __future__ import annotations

import contextlib
import os
import socket
import sys
import threading
from pathlib import Path
from typing import Final

CHUNK: Final = 64 * 1024


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        written = os.write(fd, view)
        view = view[written:]


def _stdin_to_socket(stdin: int, sock: socket.socket) -> None:
    with contextlib.suppress(OSError):
        while data := os.read(stdin, CHUNK):
            sock.sendall(data)
    with contextlib.suppress(OSError):
        sock.shutdown(socket.SHUT_WR)


def run_bridge(path: Path, *, stdin: int = 0, stdout: int = 1) -> int:
    """Pump bytes between ``stdin``/``stdout`` and the socket at ``path`` until the agent
    closes the connection. Returns the exit code (1 with a message when it cannot connect)."""
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        sock.connect(str(path))
    except OSError as exc:
        sock.close()
        reason = exc.strerror or str(exc)
        hint = (
            "add this user to the group edge-agent and log in again"
            if isinstance(exc, PermissionError)
            else "is the agent running? (systemctl status edge-agent)"
        )
        print(f"edge-agent api bridge: cannot connect to {path}: {reason}; {hint}", file=sys.stderr)
        return 1
    upstream = threading.Thread(target=_stdin_to_socket, args=(stdin, sock), daemon=True)
    upstream.start()
    try:
        while data := sock.recv(CHUNK):
            _write_all(stdout, data)
    except BrokenPipeError:  # the client went away
        pass
    except OSError as exc:
        print(f"edge-agent api bridge: {exc}", file=sys.stderr)
        return 1
    finally:
        sock.close()
    return 0


def main() -> int:
    """``python -m edge_agent.api.bridge [--socket PATH]``: the bridge without the whole CLI
    (what ``edge-agent api bridge`` does, but starting in a fraction of the time)."""
    import argparse  # noqa: PLC0415 - only when run as a program

    from .paths import find_socket  # noqa: PLC0415

    parser = argparse.ArgumentParser(prog="python -m edge_agent.api.bridge")
    parser.add_argument("--socket", type=Path, metavar="PATH")
    args = parser.parse_args()
    return run_bridge(find_socket(args.socket))


if __name__ == "__main__":
    sys.exit(main())
