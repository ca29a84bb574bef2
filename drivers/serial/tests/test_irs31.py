"""The IRS31 channel table, channel conversion and the road-surface summary."""

from __future__ import annotations

import math

import pytest

from drivers.serial import irs31
from drivers.serial.tests.casedata import CASES_DIR, load_input, replay
from drivers.serial.umb import (
    ChannelValue,
    DataType,
    MultiChannelResponse,
    Status,
    UmbStreamParser,
)
from drivers.serial.umb_channels import ChannelSpec, channel_value, table
from edge_agent.readings import Quality, check_name
from edge_agent.units import KNOWN_UNITS

GOOD = Quality.GOOD
FAILED = Quality.CHECKSUM_FAILED
RANGE = Quality.OUT_OF_RANGE


def test_table_entries_are_valid_quantities_and_senml_units() -> None:
    for channel, spec in irs31.CHANNELS.items():
        assert spec.channel == channel
        assert check_name("quantity", spec.quantity) == spec.quantity
        assert spec.unit in KNOWN_UNITS
        assert spec.description
    assert set(irs31.DEFAULT_CHANNELS) <= set(irs31.CHANNELS)
    assert irs31.DEFAULT_ADDRESS == 0x9001


def test_table_is_read_only_and_refuses_duplicates() -> None:
    with pytest.raises(TypeError):
        irs31.CHANNELS[1] = irs31.CHANNELS[101]  # type: ignore[index]
    with pytest.raises(ValueError, match="appears twice"):
        table(ChannelSpec(1, "a", ""), ChannelSpec(1, "b", ""))
    with pytest.raises(ValueError, match="appears twice"):
        table(ChannelSpec(1, "a", ""), ChannelSpec(2, "a", ""))


@pytest.mark.parametrize(
    ("channel", "expected"),
    [
        (ChannelValue(101, 0, DataType.FLOAT, -1.5), (-1.5, GOOD)),
        (ChannelValue(101, 0, DataType.FLOAT, 85.0), (85.0, RANGE)),
        (ChannelValue(101, 0, DataType.FLOAT, math.nan), (None, RANGE)),
        (ChannelValue(101, Status.DEVICE_BUSY, None, None), (None, FAILED)),
        (ChannelValue(101, Status.DATA_ERROR, DataType.FLOAT, 3.0), (None, FAILED)),
        (ChannelValue(101, Status.CHANNEL_OVERRANGE, DataType.FLOAT, 80.5), (80.5, RANGE)),
        (ChannelValue(101, Status.VALUE_UNDERFLOW, None, None), (None, FAILED)),
        (ChannelValue(151, 0, DataType.FLOAT, 0.5), (0.5, RANGE)),
        (ChannelValue(1049, 0, DataType.SHORT, -15), (-1.5, GOOD)),
        (ChannelValue(1049, 0, DataType.SHORT, 0x7FFF), (None, FAILED)),
        (ChannelValue(1065, 0, DataType.SHORT, -42), (-4.2, GOOD)),
        (ChannelValue(1072, 0, DataType.USHORT, 35), (0.35, GOOD)),
        (ChannelValue(1072, 0, DataType.USHORT, 123), (1.23, GOOD)),
        (ChannelValue(1072, 0, DataType.USHORT, 1500), (15.0, RANGE)),
        (ChannelValue(1072, 0, DataType.USHORT, 0xFFFF), (None, FAILED)),
        (ChannelValue(1077, 0, DataType.UCHAR, 82), (0.82, GOOD)),
        (ChannelValue(900, 0, DataType.UCHAR, 20), ("wet", GOOD)),
        (ChannelValue(900, 0, DataType.UCHAR, 35), ("ice", GOOD)),
        (ChannelValue(900, 0, DataType.UCHAR, 99), ("code_99", RANGE)),
        (ChannelValue(1070, 0, DataType.UCHAR, 66), ("ice", GOOD)),
        (ChannelValue(1070, 0, DataType.UCHAR, 255), (None, FAILED)),
        (ChannelValue(1079, 0, DataType.UCHAR, 48), ("extremely_wet", GOOD)),
    ],
)
def test_channel_values_convert_with_factor_sentinel_codes_and_range(
    channel: ChannelValue, expected: tuple[object, Quality]
) -> None:
    assert channel_value(irs31.CHANNELS[channel.channel], channel) == expected


def test_road_surface_state_from_the_multi_channel_case() -> None:
    data = load_input(CASES_DIR / "umb-multi-channel")
    events = replay(UmbStreamParser(), data, [len(data)])
    response = events[-1]
    assert isinstance(response, MultiChannelResponse)

    state = irs31.road_surface_state(response.values)

    assert state == irs31.RoadSurfaceState(
        surface_temperature_c=-1.5,
        freezing_temperature_c=-4.25,
        water_film_mm=0.35,
        road_condition="wet",
        quality=GOOD,
    )
    assert state.freezing_risk is False


def test_road_surface_state_falls_back_to_tls_channels_and_flags_gaps() -> None:
    state = irs31.road_surface_state(
        [
            ChannelValue(101, Status.DEVICE_BUSY, None, None),
            ChannelValue(1049, 0, DataType.SHORT, -52),
            ChannelValue(1065, 0, DataType.SHORT, -31),
            ChannelValue(1070, 0, DataType.UCHAR, 66),
        ]
    )

    assert state.surface_temperature_c == -5.2
    assert state.freezing_temperature_c == -3.1
    assert state.water_film_mm is None
    assert state.road_condition == "ice"
    assert state.quality == GOOD
    assert state.freezing_risk is True


def test_road_surface_state_flags_values_the_sensor_marked_invalid() -> None:
    state = irs31.road_surface_state(
        [ChannelValue(101, Status.DEVICE_BUSY, None, None), ChannelValue(151, 0, None, None)]
    )

    assert state.surface_temperature_c is None
    assert state.quality == FAILED
    assert state.freezing_risk is None
    assert irs31.road_surface_state([]).quality == GOOD
