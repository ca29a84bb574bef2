"""Lufft UMB: CRC, framing, requests and responses, the stream parser."""

from __future__ import annotations

import os

import pytest

from drivers.serial.need_data import NEED_DATA
from drivers.serial.umb import (
    ChannelValue,
    DataType,
    MultiChannelRequest,
    MultiChannelResponse,
    OnlineDataResponse,
    Status,
    UmbFrame,
    UmbStreamParser,
    crc16,
    describe_status,
    encode,
    encode_frame,
    make_address,
    multi_channel_request,
    online_data_request,
    parse_frame,
    split_address,
)
from edge_agent.errors import ParseError

# IRS31Pro-UMB operating manual V10, 18.3.4 (testcases/umb-irs31pro-manual-example).
IRS31_REQUEST = bytes.fromhex("01 10 01 90 01 F0 04 02 23 10 65 00 03 85 DC 04")
IRS31_RESPONSE = bytes.fromhex("01 10 01 F0 01 90 0A 02 23 10 00 65 00 16 EC F2 C4 41 03 24 51 04")
# WS-series manual, 19.3.4: the CRCs D961h and 22C6h are printed there.
WS_REQUEST = bytes.fromhex("01 10 01 70 01 F0 04 02 23 10 64 00 03 61 D9 04")
WS_RESPONSE = bytes.fromhex("01 10 01 F0 01 70 0A 02 23 10 00 64 00 16 00 00 B4 41 03 C6 22 04")


def bitwise_crc(data: bytes) -> int:
    """The CRC as the UMB description defines it, one bit at a time (reference for crc16)."""
    crc = 0xFFFF
    for byte in data:
        crc ^= byte
        for _ in range(8):
            crc = (crc >> 1) ^ 0x8408 if crc & 1 else crc >> 1
    return crc


@pytest.mark.parametrize(
    ("frame", "crc"),
    [
        (IRS31_REQUEST, 0xDC85),
        (IRS31_RESPONSE, 0x5124),
        (WS_REQUEST, 0xD961),
        (WS_RESPONSE, 0x22C6),
    ],
)
def test_crc_of_the_manual_examples(frame: bytes, crc: int) -> None:
    assert crc16(frame[:-3]) == crc


def test_crc_matches_the_bitwise_definition() -> None:
    for length in range(64):
        data = os.urandom(length)
        assert crc16(data) == bitwise_crc(data)


def test_requests_encode_to_the_manual_bytes() -> None:
    assert online_data_request(0x9001, 101) == IRS31_REQUEST
    assert online_data_request(make_address(7, 1), 100, from_address=0xF001) == WS_REQUEST


def test_manual_response_decodes_to_24_6_degrees() -> None:
    response = parse_frame(IRS31_RESPONSE)

    assert response == OnlineDataResponse(
        to_address=0xF001,
        from_address=0x9001,
        status=Status.OK,
        value=ChannelValue(101, Status.OK, DataType.FLOAT, 24.618614),
    )
    assert isinstance(response, OnlineDataResponse)
    assert response.value is not None
    assert round(float(response.value.value or 0), 1) == 24.6
    assert encode(response) == IRS31_RESPONSE


def test_ws_response_is_22_5_degrees() -> None:
    response = parse_frame(WS_RESPONSE)

    assert isinstance(response, OnlineDataResponse)
    assert response.value == ChannelValue(100, 0, DataType.FLOAT, 22.5)


def test_addresses_split_into_class_and_device() -> None:
    assert make_address(9, 1) == 0x9001
    assert split_address(0xF001) == (15, 1)
    with pytest.raises(ValueError, match="class ids are 0-15"):
        make_address(16, 1)


@pytest.mark.parametrize(
    ("data_type", "value"),
    [
        (DataType.UCHAR, 255),
        (DataType.CHAR, -128),
        (DataType.USHORT, 65535),
        (DataType.SHORT, -32768),
        (DataType.ULONG, 4_294_967_295),
        (DataType.LONG, -2_147_483_648),
        (DataType.FLOAT, -3.25),
        (DataType.DOUBLE, 1e-300),
    ],
)
def test_every_data_type_round_trips(data_type: DataType, value: float) -> None:
    response = OnlineDataResponse(0xF001, 0x9001, 0, ChannelValue(4711, 0, data_type, value))

    assert parse_frame(encode(response)) == response


