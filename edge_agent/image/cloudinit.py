"""cloud-init seed files for Raspberry Pi OS Trixie: ``user-data``, ``network-config``,
``meta-data`` on the boot partition (the NoCloud data source the image is set up to read).

- ``user-data`` (``#cloud-config``): host name, locale, time zone, keyboard, the technicians'
  user with SSH keys only (``lock_passwd``, ``ssh_pwauth: false``) and password-less sudo,
  and ``runcmd`` steps that hand over to ``edge-agent/firstboot.sh`` (``stage``, then
  ``enable-setup --start``). It holds no secret.
- ``network-config`` (netplan version 2): the Wi-Fi with its pre-shared key and regulatory
  domain. It is the only secret cloud-init reads; cloud-init renders it to
  ``/etc/netplan/50-cloud-init.yaml`` (root only) on the first boot, after which
  ``firstboot.sh`` overwrites it with zeros and puts a secret-free copy in its place
  (``edge-agent/network-config.clean``), so the instance keeps a readable description.
- ``meta-data``: an ``instance-id`` new for every image, so cloud-init runs its first-boot
  modules once.

The YAML is written by :func:`to_yaml`: block style, every string double-quoted with JSON
escapes (valid YAML), so no value can be read as a number, a boolean or YAML syntax.
"""

from __future__ import annotations

import json
import re
import secrets
from collections.abc import Mapping, Sequence
from typing import Any, Final

from .inputs import Wifi

USER_GROUPS: Final = (
    "adm", "dialout", "cdrom", "audio", "video", "plugdev", "games", "users", "input",
    "render", "netdev", "gpio", "i2c", "spi", "bluetooth", "sudo",
)  # fmt: skip


def _scalar(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    return json.dumps(str(value), ensure_ascii=False)


_PLAIN_KEY: Final = re.compile(r"^[A-Za-z_][A-Za-z0-9_-]*$")
_YAML11_WORDS: Final = {"y", "yes", "n", "no", "true", "false", "on", "off", "null"}
"""Words YAML 1.1 (PyYAML, so cloud-init) reads as booleans or null: always quoted."""


def _key(key: str) -> str:
    if _PLAIN_KEY.match(key) and key.lower() not in _YAML11_WORDS:
        return key
    return _scalar(key)


def to_yaml(value: Any, indent: int = 0) -> str:
    """``value`` (dicts, lists, str, int, bool) as block-style YAML lines."""
    pad = " " * indent
    lines: list[str] = []
    if isinstance(value, Mapping):
        for key, item in value.items():
            name = _key(str(key))
            if isinstance(item, Mapping | list | tuple) and item:
                lines.append(f"{pad}{name}:")
                lines.append(to_yaml(item, indent + 2))
            elif isinstance(item, Mapping):
                lines.append(f"{pad}{name}: {{}}")
            elif isinstance(item, list | tuple):
                lines.append(f"{pad}{name}: []")
            else:
                lines.append(f"{pad}{name}: {_scalar(item)}")
    elif isinstance(value, list | tuple):
        for item in value:
            if isinstance(item, Mapping | list | tuple) and item:
                nested = to_yaml(item, indent + 2).splitlines()
                lines.append(f"{pad}- {nested[0].lstrip()}")
                lines.extend(nested[1:])
            else:
                empty = "{}" if isinstance(item, Mapping) else "[]"
                text = empty if isinstance(item, Mapping | list | tuple) else _scalar(item)
                lines.append(f"{pad}- {text}")
    else:
        lines.append(f"{pad}{_scalar(value)}")
    return "\n".join(lines)


def user_data(
    *,
    hostname: str,
    user: str,
    ssh_keys: Sequence[str],
    locale: str,
    timezone: str,
    keyboard: str | None,
    generator: str,
) -> str:
    """The ``user-data`` file."""
    data: dict[str, Any] = {
        "hostname": hostname,
        "manage_etc_hosts": True,
        "locale": locale,
        "timezone": timezone,
    }
    if keyboard:
        data["keyboard"] = {"layout": keyboard, "model": "pc105"}
    data |= {
        "enable_ssh": True,
        "ssh_pwauth": False,
        "disable_root": True,
        "users": [
            {
                "name": user,
                "groups": ",".join(USER_GROUPS),
                "shell": "/bin/bash",
                "lock_passwd": True,
                "ssh_authorized_keys": list(ssh_keys),
                "sudo": "ALL=(ALL) NOPASSWD:ALL",
            }
        ],
        "runcmd": [
            ["sh", "/boot/firmware/edge-agent/firstboot.sh", "stage"],
            ["sh", "/var/lib/edge-agent-setup/firstboot.sh", "enable-setup", "--start"],
        ],
    }
    header = (
        "#cloud-config\n"
        f"# First boot of a Raspberry Pi OS Trixie image made by {generator}.\n"
        "# Holds no secret; the Wi-Fi key is in network-config, which first boot wipes.\n"
    )
    return header + to_yaml(data) + "\n"


def _network(wifi: Wifi, *, with_key: bool) -> dict[str, Any]:
    access_point: dict[str, Any] = {}
    if with_key:
        access_point["password"] = wifi.psk
    if wifi.hidden:
        access_point["hidden"] = True
    return {
        "network": {
            "version": 2,
            "wifis": {
                "wlan0": {
                    "dhcp4": True,
                    "optional": True,
                    "regulatory-domain": wifi.country,
                    "access-points": {wifi.ssid: access_point},
                }
            },
        }
    }


def network_config(wifi: Wifi, *, generator: str) -> str:
    """``network-config`` with the pre-shared key: wiped at first boot."""
    header = (
        f"# Wi-Fi of the lab, written by {generator}.\n"
        "# Holds the Wi-Fi key: first boot overwrites this file and puts a copy without it here.\n"
    )
    return header + to_yaml(_network(wifi, with_key=True)) + "\n"


def network_config_clean(wifi: Wifi) -> str:
    """What replaces ``network-config`` after first boot: the same, without the key."""
    header = (
        "# The Wi-Fi key was moved into the system at first boot (/etc/netplan, root only)\n"
        "# and removed from here. Change Wi-Fi on the Pi: sudo nmtui\n"
    )
    return header + to_yaml(_network(wifi, with_key=False)) + "\n"


def meta_data(hostname: str) -> str:
    """``meta-data`` with a new instance id."""
    return (
        to_yaml(
            {
                "instance-id": f"edge-kit-{hostname}-{secrets.token_hex(4)}",
                "local-hostname": hostname,
            }
        )
        + "\n"
    )
