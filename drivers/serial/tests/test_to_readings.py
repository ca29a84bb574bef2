"""Readings from parsed events: streams, SenML units, values and quality flags."""

from __future__ import annotations

import dataclasses

import pytest

from drivers.serial.lines import parse_line
from drivers.serial.nmea import RmcFix, parse_sentence
from drivers.serial.tests.casedata import CASES_DIR, load_input, replay
from drivers.serial.to_readings import line_readings, nmea_readings, umb_readings
from drivers.serial.umb import (
    ChannelValue,
    DataType,
    MultiChannelResponse,
    OnlineDataRequest,
    OnlineDataResponse,
    UmbStreamParser,
)
from edge_agent.errors import ConfigError
from edge_agent.readings import Quality, Reading

T = 1_736_920_800.0
GGA = b"$GPGGA,123519,4807.038,N,01131.000,E,1,08,0.9,545.4,M,46.9,M,,*47"
RMC = b"$GPRMC,123519,A,4807.038,N,01131.000,E,022.4,084.4,230394,003.1,W*6A"


def test_gga_gives_position_altitude_fix_quality_satellites_and_hdop() -> None:
    readings = nmea_readings(parse_sentence(GGA), "spreader-gps", T)

    assert readings == [
        Reading("spreader-gps/latitude", T, 48.1173, "lat"),
        Reading("spreader-gps/longitude", T, 11.516666667, "lon"),
        Reading("spreader-gps/altitude", T, 545.4, "m"),
        Reading("spreader-gps/fix_quality", T, 1, ""),
        Reading("spreader-gps/satellites", T, 8, "count"),
        Reading("spreader-gps/hdop", T, 0.9, "/"),
    ]


def test_rmc_gives_speed_in_metres_per_second_and_course_and_quantities_filter() -> None:
    readings = nmea_readings(parse_sentence(RMC), "gps", T, quantities={"speed", "course"})

    assert readings == [
        Reading("gps/speed", T, readings[0].value, "m/s"),
        Reading("gps/course", T, 84.4, "deg"),
    ]
    assert readings[0].value == pytest.approx(22.4 * 1852 / 3600)  # knots -> m/s


def test_fix_the_receiver_calls_invalid_is_flagged_not_dropped() -> None:
    no_fix = parse_sentence(b"$GNRMC,081420.000,V,,,,,0.00,340.16,260514,,,N*58")

    readings = nmea_readings(no_fix, "gps", T)

    assert [(r.stream, r.quality) for r in readings] == [
        ("gps/speed", Quality.CHECKSUM_FAILED),
        ("gps/course", Quality.CHECKSUM_FAILED),
    ]


def test_gga_without_fix_flags_position_but_not_satellite_count() -> None:
    fix = parse_sentence(
        b"$GPGGA,235946.005,8960.000000,N,00000.000000,E,0,0,,137.000,M,13.000,M,,*49"
    )

    flags = {r.stream: r.quality for r in nmea_readings(fix, "gps", T)}

    assert flags == {
        "gps/latitude": Quality.CHECKSUM_FAILED,
        "gps/longitude": Quality.CHECKSUM_FAILED,
        "gps/altitude": Quality.CHECKSUM_FAILED,
        "gps/fix_quality": Quality.GOOD,
        "gps/satellites": Quality.GOOD,
    }


def test_course_beyond_a_full_circle_is_out_of_range() -> None:
    fix = parse_sentence(RMC)
    assert isinstance(fix, RmcFix)
    odd = dataclasses.replace(fix, course_true_deg=400.0)

    (course,) = nmea_readings(odd, "gps", T, quantities={"course"})

    assert course.quality == Quality.OUT_OF_RANGE


def test_umb_multi_channel_response_becomes_one_reading_per_channel() -> None:
    data = load_input(CASES_DIR / "umb-multi-channel")
    request, response = replay(UmbStreamParser(), data, [len(data)])

    assert umb_readings(request, "road", T) == []
    assert umb_readings(response, "road", T) == [
        Reading("road/surface_temperature", T, -1.5, "Cel"),
        Reading("road/freezing_temperature", T, -4.25, "Cel"),
        Reading("road/water_film_height", T, 0.35, "mm"),
        Reading("road/road_condition", T, "wet", ""),
        Reading("road/ground_temperature_5cm", T, None, "Cel", Quality.CHECKSUM_FAILED),
        Reading("road/channel-9999", T, None, "", Quality.CHECKSUM_FAILED),
    ]


def test_umb_single_response_and_status_only_response() -> None:
    value = ChannelValue(101, 0, DataType.FLOAT, 24.618614)
    single = OnlineDataResponse(0xF001, 0x9001, 0, value)
    status_only = OnlineDataResponse(0xF001, 0x9001, 0x28, None)

    assert umb_readings(single, "road", T) == [
        Reading("road/surface_temperature", T, 24.618614, "Cel")
    ]
    assert umb_readings(status_only, "road", T) == []
    assert umb_readings(MultiChannelResponse(0xF001, 0x9001, 0x10, ()), "road", T) == []
    assert umb_readings(OnlineDataRequest(0x9001, 0xF001, 101), "road", T) == []


def test_line_readings_use_configured_units_and_ranges() -> None:
    record = parse_line(b'temp=21.5 hum=140 door=true state="open" batt= count=3')

    readings = line_readings(
        record,
        "lab-board",
        T,
        units_by_key={"temp": "Cel", "hum": "%RH", "door": "Cel"},
        ranges={"hum": (0, 100)},
    )

    assert readings == [
        Reading("lab-board/temp", T, 21.5, "Cel"),
        Reading("lab-board/hum", T, 140, "%RH", Quality.OUT_OF_RANGE),
        Reading("lab-board/door", T, True, ""),
        Reading("lab-board/state", T, "open", ""),
        Reading("lab-board/batt", T, None, ""),
        Reading("lab-board/count", T, 3, ""),
    ]


def test_unknown_unit_is_a_config_error_naming_the_choices() -> None:
    with pytest.raises(ConfigError, match="unknown unit 'degC'; known SenML units"):
        line_readings(parse_line(b"temp=1"), "board", T, units_by_key={"temp": "degC"})