def test_multi_channel_request_and_response_round_trip() -> None:
    request = parse_frame(multi_channel_request(0x9001, [101, 151, 900]))
    assert request == MultiChannelRequest(0x9001, 0xF001, (101, 151, 900))

    response = MultiChannelResponse(
        0xF001,
        0x9001,
        0,
        (
            ChannelValue(101, 0, DataType.FLOAT, -1.5),
            ChannelValue(151, Status.CHANNEL_OFF, None, None),
            ChannelValue(900, 0, DataType.UCHAR, 35),
        ),
    )
    assert parse_frame(encode(response)) == response


def test_status_only_responses_decode() -> None:
    busy = OnlineDataResponse(0xF001, 0x9001, Status.DEVICE_BUSY, None)
    assert parse_frame(encode(busy)) == busy

    failed = MultiChannelResponse(0xF001, 0x9001, Status.UNKNOWN_COMMAND, ())
    assert parse_frame(encode(failed)) == failed

    bad_channel = OnlineDataResponse(
        0xF001, 0x9001, Status.INVALID_CHANNEL, ChannelValue(7, Status.INVALID_CHANNEL, None, None)
    )
    assert parse_frame(encode(bad_channel)) == bad_channel


def test_other_commands_come_back_as_raw_frames() -> None:
    frame = UmbFrame(0xF001, 0x9001, 0x26, 0x10, b"\x00\x01\x02")

    assert parse_frame(encode_frame(frame)) == frame


def test_status_descriptions() -> None:
    assert describe_status(0x28) == "0x28 DEVICE_BUSY"
    assert describe_status(0x77) == "0x77 (unknown status)"


def corrupt(frame: bytes, index: int, value: int) -> bytes:
    data = bytearray(frame)
    data[index] = value
    return bytes(data)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "0 bytes .* too short"),
        (IRS31_REQUEST[:9], "9 bytes but its length byte \\(4\\) makes it 16"),
        (b"\x02" + IRS31_REQUEST[1:], "starts with 0x02, not SOH"),
        (corrupt(IRS31_REQUEST, 1, 0x11), "header version 0x11 is not supported"),
        (corrupt(IRS31_REQUEST, 6, 0x01), "length byte 1 is below 2"),
        (corrupt(IRS31_REQUEST, 7, 0x00), "0x00 where STX \\(0x02\\) belongs, at byte 7"),
        (corrupt(IRS31_REQUEST, 12, 0x00), "0x00 where ETX \\(0x03\\) belongs, at byte 12"),
        (corrupt(IRS31_REQUEST, 15, 0x05), "0x05 where EOT \\(0x04\\) belongs"),
        (corrupt(IRS31_REQUEST, 10, 0x66), "CRC mismatch: frame says 0xDC85, bytes give 0x"),
        (IRS31_REQUEST + b"\x00", "17 bytes but its length byte \\(4\\) makes it 16"),
    ],
)
def test_framing_errors_say_what_is_wrong(data: bytes, message: str) -> None:
    with pytest.raises(ParseError, match=message):
        parse_frame(data)


@pytest.mark.parametrize(
    ("frame", "message"),
    [
        (UmbFrame(0x9001, 0xF001, 0x23, 0x10, b"\x65"), "request payload is 1 bytes"),
        (UmbFrame(0x9001, 0xF001, 0x2F, 0x10, b"\x02\x65\x00"), "not a channel count"),
        (UmbFrame(0xF001, 0x9001, 0x23, 0x10, b""), "no status byte"),
        (UmbFrame(0xF001, 0x9001, 0x23, 0x10, b"\x00\x65"), "too short for a channel"),
        (UmbFrame(0xF001, 0x9001, 0x23, 0x10, b"\x00\x65\x00\x20\x01"), "type 0x20 is unknown"),
        (UmbFrame(0xF001, 0x9001, 0x23, 0x10, b"\x00\x65\x00\x16\x01"), "FLOAT value takes 4"),
        (UmbFrame(0xF001, 0x9001, 0x2F, 0x10, b"\x00\x02\x03\x00\x65\x00"), "ends after 1"),
        (UmbFrame(0xF001, 0x9001, 0x2F, 0x10, b"\x00\x01\x05\x00\x65"), "announces 5 bytes"),
        (UmbFrame(0xF001, 0x9001, 0x2F, 0x10, b"\x00\x01\x00"), "block 1 is empty"),
        (UmbFrame(0xF001, 0x9001, 0x2F, 0x10, b"\x00\x00"), "announces 0 channels"),
        (UmbFrame(0xF001, 0x9001, 0x2F, 0x10, b"\x00\x01\x03\x00\x65\x00\xff"), "1 bytes after"),
    ],
)
def test_payload_errors_say_what_is_wrong(frame: UmbFrame, message: str) -> None:
    with pytest.raises(ParseError, match=message):
        parse_frame(encode_frame(frame))


