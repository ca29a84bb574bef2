"""Network: the broker reachable, TLS as it should be, and no TCP port open but SSH and mDNS.

Listening sockets are read from ``/proc/net/tcp`` and ``/proc/net/tcp6`` (state ``0A``,
``LISTEN``); the process that holds one is found through the socket inode in
``/proc/<pid>/fd``, where this user may look. Listeners on loopback only are not reachable
from the network and are not counted.
"""

from __future__ import annotations

import ipaddress
import os
import socket
import time
from dataclasses import dataclass
from pathlib import Path

from ..uplink.connection import BrokerSettings, explain_connect_error
from .device import Device
from .result import CheckResult, fail, ok, warn

_LISTEN = "0A"


@dataclass(frozen=True, slots=True)
class Listener:
    """One listening TCP socket."""

    address: ipaddress.IPv4Address | ipaddress.IPv6Address
    port: int
    inode: int

    @property
    def loopback_only(self) -> bool:
        """Whether only this machine can connect (127.0.0.0/8, ::1, ::ffff:127.x)."""
        address = self.address
        if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
            return address.ipv4_mapped.is_loopback
        return address.is_loopback

    def where(self) -> str:
        """``0.0.0.0:8080`` or ``[::]:8080``."""
        if isinstance(self.address, ipaddress.IPv6Address):
            return f"[{self.address}]:{self.port}"
        return f"{self.address}:{self.port}"


def parse_proc_net_tcp(text: str) -> list[Listener]:
    """The listening sockets of ``/proc/net/tcp`` or ``/proc/net/tcp6`` (sans I/O).

    Addresses are hex in the kernel's byte order: IPv4 as one little-endian 32-bit word
    (``0100007F`` is 127.0.0.1), IPv6 as four such words; ports are big-endian hex.
    Lines that do not parse are skipped.
    """
    found = []
    for line in text.splitlines()[1:]:
        fields = line.split()
        if len(fields) < 10 or fields[3] != _LISTEN:
            continue
        host, _, port = fields[1].partition(":")
        try:
            raw = bytes.fromhex(host)
            if len(raw) == 4:
                address: ipaddress.IPv4Address | ipaddress.IPv6Address = ipaddress.IPv4Address(
                    raw[::-1]
                )
            elif len(raw) == 16:
                words = b"".join(raw[i : i + 4][::-1] for i in range(0, 16, 4))
                address = ipaddress.IPv6Address(words)
            else:
                continue
            found.append(Listener(address, int(port, 16), int(fields[9])))
        except ValueError:
            continue
    return found


def _owners(proc: Path, inodes: set[int]) -> dict[int, str]:
    """``inode -> "name (pid N)"`` for the sockets whose process this user can see."""
    owners: dict[int, str] = {}
    try:
        pids = [p for p in proc.iterdir() if p.name.isdigit()]
    except OSError:
        return owners
    for pid in pids:
        try:
            fds = list((pid / "fd").iterdir())
        except OSError:
            continue
        for fd in fds:
            try:
                target = os.readlink(fd)
            except OSError:
                continue
            if target.startswith("socket:["):
                inode = int(target[8:-1])
                if inode in inodes and inode not in owners:
                    try:
                        comm = (pid / "comm").read_text().strip()
                    except OSError:
                        comm = "?"
                    owners[inode] = f"{comm} (pid {pid.name})"
    return owners


def check_listeners(device: Device) -> CheckResult:
    """No TCP port reachable from the network but SSH (and mDNS)."""
    name = "listeners"
    allowed = set(device.allowed_ports)
    if device.config is not None:
        allowed.add(device.config.discovery.port)
    listeners: list[Listener] = []
    read = 0
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            listeners += parse_proc_net_tcp(device.path(table).read_text())
            read += 1
        except OSError:
            continue
    if not read:
        return warn(name, "cannot tell: no /proc/net/tcp", "check that /proc is mounted")
    open_ports = sorted(
        {
            (lst.where(), lst.inode)
            for lst in listeners
            if not lst.loopback_only and lst.port not in allowed
        }
    )
    local = sorted({lst.port for lst in listeners if lst.loopback_only})
    ports = sorted({lst.port for lst in listeners if not lst.loopback_only})
    details = {"reachable_ports": ports, "loopback_ports": local, "allowed": sorted(allowed)}
    if open_ports:
        owners = _owners(device.path("/proc"), {inode for _, inode in open_ports})
        listed = ", ".join(
            f"{where}" + (f" by {owners[inode]}" if inode in owners else "")
            for where, inode in open_ports
        )
        return fail(
            name,
            f"TCP ports open to the network besides SSH: {listed}",
            "stop or uninstall the service (systemctl disable --now NAME), or bind it to "
            "127.0.0.1; the agent's API is a Unix socket, reached over SSH",
            **details,
        )
    return ok(
        name,
        f"only {', '.join(map(str, ports)) or 'no port'} open to the network"
        + (f"; {len(local)} loopback-only listener(s) ignored" if local else ""),
        **details,
    )


def check_broker(device: Device) -> CheckResult:
    """A TCP connection to the configured broker, and its TLS settings."""
    name = "broker"
    config = device.config
    if config is None or config.uplink is None:
        return ok(name, "no [uplink] configured: readings stay on the device")
    uplink = config.uplink
    settings = BrokerSettings(
        host=uplink.host,
        port=uplink.port,
        client_id=config.device.id,
        tls=uplink.tls,
        connect_timeout=device.connect_timeout,
    )
    started = time.monotonic()
    try:
        with socket.create_connection((uplink.host, uplink.port), timeout=device.connect_timeout):
            pass
    except OSError as exc:
        return fail(
            name, explain_connect_error(exc, settings), "see above", address=settings.address
        )
    took_ms = (time.monotonic() - started) * 1000
    summary = f"{settings.address} accepts TCP connections ({took_ms:.0f} ms)"
    if not uplink.tls:
        return warn(
            name,
            summary + "; TLS is off: passwords and readings cross the network in clear",
            "set uplink.tls = true and the broker's TLS port (8883)",
            address=settings.address,
        )
    if not uplink.tls_verify:
        return warn(
            name,
            summary + "; the broker's certificate is not verified",
            "set uplink.tls_verify = true (and uplink.ca_file to the region's CA)",
            address=settings.address,
        )
    return ok(
        name,
        summary + "; TLS with verification (login: edge-agent sync status)",
        address=settings.address,
    )
