"""The system.health driver on the directory trees of ``testcases/`` and a fake vcgencmd.

The linux backend reads the trees through its ``root`` option; vcgencmd is a small executable
script on ``PATH`` that prints a captured output, run as a real subprocess.
"""

from __future__ import annotations

import asyncio
import logging
import os
import shutil
import threading
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from drivers.system.health import HealthDriver, HealthOptions
from drivers.system.sources import find_thermal_zone
from drivers.system.tests.cases import (
    CASE_NAMES,
    captured_vcgencmd,
    expected,
    fake_vcgencmd,
    path_with,
    root,
)
from edge_agent.clock import ManualClock
from edge_agent.readings import Quality, Reading

T0 = 1_767_222_000.0
LOG = logging.getLogger("test.system")
FLAGS = (
    "under_voltage",
    "freq_capped",
    "throttled",
    "soft_temp_limit",
    "under_voltage_occurred",
    "freq_capped_occurred",
    "throttled_occurred",
    "soft_temp_limit_occurred",
)


def make_driver(
    out: list[Reading], *, clock: ManualClock | None = None, **options: Any
) -> HealthDriver:
    opts = HealthOptions.model_validate({"backend": "linux", **options})
    return HealthDriver(
        "pi", opts, interval=30.0, publish=out.append, clock=clock or ManualClock(T0), logger=LOG
    )


def poll(driver: HealthDriver, times: int = 1) -> None:
    async def run() -> None:
        await driver.start()
        for _ in range(times):
            await driver.poll()
        await driver.stop()

    asyncio.run(run())


def by_quantity(out: list[Reading]) -> dict[str, Reading]:
    return {r.stream.partition("/")[2]: r for r in out}


