"""Which Raspberry Pi OS release an image holds, and so which first-boot mechanism it uses.

============  ======  ========  ===================================================================
release       Debian  Python    first boot
============  ======  ========  ===================================================================
bookworm      12      3.11      ``firstrun.sh`` run by ``systemd.run=`` from ``cmdline.txt`` (as
                                Raspberry Pi Imager does), then a reboot
trixie        13      3.13      cloud-init ``user-data``, ``network-config``, ``meta-data`` on the
                                boot partition (NoCloud), read on the first boot
============  ======  ========  ===================================================================

How it is decided, first match wins:

1. ``--release`` given: that one.
2. The root file system's ``/usr/lib/os-release`` (``VERSION_CODENAME=``), read with debugfs
   without root (:mod:`.ext4`). This is the only certain answer; older or other codenames are
   refused, and so is a 32-bit (armhf) root (the agent's wheels are aarch64).
3. Without debugfs, the boot partition's files:

   - ``user-data``, ``meta-data`` or ``network-config`` present: **trixie**. Raspberry Pi OS
     images from the Trixie release on (2025-10) ship these three cloud-init seed files on
     the boot partition; Bookworm images never did.
   - else ``kernel_2712.img`` present: **bookworm**. The Pi 5 kernel appeared with Bookworm
     (2023-10); Bullseye and older images do not have it.
   - else: refused as older than Bookworm.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Final, Literal

from ..errors import ConfigError, unknown_choice
from .errors import ImageError

CLOUD_INIT_SEEDS: Final = ("user-data", "meta-data", "network-config")
PI5_KERNEL: Final = "kernel_2712.img"


@dataclass(frozen=True)
class Release:
    """A supported Raspberry Pi OS release."""

    name: Literal["bookworm", "trixie"]
    debian: int
    python: str
    """The system Python (``3.11``): the embedded wheels must be built for it."""
    first_boot: Literal["firstrun", "cloud-init"]


RELEASES: Final = {
    "bookworm": Release("bookworm", 12, "3.11", "firstrun"),
    "trixie": Release("trixie", 13, "3.13", "cloud-init"),
}


def release_named(name: str) -> Release:
    """The release called ``name`` (``--release``)."""
    try:
        return RELEASES[name]
    except KeyError:
        raise ConfigError(unknown_choice("release", name, RELEASES)) from None


def parse_os_release(text: str) -> dict[str, str]:
    """``KEY=value`` lines of os-release(5), quotes removed."""
    values = {}
    for line in text.splitlines():
        key, sep, value = line.partition("=")
        if sep and key.strip() and not key.startswith("#"):
            values[key.strip()] = value.strip().strip("\"'")
    return values


def detect_release(
    boot_files: Iterable[str], os_release: str | None, *, arm64: bool | None = None
) -> tuple[Release, str]:
    """The release and a sentence saying how it was recognised.

    Args:
        boot_files: names at the top of the boot partition (any case).
        os_release: the root's os-release text, or None when it could not be read.
        arm64: whether the root has an aarch64 userland; None when unknown.
    """
    if arm64 is False:
        raise ImageError(
            "this is a 32-bit (armhf) Raspberry Pi OS image; the agent needs the 64-bit one: "
            "download 'Raspberry Pi OS Lite (64-bit)'"
        )
    if os_release is not None:
        values = parse_os_release(os_release)
        codename = values.get("VERSION_CODENAME", "")
        if codename in RELEASES:
            return RELEASES[
                codename
            ], f"root file system: os-release says VERSION_CODENAME={codename}"
        raise ImageError(
            f"the image's root file system is "
            f"{values.get('PRETTY_NAME', codename or 'unknown')!r}; "
            f"supported are Raspberry Pi OS {' and '.join(RELEASES)}: download a current "
            "Raspberry Pi OS Lite (64-bit) image"
        )
    names = {name.lower().rstrip("/") for name in boot_files}
    missing = [n for n in ("cmdline.txt", "config.txt") if n not in names]
    if missing:
        raise ImageError(
            f"the boot partition has no {' and no '.join(missing)}: this is not a Raspberry Pi "
            "OS image"
        )
    seeds = [s for s in CLOUD_INIT_SEEDS if s in names]
    if seeds:
        return RELEASES["trixie"], (
            f"boot partition: cloud-init seed files ({', '.join(seeds)}), which Raspberry Pi OS "
            "ships from Trixie on"
        )
    if PI5_KERNEL in names:
        return RELEASES["bookworm"], (
            f"boot partition: {PI5_KERNEL} (Bookworm and later) and no cloud-init seed files"
        )
    raise ImageError(
        f"the boot partition has no {PI5_KERNEL} and no cloud-init seed files: the image is "
        "older than Bookworm, which the kit does not support; download a current Raspberry Pi "
        "OS Lite (64-bit), or pass --release if you are sure"
    )
