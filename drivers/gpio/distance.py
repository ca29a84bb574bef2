"""``gpio.distance``: an HC-SR04 ultrasonic sensor over a parking bay.

gpiozero's ``DistanceSensor`` pings in its own thread (about 14 times a second) and keeps the
median of the last ``median_of`` echoes. Every interval the driver emits that median as
``distance`` (m) and feeds it to a :class:`~drivers.gpio.hysteresis.Hysteresis` that decides
the bay's ``occupied`` flag, emitted when it flips and every ``occupied_every``.

Echoes that never come back are counted (``input_errors.<sensor>.no_echo``); an interval
without a single echo gives ``distance = None`` flagged ``out_of_range`` and repeats the last
``occupied`` flagged ``stale``; ``lost_after`` without any echo is a :class:`DriverError`, so
the supervisor reopens the sensor with backoff and the failure shows in the status. A distance
at ``max_distance_m`` (nothing within range, or the sensor's own time-out pulse) or below
``min_distance_m`` (the blind zone) is flagged ``out_of_range``; for the flag it still counts as
far or near.
"""

from __future__ import annotations

import threading
import time
import warnings
from typing import Any, Self

from gpiozero import DistanceSensor  # type: ignore[import-untyped]
from gpiozero.exc import (  # type: ignore[import-untyped]
    DistanceSensorNoEcho,
    PWMSoftwareFallback,
)
from gpiozero.pins.mock import MockTriggerPin  # type: ignore[import-untyped]
from pydantic import Field, model_validator

from edge_agent import units
from edge_agent.durations import Duration
from edge_agent.errors import ConfigError, DriverError
from edge_agent.readings import Quality

from .gpio_driver import GpioDriver, GpioOptions
from .hysteresis import Hysteresis
from .pins import GpioPin, check_distinct
from .simulation import (
    SPEED_OF_SOUND_M_S,
    BaySimulationOptions,
    echo_time_s,
    seeded_random,
    simulate_bay,
)


class DistanceOptions(GpioOptions):
    """Options of ``gpio.distance``.

    Attributes:
        trigger / echo: the pins wired to TRIG and (through a voltage divider) ECHO.
        max_distance_m: the farthest distance measured (the HC-SR04 reaches 4 m); farther is
            reported as this value, flagged ``out_of_range``.
        min_distance_m: nearer than this is the sensor's blind zone, flagged ``out_of_range``.
        median_of: echoes in gpiozero's median filter (about 14 per second).
        occupied_below_m / free_above_m: the flag turns on below the first and off above the
            second distance; between them it stays as it is.
        confirm_samples: consecutive samples on the other side needed to flip the flag.
        confirm_time: and the time they must span (unset: no minimum).
        occupied_every: the flag is emitted when it flips and at least this often.
        lost_after: no echo at all for this long is a device failure.
        simulation: the bay the ``simulated`` backend plays.
    """

    trigger: GpioPin
    echo: GpioPin
    max_distance_m: float = Field(default=4.0, gt=0, le=10)
    min_distance_m: float = Field(default=0.02, ge=0)
    median_of: int = Field(default=9, ge=1, le=50)
    occupied_below_m: float = Field(default=1.8, gt=0)
    free_above_m: float = Field(default=2.2, gt=0)
    confirm_samples: int = Field(default=3, ge=1, le=1000)
    confirm_time: Duration | None = None
    occupied_every: Duration = 60.0
    lost_after: Duration = 60.0
    simulation: BaySimulationOptions = Field(default_factory=BaySimulationOptions)

    @model_validator(mode="after")
    def _thresholds_in_order(self) -> Self:
        check_distinct(trigger=self.trigger, echo=self.echo)
        if not self.free_above_m > self.occupied_below_m:
            raise ConfigError(
                f"free_above_m ({self.free_above_m}) must be greater than occupied_below_m "
                f"({self.occupied_below_m}): the gap between them keeps the flag from flapping; "
                "leave at least 0.2 m"
            )
        if not self.min_distance_m < self.occupied_below_m:
            raise ConfigError(
                f"occupied_below_m ({self.occupied_below_m}) must be greater than "
                f"min_distance_m ({self.min_distance_m})"
            )
        if not self.free_above_m < self.max_distance_m:
            raise ConfigError(
                f"free_above_m ({self.free_above_m}) must be less than max_distance_m "
                f"({self.max_distance_m}), the farthest distance the sensor reports"
            )
        return self


