"""A typed client of the agent's API, for the TUI, the CLI and scripts.

::

    async with ApiClient.unix() as api:                 # the local agent
        device = await api.device()
        async with api.live("air/*") as stream:
            async for message in stream:
                if message["type"] == "reading": ...

    api = ApiClient.ssh("pi@lab-pi.local")              # a remote agent, through SSH
    with SyncApiClient(ApiClient.unix()) as api:        # from synchronous code
        print(api.sensors())

Over SSH the client runs ``ssh [options] TARGET edge-agent api bridge`` and speaks HTTP
through its stdin and stdout; the remote ``edge-agent api bridge`` pumps the bytes to the
agent's socket. No port is opened on the device, and the remote user needs what a local one
needs: membership of the API group (or root).

Requests reuse connections (HTTP keep-alive); a request on a connection the agent closed
meanwhile (it restarted) is sent again once on a fresh one. Every failure is an
:class:`ApiError` that says what went wrong and how to fix it.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import shlex
import sys
import time
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Sequence
from pathlib import Path
from types import TracebackType
from typing import Any, TypeVar, cast
from urllib.parse import parse_qsl, quote, urlencode

import h11

from ..errors import EdgeKitError
from .models import (
    ApplyReply,
    ConfigInfo,
    DeviceInfo,
    EventsReply,
    ExperimentAction,
    ExperimentInfo,
    History,
    LiveMessage,
    LogsReply,
    PeersReply,
    ReadingDict,
    RegionInfo,
    SensorDetail,
    SensorInfo,
    SyncInfo,
    ValidateReply,
)
from .paths import client_socket_candidates, find_socket

T = TypeVar("T")
READ_SIZE = 64 * 1024


class ApiError(EdgeKitError, RuntimeError):
    """The agent answered with an error (``status`` >= 400), or could not be reached (0).

    Attributes:
        status: the HTTP status, 0 when there was no answer.
        error: what went wrong.
        fix: what to do about it.
        body: the whole error body (``problems`` of a config, for instance).
    """

    def __init__(
        self, status: int, error: str, fix: str = "", body: dict[str, Any] | None = None
    ) -> None:
        super().__init__(f"{error}; {fix}" if fix else error)
        self.status = status
        self.error = error
        self.fix = fix
        self.body = body or {}


class _Channel:
    """One byte stream to the agent: a socket, or a bridging process's stdio."""

    def __init__(
        self,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        process: asyncio.subprocess.Process | None = None,
        stderr: deque[bytes] | None = None,
        collector: asyncio.Task[None] | None = None,
    ) -> None:
        self.reader = reader
        self.writer = writer
        self.process = process
        self.stderr = stderr
        self.collector = collector
        self.http = h11.Connection(h11.CLIENT)

    def explain(self) -> str:
        """What the bridging command said on stderr (its last lines), if anything."""
        if not self.stderr:
            return ""
        return b"".join(self.stderr).decode("utf-8", "replace").strip()

    async def close(self) -> None:
        self.writer.close()
        with contextlib.suppress(Exception):
            await self.writer.wait_closed()
        if self.process is not None:
            try:
                await asyncio.wait_for(self.process.wait(), 5)
            except TimeoutError:
                self.process.kill()
                await self.process.wait()
        if self.collector is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self.collector, 1)


Connector = Callable[[], Awaitable[_Channel]]


def unix_connector(path: Path) -> Connector:
    """Connections to the socket at ``path``."""

    async def connect() -> _Channel:
        try:
            reader, writer = await asyncio.open_unix_connection(str(path))
        except FileNotFoundError:
            looked = ", ".join(str(p) for p in client_socket_candidates())
            raise ApiError(
                0,
                f"no agent socket at {path}",
                f"is the agent running (systemctl status edge-agent)? Looked at: {looked}; "
                "pass --socket PATH or set $EDGE_AGENT_SOCKET",
            ) from None
        except PermissionError:
            raise ApiError(
                0,
                f"no permission to connect to {path}",
                "add your user to the group edge-agent (sudo usermod -aG edge-agent $USER) "
                "and log in again",
            ) from None
        except ConnectionRefusedError:
            raise ApiError(
                0,
                f"nothing answers on {path} (the agent stopped or is restarting)",
                "wait a moment, or look at journalctl -u edge-agent",
            ) from None
        except OSError as exc:
            raise ApiError(0, f"cannot connect to {path}: {exc.strerror or exc}") from None
        return _Channel(reader, writer)

    return connect


