"""``gpio.motion``: a PIR motion sensor (HC-SR501, AM312) through gpiozero's ``MotionSensor``.

gpiozero samples the pin ``sample_rate`` times a second and averages the last ``queue_len``
samples; the sensor counts as seeing motion while the average exceeds ``threshold``. The driver
emits ``motion`` (boolean) on every change and every interval, and ``motion_count`` (count),
the number of times motion began during the interval.
"""

from __future__ import annotations

from typing import Any

from gpiozero import MotionSensor  # type: ignore[import-untyped]
from pydantic import Field

from .edges import EdgeDriver, EdgeOptions
from .simulation import PulseSimulationOptions


class MotionOptions(EdgeOptions):
    """Options of ``gpio.motion``.

    Attributes:
        queue_len: samples averaged (1: none; more calms a twitchy sensor).
        sample_rate: samples per second (Hz).
        threshold: share of active samples above which there is motion (0..1).
        simulation: the visitors the ``simulated`` backend plays.
    """

    queue_len: int = Field(default=1, ge=1, le=100)
    sample_rate: float = Field(default=10.0, gt=0, le=100)
    threshold: float = Field(default=0.5, gt=0, lt=1)
    simulation: PulseSimulationOptions = Field(
        default_factory=lambda: PulseSimulationOptions(mean_gap=20.0, mean_active=4.0)
    )


class MotionDriver(EdgeDriver):
    """Motion state and motion events per interval from a PIR sensor."""

    Options = MotionOptions
    options: MotionOptions
    summary = "PIR motion sensor: motion (boolean), motion_count per interval (count)"
    state_quantity = "motion"
    activations_quantity = "motion_count"
    deactivations_quantity = None

    def describe(self) -> str:
        """``PIR on GPIO4``."""
        return f"PIR on {self.options.pin}"

    @property
    def simulation_options(self) -> PulseSimulationOptions:
        """Someone walks by now and then."""
        return self.options.simulation

    def make_device(self, factory: Any) -> Any:
        """gpiozero's ``MotionSensor`` (its sampling thread starts at once)."""
        opts = self.options
        return MotionSensor(
            opts.pin,
            pull_up=opts.pull_up,
            active_state=opts.active_state,
            queue_len=opts.queue_len,
            sample_rate=opts.sample_rate,
            threshold=opts.threshold,
            pin_factory=factory,
        )
