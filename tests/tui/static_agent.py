"""A static agent for the snapshot tests: recorded API answers (``recorded/*.json``) served
over a real Unix socket with HTTP/1.1 (h11), so the console's real client reads them.

``GET /v1/live`` answers with the recorded ``hello`` line and then nothing but heartbeats;
``?pattern=`` of ``/v1/streams`` is applied with the agent's own stream matcher. Files are
named after the path: ``/v1/streams/air/humidity/history`` ->
``v1_streams_air_humidity_history.json``.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from pathlib import Path
from urllib.parse import parse_qsl, urlsplit

import h11

from edge_agent.readings import stream_matcher

RECORDED = Path(__file__).parent / "recorded"


def file_for(path: str) -> Path:
    """The recorded answer of ``path``."""
    name = path.strip("/").replace("/", "_") or "index"
    return RECORDED / f"{name}.json"


class StaticAgent:
    """Serves ``recorded/`` on ``socket`` until closed."""

    def __init__(self, socket: Path) -> None:
        self.socket = socket
        self.server: asyncio.AbstractServer | None = None
        self.requests: list[str] = []
        self._tasks: set[asyncio.Task[None]] = set()

    async def __aenter__(self) -> StaticAgent:
        self.server = await asyncio.start_unix_server(self._serve, str(self.socket))
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self.server is not None
        self.server.close()
        for task in list(self._tasks):
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        await self.server.wait_closed()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        conn = h11.Connection(h11.SERVER)
        try:
            while True:
                event = conn.next_event()
                if event is h11.NEED_DATA:
                    data = await reader.read(65536)
                    conn.receive_data(data)
                    if not data:
                        break
                    continue
                if isinstance(event, h11.Request):
                    target = event.target.decode()
                    self.requests.append(f"{event.method.decode()} {target}")
                    while not isinstance(conn.next_event(), h11.EndOfMessage):
                        conn.receive_data(await reader.read(65536))
                    if urlsplit(target).path == "/v1/live":
                        await self._live(conn, writer)
                        break
                    status, body = self.answer(target)
                    headers = [
                        ("content-type", "application/json"),
                        ("content-length", str(len(body))),
                    ]
                    writer.write(conn.send(h11.Response(status_code=status, headers=headers)))
                    writer.write(conn.send(h11.Data(data=body)) + conn.send(h11.EndOfMessage()))
                    await writer.drain()
                    conn.start_next_cycle()
                elif isinstance(event, h11.ConnectionClosed):
                    break
        except (ConnectionError, h11.ProtocolError):
            pass
        finally:
            self._tasks.discard(task)
            writer.close()
            with contextlib.suppress(Exception):
                await writer.wait_closed()

    def answer(self, target: str) -> tuple[int, bytes]:
        """The status and JSON body for ``target``."""
        parts = urlsplit(target)
        file = file_for(parts.path)
        if not file.exists():
            error = {"error": f"no endpoint {parts.path} recorded", "fix": "record it"}
            return 404, json.dumps(error).encode()
        data = json.loads(file.read_text())
        query = dict(parse_qsl(parts.query))
        if parts.path == "/v1/streams" and query.get("pattern"):
            matcher = stream_matcher(query["pattern"])
            data["streams"] = [s for s in data["streams"] if matcher.fullmatch(s["stream"])]
        return 200, json.dumps(data).encode()

    async def _live(self, conn: h11.Connection, writer: asyncio.StreamWriter) -> None:
        headers = [("content-type", "application/x-ndjson")]
        writer.write(conn.send(h11.Response(status_code=200, headers=headers)))
        hello = json.loads(file_for("/v1/live").read_text())
        writer.write(conn.send(h11.Data(data=json.dumps(hello).encode() + b"\n")))
        await writer.drain()
        device = json.loads(file_for("/v1/device").read_text())
        while True:
            await asyncio.sleep(5)
            beat = {"type": "heartbeat", "time": hello["time"], "health": device["health"]}
            writer.write(conn.send(h11.Data(data=json.dumps(beat).encode() + b"\n")))
            await writer.drain()
