"""GPIO pin names as gpiozero accepts them, checked when the config is read.

A pin may be written as a BCM number (``17``), ``"GPIO17"``, ``"BCM17"``, a physical header
position (``"BOARD11"``, ``"J8:11"``) or a wiringPi number (``"WPI0"``). Every form is checked
against the 40-pin header and turned into gpiozero's canonical ``"GPIO17"``, so a typo or a
power pin (``"BOARD1"`` is 3V3) is a config error, not a failure at start-up.
"""

from __future__ import annotations

from functools import cache
from typing import Annotated, Any

from gpiozero.pins.pi import PiBoardInfo  # type: ignore[import-untyped]
from pydantic import BeforeValidator

from edge_agent.errors import ConfigError

HEADER_REVISION = 0xA02082
"""A Pi 3B's revision code; its 40-pin J8 header is the one of every Pi since the B+ (3B+, 4,
5, Zero 2 W), so the pin names it knows are the ones the kit accepts."""

_FORMS = "a BCM number (17), 'GPIO17', 'BCM17' or a header position ('BOARD11', 'J8:11')"


@cache
def _header() -> Any:
    return PiBoardInfo.from_revision(HEADER_REVISION)


def gpio_pin_name(value: object) -> str:
    """The canonical name (``"GPIO17"``) of the GPIO pin ``value`` names.

    Raises:
        ConfigError: ``value`` names no pin of the 40-pin header, or a pin that is not a GPIO
            (power or ground).
    """
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise ConfigError(f"pin {value!r} is not a pin name; write {_FORMS}")
    key: int | str = value.strip().upper() if isinstance(value, str) else value
    found = [info for _header_info, info in _header().find_pin(key)]
    if not found:
        raise ConfigError(
            f"pin {value!r} is not on the Raspberry Pi's 40-pin header; write {_FORMS}"
        )
    info = found[0]
    if "gpio" not in info.interfaces:
        raise ConfigError(
            f"pin {value!r} is the {info.name} pin of the header, not a GPIO; write {_FORMS}"
        )
    return str(info.name)


GpioPin = Annotated[str, BeforeValidator(gpio_pin_name)]
"""A GPIO pin in an options model: any form gpiozero accepts, stored as ``"GPIO17"``."""


def check_distinct(**pins: str) -> None:
    """Raise :class:`ConfigError` when two of the named ``pins`` are the same GPIO."""
    seen: dict[str, str] = {}
    for role, pin in pins.items():
        if pin in seen:
            raise ConfigError(f"{seen[pin]} and {role} are both {pin}; each needs its own GPIO pin")
        seen[pin] = role
