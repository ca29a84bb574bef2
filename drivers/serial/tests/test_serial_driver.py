"""What every serial driver does: backends, opening the port and explaining why it did not
open, losing it on an unplug and reopening it (through the real supervisor)."""

from __future__ import annotations

import asyncio
import logging
import os
from pathlib import Path
from typing import Any

import pytest
import serial

from drivers.serial.driver import LineDriver, NmeaDriver, UmbDriver
from drivers.serial.ports import serial_ports, stable_name, unstable_name_warning
from drivers.serial.pty_device import PtyDevice
from drivers.serial.serial_driver import SerialDriver
from drivers.serial.simulators import NmeaTalker
from drivers.serial.tests.rig import LOG, START, make_driver, running, streams, wait_until
from edge_agent.clock import ManualClock
from edge_agent.driver import load_driver
from edge_agent.errors import DriverError
from edge_agent.readings import Quality, Reading
from edge_agent.supervisor import Supervisor


def test_entry_points_name_the_three_drivers_of_the_serial_family() -> None:
    for name, cls in [
        ("serial.nmea", NmeaDriver),
        ("serial.umb", UmbDriver),
        ("serial.lines", LineDriver),
    ]:
        assert load_driver(name) is cls
        assert cls.family == "serial"
        assert [b.name for b in cls.backends] == ["pyserial", "simulated"]


@pytest.mark.parametrize(
    ("cls", "options", "quantities"),
    [
        (NmeaDriver, {"simulation": {"tick": "20ms"}}, {"latitude", "speed"}),
        (UmbDriver, {"simulation": {"tick": "20ms"}}, {"surface_temperature", "road_condition"}),
        (LineDriver, {"simulation": {"tick": "20ms", "format": "json"}}, {"temp", "door"}),
    ],
    ids=["nmea", "umb", "lines"],
)
def test_simulated_backend_runs_the_simulator_behind_a_pty_and_reads_it_like_a_port(
    cls: type[SerialDriver], options: dict[str, Any], quantities: set[str]
) -> None:
    async def main() -> None:
        readings: list[Reading] = []
        driver = cls(
            "sim",
            cls.Options.model_validate(options),
            interval=0.05,
            publish=readings.append,
            clock=ManualClock(START.timestamp()),
            logger=LOG,
            configured_backends={"serial": "simulated"},  # as [backends] serial = "simulated"
        )
        async with running(driver):
            await wait_until(
                lambda: quantities <= {r.stream.split("/")[1] for r in readings}, "readings"
            )
            assert driver.port_path is not None
            assert driver.port_path.startswith("/dev/pts/")
            assert driver.backend is not None
            assert driver.backend.source == "config"
        assert driver.simulator is None  # stopped with the driver
        assert all(r.quality is Quality.GOOD for r in readings)

    asyncio.run(main())


def test_unplug_raises_driver_error_and_the_supervisor_reopens_the_same_stable_name(
    tmp_path: Path,
) -> None:
    """A by-id link points at the device; the device goes, the link goes, the device comes
    back under another tty name with the link pointing there: readings resume by themselves."""
    by_id = tmp_path / "usb-u-blox_GNSS_receiver-if00"
    talker = NmeaTalker(start=START, seed=5)

    async def main() -> tuple[str | None, int]:
        driver, readings = make_driver(NmeaDriver, {"backend": "pyserial", "port": str(by_id)})
        supervisor = Supervisor(LOG, initial=0.02, maximum=0.1)
        with PtyDevice(talker, tick_s=0.01, chunk_bytes=11) as first:
            by_id.symlink_to(first.port)
            state = supervisor.start("sensor:s", driver.run_forever)
            await wait_until(lambda: len(streams(readings, "latitude")) >= 5, "first fixes")
            first.unplug()
            by_id.unlink()  # udev removes the link with the device
            await wait_until(lambda: state.restarts >= 2, "the failed reopen")
            errors = state.last_error
            before = len(readings)
        with PtyDevice(talker, tick_s=0.01, chunk_bytes=11) as second:
            by_id.symlink_to(second.port)
            await wait_until(lambda: len(readings) >= before + 20, "fixes after the replug")
            await supervisor.stop()
        return errors, state.restarts

    last_error, restarts = asyncio.run(main())

    assert last_error is not None
    assert "DriverError" in last_error
    assert "does not exist" in last_error
    assert restarts >= 2


