"""A tiny reader of the MBR partition table of a disk image (Raspberry Pi OS images use MBR).

The first 512-byte sector ends with the signature ``55 AA`` at byte 510; four 16-byte entries
start at byte 446: boot flag (1 byte), CHS start (3), type (1), CHS end (3), first sector (4,
little endian), number of sectors (4). Sizes are in 512-byte sectors, as in every Raspberry Pi
OS image. A GPT disk carries a single "protective" entry of type ``0xEE``; it is refused with a
message, as are tables that point past the end of the file (a truncated download).
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from .errors import ImageError

SECTOR: Final = 512
FAT_TYPES: Final = {
    0x01: "FAT12",
    0x04: "FAT16",
    0x06: "FAT16",
    0x0B: "FAT32",
    0x0C: "FAT32 LBA",
    0x0E: "FAT16 LBA",
}
LINUX: Final = 0x83
GPT_PROTECTIVE: Final = 0xEE
_ENTRY: Final = struct.Struct("<B3sB3sII")


@dataclass(frozen=True)
class Partition:
    """One primary partition; offsets and sizes in bytes."""

    number: int
    type_id: int
    start_sector: int
    sectors: int
    bootable: bool

    @property
    def offset(self) -> int:
        """Byte offset of the partition in the image."""
        return self.start_sector * SECTOR

    @property
    def size(self) -> int:
        """Size in bytes."""
        return self.sectors * SECTOR

    @property
    def end(self) -> int:
        """Byte offset just past the partition."""
        return self.offset + self.size

    @property
    def kind(self) -> str:
        """``FAT32``, ``Linux`` or the type in hex."""
        if self.type_id in FAT_TYPES:
            return FAT_TYPES[self.type_id]
        return "Linux" if self.type_id == LINUX else f"type 0x{self.type_id:02x}"


def parse_mbr(sector: bytes, *, name: str = "image") -> list[Partition]:
    """The used primary partitions of the MBR in ``sector`` (the image's first 512 bytes)."""
    if len(sector) < SECTOR:
        raise ImageError(
            f"{name}: only {len(sector)} bytes; a disk image starts with a 512-byte sector"
        )
    if sector[510:512] != b"\x55\xaa":
        raise ImageError(
            f"{name}: no partition table (the MBR signature 55 AA is missing at byte 510); "
            "is it a disk image (.img), not an archive? Decompress .zip files first"
        )
    partitions = []
    for index in range(4):
        status, _chs1, type_id, _chs2, start, count = _ENTRY.unpack_from(sector, 446 + 16 * index)
        if type_id == 0 or count == 0:
            continue
        if type_id == GPT_PROTECTIVE:
            raise ImageError(
                f"{name}: the disk uses a GPT partition table; Raspberry Pi OS images use MBR. "
                "Start from the image as downloaded from raspberrypi.com"
            )
        partitions.append(Partition(index + 1, type_id, start, count, status == 0x80))
    if not partitions:
        raise ImageError(f"{name}: the partition table is empty")
    return partitions


def read_partitions(image: Path) -> list[Partition]:
    """The partitions of ``image``, each checked to lie inside the file."""
    try:
        with image.open("rb") as file:
            first = file.read(SECTOR)
            size = file.seek(0, 2)
    except OSError as exc:
        raise ImageError(f"{image}: cannot read: {exc.strerror}") from exc
    partitions = parse_mbr(first, name=str(image))
    for part in partitions:
        if part.end > size:
            raise ImageError(
                f"{image}: partition {part.number} ends at byte {part.end} but the file has "
                f"only {size} bytes: the image is truncated; download and decompress it again"
            )
    return partitions


def boot_and_root(
    partitions: list[Partition], *, name: str = "image"
) -> tuple[Partition, Partition | None]:
    """The FAT boot partition (the first FAT one) and the Linux root partition (if any)."""
    boot = next((p for p in partitions if p.type_id in FAT_TYPES), None)
    if boot is None:
        kinds = ", ".join(f"{p.number}: {p.kind}" for p in partitions)
        raise ImageError(
            f"{name}: no FAT boot partition (partitions {kinds}); a Raspberry Pi OS image has a "
            "FAT32 boot partition first and an ext4 root second"
        )
    root = next((p for p in partitions if p.type_id == LINUX), None)
    return boot, root
