"""Fuzzing the w1_slave parser: only ParseError escapes, and the parser keeps no state.

Besides random text, the content is generated the way the kernel prints it (any scratchpad,
its CRC, any temperature) and then damaged at one spot, so most examples get past the first
checks.
"""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from drivers.onewire import W1SlaveSample, crc8, parse_w1_slave
from edge_agent.errors import ParseError

pytestmark = pytest.mark.slow  # 2 x 10 000 examples: about 30 s on the 2-core CI machine

FUZZ = settings(max_examples=10_000, deadline=None, database=None)

# testcases/clone_chip_21875
REFERENCE_CONTENT = b"5e 01 ff ff 7f ff ff ff 52 : crc=52 YES\n5e 01 ff ff 7f ff ff ff 52 t=21875\n"
REFERENCE = parse_w1_slave(REFERENCE_CONTENT)
DAMAGE = "0123456789abcdefABCDEF :=-tcrYESNO\n\x00é"


def _kernel_output(scratchpad: bytes, milli_c: int) -> bytes:
    computed = crc8(scratchpad[:8])
    verdict = "YES" if computed == scratchpad[8] else "NO"
    pad = scratchpad.hex(" ")
    return f"{pad} : crc={computed:02x} {verdict}\n{pad} t={milli_c}\n".encode()


def _damaged(selector: int, content: bytes) -> bytes:
    """``content`` with one character replaced, removed or inserted, or cut short."""
    selector, position = divmod(selector, len(content) + 1)
    selector, action = divmod(selector, 5)
    char = DAMAGE[selector % len(DAMAGE)].encode()
    match action:
        case 0:
            return content
        case 1:
            return content[:position] + char + content[position + 1 :]
        case 2:
            return content[:position] + content[position + 1 :]
        case 3:
            return content[:position] + char + content[position:]
        case _:
            return content[:position]


def _parse_or_none(content: bytes | str) -> W1SlaveSample | None:
    try:
        return parse_w1_slave(content)
    except ParseError:
        assert parse_w1_slave(REFERENCE_CONTENT) == REFERENCE
        return None


@FUZZ
@given(content=st.one_of(st.binary(max_size=100), st.text(max_size=100)))
def test_random_content(content: bytes | str) -> None:
    _parse_or_none(content)


TEMPERATURES = 190_001
"""t= values from -60000 to 130000 (-60 ... 130 °C), a little wider than the DS18B20's range."""


@FUZZ
@given(
    scratchpad=st.binary(min_size=9, max_size=9),
    selector=st.integers(min_value=0, max_value=2**48),
)
def test_kernel_like_content(scratchpad: bytes, selector: int) -> None:
    selector, temperature = divmod(selector, TEMPERATURES)
    selector, fix_crc = divmod(selector, 2)
    if fix_crc:
        scratchpad = scratchpad[:8] + bytes((crc8(scratchpad[:8]),))
    content = _damaged(selector, _kernel_output(scratchpad, temperature - 60_000))
    sample = _parse_or_none(content)
    if sample is not None:
        assert len(sample.scratchpad) == 9
        assert sample.crc_ok == (crc8(sample.scratchpad[:8]) == sample.scratchpad[8])
        assert sample.power_on_reset == (sample.temperature_c == 85.0)
