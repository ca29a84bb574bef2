"""Simulated devices over a real pseudo-terminal, read with pyserial like a USB port.

The device runs on the master side of ``os.openpty`` in a thread; the test opens the slave
with ``serial.Serial`` and runs the reading loop a driver would. Writes are cut into small
chunks so that frames arrive split across reads.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable, Sequence

import pytest
import serial

from drivers.serial.irs31 import DEFAULT_ADDRESS, road_surface_state
from drivers.serial.lines import LineRecord, LineStreamParser
from drivers.serial.nmea import NmeaStreamParser, parse_sentence
from drivers.serial.pty_device import PtyDevice
from drivers.serial.simulators import (
    Irs31Responder,
    MicrocontrollerTalker,
    NmeaTalker,
    NoisyLine,
    SerialDevice,
)
from drivers.serial.to_readings import umb_readings
from drivers.serial.umb import (
    MultiChannelResponse,
    OnlineDataResponse,
    UmbEvent,
    UmbStreamParser,
    multi_channel_request,
    online_data_request,
)
from edge_agent.readings import Quality

START = dt.datetime(2025, 1, 15, 6, 0, tzinfo=dt.UTC)


class Recording:
    """Passes a device through and keeps what it sent before any damage."""

    def __init__(self, device: SerialDevice) -> None:
        self.device = device
        self.sent: list[bytes] = []

    def on_tick(self) -> bytes:
        data = self.device.on_tick()
        self.sent.append(data)
        return data

    def on_receive(self, data: bytes) -> bytes:
        answer = self.device.on_receive(data)
        self.sent.append(answer)
        return answer


def read_until(
    port: serial.Serial, parser: NmeaStreamParser | LineStreamParser, done: Callable[[], bool]
) -> list[object]:
    """The driver's reading loop: read what is there, feed, drain; up to 10 s."""
    events: list[object] = []
    deadline = time.monotonic() + 10
    while not done() and time.monotonic() < deadline:
        parser.feed(port.read(port.in_waiting or 1))
        events.extend(parser.events())
        if done():
            break
    return events


def drain_until_error(port: serial.Serial, parser: NmeaStreamParser, events: list[object]) -> None:
    """Keep reading until the port fails (it must, once unplugged)."""
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        parser.feed(port.read(64))
        events.extend(parser.events())


def sent_events(recording: Recording) -> list[object]:
    return [parse_sentence(line) for data in recording.sent for line in data.splitlines()]


def is_subsequence(short: Sequence[object], long: Sequence[object]) -> bool:
    remaining = iter(long)
    return all(any(item == candidate for candidate in remaining) for item in short)


def test_nmea_talker_over_a_pty_with_frames_split_in_7_byte_writes() -> None:
    recording = Recording(NmeaTalker(start=START, seed=1))
    with PtyDevice(recording, tick_s=0.01, chunk_bytes=7) as pty:
        parser = NmeaStreamParser()
        with serial.Serial(pty.port, baudrate=9600, timeout=0.05) as port:
            events = read_until(port, parser, lambda: parser.frames_ok >= 30)
    assert pty.error is None

    # The port opened while the talker was already sending: the stream starts mid-epoch.
    sent = sent_events(recording)
    first = sent.index(events[0])
    assert first <= 3
    assert events[:30] == sent[first : first + 30]
    assert parser.bad_checksum == parser.malformed == 0
    assert parser.garbage_bytes < 100  # at most the tail of the sentence we joined in


def test_nmea_over_a_noisy_pty_loses_only_damaged_sentences() -> None:
    recording = Recording(NmeaTalker(start=START, seed=2))
    noisy = NoisyLine(recording, seed=7, garbage_rate=0.3, corrupt_rate=0.3)
    with PtyDevice(noisy, tick_s=0.01, chunk_bytes=5, chunk_pause_s=0.0005) as pty:
        parser = NmeaStreamParser()
        with serial.Serial(pty.port, timeout=0.05) as port:
            events = read_until(port, parser, lambda: parser.frames_ok >= 90)
    assert pty.error is None

    sent = sent_events(recording)
    assert is_subsequence(events, sent)
    assert noisy.corrupted_outputs > 0
    assert noisy.garbage_bursts > 0
    assert parser.garbage_bytes > 0
    # At most one sentence is lost per damaged output; the first unreceived ones are in flight,
    # and those sent before the port opened (more of them on a busy machine) were never read.
    sent_while_reading = sent.index(events[-1]) + 1 - sent.index(events[0])
    assert len(events) >= sent_while_reading - noisy.corrupted_outputs


def poll(
    port: serial.Serial, parser: UmbStreamParser, request: bytes, attempts: int = 20
) -> UmbEvent:
    """The UMB master's request/response cycle, retrying when no good response comes."""
    for _ in range(attempts):
        port.reset_input_buffer()
        port.write(request)
        deadline = time.monotonic() + 0.15
        while time.monotonic() < deadline:
            parser.feed(port.read(port.in_waiting or 1))
            for event in parser.events():
                if isinstance(event, OnlineDataResponse | MultiChannelResponse):
                    return event
    raise AssertionError(f"no response after {attempts} attempts; {parser.counters()}")