def test_unplug_is_a_driver_error_that_says_what_happened() -> None:
    async def main() -> None:
        with PtyDevice(NmeaTalker(start=START), tick_s=0.01) as pty:
            driver, readings = make_driver(NmeaDriver, {"backend": "pyserial", "port": pty.port})
            async with running(driver) as task:
                await wait_until(lambda: bool(readings), "a fix")
                pty.unplug()
                with pytest.raises(DriverError, match=r"was lost .*unplugged"):
                    await asyncio.wait_for(task, 10)
            assert driver.connection is None  # stop() closed the port

    asyncio.run(main())


def test_a_missing_port_names_the_ports_there_are(tmp_path: Path) -> None:
    async def main() -> None:
        driver, _ = make_driver(
            NmeaDriver, {"backend": "pyserial", "port": str(tmp_path / "usb-gone-if00")}
        )
        with pytest.raises(DriverError, match=r"does not exist: the device is unplugged"):
            await driver.start()

    asyncio.run(main())


def test_a_port_held_by_another_program_is_named_busy() -> None:
    async def main() -> None:
        with (
            PtyDevice(NmeaTalker(start=START), tick_s=0.05) as pty,
            serial.Serial(pty.port, exclusive=True),
        ):
            driver, _ = make_driver(LineDriver, {"backend": "pyserial", "port": pty.port})
            with pytest.raises(DriverError, match="in use by another program"):
                await driver.start()

    asyncio.run(main())


@pytest.mark.skipif(os.geteuid() == 0, reason="root opens any port")
def test_a_port_without_permission_says_dialout(tmp_path: Path) -> None:
    async def main() -> None:
        locked = tmp_path / "ttyUSB9"
        locked.touch(mode=0o000)
        driver, _ = make_driver(LineDriver, {"backend": "pyserial", "port": str(locked)})
        with pytest.raises(DriverError, match="'dialout' group"):
            await driver.start()

    asyncio.run(main())


def test_a_port_named_by_plug_order_gets_a_warning_naming_its_stable_link(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    dev = tmp_path / "dev"
    by_id = dev / "serial" / "by-id"
    by_id.mkdir(parents=True)
    (dev / "ttyUSB0").touch()
    (dev / "ttyACM0").touch()
    (dev / "ttyAMA0").touch()
    (by_id / "usb-FTDI_USB-RS485_Cable_FT1ABCDE-if00-port0").symlink_to(dev / "ttyUSB0")

    assert serial_ports(dev) == [
        str(by_id / "usb-FTDI_USB-RS485_Cable_FT1ABCDE-if00-port0"),
        str(dev / "ttyUSB0"),
        str(dev / "ttyACM0"),
        str(dev / "ttyAMA0"),
    ]
    assert stable_name(str(dev / "ttyUSB0"), by_id) == str(
        by_id / "usb-FTDI_USB-RS485_Cable_FT1ABCDE-if00-port0"
    )
    warning = unstable_name_warning("/dev/ttyUSB0", by_id)
    assert warning is not None
    assert "numbered in plug order" in warning
    assert unstable_name_warning("/dev/ttyAMA0", by_id) is None
    assert unstable_name_warning("/dev/serial/by-id/usb-x-if00", by_id) is None

    async def main() -> None:
        driver, _ = make_driver(UmbDriver, {"backend": "pyserial", "port": "/dev/ttyUSB7"})
        with caplog.at_level(logging.WARNING), pytest.raises(DriverError):
            await driver.start()

    asyncio.run(main())
    assert "'/dev/ttyUSB7' is numbered in plug order" in caplog.text