def command_connector(argv: Sequence[str]) -> Connector:
    """Connections through a command whose stdin/stdout are bridged to the API socket."""

    async def connect() -> _Channel:
        try:
            process = await asyncio.create_subprocess_exec(
                *argv,
                stdin=asyncio.subprocess.PIPE,
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.PIPE,
            )
        except OSError as exc:
            raise ApiError(
                0, f"cannot run {argv[0]!r}: {exc.strerror or exc}", "is it installed?"
            ) from None
        assert process.stdin is not None
        assert process.stdout is not None
        stderr: deque[bytes] = deque(maxlen=20)

        async def collect(stream: asyncio.StreamReader) -> None:
            while line := await stream.readline():
                stderr.append(line)

        assert process.stderr is not None
        collector = asyncio.get_running_loop().create_task(collect(process.stderr))
        return _Channel(process.stdout, process.stdin, process, stderr, collector)

    return connect


class ApiClient:
    """An async client of one agent's API.

    Args:
        connector: opens a byte stream to the agent (see :meth:`unix`, :meth:`ssh`).
        description: where the agent is, for messages (``/run/edge-agent/api.sock``).
        timeout: seconds a request may take before :class:`ApiError`.
        max_connections: connections kept open at most.
    """

    def __init__(
        self,
        connector: Connector,
        *,
        description: str,
        timeout: float = 10.0,
        max_connections: int = 4,
    ) -> None:
        self._connect = connector
        self.description = description
        self.timeout = timeout
        self._idle: list[_Channel] = []
        self._slots = asyncio.Semaphore(max_connections)

    @classmethod
    def unix(cls, path: Path | str | None = None, *, timeout: float = 10.0) -> ApiClient:
        """The agent on this device (``path``, else the usual places: :mod:`.paths`)."""
        socket_path = find_socket(Path(path) if path is not None else None)
        return cls(unix_connector(socket_path), description=str(socket_path), timeout=timeout)

    @classmethod
    def command(
        cls, argv: Sequence[str], *, description: str | None = None, timeout: float = 10.0
    ) -> ApiClient:
        """An agent reached through a command that bridges stdio to its socket."""
        return cls(
            command_connector(list(argv)),
            description=description or shlex.join(argv),
            timeout=timeout,
            max_connections=2,
        )

    @classmethod
    def ssh(
        cls,
        target: str,
        *,
        ssh_options: Sequence[str] = (),
        socket: str | None = None,
        remote_command: Sequence[str] = ("edge-agent", "api", "bridge"),
        ssh: str = "ssh",
        timeout: float = 20.0,
    ) -> ApiClient:
        """A remote agent through ``ssh [options] target edge-agent api bridge``.

        ``ssh_options`` go before the target (``["-p", "2222", "-i", "key"]``); ``socket`` is
        the socket path on the remote device (default: its usual places); ``remote_command``
        may be ``("/opt/edge-agent/bin/python", "-m", "edge_agent.api.bridge")``, which starts
        faster. BatchMode keeps ssh from asking for a password on a terminal the TUI owns.
        """
        remote = list(remote_command)
        if socket is not None:
            remote += ["--socket", socket]
        argv = [ssh, "-o", "BatchMode=yes", *ssh_options, target, shlex.join(remote)]
        return cls.command(argv, description=f"{target} over SSH", timeout=timeout)

    async def __aenter__(self) -> ApiClient:
        return self

    async def __aexit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.close()

    async def close(self) -> None:
        """Close the kept connections."""
        idle, self._idle = self._idle, []
        for channel in idle:
            await channel.close()

    # -- HTTP --------------------------------------------------------------------------------

    async def _read_event(self, channel: _Channel) -> Any:
        while True:
            event = channel.http.next_event()
            if event is not h11.NEED_DATA:
                return event
            data = await channel.reader.read(READ_SIZE)
            channel.http.receive_data(data)

    async def _exchange(
        self, channel: _Channel, method: str, target: str, body: bytes | None
    ) -> tuple[int, bytes]:
        headers = [("host", "edge-agent"), ("accept", "application/json")]
        if body is not None:
            headers += [("content-type", "text/plain; charset=utf-8")]
        headers.append(("content-length", str(len(body or b""))))
        out = channel.http.send(h11.Request(method=method, target=target, headers=headers))
        out += channel.http.send(h11.Data(data=body or b"")) or b""
        out += channel.http.send(h11.EndOfMessage()) or b""
        channel.writer.write(out)
        await channel.writer.drain()
        response = await self._read_event(channel)
        if isinstance(response, h11.ConnectionClosed):
            raise ConnectionResetError("the agent closed the connection")
        if not isinstance(response, h11.Response):
            raise h11.RemoteProtocolError(f"unexpected {type(response).__name__}")
        data = bytearray()
        while True:
            event = await self._read_event(channel)
            if isinstance(event, h11.Data):
                data += event.data
            elif isinstance(event, h11.EndOfMessage):
                break
            else:
                raise ConnectionResetError("the agent closed the connection mid-answer")
        return response.status_code, bytes(data)

    def _unreachable(self, channel: _Channel | None, exc: BaseException) -> ApiError:
        said = channel.explain() if channel is not None else ""
        detail = f": {said}" if said else f" ({type(exc).__name__}: {exc})"
        return ApiError(
            0,
            f"lost the connection to the agent at {self.description}{detail}",
            "check that the agent runs and that you may reach it",
        )

    async def request(
        self,
        method: str,
        path: str,
        *,
        params: dict[str, Any] | None = None,
        body: bytes | str | None = None,
    ) -> Any:
        """Send one request and return the decoded JSON answer; :class:`ApiError` for errors."""
        path, _, given = path.partition("?")
        query = dict(parse_qsl(given, keep_blank_values=True))
        query.update({k: str(v) for k, v in (params or {}).items() if v is not None})
        target = quote(path, safe="/%") + (f"?{urlencode(query)}" if query else "")
        data = body.encode() if isinstance(body, str) else body
        async with self._slots:
            for attempt in (1, 2):
                reused = attempt == 1 and bool(self._idle)
                channel = self._idle.pop() if reused else await self._connect()
                try:
                    async with asyncio.timeout(self.timeout):
                        status, raw = await self._exchange(channel, method, target, data)
                except TimeoutError:
                    await channel.close()
                    raise ApiError(
                        0,
                        f"{method} {path}: no answer from {self.description} within "
                        f"{self.timeout:g} s",
                        "the agent may be overloaded or the link slow; try again",
                    ) from None
                except (OSError, h11.ProtocolError, EOFError) as exc:
                    await channel.close()
                    if reused:
                        await self.close()  # the agent restarted: every kept one is stale
                        continue
                    raise self._unreachable(channel, exc) from exc
                except BaseException:  # cancelled mid-exchange: the channel is in no known state
                    await channel.close()
                    raise
                if channel.http.our_state is h11.DONE and channel.http.their_state is h11.DONE:
                    channel.http.start_next_cycle()
                    self._idle.append(channel)
                else:
                    await channel.close()
                return self._decode(method, path, status, raw)
        raise AssertionError("unreachable")

    @staticmethod
    def _decode(method: str, path: str, status: int, raw: bytes) -> Any:
        try:
            payload = json.loads(raw) if raw else None
        except ValueError:
            raise ApiError(
                status, f"{method} {path}: the answer is not JSON: {raw[:200]!r}"
            ) from None
        if status >= 400:
            body = payload if isinstance(payload, dict) else {}
            raise ApiError(
                status,
                str(body.get("error", f"{method} {path} failed with HTTP {status}")),
                str(body.get("fix", "")),
                body,
            )
        return payload

    async def get(self, path: str, **params: Any) -> Any:
        """``GET path`` with query ``params`` (None values left out)."""
        return await self.request("GET", path, params=params)

    async def post(self, path: str, body: bytes | str | None = None, **params: Any) -> Any:
        """``POST path`` with an optional text body."""
        return await self.request("POST", path, params=params, body=body)

    # -- typed endpoints ---------------------------------------------------------------------

    async def device(self) -> DeviceInfo:
        """Identity, version, uptime, health and disk."""
        return cast(DeviceInfo, await self.get("/v1/device"))

    async def sensors(self) -> list[SensorInfo]:
        """Every configured sensor with its state and latest readings."""
        return cast(list[SensorInfo], (await self.get("/v1/sensors"))["sensors"])

    async def sensor(self, name: str) -> SensorDetail:
        """One sensor with the statistics of its streams over the last day."""
        return cast(SensorDetail, await self.get(f"/v1/sensors/{quote(name, safe='')}"))

    async def streams(self, pattern: str | None = None) -> list[ReadingDict]:
        """Every stored stream's latest reading."""
        return cast(list[ReadingDict], (await self.get("/v1/streams", pattern=pattern))["streams"])

    async def history(
        self,
        stream: str,
        *,
        since: float | str | None = None,
        until: float | str | None = None,
        limit: int | None = None,
    ) -> History:
        """Committed readings of ``stream``: times as epoch seconds, ISO 8601 or ages (``2h``)."""
        return cast(
            History,
            await self.get(f"/v1/streams/{stream}/history", since=since, until=until, limit=limit),
        )

    async def experiments(self) -> list[ExperimentInfo]:
        """Every configured experiment."""
        return cast(list[ExperimentInfo], (await self.get("/v1/experiments"))["experiments"])

    async def experiment(self, name: str) -> ExperimentInfo:
        """One experiment."""
        return cast(ExperimentInfo, await self.get(f"/v1/experiments/{name}"))

    async def _experiment_action(self, name: str, action: str) -> ExperimentAction:
        return cast(ExperimentAction, await self.post(f"/v1/experiments/{name}/{action}"))

    async def start_experiment(self, name: str) -> ExperimentAction:
        """Start a stopped experiment."""
        return await self._experiment_action(name, "start")

    async def stop_experiment(self, name: str) -> ExperimentAction:
        """Stop an experiment until started again (or the agent restarts)."""
        return await self._experiment_action(name, "stop")

    async def restart_experiment(self, name: str) -> ExperimentAction:
        """Stop and start an experiment (a fresh instance)."""
        return await self._experiment_action(name, "restart")

    async def experiment_log(
        self,
        name: str,
        *,
        level: str | None = None,
        since: float | str | None = None,
        limit: int | None = None,
    ) -> LogsReply:
        """An experiment's recent log records, with its failures and restarts."""
        return cast(
            LogsReply,
            await self.get(f"/v1/experiments/{name}/log", level=level, since=since, limit=limit),
        )

    async def sync(self) -> SyncInfo:
        """The outbox backlog and the uplink's status."""
        return cast(SyncInfo, await self.get("/v1/sync"))

    async def region(self) -> RegionInfo:
        """Every device's retained status and health on the region broker (``configured``
        False without an uplink)."""
        return cast(RegionInfo, await self.get("/v1/region"))

    async def logs(
        self,
        *,
        level: str | None = None,
        since: float | str | None = None,
        after: int | None = None,
        logger: str | None = None,
        limit: int | None = None,
    ) -> LogsReply:
        """The agent's recent log records; ``after`` a ``seq`` to follow."""
        return cast(
            LogsReply,
            await self.get(
                "/v1/logs", level=level, since=since, after=after, logger=logger, limit=limit
            ),
        )

    async def events(self, *, after: int | None = None, limit: int | None = None) -> EventsReply:
        """Stored events after a row id, or the newest ones."""
        return cast(EventsReply, await self.get("/v1/events", after=after, limit=limit))

    async def config(self) -> ConfigInfo:
        """The config file, the effective config, and the last apply's state."""
        return cast(ConfigInfo, await self.get("/v1/config"))

    async def validate_config(self, text: str) -> ValidateReply:
        """The problems of a config text (none: it would load)."""
        return cast(ValidateReply, await self.post("/v1/config/validate", text))

    async def apply_config(self, text: str) -> ApplyReply:
        """Write a new config and restart the agent on trial (422 :class:`ApiError` with
        ``body["problems"]`` when it is not valid)."""
        return cast(ApplyReply, await self.post("/v1/config/apply", text))

    async def wait_for_apply(
        self, previous_instance: str, *, timeout: float = 120.0, poll: float = 0.5
    ) -> ConfigInfo:
        """Wait until the agent restarted and its config trial ended (confirmed or rolled
        back, which restarts it once more), and return the config as it is then."""
        deadline = time.monotonic() + timeout
        last_error: ApiError | None = None
        while time.monotonic() < deadline:
            try:
                device = await self.device()
                if device["instance"] != previous_instance:
                    info = await self.config()
                    record = info["apply"]
                    if record is None or record["state"] != "pending":
                        return info
            except ApiError as exc:  # restarting
                if exc.status:
                    raise
                last_error = exc
            await asyncio.sleep(poll)
        raise ApiError(
            0,
            f"the agent at {self.description} did not finish the config trial within "
            f"{timeout:g} s" + (f" ({last_error.error})" if last_error else ""),
            "look at its log (journalctl -u edge-agent)",
        )

    async def peers(self) -> PeersReply:
        """Other agents and MQTT brokers seen by mDNS."""
        return cast(PeersReply, await self.get("/v1/peers"))

    def live(
        self,
        streams: str | Sequence[str] = "*",
        *,
        events: bool = True,
        logs: str | None = None,
        heartbeat: float = 5.0,
    ) -> LiveStream:
        """The live stream: ``async with api.live("air/*") as s: async for m in s: ...``."""
        patterns = streams if isinstance(streams, str) else ",".join(streams)
        params = {
            "streams": patterns,
            "events": "1" if events else "0",
            "logs": logs,
            "heartbeat": heartbeat,
        }
        query = urlencode({k: v for k, v in params.items() if v is not None})
        return self.live_target(f"/v1/live?{query}")

    def live_target(self, target: str) -> LiveStream:
        """The live stream of a ready-made ``/v1/live?...`` target (``edge-agent api get``)."""
        query = dict(parse_qsl(target.partition("?")[2]))
        try:
            heartbeat = float(query.get("heartbeat", "5"))
        except ValueError:
            heartbeat = 5.0
        return LiveStream(self, target, heartbeat)