def test_umb_master_polls_the_simulated_irs31_over_a_pty() -> None:
    sensor = Irs31Responder(surface_temperature_c=-2.5, freezing_temperature_c=-6.0)
    with PtyDevice(sensor, tick_s=0.05, chunk_bytes=3) as pty:
        parser = UmbStreamParser()
        with serial.Serial(pty.port, baudrate=19200, timeout=0.02) as port:
            single = poll(port, parser, online_data_request(DEFAULT_ADDRESS, 101))
            multi = poll(
                port, parser, multi_channel_request(DEFAULT_ADDRESS, [101, 151, 1072, 900])
            )
    assert pty.error is None

    assert isinstance(single, OnlineDataResponse)
    assert single.value is not None
    assert single.value.value == -2.5
    assert isinstance(multi, MultiChannelResponse)
    state = road_surface_state(multi.values)
    assert (state.surface_temperature_c, state.freezing_temperature_c) == (-2.5, -6.0)
    assert (state.water_film_mm, state.road_condition) == (0.35, "wet")
    readings = umb_readings(multi, "road", 1.0)
    assert [r.stream for r in readings] == [
        "road/surface_temperature",
        "road/freezing_temperature",
        "road/water_film_height",
        "road/road_condition",
    ]
    assert all(r.quality is Quality.GOOD for r in readings)
    assert parser.counters()["bad_checksum"] == 0
    assert sensor.requests_answered == 2


def test_umb_master_retries_through_bad_crcs_and_line_noise() -> None:
    sensor = Irs31Responder(surface_temperature_c=1.25)
    noisy = NoisyLine(sensor, seed=11, garbage_rate=0.5, corrupt_rate=0.5)
    with PtyDevice(noisy, tick_s=0.05, chunk_bytes=4) as pty:
        parser = UmbStreamParser()
        values = []
        with serial.Serial(pty.port, timeout=0.02) as port:
            for _ in range(10):
                response = poll(port, parser, online_data_request(DEFAULT_ADDRESS, 101))
                assert isinstance(response, OnlineDataResponse)
                assert response.value is not None
                values.append(response.value.value)
    assert pty.error is None

    assert values == [1.25] * 10
    assert noisy.corrupted_outputs > 0
    assert parser.bad_checksum + parser.bad_framing > 0


def test_lines_board_over_a_pty_with_the_first_line_cut() -> None:
    board = MicrocontrollerTalker(seed=4)
    with PtyDevice(board, tick_s=0.01, chunk_bytes=6) as pty:
        time.sleep(0.05)  # the board is printing before the port opens
        parser = LineStreamParser(discard_first_line=True)
        with serial.Serial(pty.port, timeout=0.05) as port:
            records = read_until(port, parser, lambda: parser.frames_ok >= 10)
    assert pty.error is None

    assert len(records) >= 10
    for record in records:
        assert isinstance(record, LineRecord)
        assert [key for key, _ in record.values] == ["temp", "hum", "door", "state"]
    assert parser.bad_lines == 0


@pytest.mark.parametrize("reset_after_replug", [False, True], ids=["same-buffer", "reset"])
def test_unplug_ends_the_read_loop_and_the_parser_carries_on_after_replug(
    reset_after_replug: bool,
) -> None:
    parser = NmeaStreamParser()
    events: list[object] = []
    talker = NmeaTalker(start=START, seed=5)
    with (
        PtyDevice(talker, tick_s=0.01, chunk_bytes=11) as pty,
        serial.Serial(pty.port, timeout=0.05) as port,
    ):
        events += read_until(port, parser, lambda: parser.frames_ok >= 12)
        pty.unplug()
        with pytest.raises(serial.SerialException):
            # Whatever was still buffered comes first, then the read fails.
            drain_until_error(port, parser, events)
    assert pty.error is None
    before_replug = len(events)
    assert before_replug >= 12
    assert parser.bad_checksum == parser.malformed == 0

    # Plugged in again: a new port, the same parser. Without a reset, the half sentence from
    # before the unplug meets the first bytes after it and fails its checksum (at most one
    # sentence); with a reset it is dropped as garbage first. Either way decoding resumes.
    if reset_after_replug:
        parser.reset()
    with (
        PtyDevice(talker, tick_s=0.01, chunk_bytes=11) as pty,
        serial.Serial(pty.port, timeout=0.05) as port,
    ):
        events += read_until(port, parser, lambda: parser.frames_ok >= before_replug + 9)
    assert pty.error is None

    assert len(events) >= before_replug + 9
    assert parser.frames_ok == len(events)
    rejected = parser.bad_checksum + parser.malformed + parser.missing_checksum
    assert rejected <= (0 if reset_after_replug else 1)
