"""``gpio.input``: a digital input such as a door contact or a rain switch.

Built on gpiozero's ``DigitalInputDevice``. The driver emits ``state`` (boolean, true while
active) on every debounced change and every interval, and per interval ``activations`` and
``deactivations`` (count): how often the door closed and opened, how often the rain switch
tipped. With the default ``pull = "up"`` a contact between the pin and GND is active while
closed.
"""

from __future__ import annotations

from typing import Any

from gpiozero import DigitalInputDevice  # type: ignore[import-untyped]
from pydantic import Field

from edge_agent.durations import Duration

from .edges import EdgeDriver, EdgeOptions, Pull
from .simulation import PulseSimulationOptions


class InputOptions(EdgeOptions):
    """Options of ``gpio.input``.

    Attributes:
        pull: see :class:`~drivers.gpio.edges.EdgeOptions`; ``up`` by default here (a contact
            to GND).
        bounce_time: a new level counts once it lasted this long (``"20ms"``); unset counts
            every edge. A reed contact or a switch needs 10-50 ms.
        simulation: what the ``simulated`` backend plays on the pin.
    """

    pull: Pull = "up"
    bounce_time: Duration | None = None
    simulation: PulseSimulationOptions = Field(
        default_factory=lambda: PulseSimulationOptions(mean_gap=15.0, mean_active=1.0, chatter=2)
    )


class DigitalInputDriver(EdgeDriver):
    """State and edge counts of a digital input (door contact, rain switch)."""

    Options = InputOptions
    options: InputOptions
    summary = "digital input (door contact, rain switch): state, activations, deactivations"

    def describe(self) -> str:
        """``input on GPIO27 (pull-up)``."""
        pull = {"up": "pull-up", "down": "pull-down", "floating": "floating"}[self.options.pull]
        return f"input on {self.options.pin} ({pull})"

    @property
    def bounce_s(self) -> float:
        """``bounce_time`` in seconds (0 if unset)."""
        return self.options.bounce_time or 0.0

    @property
    def simulation_options(self) -> PulseSimulationOptions:
        """A contact that closes now and then, chattering."""
        return self.options.simulation

    def make_device(self, factory: Any) -> Any:
        """gpiozero's ``DigitalInputDevice``; debouncing is the driver's (see debounce.py)."""
        opts = self.options
        return DigitalInputDevice(
            opts.pin,
            pull_up=opts.pull_up,
            active_state=opts.active_state,
            pin_factory=factory,
        )