class LiveStream:
    """An open ``GET /v1/live``: an async iterator of :data:`LiveMessage`.

    Raises :class:`ApiError` when the agent stops answering for three heartbeats.
    """

    def __init__(self, client: ApiClient, target: str, heartbeat: float) -> None:
        self._client = client
        self._target = target
        self._silence = max(3 * heartbeat, 2.0)
        self._channel: _Channel | None = None
        self._buffer = b""

    async def __aenter__(self) -> LiveStream:
        client = self._client
        channel = await client._connect()
        self._channel = channel
        http = channel.http
        try:
            async with asyncio.timeout(client.timeout):
                channel.writer.write(
                    http.send(
                        h11.Request(
                            method="GET",
                            target=self._target,
                            headers=[("host", "edge-agent"), ("accept", "application/x-ndjson")],
                        )
                    )
                    + (http.send(h11.EndOfMessage()) or b"")
                )
                await channel.writer.drain()
                response = await client._read_event(channel)
        except (OSError, h11.ProtocolError, TimeoutError) as exc:
            await self.aclose()
            raise client._unreachable(channel, exc) from exc
        if not isinstance(response, h11.Response):
            await self.aclose()
            raise client._unreachable(channel, ConnectionResetError("no answer"))
        if response.status_code >= 400:
            body = b""
            with contextlib.suppress(Exception):
                while isinstance(event := await client._read_event(channel), h11.Data):
                    body += event.data
            await self.aclose()
            client._decode("GET", "/v1/live", response.status_code, body)
        return self

    async def __aexit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Close the stream's connection."""
        if self._channel is not None:
            channel, self._channel = self._channel, None
            await channel.close()

    def __aiter__(self) -> AsyncIterator[LiveMessage]:
        return self

    async def __anext__(self) -> LiveMessage:
        while b"\n" not in self._buffer:
            channel = self._channel
            if channel is None:
                raise StopAsyncIteration
            try:
                async with asyncio.timeout(self._silence):
                    event = await self._client._read_event(channel)
            except TimeoutError:
                raise ApiError(
                    0,
                    f"the agent at {self._client.description} sent nothing for {self._silence:g} s",
                    "the link or the agent is down; reconnect",
                ) from None
            except (OSError, h11.ProtocolError) as exc:
                raise self._client._unreachable(channel, exc) from exc
            if isinstance(event, h11.Data):
                self._buffer += event.data
            else:  # end of the stream: the agent stopped
                await self.aclose()
                raise StopAsyncIteration
        line, _, self._buffer = self._buffer.partition(b"\n")
        return cast(LiveMessage, json.loads(line))


