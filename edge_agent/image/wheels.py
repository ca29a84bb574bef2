"""The folder of wheels embedded for an offline install, checked before it goes onto the card.

The Pi installs with ``pip install --no-index --find-links <folder>``, so the folder must hold
the kit's own wheel (``digitallabor_edge_kit-<version>-py3-none-any.whl``) and a wheel of every
dependency, built for aarch64 and the image's Python (3.11 on Bookworm, 3.13 on Trixie).
``images/build-wheels.sh`` makes such a folder. What is checked here is what can be seen in
the file names (PEP 427): one kit version, and no wheel for another CPU or Python. Whether
every dependency is present is pip's to find out; the arm64 first-boot check
(``images/check-firstboot-arm64.sh``) proves a folder made by the script installs offline.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from ..errors import ConfigError

KIT: Final = "digitallabor_edge_kit"


@dataclass(frozen=True)
class WheelFolder:
    """A checked folder of wheels."""

    path: Path
    kit_version: str
    wheels: tuple[Path, ...]

    @property
    def size(self) -> int:
        """Bytes of all wheels."""
        return sum(w.stat().st_size for w in self.wheels)


def _normalise(name: str) -> str:
    return re.sub(r"[-_.]+", "_", name).lower()


def wheel_fits(filename: str, python: str) -> bool:
    """Whether a wheel installs on aarch64 Linux with CPython ``python`` (``"3.11"``)."""
    parts = filename.removesuffix(".whl").split("-")
    if len(parts) < 5:
        return False
    py_tags, abi_tags, plat_tags = parts[-3].split("."), parts[-2].split("."), parts[-1].split(".")
    major, minor = (int(x) for x in python.split("."))
    platform_ok = any(
        tag == "any" or (tag.startswith(("manylinux", "linux_")) and tag.endswith("aarch64"))
        for tag in plat_tags
    )
    if not platform_ok:
        return False
    for py in py_tags:
        if py in ("py3", f"py{major}", f"py{major}{minor}"):
            return True
        match = re.fullmatch(r"cp(\d)(\d+)", py)
        if match and int(match.group(1)) == major:
            wheel_minor = int(match.group(2))
            if wheel_minor == minor or ("abi3" in abi_tags and wheel_minor <= minor):
                return True
    return False


def check_wheels(directory: Path, python: str) -> WheelFolder:
    """The checked folder; raises :class:`ConfigError` naming the wheels that do not fit."""
    if not directory.is_dir():
        raise ConfigError(
            f"wheels {directory}: not a directory (make one with images/build-wheels.sh)"
        )
    wheels = tuple(sorted(directory.glob("*.whl")))
    if not wheels:
        raise ConfigError(
            f"wheels {directory}: no .whl files (make them with images/build-wheels.sh)"
        )
    versions = {w.name.split("-")[1] for w in wheels if _normalise(w.name.split("-")[0]) == KIT}
    if not versions:
        raise ConfigError(
            f"wheels {directory}: no {KIT}-*.whl, the agent itself; build the folder with "
            "images/build-wheels.sh"
        )
    if len(versions) > 1:
        raise ConfigError(
            f"wheels {directory}: several versions of the agent ({', '.join(sorted(versions))}); "
            "keep one"
        )
    wrong = [w.name for w in wheels if not wheel_fits(w.name, python)]
    if wrong:
        raise ConfigError(
            f"wheels {directory}: not for aarch64 with Python {python} (the image's Python): "
            f"{', '.join(wrong)}; build the folder with images/build-wheels.sh --python {python}"
        )
    return WheelFolder(directory, versions.pop(), wheels)
