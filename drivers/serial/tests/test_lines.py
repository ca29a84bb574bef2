"""Microcontroller lines: key=value pairs and JSON objects."""

from __future__ import annotations

import pytest

from drivers.serial.lines import LineRecord, LineStreamParser, LineValue, encode_pairs, parse_line
from drivers.serial.need_data import NEED_DATA
from edge_agent.errors import ParseError


def test_pairs_with_numbers_booleans_and_strings() -> None:
    record = parse_line(b'temp=21.5 count=3 door=true note="half open" mode=eco\r\n')

    assert record == LineRecord(
        (("temp", 21.5), ("count", 3), ("door", True), ("note", "half open"), ("mode", "eco")),
        "pairs",
    )
    assert isinstance(record.as_dict()["count"], int)


def test_separators_case_and_not_available_values() -> None:
    record = parse_line(b"Temp=-0.5e1;HUM=40 , Door=FALSE,x=,y=null,z=nan,w=ovf")

    assert record.as_dict() == {
        "temp": -5.0,
        "hum": 40,
        "door": False,
        "x": None,
        "y": None,
        "z": None,
        "w": None,
    }


def test_quoted_strings_unescape() -> None:
    record = parse_line(b'msg="say \\"hi\\" \\\\ bye"')

    assert record.as_dict() == {"msg": 'say "hi" \\ bye'}


def test_json_object() -> None:
    record = parse_line(b'{"temp": 21.5, "Door": false, "state": "open", "gone": null}\n')

    assert record == LineRecord(
        (("temp", 21.5), ("door", False), ("state", "open"), ("gone", None)), "json"
    )


@pytest.mark.parametrize(
    ("line", "message"),
    [
        (b"", "blank"),
        (b"   \r\n", "blank"),
        (b"BME280 init OK", "not key=value pairs"),
        (b"temp=1 hum", "stuck at ' hum'"),
        (b"temp=1 temp=2", "'temp' appears twice"),
        (b"t\xfcmp=1", "not UTF-8"),
        (b"temp=1\x07", "control characters"),
        (b"_temp=1", "key '_temp'"),
        (b'temp="open', "not key=value pairs"),
        (b"temp=1e999", "too large for a float"),
        (b'{"temp": 1', "not valid JSON"),
        (b'{"temp": NaN}', "not valid JSON"),
        (b'{"temp": 1e999}', "too large for a float"),
        (b'{"a": {"b": 1}}', "holds list; only numbers"),
        (b'{"a": [1]}', "holds list; only numbers"),
        (b"{}", "at least one key"),
        (b'{"Temp": 1, "temp": 2}', "repeats a key"),
        (b"temp=" + b"9" * 5000, "more than 20 digits"),
    ],
)
def test_bad_lines_raise_parse_error(line: bytes, message: str) -> None:
    with pytest.raises(ParseError, match=message):
        parse_line(line)


def test_encode_pairs_round_trips() -> None:
    values: dict[str, LineValue] = {
        "temp": -1.25,
        "n": 7,
        "ok": True,
        "s": 'a "b"',
        "gone": None,
    }

    assert parse_line(encode_pairs(values)).as_dict() == values


def test_stream_splits_lines_and_skips_bad_and_blank_ones() -> None:
    parser = LineStreamParser()
    parser.feed(b'temp=1\r\n\r\nhello world\ntemp=2\n{"temp": 3}\r\ntemp=')

    assert [record.as_dict()["temp"] for record in parser.events()] == [1, 2, 3]
    assert parser.counters() == {
        "frames_ok": 3,
        "bad_lines": 1,
        "overlong": 0,
        "garbage_bytes": len(b"hello world\n"),
    }
    assert parser.next_event() is NEED_DATA
    parser.feed(b"4\n")
    assert parser.next_event() == LineRecord((("temp", 4),), "pairs")


def test_overlong_line_is_dropped_up_to_its_newline() -> None:
    parser = LineStreamParser(max_line_bytes=32)
    for _ in range(10):
        parser.feed(b"x" * 20)
        assert parser.next_event() is NEED_DATA
    parser.feed(b"tail\ntemp=5\n")

    assert list(parser.events()) == [LineRecord((("temp", 5),), "pairs")]
    assert (parser.overlong, parser.garbage_bytes) == (1, 205)


def test_discard_first_line_drops_the_cut_off_start() -> None:
    parser = LineStreamParser(discard_first_line=True)
    parser.feed(b"mp=21.5\ntemp=21.6\n")

    assert list(parser.events()) == [LineRecord((("temp", 21.6),), "pairs")]
    assert parser.garbage_bytes == len(b"mp=21.5\n")


def test_too_small_max_line_bytes_is_refused() -> None:
    with pytest.raises(ValueError, match="too small"):
        LineStreamParser(max_line_bytes=8)


def test_reset_drops_the_half_line_and_rearms_discard_first_line() -> None:
    parser = LineStreamParser(discard_first_line=True)
    parser.feed(b"cut\ntemp=1\ntemp=2")
    assert [r.as_dict() for r in parser.events()] == [{"temp": 1}]

    parser.reset()
    parser.feed(b"mp=3\ntemp=4\n")

    assert [r.as_dict() for r in parser.events()] == [{"temp": 4}]
    assert parser.garbage_bytes == len(b"cut\n") + len(b"temp=2") + len(b"mp=3\n")
