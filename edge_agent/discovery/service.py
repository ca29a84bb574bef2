"""The agent's mDNS presence: announce ``_edge-agent._tcp``, browse for peers and brokers.

One :class:`Discovery` per agent, on python-zeroconf's asyncio API (its network I/O runs on
the agent's event loop and never blocks it). The announcement names the device
(``<id>._edge-agent._tcp.local.`` on host ``<id>.local.``) with port 22: the API is reached
through SSH, so SSH is what a peer or a technician's laptop should connect to. The TXT record
(:mod:`.txt`) is refreshed every ``update_interval`` seconds when the health or backlog changed,
and so are the addresses when DHCP gave new ones.

Discovery is on by default on a Raspberry Pi and off elsewhere (``enabled = "auto"``), so a
laptop running the demo or a CI machine never sends multicast unless told to.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
import time
from collections.abc import Awaitable, Callable, Mapping
from pathlib import Path
from typing import Final, Literal

from zeroconf import IPVersion, ServiceStateChange, Zeroconf
from zeroconf.asyncio import AsyncServiceBrowser, AsyncServiceInfo, AsyncZeroconf

from .. import __version__
from ..api.models import Peer, PeersReply
from ..config import DeviceConfig, DiscoveryConfig
from ..errors import ConfigError
from .interfaces import resolve_interfaces
from .txt import build_txt, parse_txt

SERVICE_TYPE: Final = "_edge-agent._tcp.local."
BROKER_TYPE: Final = "_mqtt._tcp.local."
RESOLVE_TIMEOUT_MS: Final = 3000
RETRY_S: Final = 30.0
PI_MODEL: Final = Path("/proc/device-tree/model")

Announcement = Callable[[], Awaitable[Mapping[str, str]]]
"""Returns the TXT entries that change while the agent runs (``health``, ``backlog``)."""


def on_raspberry_pi(model: Path = PI_MODEL) -> bool:
    """Whether the device tree names a Raspberry Pi."""
    try:
        return model.read_bytes().startswith(b"Raspberry Pi")
    except OSError:
        return False


def discovery_enabled(config: DiscoveryConfig) -> bool:
    """``enabled``, with ``auto`` meaning: on a Raspberry Pi."""
    if config.enabled == "auto":
        return on_raspberry_pi()
    return bool(config.enabled)


def _instance(name: str, service_type: str) -> str:
    return name.removesuffix("." + service_type)


class Discovery:
    """Announces this agent and keeps the table of what it sees.

    Args:
        config: the ``[discovery]`` section.
        device: the ``[device]`` section (the id names the announcement).
        logger: the discovery logger.
        enabled: overrides ``config.enabled`` (``edge-agent peers --browse``).
    """

    def __init__(
        self,
        config: DiscoveryConfig,
        device: DeviceConfig,
        *,
        logger: logging.Logger,
        enabled: bool | None = None,
    ) -> None:
        self.config = config
        self.device = device
        self.log = logger
        self.enabled = discovery_enabled(config) if enabled is None else enabled
        self.announced_as: str | None = None
        """Our own instance name once announced (a clash in the lab renames it ``id (2)``)."""
        self.error: str | None = None
        self._peers: dict[tuple[str, str], Peer] = {}
        self._zc: AsyncZeroconf | None = None
        self._browser: AsyncServiceBrowser | None = None
        self._info: AsyncServiceInfo | None = None
        self._txt: dict[str, str] = {}
        self._addresses: list[str] = []
        self._announcement: Announcement | None = None
        self._task: asyncio.Task[None] | None = None
        self._resolving: set[asyncio.Task[None]] = set()

    # -- lifecycle ---------------------------------------------------------------------------

    async def start(self, announcement: Announcement | None = None) -> None:
        """Start announcing and browsing in the background (no-op when disabled)."""
        if not self.enabled:
            return
        self._announcement = announcement
        self._task = asyncio.get_running_loop().create_task(self._run(), name="discovery")

    async def _run(self) -> None:
        while True:
            try:
                await self._open()
                break
            except (OSError, ConfigError) as exc:
                self.error = str(exc)
                self.log.warning("mDNS discovery not started (%s); trying again in 30 s", exc)
                await self._close()
                await asyncio.sleep(RETRY_S)
        self.error = None
        while True:
            await asyncio.sleep(self.config.update_interval)
            try:
                await self._refresh()
            except Exception as exc:  # a refresh failure must not end discovery
                self.log.warning("mDNS announcement not refreshed: %s", exc)

    async def _open(self) -> None:
        addresses = resolve_interfaces(self.config.interfaces)
        if not addresses:
            raise ConfigError("no network interface with an IPv4 address is up")
        self._addresses = addresses
        self._zc = AsyncZeroconf(interfaces=addresses, ip_version=IPVersion.V4Only)
        if self.config.announce:
            self._txt = await self._current_txt()
            info = self._service_info()
            # Each async_* call returns a task that ends once the packets are out: await both.
            await (await self._zc.async_register_service(info, allow_name_change=True))
            self._info = info
            self.announced_as = _instance(info.name, SERVICE_TYPE)
            if self.announced_as != self.device.id:
                self.log.warning(
                    "another device announces the id %r in this lab; announced as %r: give "
                    "each device its own [device] id",
                    self.device.id,
                    self.announced_as,
                )
            self.log.info(
                "announcing %s on %s (%s)",
                info.name,
                ", ".join(addresses),
                " ".join(f"{k}={v}" for k, v in self._txt.items()),
            )
        if self.config.browse:
            self._browser = AsyncServiceBrowser(
                self._zc.zeroconf, [SERVICE_TYPE, BROKER_TYPE], handlers=[self._on_change]
            )

    async def _current_txt(self) -> dict[str, str]:
        extra = dict(await self._announcement()) if self._announcement is not None else {}
        return build_txt(
            device_id=self.device.id,
            city=self.device.city,
            lab=self.device.lab,
            version=__version__,
            extra=extra,
        )

    def _service_info(self) -> AsyncServiceInfo:
        name = self.announced_as or self.device.id
        return AsyncServiceInfo(
            SERVICE_TYPE,
            f"{name}.{SERVICE_TYPE}",
            port=self.config.port,
            properties=self._txt,
            server=f"{self.device.id}.local.",
            addresses=[socket.inet_aton(a) for a in self._addresses],
        )

    async def _refresh(self) -> None:
        """Re-announce when the TXT values or the addresses changed."""
        if self._zc is None or self._info is None:
            return
        txt = await self._current_txt()
        addresses = resolve_interfaces(self.config.interfaces) or self._addresses
        if txt == self._txt and addresses == self._addresses:
            return
        self._txt, self._addresses = txt, addresses
        info = self._service_info()
        await (await self._zc.async_update_service(info))
        self._info = info
        self.log.debug("announcement updated: %s", txt)

    async def stop(self) -> None:
        """Say goodbye on the network and stop."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        await self._close()

    async def _close(self) -> None:
        for task in list(self._resolving):
            task.cancel()
        for task in list(self._resolving):
            with contextlib.suppress(asyncio.CancelledError):
                await task
        if self._browser is not None:
            await self._browser.async_cancel()
            self._browser = None
        if self._zc is not None:
            if self._info is not None:
                try:  # goodbye packets, so that peers forget this device at once
                    await (await self._zc.async_unregister_service(self._info))
                except Exception as exc:
                    self.log.debug("goodbye not sent: %s", exc)
            await self._zc.async_close()
            self._zc = None
            self._info = None

    # -- browsing ----------------------------------------------------------------------------

    def _on_change(
        self,
        zeroconf: Zeroconf,
        service_type: str,
        name: str,
        state_change: ServiceStateChange,
    ) -> None:
        key = (service_type, name)
        if state_change is ServiceStateChange.Removed:
            if self._peers.pop(key, None) is not None:
                self.log.info("gone: %s", name)
            return
        task = asyncio.get_running_loop().create_task(self._resolve(service_type, name))
        self._resolving.add(task)
        task.add_done_callback(self._resolving.discard)

    async def _resolve(self, service_type: str, name: str) -> None:
        if self._zc is None:
            return
        info = AsyncServiceInfo(service_type, name)
        if not await info.async_request(self._zc.zeroconf, RESOLVE_TIMEOUT_MS):
            self.log.debug("could not resolve %s", name)
            return
        instance = _instance(name, service_type)
        kind: Literal["agent", "broker"] = "agent" if service_type == SERVICE_TYPE else "broker"
        if kind == "agent" and instance == self.announced_as:
            return
        key = (service_type, name)
        if key not in self._peers:
            self.log.info("found %s %s at %s", kind, instance, info.server)
        self._peers[key] = {
            "kind": kind,
            "name": instance,
            "host": info.server.rstrip(".") if info.server else None,
            "addresses": info.parsed_addresses(),
            "port": info.port,
            "txt": parse_txt(info.properties),
            "seen": time.time(),
        }

    def snapshot(self) -> PeersReply:
        """What is seen now: other agents and brokers, sorted by name."""
        peers = sorted(self._peers.values(), key=lambda p: (p["kind"], p["name"]))
        return {
            "enabled": self.enabled,
            "announced_as": self.announced_as,
            "peers": [p for p in peers if p["kind"] == "agent"],
            "brokers": [p for p in peers if p["kind"] == "broker"],
        }


async def browse(config: DiscoveryConfig, seconds: float, *, logger: logging.Logger) -> PeersReply:
    """Look around for ``seconds`` without announcing anything (``edge-agent peers --browse``).

    Raises :class:`ConfigError` for unknown interfaces and :class:`OSError` when the network
    cannot be used.
    """
    quiet = config.model_copy(update={"announce": False, "browse": True})
    discovery = Discovery(quiet, DeviceConfig(id="browser"), logger=logger, enabled=True)
    await discovery._open()
    try:
        await asyncio.sleep(seconds)
        if discovery._resolving:
            await asyncio.wait(list(discovery._resolving), timeout=RESOLVE_TIMEOUT_MS / 1000)
        return discovery.snapshot()
    finally:
        await discovery._close()


__all__ = ["BROKER_TYPE", "SERVICE_TYPE", "Discovery", "browse", "discovery_enabled"]
