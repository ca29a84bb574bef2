"""The simulated devices, driven directly (without a pty)."""

from __future__ import annotations

import datetime as dt
import math

import pytest

from drivers.serial.irs31 import DEFAULT_ADDRESS
from drivers.serial.lines import LineStreamParser
from drivers.serial.nmea import GgaFix, NmeaStreamParser, RmcFix, VtgVelocity, parse_sentence
from drivers.serial.simulators import (
    Irs31Responder,
    MicrocontrollerTalker,
    NmeaTalker,
    NoisyLine,
)
from drivers.serial.umb import (
    MultiChannelResponse,
    OnlineDataResponse,
    Status,
    UmbStreamParser,
    make_address,
    multi_channel_request,
    online_data_request,
    parse_frame,
)

START = dt.datetime(2025, 1, 15, 5, 59, 58, tzinfo=dt.UTC)


def test_talker_sends_valid_gga_rmc_vtg_that_track_the_vehicle() -> None:
    talker = NmeaTalker(start=START, seed=3)
    parser = NmeaStreamParser()
    previous: GgaFix | None = None
    for second in range(120):
        truth = (talker.latitude_deg, talker.longitude_deg, talker.speed_kmh, talker.time)
        parser.feed(talker.epoch())
        gga, rmc, vtg = parser.events()
        assert isinstance(gga, GgaFix)
        assert isinstance(rmc, RmcFix)
        assert isinstance(vtg, VtgVelocity)
        assert gga.talker == "GN"
        assert gga.has_fix
        assert gga.latitude_deg == pytest.approx(truth[0], abs=1e-6)
        assert rmc.longitude_deg == pytest.approx(truth[1], abs=1e-6)
        assert vtg.speed_kmh == pytest.approx(truth[2], abs=1e-3)
        assert rmc.utc_datetime == truth[3] == START + dt.timedelta(seconds=second)
        if previous is not None and previous.latitude_deg and gga.latitude_deg:
            step_m = 111_320 * math.hypot(
                gga.latitude_deg - previous.latitude_deg,
                (gga.longitude_deg or 0) - (previous.longitude_deg or 0),
            )
            assert step_m < 30  # under 100 km/h for one second
        previous = gga
    assert parser.counters()["frames_ok"] == 360
    assert parser.frames_ok == parser.counters()["frames_ok"]


def test_talker_crosses_midnight_into_the_next_date() -> None:
    talker = NmeaTalker(start=dt.datetime(2025, 12, 31, 23, 59, 59, tzinfo=dt.UTC))
    talker.epoch()
    fix = parse_sentence(talker.epoch().splitlines()[1])

    assert isinstance(fix, RmcFix)
    assert fix.utc_datetime == dt.datetime(2026, 1, 1, tzinfo=dt.UTC)


def test_talker_is_reproducible_per_seed_and_needs_an_aware_start() -> None:
    one, two = NmeaTalker(start=START, seed=9), NmeaTalker(start=START, seed=9)
    assert [one.epoch() for _ in range(30)] == [two.epoch() for _ in range(30)]
    with pytest.raises(ValueError, match="aware datetime"):
        NmeaTalker(start=dt.datetime(2025, 1, 1))


def test_responder_answers_the_manual_request_with_its_surface_temperature() -> None:
    sensor = Irs31Responder(surface_temperature_c=24.6)

    answer = parse_frame(sensor.on_receive(online_data_request(DEFAULT_ADDRESS, 101)))

    assert isinstance(answer, OnlineDataResponse)
    assert answer.value is not None
    assert (answer.to_address, answer.from_address) == (0xF001, 0x9001)
    assert answer.value.value == pytest.approx(24.6)
    assert sensor.requests_answered == 1


def test_responder_answers_multi_channel_requests_and_derives_the_condition() -> None:
    sensor = Irs31Responder(surface_temperature_c=-6.0, freezing_temperature_c=-4.0)
    request = multi_channel_request(DEFAULT_ADDRESS, [101, 151, 1072, 900, 1070, 111, 4242])

    answer = parse_frame(sensor.on_receive(request))

    assert isinstance(answer, MultiChannelResponse)
    by_channel = {value.channel: value for value in answer.values}
    assert by_channel[101].value == -6.0
    assert by_channel[1072].value == 35
    assert by_channel[900].value == 35  # ice: surface below the freezing temperature
    assert by_channel[1070].value == 66
    assert by_channel[111].status == Status.DATA_ERROR
    assert by_channel[4242].status == Status.INVALID_CHANNEL


def test_responder_reassembles_requests_split_across_reads() -> None:
    sensor = Irs31Responder()
    request = online_data_request(DEFAULT_ADDRESS, 151)

    answers = b"".join(sensor.on_receive(request[i : i + 1]) for i in range(len(request)))

    parser = UmbStreamParser()
    parser.feed(answers)
    assert len(list(parser.events())) == 1


def test_responder_ignores_other_devices_and_answers_broadcasts() -> None:
    sensor = Irs31Responder()

    assert sensor.on_receive(online_data_request(make_address(9, 2), 101)) == b""
    assert sensor.on_receive(online_data_request(make_address(7, 1), 101)) == b""
    assert sensor.on_receive(online_data_request(make_address(9, 0), 101)) != b""
    assert sensor.on_receive(online_data_request(0x0000, 101)) != b""
    assert sensor.on_tick() == b""


def test_busy_responder_answers_with_a_status() -> None:
    sensor = Irs31Responder()
    sensor.busy = True

    answer = parse_frame(sensor.on_receive(online_data_request(DEFAULT_ADDRESS, 101)))

    assert isinstance(answer, OnlineDataResponse)
    assert answer.status == Status.DEVICE_BUSY


def test_microcontroller_lines_parse() -> None:
    board = MicrocontrollerTalker(seed=1)
    parser = LineStreamParser()
    for _ in range(50):
        parser.feed(board.on_tick())

    records = list(parser.events())
    assert len(records) == 50
    assert {key for key, _ in records[0].values} == {"temp", "hum", "door", "state"}
    assert board.on_receive(b"anything") == b""


def test_noisy_line_damages_a_share_of_outputs_and_counts_it() -> None:
    noisy = NoisyLine(NmeaTalker(start=START), seed=5, garbage_rate=0.5, corrupt_rate=0.5)
    parser = NmeaStreamParser()
    for _ in range(200):
        parser.feed(noisy.on_tick())
    events = list(parser.events())

    assert 50 < noisy.corrupted_outputs < 150
    assert 50 < noisy.garbage_bursts < 150
    assert 600 - noisy.corrupted_outputs <= len(events) < 600
    assert parser.garbage_bytes > 0
