"""The onewire.ds18b20 driver against a real directory tree shaped like /sys/bus/w1/devices.

The ``w1_slave`` files are the captured and constructed cases of ``testcases/``.
"""

from __future__ import annotations

import asyncio
import logging
import os
import shutil
import threading
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from drivers.onewire import parse_w1_slave
from drivers.onewire.driver import Ds18b20Driver, Ds18b20Options
from drivers.onewire.sysfs import w1_bus_probe
from edge_agent.clock import ManualClock
from edge_agent.errors import DriverError
from edge_agent.readings import Quality, Reading
from edge_agent.supervisor import Supervisor

CASES = Path(__file__).parent / "testcases"
PROBE = "28-0316a2795c11"
OTHER = "28-000006b67845"
T0 = 1_767_222_000.0

LOG = logging.getLogger("test.onewire")


def make_bus(root: Path, devices: Mapping[str, str | None]) -> Path:
    """A devices directory with a bus master and ``devices`` (address -> test case name)."""
    devices_dir = root / "devices"
    (devices_dir / "w1_bus_master1").mkdir(parents=True)
    for address, case in devices.items():
        (devices_dir / address).mkdir()
        if case is not None:
            put(devices_dir, address, case)
    return devices_dir


def put(devices_dir: Path, address: str, case: str) -> None:
    shutil.copyfile(CASES / case / "w1_slave", devices_dir / address / "w1_slave")


def make_driver(
    devices_dir: Path,
    out: list[Reading],
    *,
    clock: ManualClock | None = None,
    sensor: str = "road",
    interval: float = 30.0,
    **options: Any,
) -> Ds18b20Driver:
    opts = Ds18b20Options.model_validate(
        {"backend": "sysfs", "sysfs_root": str(devices_dir), **options}
    )
    return Ds18b20Driver(
        sensor,
        opts,
        interval=interval,
        publish=out.append,
        clock=clock or ManualClock(T0),
        logger=LOG,
    )


async def started(driver: Ds18b20Driver) -> Ds18b20Driver:
    await driver.start()
    return driver


@pytest.mark.parametrize(
    ("case", "value", "quality"),
    [
        ("clone_chip_21875", 21.875, Quality.GOOD),
        ("negative_10125", -10.125, Quality.GOOD),
        ("crc_no_bit_flip", 21.937, Quality.CHECKSUM_FAILED),
        ("power_on_reset_85000", 85.0, Quality.OUT_OF_RANGE),
    ],
)
def test_publishes_the_temperature_with_its_flags(
    tmp_path: Path, case: str, value: float, quality: Quality
) -> None:
    devices_dir = make_bus(tmp_path, {PROBE: case})
    out: list[Reading] = []
    driver = make_driver(devices_dir, out, address=PROBE)

    async def run() -> None:
        await driver.start()
        await driver.poll()
        await driver.stop()

    asyncio.run(run())
    assert out == [Reading("road/temperature", T0, value, "Cel", quality)]
    assert not driver.input_errors


def test_unsynchronised_clock_adds_its_flag(tmp_path: Path) -> None:
    devices_dir = make_bus(tmp_path, {PROBE: "crc_no_bit_flip"})
    out: list[Reading] = []
    driver = make_driver(devices_dir, out, clock=ManualClock(T0, synchronized=False))

    async def run() -> None:
        await driver.start()
        await driver.poll()

    asyncio.run(run())
    assert [r.quality for r in out] == [Quality.CHECKSUM_FAILED | Quality.CLOCK_UNSYNCED]


def test_missing_sensor_is_counted_then_raises_after_the_limit(tmp_path: Path) -> None:
    devices_dir = make_bus(tmp_path, {PROBE: "clone_chip_21875"})
    out: list[Reading] = []
    driver = make_driver(devices_dir, out, misses_before_restart=3)

    async def run() -> None:
        await driver.start()
        await driver.poll()
        shutil.rmtree(devices_dir / PROBE)  # the kernel removed the unplugged probe
        await driver.poll()
        await driver.poll()
        assert len(out) == 1
        assert driver.input_errors == {"sensor_missing": 2}
        with pytest.raises(DriverError, match=rf"{PROBE} in 3 reads in a row.*is gone"):
            await driver.poll()
        # What the supervisor does next: start() again, which finds no probe yet ...
        with pytest.raises(DriverError, match=r"no DS18B20 \(28-\*\) found.*: w1_bus_master1\)"):
            await driver.start()
        # ... and, once it is back, reads again.
        (devices_dir / PROBE).mkdir()
        put(devices_dir, PROBE, "forum_3937")
        await driver.start()
        await driver.poll()

    asyncio.run(run())
    assert [r.value for r in out] == [21.875, 3.937]
    assert driver.input_errors == {"sensor_missing": 3}