class EchoTally:
    """Echoes that came back and that did not, counted in gpiozero's sampling thread."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._good = 0
        self._missed = 0
        self.total_good = 0
        """Echoes received since start (tests wait on it for fresh samples)."""
        self.total_missed = 0
        """Pings without an echo since start."""
        self.last_echo_at = time.monotonic()
        """Monotonic time of the last echo (or of the start)."""
        self.last_error: str | None = None
        self.closing = False

    def count(self, good: bool, error: str | None = None) -> None:
        """One ping: whether its echo came back (and why not, if known)."""
        with self._lock:
            if good:
                self._good += 1
                self.total_good += 1
                self.last_echo_at = time.monotonic()
            else:
                self._missed += 1
                self.total_missed += 1
                if error is not None:
                    self.last_error = error

    def take(self) -> tuple[int, int]:
        """Good and missed echoes since the last call."""
        with self._lock:
            counts = self._good, self._missed
            self._good = self._missed = 0
            return counts


class CountingDistanceSensor(DistanceSensor):  # type: ignore[misc]
    """gpiozero's ``DistanceSensor`` that counts its echoes in an :class:`EchoTally`.

    It overrides ``_read``, the one-ping method gpiozero's sampling thread calls, so that a
    missed echo is counted instead of only warned about, and an error in the thread while the
    device closes does not kill it.
    """

    def __init__(self, *args: Any, tally: EchoTally, **kwargs: Any) -> None:
        self.tally = tally
        super().__init__(*args, **kwargs)

    def _read(self) -> float | None:
        if self.tally.closing:
            return None
        try:
            value: float | None = super()._read()
        except DistanceSensorNoEcho as exc:  # raised, not warned, where warnings are errors
            self.tally.count(False, str(exc))
            return None
        except Exception as exc:
            if self.tally.closing:  # the trigger pin went away under the ping
                return None
            self.tally.count(False, f"{type(exc).__name__}: {exc}")
            return None
        self.tally.count(value is not None, None if value is not None else "no echo")
        return value

    def close(self) -> None:
        """Stop pinging and release both pins."""
        self.tally.closing = True
        super().close()


class DistanceDriver(GpioDriver):
    """Distance (m) and occupied flag of a parking bay from an HC-SR04."""

    Options = DistanceOptions
    options: DistanceOptions
    summary = "HC-SR04 ultrasonic sensor over a parking bay: distance (m), occupied flag"

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        opts = self.options
        self.device: Any = None
        """The :class:`CountingDistanceSensor` while started."""
        self.tally = EchoTally()
        self.hysteresis = Hysteresis(
            on_below=opts.occupied_below_m,
            off_above=opts.free_above_m,
            confirm_samples=opts.confirm_samples,
            confirm_s=opts.confirm_time or 0.0,
        )
        self._report_every = max(1, round(opts.occupied_every / self.interval))
        self._since_report = 0

    def describe(self) -> str:
        """``HC-SR04 on trigger GPIO23, echo GPIO24``."""
        return f"HC-SR04 on trigger {self.options.trigger}, echo {self.options.echo}"

    def prepare_simulated_pins(self, factory: Any) -> None:
        """Make the trigger a ``MockTriggerPin`` that answers on the echo pin."""
        sim = self.options.simulation
        echo = factory.pin(self.options.echo)
        factory.pin(
            self.options.trigger,
            pin_class=MockTriggerPin,
            echo_pin=echo,
            echo_time=echo_time_s(sim.floor_distance_m, SPEED_OF_SOUND_M_S),
        )

    def open_devices(self, factory: Any) -> None:
        """Build the ``DistanceSensor``; its sampling thread starts pinging at once."""
        opts = self.options
        self.tally = EchoTally()
        # Missed echoes are counted as input errors (see CountingDistanceSensor); gpiozero's
        # own warning about them would only print an unformatted line to stderr.
        warnings.filterwarnings("ignore", category=DistanceSensorNoEcho)
        with warnings.catch_warnings():
            # gpiozero suggests pigpio for better timing; pigpio does not run on a Pi 5 or in
            # a venv without its daemon, and the median filter absorbs the jitter.
            warnings.simplefilter("ignore", PWMSoftwareFallback)
            self.device = CountingDistanceSensor(
                echo=opts.echo,
                trigger=opts.trigger,
                queue_len=opts.median_of,
                max_distance=opts.max_distance_m,
                threshold_distance=opts.max_distance_m / 2,
                partial=True,
                pin_factory=factory,
                tally=self.tally,
            )

    def close_devices(self) -> None:
        """Stop the sampling thread and release the pins."""
        device, self.device = self.device, None
        if device is not None:
            device.close()

    async def simulate(self) -> None:
        """Cars come and go under the mock sensor."""
        opts = self.options.simulation
        await simulate_bay(
            self.device.trigger,
            opts,
            seeded_random(opts.seed, self.sensor),
        )

    async def poll(self) -> None:
        """Emit the distance and, when it flips or is due, the occupied flag.

        Raises:
            DriverError: no echo for ``lost_after``.
        """
        device = self.device
        if device is None:
            raise DriverError(f"sensor {self.sensor!r} is not started")
        opts = self.options
        good, missed = self.tally.take()
        if missed:
            self.input_errors["no_echo"] += missed
            self.log.debug("%s: %d pings without echo", self.sensor, missed)
        now = time.monotonic()
        if good == 0:
            silent = now - self.tally.last_echo_at
            if silent >= opts.lost_after:
                detail = f" (last: {self.tally.last_error})" if self.tally.last_error else ""
                raise DriverError(
                    f"sensor {self.sensor!r}: no echo from the {self.describe()} for "
                    f"{silent:.0f} s{detail}; check the 5 V supply, the wiring and the voltage "
                    "divider on ECHO"
                )
            if missed:  # pings went out and nothing came back
                self.emit("distance", None, units.METRE, Quality.OUT_OF_RANGE)
                self._report_occupied(changed=False, quality=Quality.STALE)
            return  # else no ping finished yet (just started): nothing to say
        distance = float(device.distance)
        in_range = opts.min_distance_m <= distance < opts.max_distance_m
        quality = Quality.GOOD if in_range else Quality.OUT_OF_RANGE
        self.emit("distance", round(distance, 3), units.METRE, quality)
        changed = self.hysteresis.update(distance, now)
        self._report_occupied(changed=changed, quality=Quality.GOOD)

    def _report_occupied(self, *, changed: bool, quality: Quality) -> None:
        state = self.hysteresis.state
        if state is None:
            return
        self._since_report += 1
        if changed or self._since_report >= self._report_every:
            self.emit("occupied", state, units.NONE, quality)
            self._since_report = 0
