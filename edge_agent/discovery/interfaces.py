"""Which network interfaces discovery uses: names (``eth0``, ``wlan0``) or IPv4 addresses."""

from __future__ import annotations

import ipaddress

import ifaddr

from ..errors import ConfigError


def ipv4_addresses(adapter: ifaddr.Adapter) -> list[str]:
    """The IPv4 addresses of one adapter."""
    return [ip.ip for ip in adapter.ips if isinstance(ip.ip, str)]


def resolve_interfaces(entries: list[str]) -> list[str]:
    """The IPv4 addresses of the interfaces named in ``entries`` (names or addresses).

    An empty list means every interface except loopback. Raises :class:`ConfigError` for a
    name the system does not have, listing those it has.
    """
    adapters = ifaddr.get_adapters()
    if not entries:
        return [
            address
            for adapter in adapters
            for address in ipv4_addresses(adapter)
            if not ipaddress.IPv4Address(address).is_loopback
        ]
    addresses: list[str] = []
    by_name = {adapter.nice_name: adapter for adapter in adapters}
    for entry in entries:
        try:
            ipaddress.IPv4Address(entry)
        except ValueError:
            pass
        else:
            addresses.append(entry)
            continue
        adapter = by_name.get(entry)
        if adapter is None:
            raise ConfigError(
                f"discovery.interfaces: unknown interface {entry!r}; this device has: "
                f"{', '.join(sorted(by_name)) or '(none)'}"
            )
        found = ipv4_addresses(adapter)
        if not found:
            raise ConfigError(
                f"discovery.interfaces: interface {entry!r} has no IPv4 address (yet); "
                "bring it up, or leave interfaces empty to use all"
            )
        addresses.extend(found)
    return addresses