class SyncApiClient:
    """:class:`ApiClient` for synchronous code (the CLI, scripts), on a private event loop.

    ``with SyncApiClient(ApiClient.unix()) as api: api.device()``; any coroutine method of
    :class:`ApiClient` can also be run with :meth:`call`.
    """

    def __init__(self, client: ApiClient) -> None:
        self._loop = asyncio.new_event_loop()
        self.client = client

    def call(self, coroutine: Awaitable[T]) -> T:
        """Run one of the client's coroutines to its end."""
        return self._loop.run_until_complete(coroutine)

    def __enter__(self) -> SyncApiClient:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def close(self) -> None:
        """Close the connections and the loop."""
        if not self._loop.is_closed():
            self._loop.run_until_complete(self.client.close())
            self._loop.run_until_complete(self._loop.shutdown_asyncgens())
            self._loop.close()

    def get(self, path: str, **params: Any) -> Any:
        """``GET path``."""
        return self.call(self.client.get(path, **params))

    def post(self, path: str, body: bytes | str | None = None, **params: Any) -> Any:
        """``POST path``."""
        return self.call(self.client.post(path, body, **params))

    def device(self) -> DeviceInfo:
        """See :meth:`ApiClient.device`."""
        return self.call(self.client.device())

    def sensors(self) -> list[SensorInfo]:
        """See :meth:`ApiClient.sensors`."""
        return self.call(self.client.sensors())

    def experiments(self) -> list[ExperimentInfo]:
        """See :meth:`ApiClient.experiments`."""
        return self.call(self.client.experiments())

    def peers(self) -> PeersReply:
        """See :meth:`ApiClient.peers`."""
        return self.call(self.client.peers())

    def region(self) -> RegionInfo:
        """See :meth:`ApiClient.region`."""
        return self.call(self.client.region())

    def live(self, streams: str | Sequence[str] = "*", **options: Any) -> Iterator[LiveMessage]:
        """The live stream's messages, until the agent ends it (or the caller stops)."""
        return self.iterate(self.client.live(streams, **options))

    def iterate(self, stream: LiveStream) -> Iterator[LiveMessage]:
        """Open ``stream`` and yield its messages; closes it when the caller stops."""
        self.call(stream.__aenter__())
        try:
            while True:
                try:
                    yield self.call(stream.__anext__())
                except StopAsyncIteration:
                    return
        finally:
            self.call(stream.aclose())


def default_bridge_command() -> list[str]:
    """``edge-agent api bridge`` as this Python runs it (for a local bridge process)."""
    return [sys.executable, "-m", "edge_agent", "api", "bridge"]


__all__ = [
    "ApiClient",
    "ApiError",
    "LiveStream",
    "SyncApiClient",
    "command_connector",
    "default_bridge_command",
    "unix_connector",
]
