"""The GPIO family's backends: gpiozero pin factories, opened only when chosen.

============  ==========================================  =====================================
backend       gpiozero factory                            works when
============  ==========================================  =====================================
``lgpio``     ``gpiozero.pins.lgpio.LGPIOFactory``        module ``lgpio`` and /dev/gpiochip*
``rpigpio``   ``gpiozero.pins.rpigpio.RPiGPIOFactory``    module ``RPi.GPIO`` and /dev/gpiomem
simulated     ``gpiozero.pins.mock.MockFactory``          always
============  ==========================================  =====================================

A real factory is shared by every GPIO sensor of the agent (through
:class:`edge_agent.resources.Resources`, key ``gpio.<backend>``) and closed by the last one to
stop. gpiozero's local factories keep their pins in one class-wide table, so closing one
factory per sensor would close the pins of every other sensor, and a second factory would hand
out pins bound to the first one's chip handle. A simulated sensor gets a ``MockFactory`` of its
own (key ``gpio.simulated.<sensor>``): mock pins of different sensors never meet.
"""

from __future__ import annotations

import asyncio
from typing import Any

from gpiozero.pins.mock import MockFactory  # type: ignore[import-untyped]

from edge_agent.backends import (
    SIMULATED,
    Backend,
    all_of,
    always,
    needs_module,
    needs_path,
)
from edge_agent.errors import DriverError

LGPIO = "lgpio"
RPIGPIO = "rpigpio"

GPIO_BACKENDS: tuple[Backend, ...] = (
    Backend(
        LGPIO,
        "gpiozero with lgpio on /dev/gpiochip* (Pi 3B+, 4, 5; Bookworm and Trixie)",
        all_of(
            needs_module("lgpio", "python3-lgpio"),
            needs_path("/dev/gpiochip*", "GPIO character device"),
        ),
    ),
    Backend(
        RPIGPIO,
        "gpiozero with RPi.GPIO on /dev/gpiomem (Pi 3B+ and 4; not the Pi 5)",
        all_of(
            needs_module("RPi.GPIO", "python3-rpi.gpio or python3-rpi-lgpio"),
            needs_path("/dev/gpiomem", "/dev/gpiomem"),
        ),
    ),
    Backend(SIMULATED, "gpiozero's MockFactory, moved by a small simulation", always),
)
"""The family's backends in probing order: real ones first, simulated last."""

_LGPIO_MISSING = (
    "the gpio backend 'lgpio' needs the Python module lgpio, which is not installed: on "
    "Raspberry Pi OS run 'sudo apt install python3-lgpio' and create the venv with "
    "'python3 -m venv --system-site-packages', or 'pip install lgpio' where a wheel exists"
)
_RPIGPIO_MISSING = (
    "the gpio backend 'rpigpio' needs the Python module RPi.GPIO, which is not installed: on "
    "Raspberry Pi OS run 'sudo apt install python3-rpi-lgpio' and create the venv with "
    "'python3 -m venv --system-site-packages'; on a Pi 5 use the backend 'lgpio'"
)
_ACCESS_HINT = (
    "check that the device exists (ls -l /dev/gpiochip* /dev/gpiomem) and that the agent's "
    "user is in the group 'gpio' (sudo usermod -aG gpio edge-agent, then restart the service)"
)


def open_pin_factory(backend: str) -> Any:
    """Open the gpiozero pin factory of ``backend``, importing its pin library only now.

    Blocking (opens a device); call it in a thread.

    Raises:
        DriverError: the pin library is missing or the GPIO device cannot be opened; the
            message says how to fix it.
    """
    match backend:
        case "lgpio":
            try:
                from gpiozero.pins.lgpio import (  # type: ignore[import-untyped]  # noqa: PLC0415 - only when chosen
                    LGPIOFactory,
                )
            except ImportError as exc:
                raise DriverError(_LGPIO_MISSING) from exc
            try:
                return LGPIOFactory()
            except Exception as exc:
                raise DriverError(
                    f"cannot open the GPIO chip with lgpio ({exc}); {_ACCESS_HINT}"
                ) from exc
        case "rpigpio":
            try:
                from gpiozero.pins.rpigpio import (  # type: ignore[import-untyped]  # noqa: PLC0415 - only when chosen
                    RPiGPIOFactory,
                )
            except ImportError as exc:
                raise DriverError(_RPIGPIO_MISSING) from exc
            except RuntimeError as exc:  # RPi.GPIO refuses to load on a machine it does not know
                raise DriverError(
                    f"RPi.GPIO cannot run here ({exc}); use the backend 'lgpio'"
                ) from exc
            try:
                return RPiGPIOFactory()
            except Exception as exc:
                raise DriverError(
                    f"cannot open GPIO with RPi.GPIO ({exc}); {_ACCESS_HINT}"
                ) from exc
        case "simulated":
            return MockFactory()
    names = ", ".join(b.name for b in GPIO_BACKENDS)
    raise DriverError(f"unknown gpio backend {backend!r}; known gpio backends: {names}")


def factory_key(backend: str, sensor: str) -> str:
    """The :class:`~edge_agent.resources.Resources` key of ``sensor``'s pin factory."""
    return f"gpio.{SIMULATED}.{sensor}" if backend == SIMULATED else f"gpio.{backend}"


class SharedPinFactory:
    """One gpiozero pin factory, opened by its first user and closed after its last.

    Args:
        backend: the backend name (``lgpio``, ``rpigpio``, ``simulated``).
    """

    def __init__(self, backend: str) -> None:
        self.backend = backend
        self.factory: Any = None
        """The gpiozero ``Factory`` while started, else None."""

    async def start(self) -> None:
        """Open the factory (in a thread: it opens a device)."""
        self.factory = await asyncio.to_thread(open_pin_factory, self.backend)

    async def stop(self) -> None:
        """Close the factory and every pin it still holds."""
        factory, self.factory = self.factory, None
        if factory is not None:
            await asyncio.to_thread(factory.close)
