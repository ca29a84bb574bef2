"""Fuzzing every parser with Hypothesis, 10 000 examples each.

For each protocol: the strict function raises nothing but ``ParseError``; the stream parser
never raises, whatever it is fed and however it is split; and after any noise a good frame
still decodes, with nothing left over (a failed parse leaves no state behind but counters).
"""

from __future__ import annotations

import contextlib
import itertools
import json
import math
import random
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from drivers.serial.lines import LineStreamParser, LineValue, encode_pairs, parse_line
from drivers.serial.need_data import NEED_DATA
from drivers.serial.nmea import NmeaStreamParser, checksum, parse_sentence
from drivers.serial.umb import (
    UmbFrame,
    UmbStreamParser,
    encode,
    encode_frame,
    parse_frame,
)
from edge_agent.errors import ParseError

# 7 to 15 s each on a Raspberry-Pi-class or small CI machine: deselect with -m "not slow".
pytestmark = pytest.mark.slow

FUZZ = settings(
    max_examples=10_000,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

GGA = b"$GPGGA,123519,4807.038,N,01131.000,E,1,08,0.9,545.4,M,46.9,M,,*47\r\n"
UMB_RESPONSE = bytes.fromhex("01 10 01 F0 01 90 0A 02 23 10 00 65 00 16 EC F2 C4 41 03 24 51 04")
UMB_EVENT = parse_frame(UMB_RESPONSE)
LINE = b"temp=21.5 door=true\n"

# One integer seeds the split points: far cheaper for Hypothesis than a list of cuts.
split_seeds = st.integers(min_value=0, max_value=2**32)


def pieces(data: bytes, seed: int) -> list[bytes]:
    """``data`` cut at up to 8 points chosen by ``seed`` (no cut for seed 0)."""
    rnd = random.Random(seed)
    cuts = {rnd.randint(0, len(data)) for _ in range(seed % 9)}
    points = sorted(cuts | {0, len(data)})
    return [data[a:b] for a, b in itertools.pairwise(points)]


def sandwich(inner: st.SearchStrategy[bytes], size: int = 120) -> st.SearchStrategy[bytes]:
    """Random bytes, then something from ``inner`` (or nothing), then random bytes."""
    return st.builds(
        lambda before, middle, after: before + middle + after,
        st.binary(max_size=size),
        st.one_of(st.just(b""), inner),
        st.binary(max_size=size // 2),
    )


# --- NMEA ----------------------------------------------------------------------------------


def checksummed(address: str, fields: str) -> bytes:
    body = f"{address},{fields}".encode()
    return b"$%s*%02X\r\n" % (body, checksum(body))


# Checksummed sentences of the decoded types with arbitrary field contents, so that the
# field decoders (not only the framing) meet every kind of nonsense.
nmea_sentences = st.builds(
    checksummed,
    st.sampled_from(["GPGGA", "GNRMC", "GPVTG", "GLGGA", "GARMC", "GPGSV"]),
    st.text(alphabet="0123456789.,,,,-+NSEWATVMKD ", max_size=90),
)

nmea_noise = sandwich(
    st.one_of(
        nmea_sentences,
        nmea_sentences.map(lambda line: line[: len(line) // 2]),
        st.sampled_from([b"$", b"$GPGGA,", b"*47\r\n", b"\r\n", b"$" + b"x" * 200]),
    )
)


@FUZZ
@given(st.one_of(st.binary(max_size=120), nmea_sentences))
def test_fuzz_nmea_strict_raises_only_parse_error(line: bytes) -> None:
    with contextlib.suppress(ParseError):
        parse_sentence(line)


@FUZZ
@given(nmea_noise, split_seeds)
def test_fuzz_nmea_stream_never_raises_and_recovers(noise: bytes, seed: int) -> None:
    parser = NmeaStreamParser()
    for piece in pieces(noise, seed):
        parser.feed(piece)
        list(parser.events())

    parser.feed(GGA)
    events = list(parser.events())

    assert events[-1] == parse_sentence(GGA)
    assert parser.next_event() is NEED_DATA
    assert all(count >= 0 for count in parser.counters().values())


# --- UMB -----------------------------------------------------------------------------------


def channel_block(status: int, channel: int, data_type: int, value: bytes) -> bytes:
    """``<len> <status> <channel> <type> <value>`` with a consistent length byte."""
    body = bytes((status, channel & 0xFF, channel >> 8, data_type)) + value
    return bytes((len(body),)) + body


blocks = st.builds(
    channel_block,
    st.sampled_from([0x00, 0x00, 0x24, 0x54]),
    st.sampled_from([101, 151, 900, 1072]),
    st.integers(0x0F, 0x18),
    st.sampled_from([b"", b"\x01", b"\x01\x02", b"\x00\x00\xc0\x7f", bytes(8)]),
)

# Frames with a correct CRC: arbitrary payloads, and 0x2F responses made of plausible channel
# blocks, so that the value decoders (not only the framing checks) meet nonsense.
umb_frames = st.builds(
    lambda to, sender, command, version, payload: encode_frame(
        UmbFrame(to, sender, command, version, payload)
    ),
    st.sampled_from([0x9001, 0xF001, 0x7001, 0x0000]),
    st.sampled_from([0xF001, 0x9001, 0xF0FF, 0x1234]),
    st.sampled_from([0x23, 0x23, 0x2F, 0x2F, 0x26]),
    st.sampled_from([0x10, 0x10, 0x10, 0x11]),
    st.one_of(
        st.binary(max_size=40),
        st.builds(
            lambda status, count, parts: bytes((status, count)) + b"".join(parts),
            st.sampled_from([0, 0, 0x28]),
            st.integers(0, 4),
            st.lists(blocks, max_size=2),
        ),
    ),
)

umb_noise = sandwich(
    st.one_of(
        umb_frames,
        umb_frames.map(lambda frame: frame[: len(frame) // 2]),
        st.sampled_from([b"\x01", b"\x01\x10", b"\x01\x10\x01\x90\x01\xf0\xff\x02"]),
    ),
    size=80,
)


def has_nan(event: Any) -> bool:
    return "nan" in repr(event)


@FUZZ
@given(st.one_of(st.binary(max_size=80), umb_frames))
def test_fuzz_umb_strict_raises_only_parse_error_and_round_trips(data: bytes) -> None:
    try:
        event = parse_frame(data)
    except ParseError:
        return
    if not has_nan(event):
        assert encode(event) == data
        assert parse_frame(encode(event)) == event


@FUZZ
@given(umb_noise, split_seeds)
def test_fuzz_umb_stream_never_raises_and_recovers(noise: bytes, seed: int) -> None:
    parser = UmbStreamParser()
    fed = 0
    delivered = 0
    for piece in pieces(noise, seed):
        parser.feed(piece)
        fed += len(piece)
        delivered += sum(len(encode(event)) for event in parser.events())

    parser.feed(UMB_RESPONSE)
    events = list(parser.events())

    assert events[-1] == UMB_EVENT
    assert parser.next_event() is NEED_DATA
    # Every byte is either part of a delivered frame or counted as garbage.
    delivered += sum(len(encode(event)) for event in events)
    if not any(has_nan(event) for event in events):
        assert delivered + parser.garbage_bytes == fed + len(UMB_RESPONSE)


# --- lines ---------------------------------------------------------------------------------

values = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**63), max_value=2**64),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(st.characters(blacklist_categories=("Cc", "Cs")), max_size=8),
)


@FUZZ
@given(st.one_of(st.binary(max_size=120), st.text(max_size=80).map(str.encode)))
def test_fuzz_lines_strict_raises_only_parse_error(line: bytes) -> None:
    with contextlib.suppress(ParseError):
        parse_line(line)


# Fixed keys (the key grammar has tests of its own) and one to four drawn values: a cheap
# strategy for Hypothesis, the values being what the round trip is about.
records = st.builds(
    lambda count, drawn: dict(zip(["temp", "door", "state", "n.9"][:count], drawn, strict=False)),
    st.integers(1, 4),
    st.tuples(values, values, values, values),
)


@FUZZ
@given(records)
def test_fuzz_lines_pairs_and_json_round_trip(record: dict[str, LineValue]) -> None:
    decoded = parse_line(encode_pairs(record)).as_dict()
    assert decoded == record
    for key, value in record.items():
        assert type(decoded[key]) is type(value) or (
            isinstance(value, str) and decoded[key] is None
        )

    as_json = parse_line(json.dumps(record).encode()).as_dict()
    assert as_json == record


@FUZZ
@given(
    sandwich(st.sampled_from([b"\n", b"\r\n", b"a=1\n", b'"', b'{"a": 1}\n', b"x" * 100])),
    split_seeds,
)
def test_fuzz_lines_stream_never_raises_and_recovers(noise: bytes, seed: int) -> None:
    parser = LineStreamParser(max_line_bytes=64)
    for piece in pieces(noise, seed):
        parser.feed(piece)
        list(parser.events())

    parser.feed(b"\n" + LINE)
    events = list(parser.events())

    assert events[-1] == parse_line(LINE)
    assert parser.next_event() is NEED_DATA
    assert math.isfinite(sum(parser.counters().values()))