def test_a_good_read_resets_the_miss_count(tmp_path: Path) -> None:
    devices_dir = make_bus(tmp_path, {PROBE: "clone_chip_21875"})
    out: list[Reading] = []
    driver = make_driver(devices_dir, out, address=PROBE, misses_before_restart=3)

    async def run() -> None:
        await driver.start()
        for content in ("missing_sensor_all_ff", "empty_file", "clone_chip_21875") * 3:
            put(devices_dir, PROBE, content)
            await driver.poll()

    asyncio.run(run())
    assert [r.value for r in out] == [21.875] * 3
    assert driver.input_errors == {"unparsable": 6}


def test_a_sensor_that_never_answers_raises_with_the_parsers_reason(tmp_path: Path) -> None:
    devices_dir = make_bus(tmp_path, {PROBE: "missing_sensor_all_ff"})
    out: list[Reading] = []
    driver = make_driver(devices_dir, out, misses_before_restart=2)

    async def run() -> None:
        await driver.start()
        await driver.poll()
        with pytest.raises(DriverError, match="all ff: no sensor answered"):
            await driver.poll()

    asyncio.run(run())
    assert out == []


def test_a_failing_read_counts_as_a_read_error(tmp_path: Path) -> None:
    devices_dir = make_bus(tmp_path, {PROBE: None})
    (devices_dir / PROBE / "w1_slave").mkdir()  # reading a directory fails with EISDIR
    out: list[Reading] = []
    driver = make_driver(devices_dir, out)

    async def run() -> None:
        await driver.start()
        await driver.poll()

    asyncio.run(run())
    assert out == []
    assert driver.input_errors == {"read_error": 1}


def test_supervisor_restarts_the_driver_until_the_probe_is_back(tmp_path: Path) -> None:
    devices_dir = make_bus(tmp_path, {})
    out: list[Reading] = []
    driver = make_driver(devices_dir, out, interval=0.01)
    supervisor = Supervisor(LOG, initial=0.01, maximum=0.05)

    async def wait_for(condition: Any) -> None:
        async with asyncio.timeout(30):
            while not condition():
                await asyncio.sleep(0.01)

    async def run() -> None:
        state = supervisor.start("sensor:road", driver.run_forever)
        await wait_for(lambda: state.restarts >= 2)
        assert state.last_error is not None
        assert "no DS18B20 (28-*) found" in state.last_error
        (devices_dir / OTHER).mkdir()
        put(devices_dir, OTHER, "nanopi_22062")
        await wait_for(lambda: len(out) >= 2)
        await supervisor.stop()

    asyncio.run(run())
    assert {r.value for r in out} == {22.062}
    assert driver.address == OTHER


def test_auto_finds_the_only_ds18b20_among_other_devices(tmp_path: Path) -> None:
    devices_dir = make_bus(tmp_path, {"10-000802b4ba0e": "forum_3937", PROBE: "clone_chip_21875"})
    (devices_dir / "00-400000000000").mkdir()  # noise on the bus shows up as family 00
    driver = asyncio.run(started(make_driver(devices_dir, [])))
    assert driver.address == PROBE


def test_auto_with_no_probe_lists_what_is_there(tmp_path: Path) -> None:
    devices_dir = make_bus(tmp_path, {"10-000802b4ba0e": None})
    with pytest.raises(DriverError) as caught:
        asyncio.run(started(make_driver(devices_dir, [])))
    message = str(caught.value)
    assert "no DS18B20 (28-*) found" in message
    assert "10-000802b4ba0e, w1_bus_master1" in message


def test_auto_with_two_probes_asks_for_an_address(tmp_path: Path) -> None:
    devices_dir = make_bus(tmp_path, {PROBE: None, OTHER: None})
    with pytest.raises(DriverError, match=rf"2 DS18B20 probes.*{OTHER}, {PROBE}.*options.address"):
        asyncio.run(started(make_driver(devices_dir, [])))


def test_without_a_bus_the_error_says_how_to_enable_it(tmp_path: Path) -> None:
    with pytest.raises(DriverError, match=r"does not exist.*dtoverlay=w1-gpio"):
        asyncio.run(started(make_driver(tmp_path / "absent", [])))


def test_an_address_that_is_not_there_lists_what_is(tmp_path: Path) -> None:
    devices_dir = make_bus(tmp_path, {OTHER: None})
    with pytest.raises(DriverError, match=rf"{PROBE} is not on the bus.*{OTHER}, w1_bus_master1"):
        asyncio.run(started(make_driver(devices_dir, [], address=PROBE)))


