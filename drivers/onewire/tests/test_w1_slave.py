"""w1_slave details: what the kernel can print, what it cannot, and the quality flags."""

from __future__ import annotations

import pytest

from drivers.onewire import W1SlaveSample, crc8, parse_w1_slave, to_readings
from edge_agent.errors import ConfigError, ParseError
from edge_agent.readings import Quality

# testcases/clone_chip_21875
GOOD = "5e 01 ff ff 7f ff ff ff 52 : crc=52 YES\n5e 01 ff ff 7f ff ff ff 52 t=21875\n"


def kernel_output(scratchpad: bytes, milli_c: int, retained: bytes | None = None) -> str:
    """Two lines the way w1_therm prints them (line two: the last scratchpad that passed)."""
    computed = crc8(scratchpad[:8])
    verdict = "YES" if computed == scratchpad[8] else "NO"
    line_two = scratchpad if retained is None else retained
    return (
        f"{scratchpad.hex(' ')} : crc={computed:02x} {verdict}\n{line_two.hex(' ')} t={milli_c}\n"
    )


def test_crc8_of_published_scratchpads() -> None:
    assert crc8(bytes.fromhex("5e01ffff7fffffff")) == 0x52
    assert crc8(bytes.fromhex("50054b467fff0c10")) == 0x1C
    assert crc8(bytes.fromhex("ffffffffffffffff")) == 0xC9
    assert crc8(bytes(8)) == 0


def test_kernel_output_round_trip() -> None:
    assert kernel_output(bytes.fromhex("5e01ffff7fffffff52"), 21875) == GOOD


def test_pasted_text_with_blank_lines_and_indentation() -> None:
    pasted = (
        "\n  5e 01 ff ff 7f ff ff ff 52 : crc=52 YES\n\n  5e 01 ff ff 7f ff ff ff 52 t=21875  \n\n"
    )
    assert parse_w1_slave(pasted) == parse_w1_slave(GOOD.encode())


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (GOOD.replace("crc=52", "crc=53"), "does not add up"),
        (GOOD.replace("YES", "NO"), "does not add up"),
        (GOOD.replace("t=21875", "t=2187x"), "line 2 is not"),
        (GOOD.replace("t=21875", "t=12345678"), "line 2 is not"),
        (GOOD + GOOD, "has 4 line"),
        (
            "5e 01 ff ff 7f ff ff ff 52 : crc=52 YES\n5e 01 ff ff 7f ff ff ff 53 t=21875\n",
            "disagree",
        ),
        (b"\xff\xfe garbage", "not ASCII"),
        ("\n \n", "empty"),
    ],
)
def test_content_the_kernel_cannot_have_printed(content: str | bytes, message: str) -> None:
    with pytest.raises(ParseError, match=message):
        parse_w1_slave(content)


def test_crc_no_keeps_the_value_and_says_so() -> None:
    bad = bytes.fromhex("5f01ffff7fffffff52")
    sample = parse_w1_slave(kernel_output(bad, 21937, retained=bytes.fromhex("5e01ffff7fffffff52")))
    assert not sample.crc_ok
    assert sample.scratchpad == bad
    assert sample.temperature_c == 21.937
    (reading,) = to_readings(sample, "probe", 0.0)
    assert reading.value == 21.937
    assert reading.quality == Quality.CHECKSUM_FAILED


def sample_at(temperature_c: float, *, crc_ok: bool = True, por: bool = False) -> W1SlaveSample:
    return W1SlaveSample(temperature_c, crc_ok, bytes(9), 0, por)


@pytest.mark.parametrize(
    ("sample", "quality"),
    [
        (sample_at(-55.0), Quality.GOOD),
        (sample_at(125.0), Quality.GOOD),
        (sample_at(-55.062), Quality.OUT_OF_RANGE),
        (sample_at(125.062), Quality.OUT_OF_RANGE),
        (sample_at(85.0, por=True), Quality.OUT_OF_RANGE),
        (sample_at(85.0, por=True, crc_ok=False), Quality.OUT_OF_RANGE | Quality.CHECKSUM_FAILED),
    ],
)
def test_quality_flags(sample: W1SlaveSample, quality: Quality) -> None:
    (reading,) = to_readings(sample, "road-surface", 3.0, quality=Quality.CLOCK_UNSYNCED)
    assert reading.stream == "road-surface/temperature"
    assert reading.unit == "Cel"
    assert reading.time == 3.0
    assert reading.quality == quality | Quality.CLOCK_UNSYNCED


def test_bad_sensor_name_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="sensor name"):
        to_readings(sample_at(20.0), "Road Surface", 0.0)
