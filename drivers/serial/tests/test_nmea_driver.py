"""``serial.nmea`` over a real pseudo-terminal: the talker on the master side, the driver's
pyserial port on the slave side."""

from __future__ import annotations

import asyncio
import logging

import pytest

from drivers.serial.nmea import GgaFix, parse_sentence
from drivers.serial.nmea_driver import EpochGate, NmeaDriver, quantity_sources
from drivers.serial.pty_device import PtyDevice
from drivers.serial.simulators import NmeaTalker, NoisyLine
from drivers.serial.tests.casedata import CASES_DIR, load_input
from drivers.serial.tests.rig import (
    START,
    Recording,
    Replay,
    Silent,
    make_driver,
    running,
    streams,
    wait_until,
)
from edge_agent.errors import DriverError
from edge_agent.readings import Quality, Reading


def sent_fixes(recording: Recording) -> list[GgaFix]:
    events = [parse_sentence(line) for data in recording.sent for line in data.splitlines()]
    return [event for event in events if isinstance(event, GgaFix)]


def test_stream_split_in_7_byte_writes_gives_every_epochs_position_speed_and_course() -> None:
    recording = Recording(NmeaTalker(start=START, seed=1))

    async def main() -> tuple[NmeaDriver, list[Reading]]:
        with PtyDevice(recording, tick_s=0.01, chunk_bytes=7) as pty:
            driver, readings = make_driver(NmeaDriver, {"backend": "pyserial", "port": pty.port})
            async with running(driver):
                await wait_until(lambda: len(streams(readings, "course")) >= 20, "20 epochs")
        return driver, readings

    driver, readings = asyncio.run(main())

    latitudes = [r.value for r in streams(readings, "latitude")]
    sent: list[object] = [fix.latitude_deg for fix in sent_fixes(recording)]
    first = sent.index(latitudes[0])
    assert latitudes[:20] == sent[first : first + 20]  # every epoch, once, in order
    assert {r.unit for r in streams(readings, "latitude")} == {"lat"}
    speeds = streams(readings, "speed")
    assert {r.unit for r in speeds} == {"m/s"}
    assert all(0 <= float(r.value or 0) < 130 / 3.6 for r in speeds)
    assert {r.value for r in streams(readings, "fix_quality")} == {1}
    assert all(r.quality is Quality.GOOD for r in readings)
    assert not driver.input_errors  # the tail of the first sentence is not an error


def test_noise_and_bad_checksums_are_counted_and_never_published() -> None:
    recording = Recording(NmeaTalker(start=START, seed=2))
    noisy = NoisyLine(recording, seed=7, garbage_rate=0.3, corrupt_rate=0.3)

    async def main() -> tuple[NmeaDriver, list[Reading]]:
        with PtyDevice(noisy, tick_s=0.01, chunk_bytes=13, chunk_pause_s=0.0005) as pty:
            driver, readings = make_driver(NmeaDriver, {"backend": "pyserial", "port": pty.port})
            async with running(driver):
                await wait_until(
                    lambda: (
                        driver.input_errors["bad_checksum"] >= 3
                        and len(streams(readings, "latitude")) >= 30
                    ),
                    "bad checksums and 30 positions",
                )
        return driver, readings

    driver, readings = asyncio.run(main())

    sent = {fix.latitude_deg for fix in sent_fixes(recording)}
    assert {r.value for r in streams(readings, "latitude")} <= sent
    assert driver.input_errors["garbage_bytes"] > 0
    assert set(driver.input_errors) <= {"bad_checksum", "malformed", "garbage_bytes"}


def test_receiver_without_fix_is_flagged_not_published_as_good_position(
    caplog: pytest.LogCaptureFixture,
) -> None:
    # A MediaTek receiver powering up (captured by gpsd): fix quality 0 with a made-up
    # position, then a fix, in GGA, RMC, VTG and proprietary sentences.
    data = load_input(CASES_DIR / "gpsd-mtk3301-powerup")

    async def main() -> tuple[NmeaDriver, list[Reading]]:
        with PtyDevice(Replay(data), tick_s=0.01, chunk_bytes=5) as pty:
            driver, readings = make_driver(NmeaDriver, {"backend": "pyserial", "port": pty.port})
            async with running(driver):
                await wait_until(lambda: pty.bytes_written == len(data), "the capture sent")
                await wait_until(lambda: driver.parser.frames_ok >= 10, "the sentences read")
        return driver, readings

    with caplog.at_level(logging.INFO, logger="edge_agent.test.serial"):
        driver, readings = asyncio.run(main())

    flagged = {(r.value, r.quality) for r in streams(readings, "latitude") if r.value is not None}
    no_fix = [r for r in streams(readings, "fix_quality") if r.value == 0]
    assert no_fix  # the receiver said "no fix", and that is published as such
    assert (89 + 60 / 60, Quality.CHECKSUM_FAILED) in flagged  # 8960.000000,N before the fix
    good = [r for r in streams(readings, "latitude") if r.quality is Quality.GOOD]
    assert good and all(abs(float(r.value or 0) - 52.216) < 0.01 for r in good)
    assert "GNSS fix" in caplog.text
    assert driver.input_errors["unsupported"] == 0  # PMTK, POLYN and GSA are not errors