def test_encoders_refuse_what_does_not_fit() -> None:
    with pytest.raises(ValueError, match="1 to 20 channels, not 21"):
        multi_channel_request(0x9001, list(range(21)))
    with pytest.raises(ValueError, match="not a 16-bit channel"):
        online_data_request(0x9001, 70000)
    with pytest.raises(ValueError, match="does not fit a UCHAR"):
        encode(OnlineDataResponse(0xF001, 0x9001, 0, ChannelValue(1, 0, DataType.UCHAR, 256)))
    with pytest.raises(ValueError, match="SHORT needs an int"):
        encode(OnlineDataResponse(0xF001, 0x9001, 0, ChannelValue(1, 0, DataType.SHORT, 1.5)))
    with pytest.raises(ValueError, match="at most 210 bytes"):
        encode_frame(UmbFrame(0x9001, 0xF001, 0x23, 0x10, bytes(211)))
    with pytest.raises(ValueError, match="not a 16-bit address"):
        encode_frame(UmbFrame(0x19001, 0xF001, 0x23, 0x10, b""))


# --- stream parser -------------------------------------------------------------------------


def test_stream_reassembles_frames_split_at_every_boundary() -> None:
    data = IRS31_REQUEST + IRS31_RESPONSE
    expected = [parse_frame(IRS31_REQUEST), parse_frame(IRS31_RESPONSE)]

    for cut in range(len(data) + 1):
        parser = UmbStreamParser()
        parser.feed(data[:cut])
        events = list(parser.events())
        parser.feed(data[cut:])
        events += list(parser.events())
        assert events == expected, f"split at {cut}"
        assert parser.garbage_bytes == 0


def test_need_data_until_the_frame_is_complete() -> None:
    parser = UmbStreamParser()
    parser.feed(IRS31_RESPONSE[:-1])
    assert parser.next_event() is NEED_DATA

    parser.feed(IRS31_RESPONSE[-1:])
    assert isinstance(parser.next_event(), OnlineDataResponse)


def test_good_frame_starting_inside_a_damaged_one_is_found() -> None:
    # A response whose length byte was hit by noise claims 255 bytes; the next good frame
    # starts 22 bytes later and must not wait for 245 more bytes to arrive.
    damaged = corrupt(IRS31_RESPONSE, 6, 0xFF)
    parser = UmbStreamParser()
    parser.feed(damaged + IRS31_RESPONSE)

    assert list(parser.events()) == [parse_frame(IRS31_RESPONSE)]
    assert parser.bad_framing == 1
    assert parser.garbage_bytes == len(damaged)


def test_bad_crc_resynchronises_on_the_next_frame() -> None:
    parser = UmbStreamParser()
    parser.feed(corrupt(IRS31_RESPONSE, 14, 0xED) + IRS31_RESPONSE)

    assert list(parser.events()) == [parse_frame(IRS31_RESPONSE)]
    assert parser.counters() == {
        "frames_ok": 1,
        "bad_checksum": 1,
        "bad_framing": 0,
        "malformed": 0,
        "garbage_bytes": len(IRS31_RESPONSE),
    }


def test_frame_with_good_crc_but_bad_payload_is_counted_malformed() -> None:
    bad = encode_frame(UmbFrame(0xF001, 0x9001, 0x23, 0x10, b"\x00\x65\x00\x20\x01"))
    parser = UmbStreamParser()
    parser.feed(bad + IRS31_RESPONSE)

    assert list(parser.events()) == [parse_frame(IRS31_RESPONSE)]
    assert (parser.malformed, parser.garbage_bytes) == (1, len(bad))


def test_noise_is_not_kept() -> None:
    parser = UmbStreamParser()
    for _ in range(50):
        parser.feed(bytes(range(5, 256)) * 100)
        assert parser.next_event() is NEED_DATA

    assert parser.garbage_bytes == 50 * 251 * 100
    parser.feed(WS_RESPONSE)
    assert isinstance(parser.next_event(), OnlineDataResponse)


def test_reset_drops_a_half_frame_as_garbage() -> None:
    parser = UmbStreamParser()
    parser.feed(IRS31_RESPONSE[:10])
    parser.reset()
    parser.feed(IRS31_RESPONSE[10:] + WS_RESPONSE)

    assert list(parser.events()) == [parse_frame(WS_RESPONSE)]
    assert parser.garbage_bytes == len(IRS31_RESPONSE)
