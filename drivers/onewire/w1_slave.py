"""The ``w1_slave`` file of the Linux ``w1_therm`` driver: :func:`parse_w1_slave`.

Reading ``/sys/bus/w1/devices/28-*/w1_slave`` makes the kernel start a conversion (about
750 ms at 12 bits), read the sensor's 9-byte scratchpad and print two lines::

    5e 01 ff ff 7f ff ff ff 52 : crc=52 YES
    5e 01 ff ff 7f ff ff ff 52 t=21875

Line one: the bytes just read, the CRC-8 the kernel computed over the first eight, and ``YES``
when it equals the ninth. Line two: the last scratchpad that passed the CRC (so after a ``NO``
it shows older bytes) and the temperature in thousandths of a degree Celsius, computed from the
bytes just read. The scratchpad starts with the temperature (int16, little-endian, 1/16 °C on
a DS18B20) and ends with the CRC.

Contents that mean "no reading" raise :class:`~edge_agent.errors.ParseError`:

- empty or one-line files (the read failed or was cut short);
- all nine bytes ``ff``: nobody answered on the bus (sensor gone, data wire broken, missing
  pull-up);
- all nine bytes ``00``: the data line is held low (short circuit, wrong wiring). The CRC of
  zeros is zero, so the kernel says ``YES`` to this.

A ``NO`` is not an error: the sample says ``crc_ok=False`` and the driver flags the value
``CHECKSUM_FAILED``. The value 85.000 °C is the scratchpad's power-on reset value: a sensor
that reports it did usually not convert (parasite power without a strong pull-up, brown-out);
it is flagged, since a real 85 °C reads the same.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Final

from edge_agent.errors import ParseError

POWER_ON_RESET_MILLI_C: Final = 85000
SCRATCHPAD_LENGTH: Final = 9

_BYTES: Final = r"((?:[0-9a-f]{2} ){9})"
_CRC_LINE: Final = re.compile(_BYTES + r": crc=([0-9a-f]{2}) (YES|NO)", re.IGNORECASE | re.ASCII)
_TEMPERATURE_LINE: Final = re.compile(_BYTES + r"t=(-?[0-9]{1,7})", re.IGNORECASE | re.ASCII)


@dataclass(frozen=True, slots=True)
class W1SlaveSample:
    """One read of a ``w1_slave`` file.

    Attributes:
        temperature_c: the temperature the kernel computed (its ``t=`` divided by 1000), °C.
            Meaningless when ``crc_ok`` is false.
        crc_ok: whether the scratchpad passed its CRC-8 (the kernel's ``YES``).
        scratchpad: the nine bytes just read from the sensor, the last one the sensor's CRC.
        crc: the CRC-8 the kernel computed over the first eight bytes.
        power_on_reset: ``t=85000``, the power-on reset value: probably no conversion ran.
    """

    temperature_c: float
    crc_ok: bool
    scratchpad: bytes
    crc: int
    power_on_reset: bool


def crc8(data: bytes) -> int:
    """Dallas/Maxim 1-Wire CRC-8 (polynomial x^8 + x^5 + x^4 + 1, reflected, initial 0)."""
    crc = 0
    for byte in data:
        value = byte
        for _ in range(8):
            mix = (crc ^ value) & 1
            crc >>= 1
            if mix:
                crc ^= 0x8C
            value >>= 1
    return crc


def parse_w1_slave(content: bytes | str) -> W1SlaveSample:
    """Parse the content of a ``w1_slave`` file.

    Args:
        content: the file's content as read (bytes) or pasted (text); blank lines, which a
            paste from a web page often adds, are ignored.

    Raises:
        ParseError: empty, truncated or garbled content, content that does not add up (the
            printed CRC is not the CRC of the bytes), or a bus on which nobody answered.
    """
    if isinstance(content, bytes):
        try:
            text = content.decode("ascii")
        except UnicodeDecodeError as exc:
            raise ParseError(f"w1_slave content is not ASCII text: {content[:60]!r}") from exc
    else:
        text = content
    lines = [line for line in text.splitlines() if line.strip()]
    if not lines:
        raise ParseError(
            "w1_slave is empty: the kernel could not read the sensor; check the wiring and "
            "'dmesg | grep w1'"
        )
    if len(lines) != 2:
        raise ParseError(
            f"w1_slave has {len(lines)} line(s), expected 2 (bytes with crc, bytes with t=): "
            f"{text[:120]!r}"
        )
    crc_line = _CRC_LINE.fullmatch(lines[0].strip())
    if crc_line is None:
        raise ParseError(
            f"w1_slave line 1 is not '<9 hex bytes> : crc=<hex> YES|NO': {lines[0][:120]!r}"
        )
    temperature_line = _TEMPERATURE_LINE.fullmatch(lines[1].strip())
    if temperature_line is None:
        raise ParseError(f"w1_slave line 2 is not '<9 hex bytes> t=<integer>': {lines[1][:120]!r}")

    scratchpad = bytes.fromhex(crc_line.group(1))
    if scratchpad == b"\xff" * SCRATCHPAD_LENGTH:
        raise ParseError(
            "w1_slave reads all ff: no sensor answered. Check the sensor, the data wire and the "
            "4.7 kOhm pull-up to 3.3 V"
        )
    if scratchpad == bytes(SCRATCHPAD_LENGTH):
        raise ParseError(
            "w1_slave reads all 00: the data line is held low. Check for a short circuit or "
            "swapped wires (GND, DQ, VDD)"
        )
    printed_crc = int(crc_line.group(2), 16)
    computed = crc8(scratchpad[:8])
    crc_ok = crc_line.group(3).upper() == "YES"
    if printed_crc != computed or crc_ok != (computed == scratchpad[8]):
        raise ParseError(
            f"w1_slave line 1 does not add up: crc={printed_crc:02x} "
            f"{crc_line.group(3)} but the CRC-8 of {scratchpad[:8].hex(' ')} is {computed:02x} "
            f"and the last byte is {scratchpad[8]:02x}; the content did not come from the kernel "
            "or was corrupted"
        )
    if crc_ok and bytes.fromhex(temperature_line.group(1)) != scratchpad:
        raise ParseError(
            "w1_slave lines disagree: after a CRC 'YES' both must show the same bytes: "
            f"{text[:120]!r}"
        )
    milli_c = int(temperature_line.group(2))
    return W1SlaveSample(
        temperature_c=milli_c / 1000,
        crc_ok=crc_ok,
        scratchpad=scratchpad,
        crc=computed,
        power_on_reset=milli_c == POWER_ON_RESET_MILLI_C,
    )