@pytest.mark.parametrize(
    ("given", "accepted"),
    [
        ("auto", "auto"),
        ("AUTO", "auto"),
        ("28-0316A2795C11", "28-0316a2795c11"),
        ("10-000802b4ba0e", "10-000802b4ba0e"),
        ("3b-000000123456", "3b-000000123456"),
    ],
)
def test_addresses_accepted(given: str, accepted: str) -> None:
    assert Ds18b20Options(address=given).address == accepted


@pytest.mark.parametrize(
    "given", ["28-0316a2795c1", "280316a2795c11", "01-0316a2795c11", "/sys/bus/w1/devices/28-x", ""]
)
def test_addresses_refused_with_the_accepted_form(given: str) -> None:
    with pytest.raises(ValidationError, match=r"not a 1-Wire thermometer.*28-0316a2795c11.*auto"):
        Ds18b20Options(address=given)


def test_sysfs_probe_looks_for_a_bus_master_or_a_probe(tmp_path: Path) -> None:
    assert w1_bus_probe(tmp_path / "absent")() is not None
    (tmp_path / "empty").mkdir()
    assert "dtoverlay=w1-gpio" in str(w1_bus_probe(tmp_path / "empty")())
    assert w1_bus_probe(make_bus(tmp_path / "bus", {}))() is None


def test_the_read_runs_off_the_event_loop(tmp_path: Path) -> None:
    """A FIFO as w1_slave blocks its reader the way the kernel's 750 ms conversion does."""
    devices_dir = make_bus(tmp_path, {PROBE: None})
    fifo = devices_dir / PROBE / "w1_slave"
    os.mkfifo(fifo)
    content = (CASES / "forum_3937" / "w1_slave").read_bytes()
    loop_ran = threading.Event()
    seen: list[bool] = []

    def kernel() -> None:
        # Answer once the loop has shown it runs while the read waits (or give up after 30 s,
        # which makes the test fail instead of hanging).
        seen.append(loop_ran.wait(30))
        with fifo.open("wb") as writer:
            writer.write(content)

    out: list[Reading] = []
    driver = make_driver(devices_dir, out, address=PROBE)

    async def run() -> None:
        await driver.start()
        answer = threading.Thread(target=kernel)
        answer.start()
        poll = asyncio.create_task(driver.poll())
        ticks = 0
        while not poll.done():
            ticks += 1
            if ticks == 5:
                loop_ran.set()
            await asyncio.sleep(0.001)
        await poll
        answer.join()

    asyncio.run(run())
    assert seen == [True]
    assert [r.value for r in out] == [3.937]


def simulate(polls: int, *, seed: int = 1, step: float = 7.0, **options: Any) -> list[Reading]:
    out: list[Reading] = []
    clock = ManualClock(T0)
    opts = Ds18b20Options.model_validate(
        {"backend": "simulated", "simulation": {"seed": seed, "day_length": "10m"}, **options}
    )
    driver = Ds18b20Driver("road", opts, interval=step, publish=out.append, clock=clock, logger=LOG)

    async def run() -> None:
        await driver.start()
        files = driver._devices_dir
        assert files.is_dir()
        for _ in range(polls):
            await driver.poll()
            content = (files / driver.address / "w1_slave").read_bytes()
            assert parse_w1_slave(content).temperature_c == out[-1].value
            clock.advance(step)
        await driver.stop()
        assert not files.exists()

    asyncio.run(run())
    assert not driver.input_errors
    return out


def test_simulated_probe_writes_kernel_files_with_flagged_values() -> None:
    out = simulate(400)
    good = [r for r in out if r.quality == Quality.GOOD]
    crc = [r for r in out if r.quality == Quality.CHECKSUM_FAILED]
    reset = [r for r in out if r.quality == Quality.OUT_OF_RANGE]
    assert crc, "some reads must fail their CRC"
    assert reset, "some reads must return the power-on value"
    assert all(r.value == 85.0 for r in reset)
    assert len(good) > 0.9 * len(out)
    values = [float(r.value or 0) for r in good]
    assert min(values) < 0 < max(values)  # the road freezes at night and thaws by day
    assert all(-6 < v < 8 for v in values)


def test_simulated_probe_is_repeatable_and_seeded() -> None:
    assert simulate(30) == simulate(30)
    assert [r.value for r in simulate(30)] != [r.value for r in simulate(30, seed=2)]


def test_simulated_probe_uses_the_configured_address() -> None:
    opts = Ds18b20Options.model_validate({"backend": "simulated", "address": PROBE})
    driver = Ds18b20Driver(
        "road", opts, interval=1, publish=[].append, clock=ManualClock(), logger=LOG
    )

    async def run() -> None:
        await driver.start()
        assert (driver._devices_dir / PROBE / "w1_slave").is_file()
        await driver.stop()

    asyncio.run(run())
    assert driver.address == PROBE
