"""Which agent the console talks to, and whether it answers.

A :class:`Target` is what the command line asked for: the local agent's socket, or a remote
agent through ``ssh [options] user@host edge-agent api bridge``. The :class:`LinkState` is what
the status line shows: connected, or unreachable with the reason and when the console tries
again. The console never waits for an agent on the event loop: every request runs in a worker,
and a request that fails marks the link down until the next one succeeds.
"""

from __future__ import annotations

import os
import shlex
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

from edge_agent.api.client import ApiClient, Connector, command_connector, unix_connector
from edge_agent.api.paths import find_socket

CONFIG_ENV: Final = "EDGE_AGENT_CONFIG"
DEFAULT_CONFIG: Final = Path("/etc/edge-agent/agent.toml")
"""Where the agent's config lives; read (only its ``[api] socket``) to find the socket."""


def configured_socket(config: Path | None = None) -> Path | None:
    """The ``[api] socket`` of the agent's config (``config``, else ``$EDGE_AGENT_CONFIG``,
    else ``/etc/edge-agent/agent.toml``), or None when the file or the key is missing.

    Only that one key is read, with :mod:`tomllib`: the console must start on a machine whose
    config does not validate (fixing it is one of the console's jobs).
    """
    path = config or Path(os.environ.get(CONFIG_ENV) or DEFAULT_CONFIG)
    try:
        with path.open("rb") as file:
            data = tomllib.load(file)
    except (OSError, tomllib.TOMLDecodeError):
        return None
    api = data.get("api")
    socket = api.get("socket") if isinstance(api, dict) else None
    return Path(socket) if isinstance(socket, str) and socket else None


class TrackedConnector:
    """Opens connections like ``connector`` and keeps hold of them, so that the console can
    close every one it still has when it quits, also those of requests cut off mid-way."""

    def __init__(self, connector: Connector) -> None:
        self.connector = connector
        self.channels: list[Any] = []

    async def __call__(self) -> Any:
        channel = await self.connector()
        self.channels = [c for c in self.channels if not _closed(c)]
        self.channels.append(channel)
        return channel

    async def close_all(self) -> None:
        """Close the connections still open."""
        channels, self.channels = self.channels, []
        for channel in channels:
            if not _closed(channel):
                await channel.close()


def _closed(channel: Any) -> bool:
    process = channel.process
    return bool(channel.writer.is_closing()) and (process is None or process.returncode is not None)


@dataclass(frozen=True)
class Target:
    """Where the agent is: a local socket, or a remote device through SSH.

    Args:
        socket: the API socket (local), or the socket path on the remote device (with ssh).
        ssh: ``[user@]host`` of a remote device.
        ssh_options: options for ssh before the host (``-p 2222``, ``-i key``).
        remote_command: the ``edge-agent`` program on the remote device.
        timeout: seconds one request may take.
    """

    socket: Path | None = None
    ssh: str | None = None
    ssh_options: tuple[str, ...] = ()
    remote_command: str = "edge-agent"
    timeout: float = 10.0

    def ssh_command(self) -> list[str]:
        """``ssh -o BatchMode=yes [options] HOST edge-agent api bridge [--socket PATH]``: what
        :meth:`edge_agent.api.client.ApiClient.ssh` runs, BatchMode so that ssh never asks
        for a password on the terminal the console owns."""
        assert self.ssh
        remote = [self.remote_command, "api", "bridge"]
        if self.socket is not None:
            remote += ["--socket", str(self.socket)]
        return ["ssh", "-o", "BatchMode=yes", *self.ssh_options, self.ssh, shlex.join(remote)]

    def client(self) -> tuple[ApiClient, TrackedConnector]:
        """A client for this target (opens nothing yet), and its connections."""
        if self.ssh:
            tracked = TrackedConnector(command_connector(self.ssh_command()))
            client = ApiClient(
                tracked,
                description=f"{self.ssh} over SSH",
                timeout=max(self.timeout, 20.0),
                max_connections=2,
            )
            return client, tracked
        path = find_socket(self.socket or configured_socket())
        tracked = TrackedConnector(unix_connector(path))
        return ApiClient(tracked, description=str(path), timeout=self.timeout), tracked


@dataclass(frozen=True)
class LinkState:
    """Whether the agent answers.

    Attributes:
        connected: True once it answered, False after a failure, None before the first try.
        error: why it does not answer (with the fix), while it does not.
        since: when the state began (epoch seconds).
        retry_at: when the console tries again, while it does not answer.
        instance: the agent instance last seen (changes when the agent restarts).
    """

    connected: bool | None = None
    error: str | None = None
    since: float = 0.0
    retry_at: float | None = None
    instance: str | None = None

    def up(self, now: float, instance: str | None = None) -> LinkState:
        """The agent answered."""
        if self.connected and (instance is None or instance == self.instance):
            return self
        return LinkState(True, None, now, None, instance or self.instance)

    def down(self, now: float, error: str, retry_at: float | None) -> LinkState:
        """The agent did not answer."""
        since = self.since if self.connected is False else now
        return LinkState(False, error, since, retry_at, self.instance)
