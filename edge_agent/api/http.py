"""HTTP/1.1 over an asyncio stream, server side, with h11 doing the protocol.

h11 parses and produces bytes; this module moves them between h11 and the socket, collects
request bodies (at most :data:`MAX_BODY` bytes), sends JSON answers with a length and
streamed answers (``GET /v1/live``) chunked. Connections are kept alive between requests. A
streamed answer ends the connection when the stream ends or the client goes away.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Any, Final
from urllib.parse import parse_qsl, unquote, urlsplit

import h11

from .credentials import PeerCredentials

MAX_BODY: Final = 1_000_000
"""Largest request body accepted (a config file is a few kB)."""
MAX_HEAD: Final = 16 * 1024
READ_SIZE: Final = 64 * 1024


class HttpError(Exception):
    """An error answer: status code, what went wrong and how to fix it."""

    def __init__(
        self, status: int, error: str, fix: str = "", *, extra: dict[str, Any] | None = None
    ) -> None:
        super().__init__(error)
        self.status = status
        self.error = error
        self.fix = fix
        self.extra = extra or {}
        """More fields for the error body (``problems`` of a config)."""


@dataclass(slots=True)
class Request:
    """One HTTP request as the handlers see it."""

    method: str
    path: str
    """Percent-decoded path without the query."""
    query: dict[str, str]
    headers: dict[str, str]
    body: bytes
    peer: PeerCredentials

    def text(self) -> str:
        """The body as UTF-8 text (400 if it is not)."""
        try:
            return self.body.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise HttpError(
                400, f"request body is not UTF-8 text ({exc})", "send the file as UTF-8"
            ) from None

    def param(self, name: str, default: str | None = None) -> str | None:
        """A query parameter, or ``default``."""
        return self.query.get(name, default)


@dataclass(slots=True)
class Response:
    """A complete answer; ``after`` runs once it is written, or the client went away before
    (it restarts the agent after a config apply)."""

    status: int
    body: bytes
    content_type: str = "application/json"
    after: Callable[[], None] | None = field(default=None)

    @classmethod
    def json(cls, data: Any, status: int = 200) -> Response:
        """A JSON answer."""
        return cls(status, json.dumps(data, separators=(",", ":")).encode() + b"\n")

    @classmethod
    def error(cls, exc: HttpError) -> Response:
        """The JSON body of an :class:`HttpError`."""
        return cls.json({"error": exc.error, "fix": exc.fix, **exc.extra}, exc.status)


@dataclass(slots=True)
class StreamResponse:
    """An answer sent in chunks while ``chunks`` yields them (newline-delimited JSON)."""

    chunks: Callable[[], AsyncIterator[bytes]]
    status: int = 200
    content_type: str = "application/x-ndjson"


Handler = Callable[[Request], Awaitable[Response | StreamResponse]]


async def _next_event(conn: h11.Connection, reader: asyncio.StreamReader) -> Any:
    while True:
        event = conn.next_event()
        if event is not h11.NEED_DATA:
            return event
        conn.receive_data(await reader.read(READ_SIZE))


async def _read_request(
    conn: h11.Connection, reader: asyncio.StreamReader, peer: PeerCredentials
) -> Request | None:
    """The next request, or None when the client closed the connection."""
    try:
        event = await _next_event(conn, reader)
        if isinstance(event, h11.ConnectionClosed):
            return None
        if not isinstance(event, h11.Request):
            raise HttpError(400, f"expected a request, got {type(event).__name__}")
        body = bytearray()
        while True:
            part = await _next_event(conn, reader)
            if isinstance(part, h11.Data):
                body += part.data
                if len(body) > MAX_BODY:
                    raise HttpError(
                        413,
                        f"request body larger than {MAX_BODY} bytes",
                        "send a smaller body (a config file is a few kB)",
                    )
            elif isinstance(part, h11.EndOfMessage):
                break
            elif isinstance(part, h11.ConnectionClosed):
                return None
    except h11.RemoteProtocolError as exc:
        raise HttpError(exc.error_status_hint, f"malformed HTTP request: {exc}") from None
    target = urlsplit(event.target.decode("ascii", "replace"))
    return Request(
        method=event.method.decode("ascii").upper(),
        path=unquote(target.path),
        query=dict(parse_qsl(target.query, keep_blank_values=True)),
        headers={k.decode("latin-1"): v.decode("latin-1") for k, v in event.headers},
        body=bytes(body),
        peer=peer,
    )


async def _send(conn: h11.Connection, writer: asyncio.StreamWriter, event: Any) -> None:
    data = conn.send(event)
    if data:
        writer.write(data)
        await writer.drain()


def _head(status: int, headers: list[tuple[str, str]]) -> h11.Response:
    try:
        reason = HTTPStatus(status).phrase
    except ValueError:
        reason = ""
    return h11.Response(status_code=status, headers=headers, reason=reason)


async def _send_response(
    conn: h11.Connection, writer: asyncio.StreamWriter, response: Response
) -> None:
    headers = [
        ("content-type", response.content_type),
        ("content-length", str(len(response.body))),
        ("cache-control", "no-store"),
    ]
    await _send(conn, writer, _head(response.status, headers))
    await _send(conn, writer, h11.Data(data=response.body))
    await _send(conn, writer, h11.EndOfMessage())


async def _send_stream(
    conn: h11.Connection,
    reader: asyncio.StreamReader,
    writer: asyncio.StreamWriter,
    response: StreamResponse,
) -> None:
    """Send chunks until the stream ends or the client closes its side."""
    headers = [("content-type", response.content_type), ("cache-control", "no-store")]
    await _send(conn, writer, _head(response.status, headers))
    chunks = response.chunks()
    gone = asyncio.ensure_future(reader.read(1))
    following: asyncio.Future[bytes] | None = None
    try:
        while True:
            following = asyncio.ensure_future(anext(chunks))
            done, _ = await asyncio.wait({following, gone}, return_when=asyncio.FIRST_COMPLETED)
            if following not in done:  # the client went away while nothing was to be sent
                following.cancel()
                with contextlib.suppress(asyncio.CancelledError, StopAsyncIteration):
                    await following
                return
            try:
                chunk = following.result()
            except StopAsyncIteration:
                break
            await _send(conn, writer, h11.Data(data=chunk))
        await _send(conn, writer, h11.EndOfMessage())
    finally:
        gone.cancel()
        with contextlib.suppress(asyncio.CancelledError, ConnectionError):
            await gone
        # A cancelled stream (the agent stopping) may leave the generator's next step running;
        # it must end before aclose(), or aclose() raises "already running".
        if following is not None and not following.done():
            following.cancel()
            with contextlib.suppress(asyncio.CancelledError, StopAsyncIteration):
                await following
        await chunks.aclose()  # type: ignore[attr-defined]


async def serve_connection(
    reader: asyncio.StreamReader,
    writer: asyncio.StreamWriter,
    handler: Handler,
    *,
    peer: PeerCredentials,
    refusal: str | None,
    log: logging.Logger,
) -> None:
    """Answer requests on one connection until either side closes it.

    With a ``refusal`` every request is answered 403 with that text.
    """
    conn = h11.Connection(h11.SERVER, max_incomplete_event_size=MAX_HEAD)
    try:
        while True:
            try:
                request = await _read_request(conn, reader, peer)
            except HttpError as exc:
                if conn.our_state in (h11.IDLE, h11.SEND_RESPONSE):
                    await _send_response(conn, writer, Response.error(exc))
                return
            if request is None:
                return
            response: Response | StreamResponse
            if refusal is not None:
                response = Response.error(
                    HttpError(403, refusal, "ask the device's administrator for access to the API")
                )
            else:
                try:
                    response = await handler(request)
                except HttpError as exc:
                    response = Response.error(exc)
                except Exception as exc:
                    log.exception("API %s %s failed", request.method, request.path)
                    response = Response.error(
                        HttpError(
                            500,
                            f"internal error: {type(exc).__name__}: {exc}",
                            "see the agent's log (journalctl -u edge-agent) and report it",
                        )
                    )
            if isinstance(response, StreamResponse):
                await _send_stream(conn, reader, writer, response)
                return
            try:
                await _send_response(conn, writer, response)
            finally:  # also when the client went away: the change was made
                if response.after is not None:
                    response.after()
            if conn.our_state is h11.MUST_CLOSE:
                return
            conn.start_next_cycle()
    except (ConnectionError, h11.LocalProtocolError, h11.RemoteProtocolError):
        return
    finally:
        writer.close()
        with contextlib.suppress(ConnectionError):
            await writer.wait_closed()
