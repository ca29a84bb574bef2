"""The systemd notify protocol (``sd_notify``), spoken over ``$NOTIFY_SOCKET`` without libsystemd.

Under ``Type=notify`` the agent sends ``READY=1`` once it runs, ``STATUS=...`` with a one-line
summary, ``WATCHDOG=1`` from the event loop at half of ``$WATCHDOG_USEC`` (so a hung loop stops
the pings and systemd restarts the agent), and ``STOPPING=1`` on shutdown. Outside systemd every
call is a no-op.
"""

from __future__ import annotations

import os
import socket


class Notifier:
    """Sends notify messages to systemd, if the agent runs under it."""

    def __init__(self, environ: dict[str, str] | None = None) -> None:
        env = os.environ if environ is None else environ
        address = env.get("NOTIFY_SOCKET", "")
        if address.startswith("@"):  # abstract namespace
            address = "\0" + address[1:]
        self._address = address or None
        self._socket: socket.socket | None = None
        usec = env.get("WATCHDOG_USEC", "")
        pid = env.get("WATCHDOG_PID", "")
        watchdog = usec.isdigit() and (not pid or pid == str(os.getpid()))
        self.watchdog_interval: float | None = int(usec) / 2e6 if watchdog else None
        """Seconds between two ``WATCHDOG=1`` pings, or None when no watchdog is set."""

    @property
    def enabled(self) -> bool:
        """Whether a notify socket was given."""
        return self._address is not None

    def send(self, **fields: str | int) -> bool:
        """Send ``KEY=value`` lines (``send(READY=1, STATUS="running")``); False if not sent."""
        if self._address is None:
            return False
        if self._socket is None:
            self._socket = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC)
        message = "\n".join(f"{key}={value}" for key, value in fields.items())
        try:
            self._socket.sendto(message.encode(), self._address)
        except OSError:
            return False
        return True

    def ready(self, status: str) -> bool:
        """Tell systemd the agent is up."""
        return self.send(READY=1, STATUS=status)

    def status(self, status: str) -> bool:
        """Update the one-line status shown by ``systemctl status``."""
        return self.send(STATUS=status)

    def watchdog(self) -> bool:
        """Ping the watchdog."""
        return self.send(WATCHDOG=1)

    def stopping(self) -> bool:
        """Tell systemd the agent is shutting down."""
        return self.send(STOPPING=1)

    def close(self) -> None:
        """Close the socket."""
        if self._socket is not None:
            self._socket.close()
            self._socket = None
