"""NMEA 0183: the strict sentence parser and the stream parser."""

from __future__ import annotations

import datetime as dt
from functools import reduce
from operator import xor

import pytest

from drivers.serial.need_data import NEED_DATA
from drivers.serial.nmea import (
    GgaFix,
    NmeaStreamParser,
    RmcFix,
    VtgVelocity,
    checksum,
    encode_sentence,
    parse_sentence,
)
from edge_agent.errors import ParseError

# Dale DePriest's NMEA reference examples (see testcases/nmea-reference-examples/SOURCE.md).
GGA = b"$GPGGA,123519,4807.038,N,01131.000,E,1,08,0.9,545.4,M,46.9,M,,*47\r\n"
RMC = b"$GPRMC,123519,A,4807.038,N,01131.000,E,022.4,084.4,230394,003.1,W*6A\r\n"
VTG = b"$GPVTG,054.7,T,034.4,M,005.5,N,010.2,K*48\r\n"


def test_gga_reference_example_decodes_to_its_documented_fields() -> None:
    fix = parse_sentence(GGA)

    assert fix == GgaFix(
        talker="GP",
        utc_time=dt.time(12, 35, 19),
        latitude_deg=48.1173,  # 48° 7.038'
        longitude_deg=11.516666667,  # 11° 31.0', to nine decimals
        fix_quality=1,
        satellites_used=8,
        hdop=0.9,
        altitude_m=545.4,
        geoid_separation_m=46.9,
        dgps_age_s=None,
        dgps_station=None,
    )
    assert fix.has_fix


def test_rmc_reference_example_gives_speed_in_kmh_and_signed_variation() -> None:
    fix = parse_sentence(RMC)

    assert isinstance(fix, RmcFix)
    assert fix.valid is True
    assert fix.speed_knots == 22.4
    assert fix.speed_kmh == pytest.approx(22.4 * 1.852)
    assert fix.course_true_deg == 84.4
    assert fix.date == dt.date(1994, 3, 23)
    assert fix.magnetic_variation_deg == -3.1
    assert fix.utc_datetime == dt.datetime(1994, 3, 23, 12, 35, 19, tzinfo=dt.UTC)


def test_vtg_reference_example_keeps_the_sent_kmh() -> None:
    assert parse_sentence(VTG) == VtgVelocity("GP", 54.7, 34.4, 5.5, 10.2, None)


def test_vtg_without_kmh_converts_knots() -> None:
    line = encode_sentence("GNVTG", ["90.0", "T", "", "M", "10.0", "N", "", "K", "A"])

    velocity = parse_sentence(line)

    assert isinstance(velocity, VtgVelocity)
    assert velocity.speed_kmh == pytest.approx(18.52)
    assert velocity.mode == "A"


@pytest.mark.parametrize("talker", ["GP", "GN", "GL", "GA", "GB", "BD", "GQ"])
def test_any_talker_id_is_accepted(talker: str) -> None:
    line = encode_sentence(talker + "GGA", GGA.decode()[7:-5].split(","))

    fix = parse_sentence(line)

    assert fix.talker == talker


def test_southern_and_western_hemispheres_are_negative() -> None:
    line = encode_sentence(
        "GPRMC", ["000000", "A", "3747.0873", "S", "07518.8938", "W", "", "", "", "", ""]
    )

    fix = parse_sentence(line)

    assert isinstance(fix, RmcFix)
    assert fix.latitude_deg == pytest.approx(-(37 + 47.0873 / 60))
    assert fix.longitude_deg == pytest.approx(-(75 + 18.8938 / 60))
    assert fix.speed_kmh is None
    assert fix.date is None
    assert fix.utc_datetime is None


def test_empty_fields_become_none() -> None:
    fix = parse_sentence(b"$GPGGA,081420.000,,,,,0,0,,,M,,M,,*47")

    assert isinstance(fix, GgaFix)
    assert (fix.latitude_deg, fix.longitude_deg, fix.hdop, fix.altitude_m) == (None,) * 4
    assert not fix.has_fix


