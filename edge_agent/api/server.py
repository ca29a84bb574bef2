"""The API's Unix socket: binding it with the right owner and mode, and accepting clients.

The socket is created with mode 0660 and handed to the API group (``edge-agent``) when that
group exists, so only root, the agent's user and the group's members can connect at all; the
agent then checks each peer's credentials again (:mod:`.credentials`) and answers others with
403. There is no TCP listener: remote technicians reach the socket through SSH
(``edge-agent api bridge``).

A socket file left by an agent that died is replaced; a socket that answers belongs to a
running agent, and this one refuses to take it over.
"""

from __future__ import annotations

import asyncio
import contextlib
import grp
import logging
import os
import socket
import stat
from pathlib import Path
from typing import Final

from ..errors import EdgeKitError
from .credentials import PeerCheck, peer_credentials
from .http import Handler, HttpError, Request, Response, serve_connection
from .paths import MAX_SOCKET_PATH

SOCKET_MODE: Final = 0o660


class ApiSocketError(EdgeKitError, OSError):
    """The API socket cannot be created; the message says why and what to do."""


def _check_existing(path: Path) -> None:
    """Remove a stale socket at ``path``; refuse if it is live or not a socket."""
    try:
        mode = path.lstat().st_mode
    except FileNotFoundError:
        return
    if not stat.S_ISSOCK(mode):
        raise ApiSocketError(
            f"{path} exists and is not a socket; remove it or set [api] socket to another path"
        )
    probe = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        probe.settimeout(1.0)
        probe.connect(str(path))
    except (ConnectionRefusedError, FileNotFoundError):
        path.unlink(missing_ok=True)  # left behind by an agent that did not stop cleanly
        return
    except OSError as exc:
        raise ApiSocketError(f"cannot check the existing socket {path}: {exc}") from exc
    else:
        owner = peer_credentials(probe)
        raise ApiSocketError(
            f"{path} is in use by another running edge-agent (pid {owner.pid}); stop it "
            "first, or give this agent another [api] socket"
        )
    finally:
        probe.close()


def bind_socket(path: Path, group: str | None, log: logging.Logger) -> socket.socket:
    """A listening Unix socket at ``path`` with mode 0660, in ``group`` if that exists."""
    if len(os.fsencode(path)) > MAX_SOCKET_PATH:
        raise ApiSocketError(
            f"socket path {path} is longer than {MAX_SOCKET_PATH} bytes, which Unix sockets "
            "do not allow; set [api] socket to a shorter path"
        )
    # /tmp/edge-agent-<uid>: a user's own directory in a shared place (no $XDG_RUNTIME_DIR).
    private = path.parent.name == f"edge-agent-{os.getuid()}"
    try:
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700 if private else 0o755)
    except OSError as exc:
        raise ApiSocketError(
            f"cannot create {path.parent} for the API socket: {exc.strerror}; run the agent "
            "under systemd with RuntimeDirectory=edge-agent, or set [api] socket"
        ) from exc
    if private and path.parent.stat().st_uid != os.getuid():
        raise ApiSocketError(
            f"{path.parent} belongs to another user; remove it, or set [api] socket"
        )
    _check_existing(path)
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        sock.bind(str(path))
        os.chmod(path, SOCKET_MODE)
        if group:
            try:
                gid = grp.getgrnam(group).gr_gid
            except KeyError:
                log.info(
                    "group %r does not exist: only root and this agent's user can use the API "
                    "(create the group and add technicians to it to share access)",
                    group,
                )
            else:
                try:
                    # Under the unit (Group=edge-agent) the socket has the group already, and
                    # its system call filter refuses chown.
                    if os.stat(path).st_gid != gid:
                        os.chown(path, -1, gid)
                except PermissionError:
                    log.warning(
                        "cannot hand the API socket to group %r: this agent's user is not a "
                        "member; add it (usermod -aG %s USER)",
                        group,
                        group,
                    )
        sock.listen(16)
    except OSError as exc:
        sock.close()
        raise ApiSocketError(f"cannot listen on {path}: {exc.strerror or exc}") from exc
    sock.setblocking(False)
    return sock


class ApiServer:
    """Serves ``handler`` on a Unix socket.

    Args:
        path: where the socket goes.
        handler: answers requests.
        policy: decides which peers may use the API.
        group: the API group (socket ownership).
        max_clients: connections served at once; more are answered 503.
        logger: for connections refused and errors.
    """

    def __init__(
        self,
        path: Path,
        handler: Handler,
        *,
        policy: PeerCheck,
        group: str | None,
        max_clients: int,
        logger: logging.Logger,
    ) -> None:
        self.path = path
        self.handler = handler
        self.policy = policy
        self.group = group
        self.max_clients = max_clients
        self.log = logger
        self.refused = 0
        """Connections refused by the peer check so far."""
        self._server: asyncio.AbstractServer | None = None
        self._connections: set[asyncio.Task[None]] = set()
        self._inode: int | None = None

    async def start(self) -> None:
        """Bind and start accepting; raises :class:`ApiSocketError`."""
        sock = bind_socket(self.path, self.group, self.log)
        self._inode = os.stat(self.path).st_ino
        self._server = await asyncio.start_unix_server(self._accept, sock=sock)

    @property
    def serving(self) -> bool:
        """Whether the socket accepts connections."""
        return self._server is not None and self._server.is_serving()

    @property
    def clients(self) -> int:
        """Connections open now."""
        return len(self._connections)

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._connections.add(task)
        try:
            sock: socket.socket = writer.get_extra_info("socket")
            peer = peer_credentials(sock)
            refusal = self.policy(peer)
            handler = self.handler
            if refusal is not None:
                self.refused += 1
                self.log.warning("API refused pid %d: %s", peer.pid, refusal)
            elif len(self._connections) > self.max_clients:
                handler = self._busy
            await serve_connection(
                reader, writer, handler, peer=peer, refusal=refusal, log=self.log
            )
        except asyncio.CancelledError:
            writer.close()
            raise
        finally:
            self._connections.discard(task)

    async def _busy(self, request: Request) -> Response:
        raise HttpError(
            503,
            f"the API serves at most {self.max_clients} clients at once",
            "close other consoles, or raise [api] max_clients",
        )

    async def stop(self) -> None:
        """Stop accepting, end open connections, and remove the socket file."""
        if self._server is None:
            return
        self._server.close()
        for task in list(self._connections):
            task.cancel()
        for task in list(self._connections):
            with contextlib.suppress(asyncio.CancelledError):
                await task
        with contextlib.suppress(asyncio.CancelledError):
            await self._server.wait_closed()
        self._server = None
        # Remove the file only if it is still ours (not replaced by another agent meanwhile).
        with contextlib.suppress(OSError):
            if os.stat(self.path).st_ino == self._inode:
                self.path.unlink()