@pytest.mark.parametrize("name", CASE_NAMES)
def test_case_readings(name: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    want = expected(name)
    bin_dir = tmp_path / "bin"
    monkeypatch.setenv("PATH", path_with(bin_dir))
    output = captured_vcgencmd(name)
    if output is not None:
        fake_vcgencmd(bin_dir, prints=output.read_text())
    out: list[Reading] = []
    driver = make_driver(out, root=str(root(name)), path=str(tmp_path), **want["options"])
    poll(driver, times=2)

    first = out[: len(out) // 2]
    # disk_free comes from statvfs of the live tmp directory, which other processes change.
    live = ("disk_free", "disk_free_ratio")
    assert [r for r in out[len(out) // 2 :] if not r.stream.endswith(live)] == [
        r for r in first if not r.stream.endswith(live)
    ], "two polls of the same files publish the same"
    published = [
        {"quantity": r.stream.partition("/")[2], "value": r.value, "unit": r.unit}
        for r in first
        if not r.stream.startswith("pi/disk_free")
    ]
    assert published == want["readings"]
    assert all(r.time == T0 and r.quality == Quality.GOOD for r in first)
    assert dict(driver.input_errors) == want["input_errors"]  # missing sources: once each

    disk = by_quantity(first)
    stat = os.statvfs(tmp_path)
    total = stat.f_blocks * stat.f_frsize
    assert disk["disk_free"].unit == "B"
    assert abs(int(disk["disk_free"].value or 0) - stat.f_bavail * stat.f_frsize) < total / 100
    assert disk["disk_free_ratio"].unit == "/"
    assert disk["disk_free_ratio"].value == pytest.approx(
        int(disk["disk_free"].value or 0) / total, abs=1e-4
    )


def test_failing_vcgencmd_falls_back_to_the_hwmon_alarm(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PATH", path_with(tmp_path / "bin"))
    fake_vcgencmd(tmp_path / "bin", prints="VCHI initialization failed\n", exit_code=255)
    out: list[Reading] = []
    driver = make_driver(out, root=str(root("pi4-bookworm-under-voltage")), path=str(tmp_path))
    poll(driver, times=3)
    flags = {r.stream for r in out if r.stream.partition("/")[2] in FLAGS}
    assert flags == {"pi/under_voltage"}
    assert all(r.value is True for r in out if r.stream == "pi/under_voltage")
    assert driver.input_errors == {"missing_vcgencmd": 1}


def test_garbled_vcgencmd_output_is_counted_each_time(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PATH", path_with(tmp_path / "bin"))
    fake_vcgencmd(tmp_path / "bin", prints="throttled=banana\n")
    out: list[Reading] = []
    driver = make_driver(out, root=str(root("pi4-bookworm-under-voltage")), path=str(tmp_path))
    poll(driver, times=2)
    assert driver.input_errors == {"bad_get_throttled": 2}
    assert [r.value for r in out if r.stream == "pi/under_voltage"] == [True, True]


def test_hanging_vcgencmd_is_killed_after_the_timeout(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PATH", path_with(tmp_path / "bin"))
    sleep = shutil.which("sleep") or "/bin/sleep"
    fake_vcgencmd(tmp_path / "bin", body=f"exec {sleep} 60")
    out: list[Reading] = []
    driver = make_driver(
        out,
        root=str(root("pi5-trixie-nvme-healthy")),
        path=str(tmp_path),
        block_device="nvme0n1",
        vcgencmd_timeout="200ms",
    )
    poll(driver)
    assert driver.input_errors == {"missing_vcgencmd": 1, "missing_throttling": 1}
    assert not {r.stream.partition("/")[2] for r in out} & set(FLAGS)
    assert by_quantity(out)["cpu_temperature"].value == 47.35


def test_garbled_sources_are_counted_and_the_rest_published(tmp_path: Path) -> None:
    tree = tmp_path / "root"
    shutil.copytree(root("pi3bplus-bullseye-no-vcgencmd"), tree)
    (tree / "proc" / "meminfo").write_text("MemTotal: lots\n")
    (tree / "sys" / "class" / "thermal" / "thermal_zone0" / "temp").write_text("")
    out: list[Reading] = []
    driver = make_driver(out, root=str(tree), path=str(tmp_path))
    poll(driver, times=2)
    assert driver.input_errors == {"bad_meminfo": 2, "bad_thermal": 2}
    quantities = {r.stream.partition("/")[2] for r in out}
    assert "memory_available" not in quantities
    assert "cpu_temperature" not in quantities
    assert {"under_voltage", "load_1m", "bytes_written", "disk_free"} <= quantities


def test_an_empty_root_publishes_only_the_disk_and_never_raises(tmp_path: Path) -> None:
    out: list[Reading] = []
    driver = make_driver(out, root=str(tmp_path / "nothing"), path=str(tmp_path))
    poll(driver, times=3)
    assert {r.stream for r in out} == {"pi/disk_free", "pi/disk_free_ratio"}
    assert set(driver.input_errors) == {
        "missing_meminfo",
        "missing_loadavg",
        "missing_diskstats",
        "missing_thermal",
        "missing_throttling",
    }
    assert set(driver.input_errors.values()) == {1}


def test_unknown_block_device_and_data_dir_are_reported_once(tmp_path: Path) -> None:
    out: list[Reading] = []
    driver = make_driver(
        out,
        root=str(root("x86-64-dev-vm")),
        path=str(tmp_path / "not-there"),
        block_device="mmcblk0",
    )
    poll(driver, times=2)
    quantities = {r.stream.partition("/")[2] for r in out}
    assert not quantities & {"bytes_written", "disk_free", "disk_free_ratio"}
    assert driver.input_errors["missing_block_device"] == 1
    assert driver.input_errors["missing_disk"] == 1


def test_thermal_zone_auto_prefers_the_cpu_package(tmp_path: Path) -> None:
    for number, kind in ((0, "acpitz"), (1, "INT3400 Thermal"), (2, "x86_pkg_temp")):
        zone = tmp_path / f"thermal_zone{number}"
        zone.mkdir()
        (zone / "type").write_text(f"{kind}\n")
        (zone / "temp").write_text("40000\n")
    assert find_thermal_zone(tmp_path, "auto") == tmp_path / "thermal_zone2" / "temp"
    assert find_thermal_zone(tmp_path, "thermal_zone1") == tmp_path / "thermal_zone1" / "temp"
    assert find_thermal_zone(tmp_path, "thermal_zone7") is None
    (tmp_path / "thermal_zone2" / "type").write_text("pch_cannonlake\n")
    assert find_thermal_zone(tmp_path, "auto") == tmp_path / "thermal_zone0" / "temp"


def test_the_read_runs_off_the_event_loop(tmp_path: Path) -> None:
    """A FIFO as /proc/meminfo blocks the reader until the test answers."""
    tree = tmp_path / "root"
    shutil.copytree(root("x86-64-dev-vm"), tree)
    meminfo = tree / "proc" / "meminfo"
    content = meminfo.read_bytes()
    meminfo.unlink()
    os.mkfifo(meminfo)
    loop_ran = threading.Event()
    seen: list[bool] = []

    def kernel() -> None:
        seen.append(loop_ran.wait(30))  # fail, rather than hang, if the loop is blocked
        with meminfo.open("wb") as writer:
            writer.write(content)

    out: list[Reading] = []
    driver = make_driver(out, root=str(tree), path=str(tmp_path), block_device="vda")

    async def run() -> None:
        await driver.start()
        answer = threading.Thread(target=kernel)
        answer.start()
        task = asyncio.create_task(driver.poll())
        ticks = 0
        while not task.done():
            ticks += 1
            if ticks == 5:
                loop_ran.set()
            await asyncio.sleep(0.001)
        await task
        answer.join()

    asyncio.run(run())
    assert seen == [True]
    assert by_quantity(out)["memory_available"].value == 22743048192


def test_linux_backend_is_probed_on_linux(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("EDGE_AGENT_SYSTEM_BACKEND", raising=False)
    opts = HealthOptions()
    driver = HealthDriver(
        "pi", opts, interval=30, publish=[].append, clock=ManualClock(), logger=LOG
    )
    asyncio.run(driver.start())
    assert driver.backend is not None
    assert (driver.backend.name, driver.backend.source) == ("linux", "probe")


def simulate(polls: int, *, seed: int = 1, step: float = 10.0) -> list[Reading]:
    out: list[Reading] = []
    clock = ManualClock(T0)
    opts = HealthOptions.model_validate(
        {"backend": "simulated", "simulation": {"seed": seed, "day_length": "10m"}}
    )
    driver = HealthDriver("pi", opts, interval=step, publish=out.append, clock=clock, logger=LOG)

    async def run() -> None:
        await driver.start()
        for _ in range(polls):
            await driver.poll()
            clock.advance(step)

    asyncio.run(run())
    assert not driver.input_errors
    return out


def test_simulated_pi_goes_through_the_parsers() -> None:
    out = simulate(120)  # two simulated days
    streams: dict[str, list[Reading]] = {}
    for reading in out:
        streams.setdefault(reading.stream.partition("/")[2], []).append(reading)
    assert set(streams) == {
        "cpu_temperature",
        *FLAGS,
        "memory_available",
        "memory_available_ratio",
        "load_1m",
        "load_5m",
        "load_15m",
        "bytes_written",
        "disk_free",
        "disk_free_ratio",
    }
    assert all(len(readings) == 120 for readings in streams.values())
    units = {q: {r.unit for r in rs} for q, rs in streams.items()}
    assert units["cpu_temperature"] == {"Cel"}
    assert units["memory_available"] == units["bytes_written"] == units["disk_free"] == {"B"}
    assert units["memory_available_ratio"] == units["disk_free_ratio"] == {"/"}

    temperatures = [float(r.value or 0) for r in streams["cpu_temperature"]]
    assert 15 < min(temperatures) < max(temperatures) < 60
    written = [int(r.value or 0) for r in streams["bytes_written"]]
    assert written == sorted(written) and written[-1] > written[0]
    occurred = [r.value for r in streams["under_voltage_occurred"]]
    assert True in occurred, "the simulated supply sags now and then"
    assert all(occurred[occurred.index(True) :]), "'has occurred' stays set until reboot"
    assert any(r.value for r in streams["under_voltage"])


def test_simulated_pi_is_repeatable() -> None:
    assert simulate(10) == simulate(10)
    assert simulate(10) != simulate(10, seed=2)


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"block_device": "/dev/mmcblk0"}, "without /dev/"),
        ({"thermal_zone": "cpu"}, "thermal_zone0"),
        ({"vcgencmd_timeout": "soon"}, "duration 'soon'"),
        ({"backend": "sysfs"}, None),
    ],
)
def test_options_are_checked(options: dict[str, Any], message: str | None) -> None:
    if message is None:
        # Backend names are checked against the family when the config is read.
        with pytest.raises(ValueError, match=r"unknown system backend 'sysfs'.*linux, simulated"):
            HealthDriver.check_backends(HealthOptions.model_validate(options), {})
        return
    with pytest.raises(ValidationError, match=message):
        HealthOptions.model_validate(options)
