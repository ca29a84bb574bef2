"""Backend choice for the GPIO family: option > [backends] > environment > probe."""

from __future__ import annotations

import asyncio
import importlib.util
import logging
import subprocess
import sys
from typing import Any

import pytest
from gpiozero.pins.mock import MockFactory  # type: ignore[import-untyped]

from drivers.gpio.pin_factories import GPIO_BACKENDS, factory_key
from drivers.gpio.tests.harness import make_driver
from edge_agent.backends import environment_variable
from edge_agent.errors import DriverError
from edge_agent.resources import Resources

REAL_BACKEND_WORKS_HERE = any(b.probe() is None for b in GPIO_BACKENDS if not b.simulated)
LGPIO_IMPORTABLE = importlib.util.find_spec("lgpio") is not None
VARIABLE = environment_variable("gpio")


def start_and_stop(driver: Any) -> Any:
    async def main() -> Any:
        await driver.start()
        try:
            return driver.factory
        finally:
            await driver.stop()

    return asyncio.run(main())


def test_the_backends_are_real_first_and_simulated_last() -> None:
    assert [b.name for b in GPIO_BACKENDS] == ["lgpio", "rpigpio", "simulated"]


def test_simulated_by_option_is_gpiozeros_mock_factory(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(VARIABLE, raising=False)
    driver, _ = make_driver("gpio.input", {"pin": 17, "backend": "simulated"})
    factory = start_and_stop(driver)
    assert type(factory) is MockFactory
    assert driver.backend.name == "simulated" and driver.backend.source == "option"


def test_config_and_environment_choose_without_a_warning(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.delenv(VARIABLE, raising=False)
    caplog.set_level(logging.INFO)
    driver, _ = make_driver("gpio.input", {"pin": 17}, configured_backends={"gpio": "simulated"})
    start_and_stop(driver)
    assert driver.backend.source == "config"
    monkeypatch.setenv(VARIABLE, "simulated")
    driver, _ = make_driver("gpio.input", {"pin": 17})
    start_and_stop(driver)
    assert driver.backend.source == "environment"
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING]


@pytest.mark.skipif(REAL_BACKEND_WORKS_HERE, reason="this machine has real GPIO")
def test_probing_without_gpio_picks_simulated_with_a_warning_that_says_why(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.delenv(VARIABLE, raising=False)
    caplog.set_level(logging.WARNING)
    driver, _ = make_driver("gpio.distance", {"trigger": 23, "echo": 24})
    factory = start_and_stop(driver)
    assert type(factory) is MockFactory
    assert driver.backend.source == "probe"
    (warning,) = [r for r in caplog.records if r.levelno == logging.WARNING]
    message = warning.getMessage()
    assert "sensor 's': no gpio backend set" in message
    assert "probed and chose 'simulated'" in message
    assert "lgpio: " in message and "rpigpio: " in message
    assert VARIABLE in message


@pytest.mark.skipif(LGPIO_IMPORTABLE, reason="lgpio is installed here")
def test_lgpio_chosen_without_lgpio_is_a_driver_error_that_says_what_to_install(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv(VARIABLE, raising=False)
    resources = Resources()
    driver, _ = make_driver("gpio.output", {"pin": 18, "backend": "lgpio"}, resources=resources)
    with pytest.raises(DriverError, match="sudo apt install python3-lgpio"):
        start_and_stop(driver)
    assert resources.users(factory_key("lgpio", "s")) == 0
    assert driver.factory is None


def test_real_factories_are_shared_and_mock_factories_are_per_sensor() -> None:
    assert factory_key("lgpio", "bay-1") == factory_key("lgpio", "bay-2") == "gpio.lgpio"
    assert factory_key("simulated", "bay-1") != factory_key("simulated", "bay-2")


def test_a_pin_used_twice_on_one_factory_is_a_driver_error_naming_the_pin() -> None:
    # Sensors on a real backend share one factory and its pin reservations. Two drivers of
    # the same sensor name share a MockFactory the same way (one Resources key), which shows
    # what the second one is told.
    resources = Resources()
    first, _ = make_driver("gpio.input", {"pin": 17, "backend": "simulated"}, resources=resources)
    second, _ = make_driver("gpio.output", {"pin": 17, "backend": "simulated"}, resources=resources)

    async def main() -> None:
        await first.start()
        try:
            with pytest.raises(DriverError, match=r"cannot open LED on GPIO17 .*GPIOPinInUse"):
                await second.start()
            assert resources.users(factory_key("simulated", "s")) == 1
        finally:
            await first.stop()

    asyncio.run(main())


def test_loading_the_drivers_imports_no_pin_library() -> None:
    code = (
        "import sys\n"
        "from edge_agent.driver import load_driver\n"
        "for name in ('gpio.distance', 'gpio.motion', 'gpio.input', 'gpio.output'):\n"
        "    load_driver(name)\n"
        "loaded = [m for m in ('lgpio', 'RPi', 'gpiozero.pins.lgpio', 'gpiozero.pins.rpigpio')\n"
        "          if m in sys.modules]\n"
        "print(loaded)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=False
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"