def test_leap_second_is_reported_as_the_last_microsecond() -> None:
    line = encode_sentence("GPGGA", ["235960", "", "", "", "", "0", "", "", "", "", "", ""])

    fix = parse_sentence(line)

    assert isinstance(fix, GgaFix)
    assert fix.utc_time == dt.time(23, 59, 59, 999_999)


def test_missing_checksum_is_rejected_unless_allowed() -> None:
    line = b"$GPVTG,054.7,T,034.4,M,005.5,N,010.2,K"

    with pytest.raises(ParseError, match="no '\\*hh' checksum; pass require_checksum=False"):
        parse_sentence(line)
    velocity = parse_sentence(line, require_checksum=False)
    assert isinstance(velocity, VtgVelocity)
    assert velocity.speed_kmh == 10.2


def test_checksum_mismatch_names_both_values() -> None:
    with pytest.raises(ParseError, match="sent 48, computed 47"):
        parse_sentence(GGA.replace(b"*47", b"*48"))


def test_unsupported_type_names_the_decoded_types() -> None:
    line = encode_sentence("GPGSV", ["3", "1", "12"])

    with pytest.raises(ParseError, match="'GSV' is not decoded; decoded types: GGA, RMC, VTG"):
        parse_sentence(line)


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        (["123519", "48O7.038", "N"], "latitude '48O7.038' is not degrees and minutes"),
        (["123519", "4861.000", "N"], "has 61.0 minutes; at most 60"),
        (["123519", "9100.000", "N"], "beyond 90"),
        (["123519", "4807.038", "X"], "latitude hemisphere 'X' is not 'N' or 'S'"),
        (["246000", "", ""], "UTC time '246000' is not a time of day"),
        (["12:35:19", "", ""], "UTC time '12:35:19' is not hhmmss"),
        (["123519", "", "", "", "", "1", "eight"], "satellites used 'eight' is not a whole"),
        (["123519", "", "", "", "", "1", "8", "nan"], "HDOP 'nan' is not a decimal number"),
        (["123519", "", "", "", "", "1", "8", "1", "5", "ft"], "altitude unit 'ft' is not 'M'"),
    ],
)
def test_bad_gga_fields_are_named(fields: list[str], message: str) -> None:
    line = encode_sentence("GPGGA", (fields + [""] * 14)[:14])

    with pytest.raises(ParseError, match=message):
        parse_sentence(line)


def test_impossible_date_is_rejected() -> None:
    line = encode_sentence("GPRMC", ["", "A", "", "", "", "", "", "", "300294", "", ""])

    with pytest.raises(ParseError, match="date '300294' is not a calendar date"):
        parse_sentence(line)


def test_too_few_fields_are_rejected() -> None:
    with pytest.raises(ParseError, match="RMC has 3 fields, at least 11"):
        parse_sentence(encode_sentence("GPRMC", ["1", "A", "2"]))


@pytest.mark.parametrize(
    "line",
    [b"", b"GPGGA,1*00", b"$GPGGA\xff,1", b"$GPGGA,1*4", b"$GPGGA,1*GG", b"$GP$GGA"],
)
def test_not_a_sentence_is_a_parse_error(line: bytes) -> None:
    with pytest.raises(ParseError):
        parse_sentence(line)


def test_checksum_is_the_xor_of_the_body() -> None:
    for body in (b"", b"A", b"GPGGA,123519,4807.038,N", bytes(range(32, 127)) * 3):
        assert checksum(body) == reduce(xor, body, 0)


def test_encode_sentence_round_trips_and_refuses_reserved_characters() -> None:
    line = encode_sentence("GPVTG", ["054.7", "T", "034.4", "M", "005.5", "N", "010.2", "K"])
    assert line == VTG

    with pytest.raises(ValueError, match="printable ASCII without"):
        encode_sentence("GPTXT", ["a*b"])
    with pytest.raises(ValueError, match="printable ASCII without"):
        encode_sentence("GPTXT", ["grüß"])
    with pytest.raises(ValueError, match="two-letter talker id"):
        encode_sentence("gpgga", [])