def test_losing_the_fix_flags_motion_and_logs_a_warning(caplog: pytest.LogCaptureFixture) -> None:
    # A BU-353 with a GLONASS fix that loses it (captured by gpsd): RMC goes to status V.
    driver, readings = make_driver(NmeaDriver, {"sentences": ["RMC", "GGA"]})
    data = load_input(CASES_DIR / "gpsd-bu353-glonass-nofix")

    with caplog.at_level(logging.WARNING, logger="edge_agent.test.serial"):
        driver.receive(data, 1.0)

    courses = streams(readings, "course")
    assert [r.quality for r in courses][:3] == [Quality.GOOD] * 3
    assert courses[-1].quality is Quality.CHECKSUM_FAILED
    assert driver.has_fix is False
    assert "GNSS fix lost" in caplog.text


def test_interval_caps_the_rate_by_the_receivers_own_clock() -> None:
    talker = NmeaTalker(start=START, seed=3)
    driver, readings = make_driver(NmeaDriver, {"sentences": ["GGA", "VTG"]}, interval=5.0)

    sent = b""
    for _ in range(20):
        # Two epochs per read, as a USB adapter delivers them when the host is busy.
        data = talker.epoch() + talker.epoch()
        driver.receive(data, 1.0)
        sent += data

    fixes = [e for e in map(parse_sentence, sent.splitlines()) if isinstance(e, GgaFix)]
    assert len(fixes) == 40
    every_5_s = [f.latitude_deg for f in fixes if f.utc_time and f.utc_time.second % 5 == 0]
    assert [r.value for r in streams(readings, "latitude")] == every_5_s
    assert len(every_5_s) == len(streams(readings, "speed")) == 8


def test_epoch_gate_passes_across_midnight_and_after_a_receiver_reset() -> None:
    gate = EpochGate(1.0)
    assert gate.admit("GGA", 86399.0)
    assert not gate.admit("GGA", 86399.0)  # the same epoch again
    assert gate.admit("GGA", 0.0)  # midnight
    assert not gate.admit("GGA", 0.5)
    assert gate.admit("GGA", 1.0)
    assert gate.admit("GGA", 0.2)  # clock went back: a reset receiver
    assert gate.admit("VTG", None)  # no time at all: nothing to cap by


@pytest.mark.parametrize(
    ("sentences", "expected"),
    [
        (
            ["GGA", "RMC"],
            {
                "GGA": {"latitude", "longitude", "altitude", "fix_quality", "satellites", "hdop"},
                "RMC": {"speed", "course"},
            },
        ),
        (
            ["RMC", "GGA", "VTG"],
            {
                "RMC": {"latitude", "longitude", "speed", "course"},
                "GGA": {"altitude", "fix_quality", "satellites", "hdop"},
            },
        ),
        (["VTG"], {"VTG": {"speed", "course"}}),
    ],
)
def test_each_quantity_comes_from_the_first_sentence_type_that_has_it(
    sentences: list[str], expected: dict[str, set[str]]
) -> None:
    assert quantity_sources(tuple(sentences)) == expected


def test_a_silent_receiver_is_reported_after_read_timeout() -> None:
    async def main() -> None:
        with PtyDevice(Silent(), tick_s=0.05) as pty:
            driver, _ = make_driver(
                NmeaDriver, {"backend": "pyserial", "port": pty.port, "read_timeout": "200ms"}
            )
            async with running(driver) as task:
                with pytest.raises(DriverError, match=r"no bytes from .* for 0.2 s"):
                    await asyncio.wait_for(task, 10)

    asyncio.run(main())
