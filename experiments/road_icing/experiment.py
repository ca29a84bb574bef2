"""The road-icing experiment: dew point, risk class, surface forecast and alerts, every minute.

It keeps the latest good value of each input stream and two hours of surface temperatures.
Each timer tick it assesses the risk with the rule set of :mod:`.icing`, forecasts the surface
30/60/120 minutes ahead with :mod:`.forecast`, publishes the results, and raises an alert event
(and switches an optional LED or buzzer) when the latched risk rises to ``alert_level``.
Values flagged out of range or with a failed checksum never enter the assessment.
"""

from __future__ import annotations

from collections import deque
from typing import Any

from edge_agent import units
from edge_agent.experiments import Experiment
from edge_agent.readings import Quality, Reading

from .forecast import HISTORY_STEPS, HORIZONS_MIN, STEP_S, ForecastModel, features, resample
from .icing import Conditions, Risk, RiskLatch, Thresholds, assess, dew_point_c
from .weather import local_hour

_BAD = Quality.OUT_OF_RANGE | Quality.CHECKSUM_FAILED
_LEVELS = {risk.label: risk for risk in Risk}


class RoadIcing(Experiment):
    """Frost and ice risk for the winter service."""

    async def on_start(self) -> None:
        """Load the forecast model and set up the inputs."""
        p = self.params
        self.model = await self.ctx.run_in_thread(
            ForecastModel.load, self.ctx.path("model/forecast.json")
        )
        self.inputs = {
            key: p[key]
            for key in ("surface", "air", "humidity", "freezing", "water_film", "condition")
            if p[key]
        }
        self.latest: dict[str, Reading] = {}
        history_s = (HISTORY_STEPS + 1) * STEP_S
        self.surface_history: deque[tuple[float, float]] = deque(maxlen=int(history_s // 5))
        self.thresholds = Thresholds(p["margin_c"], p["watch_c"], p["wet_film_mm"])
        self.latch = RiskLatch(p["clear_after"])
        self.alert_level = _LEVELS[p["alert_level"]]
        self.alerting = False
        self.skipped_stale = 0

    async def on_reading(self, reading: Reading) -> None:
        """Remember good values; keep the surface history for the forecast."""
        if reading.quality & _BAD or reading.value is None:
            return
        for key, stream in self.inputs.items():
            if reading.stream == stream:
                self.latest[key] = reading
                if key == "surface" and isinstance(reading.value, int | float):
                    self._add_surface(reading.time, float(reading.value))

    def _add_surface(self, at: float, value: float) -> None:
        history = self.surface_history
        # Keep at most one value per 30 s: enough for a 10-minute grid, bounded memory.
        if history and at - history[-1][0] < 30:
            history[-1] = (history[-1][0], value)
            return
        history.append((at, value))
        while history and at - history[0][0] > (HISTORY_STEPS + 1) * STEP_S:
            history.popleft()

    def _number(self, key: str, now: float) -> float | None:
        reading = self.latest.get(key)
        if reading is None or now - reading.time > self.params["stale_after"]:
            return None
        return float(reading.value) if isinstance(reading.value, int | float) else None

    def _forecast(self, now: float, air: float | None, dew: float | None) -> list[float] | None:
        if air is None or dew is None or len(self.surface_history) < 2:
            return None
        times, values = zip(*self.surface_history, strict=True)
        if now - times[0] < HISTORY_STEPS * STEP_S:
            return None  # not two hours of history yet
        grid_times = [now - k * STEP_S for k in range(HISTORY_STEPS, -1, -1)]
        grid = resample(times, values, grid_times)
        hour = local_hour(now, self.params["utc_offset_h"])
        return [float(v) for v in self.model.predict(features(grid, air, dew, hour))]

    async def on_timer(self, now: float) -> None:
        """Assess, forecast, publish, and alert when the risk rises."""
        surface = self._number("surface", now)
        if surface is None:
            self.skipped_stale += 1
            return
        air = self._number("air", now)
        humidity = self._number("humidity", now)
        condition = self.latest.get("condition")
        dew = None
        if air is not None and humidity is not None and humidity > 0:
            dew = dew_point_c(air, min(humidity, 100.0))
        forecast = self._forecast(now, air, dew)
        conditions = Conditions(
            surface_c=surface,
            air_c=air,
            humidity_pct=humidity,
            freezing_c=self._number("freezing", now),
            water_film_mm=self._number("water_film", now),
            road_condition=str(condition.value)
            if condition is not None and now - condition.time <= self.params["stale_after"]
            else None,
            forecast_min_c=min(forecast) if forecast else None,
        )
        result = assess(conditions, self.thresholds)
        emit = self.ctx.emit
        if result.dew_point_c is not None and result.frost_point_c is not None:
            emit("dew_point", round(result.dew_point_c, 2), units.CELSIUS, at=now)
            emit("frost_point", round(result.frost_point_c, 2), units.CELSIUS, at=now)
        if result.margin_c is not None:
            emit("dew_margin", round(result.margin_c, 2), units.KELVIN, at=now)
        if forecast is not None:
            for minutes, value in zip(HORIZONS_MIN, forecast, strict=True):
                emit(f"forecast_{minutes}min", round(value, 2), units.CELSIUS, at=now)
        level, rose = self.latch.update(result.risk, now)
        emit("risk", int(level), units.NONE, at=now)
        self._alert(level, rose, result.reason, conditions)

    def _alert(self, level: Risk, rose: bool, reason: str, c: Conditions) -> None:
        data: dict[str, Any] = {"risk": level.label, "surface_c": c.surface_c}
        if rose and level >= self.alert_level:
            self.ctx.event(
                "icing-alert", f"{level.label} icing risk: {reason}", severity="alert", **data
            )
            if not self.alerting:
                self._switch(on=True)
            self.alerting = True
        elif self.alerting and level < self.alert_level:
            self.ctx.event("icing-clear", f"icing risk down to {level.label}", **data)
            self._switch(on=False)
            self.alerting = False

    def _switch(self, *, on: bool) -> None:
        name = self.params["alert_output"]
        if not name:
            return
        output = self.ctx.output(name)
        if on:
            output.on()
        else:
            output.off()

    async def on_stop(self) -> None:
        """Leave the alert output off."""
        if self.alerting:
            self._switch(on=False)