# --- stream parser -------------------------------------------------------------------------


def drain(parser: NmeaStreamParser) -> list[object]:
    return list(parser.events())


def test_stream_decodes_a_sentence_split_at_every_byte_boundary() -> None:
    data = GGA + RMC + VTG
    expected = [parse_sentence(GGA), parse_sentence(RMC), parse_sentence(VTG)]

    for cut in range(len(data) + 1):
        parser = NmeaStreamParser()
        parser.feed(data[:cut])
        events = drain(parser)
        parser.feed(data[cut:])
        events += drain(parser)
        assert events == expected, f"split at {cut}"
        assert parser.garbage_bytes == 0


def test_next_event_returns_need_data_until_the_line_ends() -> None:
    parser = NmeaStreamParser()
    assert parser.next_event() is NEED_DATA

    parser.feed(VTG[:-2])
    assert parser.next_event() is NEED_DATA

    parser.feed(b"\r")
    assert isinstance(parser.next_event(), VtgVelocity)
    assert parser.next_event() is NEED_DATA


def test_sentence_cut_off_by_the_next_dollar_is_dropped_and_the_next_decodes() -> None:
    parser = NmeaStreamParser()
    parser.feed(b"$GPGGA,1235" + RMC)

    assert drain(parser) == [parse_sentence(RMC)]
    assert parser.missing_checksum == 1


def test_valid_sentence_without_line_ending_before_the_next_dollar_still_decodes() -> None:
    parser = NmeaStreamParser()
    parser.feed(VTG.rstrip() + GGA)

    assert drain(parser) == [parse_sentence(VTG), parse_sentence(GGA)]


def test_overlong_line_is_dropped_in_pieces_and_parsing_resumes() -> None:
    parser = NmeaStreamParser(max_line_bytes=100)
    junk = b"$GPTXT," + b"x" * 500 + b"\r\n"

    for start in range(0, len(junk), 37):
        parser.feed(junk[start : start + 37])
        assert drain(parser) == []
    parser.feed(GGA)

    assert drain(parser) == [parse_sentence(GGA)]
    assert parser.overlong == 1
    assert parser.garbage_bytes == len(junk) - 2


def test_line_up_to_the_bound_is_kept_and_one_byte_more_is_dropped() -> None:
    at_bound = encode_sentence("GPTXT", ["x" * 118])
    beyond = encode_sentence("GPTXT", ["x" * 119])
    assert len(at_bound.rstrip()) == 128

    parser = NmeaStreamParser()
    parser.feed(at_bound + beyond)

    assert drain(parser) == []
    assert (parser.unsupported, parser.overlong) == (1, 1)


def test_noise_without_dollar_is_counted_and_not_kept() -> None:
    parser = NmeaStreamParser()
    for _ in range(100):
        parser.feed(b"\x00\xffnoise\r\n" * 1000)
        assert parser.next_event() is NEED_DATA

    assert parser.garbage_bytes == 100 * 1000 * 7
    assert parser.counters()["frames_ok"] == 0
    parser.feed(GGA)
    assert drain(parser) == [parse_sentence(GGA)]


def test_events_iterator_drains_all_buffered_sentences() -> None:
    parser = NmeaStreamParser()
    parser.feed(GGA * 5 + b"$GPG")

    assert len(list(parser.events())) == 5
    assert parser.frames_ok == 5


def test_max_line_bytes_below_the_standard_is_refused() -> None:
    with pytest.raises(ValueError, match="below the standard's 80 bytes"):
        NmeaStreamParser(max_line_bytes=40)


def test_reset_drops_a_half_sentence_as_garbage() -> None:
    parser = NmeaStreamParser()
    parser.feed(GGA[:30])
    parser.reset()
    parser.feed(GGA[30:] + RMC)

    assert drain(parser) == [parse_sentence(RMC)]
    assert parser.garbage_bytes == len(GGA) - 2
    assert parser.bad_checksum == 0
