"""Where the API socket lives, for the agent that binds it and the clients that look for it.

The agent binds, in this order of preference:

1. ``[api] socket`` from the config;
2. ``$RUNTIME_DIRECTORY/api.sock`` when systemd created a runtime directory
   (``RuntimeDirectory=edge-agent`` in the unit gives ``/run/edge-agent``);
3. ``/run/edge-agent/api.sock`` when running as root or when that directory is writable;
4. ``$XDG_RUNTIME_DIR/edge-agent/api.sock`` for an agent run by an ordinary user (the demo on a
   laptop), else ``/tmp/edge-agent-<uid>/api.sock``.

A client takes ``--socket``, else ``$EDGE_AGENT_SOCKET``, else the first of
``/run/edge-agent/api.sock`` and the user paths above that exists.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Final

SYSTEM_SOCKET: Final = Path("/run/edge-agent/api.sock")
SOCKET_ENV: Final = "EDGE_AGENT_SOCKET"
MAX_SOCKET_PATH: Final = 107
"""Longest path the kernel accepts for a Unix socket (``sun_path`` is 108 bytes with the NUL)."""


def user_socket_path() -> Path:
    """The socket of an agent run by an ordinary user."""
    runtime = os.environ.get("XDG_RUNTIME_DIR")
    if runtime:
        return Path(runtime) / "edge-agent" / "api.sock"
    return Path(tempfile.gettempdir()) / f"edge-agent-{os.getuid()}" / "api.sock"


def server_socket_path(configured: Path | None) -> Path:
    """The path the agent binds (see the module docstring for the order)."""
    if configured is not None:
        return configured
    runtime = os.environ.get("RUNTIME_DIRECTORY")
    if runtime:
        return Path(runtime.split(":")[0]) / "api.sock"
    system_dir = SYSTEM_SOCKET.parent
    if os.geteuid() == 0 or os.access(system_dir, os.W_OK):
        return SYSTEM_SOCKET
    return user_socket_path()


def client_socket_candidates() -> list[Path]:
    """Where a client looks for the agent, in order."""
    found = [Path(env)] if (env := os.environ.get(SOCKET_ENV)) else []
    return [*found, SYSTEM_SOCKET, user_socket_path()]


def find_socket(explicit: Path | None = None) -> Path:
    """``explicit``, else the first candidate that exists, else the system path.

    A path that does not exist is returned as it is: connecting to it fails with a message
    that lists where the client looked.
    """
    if explicit is not None:
        return explicit
    candidates = client_socket_candidates()
    for path in candidates:
        if path.exists():
            return path
    return candidates[0]
