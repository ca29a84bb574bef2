"""Road-icing risk from surface and air measurements: Magnus formula and an explainable rule set.

Everything here is a pure function of its inputs (no clock, no I/O), so each rule can be
checked by hand and tested with cases as data.

Dew and frost point use the Magnus formula with the coefficients of Sonntag (1990), as the WMO
guide recommends: over water a = 17.62, b = 243.12 °C; over ice a = 22.46, b = 272.62 °C
(valid from -45 to 60 °C over water, -65 to 0 °C over ice, errors below 0.35 K).

Risk classes, highest first; the first rule that holds decides, and its reason is reported:

=============  ============================================================================
ice observed   the road sensor reports ice, snow, frost or a frozen surface
high           ice: a wet surface (water film at least ``wet_film_mm`` or a wet/moist
               condition) at or below the freezing temperature (0 °C unless the sensor
               measures the freezing temperature of the brine)
high           frost: a surface at or below 0 °C and at or below the dew point, so water
               vapour condenses on it and freezes
moderate       the surface is at or below 0 °C and within ``margin_c`` of the dew point
moderate       the forecast surface temperature reaches 0 °C and the dew point margin is
               within ``margin_c``
low            the surface is at or below ``watch_c`` (cold enough to watch), or the forecast
               reaches 0 °C
none           otherwise
=============  ============================================================================
"""

from __future__ import annotations

import enum
import math
from dataclasses import dataclass

WATER = (17.62, 243.12)
"""Magnus coefficients (a, b in °C) over liquid water."""
ICE = (22.46, 272.62)
"""Magnus coefficients (a, b in °C) over ice."""
E0_HPA = 6.112
"""Saturation vapour pressure at 0 °C, hPa."""

ICE_CONDITIONS = frozenset(
    {"ice", "snow", "frost", "frozen", "snow_or_slush", "icy", "black_ice", "ice_observed"}
)
"""Road-condition codes (as drivers/serial/irs31 names them) that mean ice is on the road."""
WET_CONDITIONS = frozenset(
    {"wet", "moist", "moist_with_salt", "wet_with_salt", "moist_or_wet_or_covered", "extremely_wet"}
)
"""Road-condition codes that mean water is on the road."""


class Risk(enum.IntEnum):
    """Risk classes, ordered so that a higher value is a higher risk."""

    NONE = 0
    LOW = 1
    MODERATE = 2
    HIGH = 3
    ICE_OBSERVED = 4

    @property
    def label(self) -> str:
        """``ice observed``, ``high``, ... as people read them."""
        return self.name.lower().replace("_", " ")


def saturation_vapour_pressure_hpa(temperature_c: float, *, over_ice: bool = False) -> float:
    """Saturation vapour pressure (hPa) over water or ice at ``temperature_c`` (°C)."""
    a, b = ICE if over_ice else WATER
    return E0_HPA * math.exp(a * temperature_c / (b + temperature_c))


def _inverse(vapour_hpa: float, coefficients: tuple[float, float]) -> float:
    a, b = coefficients
    gamma = math.log(vapour_hpa / E0_HPA)
    return b * gamma / (a - gamma)


def dew_point_c(air_c: float, humidity_pct: float) -> float:
    """Dew point (°C) of air at ``air_c`` (°C) and relative humidity ``humidity_pct`` (%)."""
    if not 0 < humidity_pct <= 100:
        raise ValueError(f"relative humidity must be in (0, 100] %, got {humidity_pct}")
    vapour = saturation_vapour_pressure_hpa(air_c) * humidity_pct / 100
    return _inverse(vapour, WATER)


def frost_point_c(air_c: float, humidity_pct: float) -> float:
    """Frost point (°C): where the air's vapour saturates over ice (above the dew point below 0)."""
    if not 0 < humidity_pct <= 100:
        raise ValueError(f"relative humidity must be in (0, 100] %, got {humidity_pct}")
    vapour = saturation_vapour_pressure_hpa(air_c) * humidity_pct / 100
    return _inverse(vapour, ICE)


@dataclass(frozen=True)
class Conditions:
    """What is known about the road now; ``None`` where no sensor says it.

    Attributes:
        surface_c: road surface temperature, °C.
        air_c: air temperature, °C.
        humidity_pct: relative humidity of the air, %.
        freezing_c: freezing temperature of the water on the road (brine), °C.
        water_film_mm: water film height, mm.
        road_condition: the road sensor's condition code (``wet``, ``ice`` ...).
        forecast_min_c: the lowest forecast surface temperature of the next hours, °C.
    """

    surface_c: float
    air_c: float | None = None
    humidity_pct: float | None = None
    freezing_c: float | None = None
    water_film_mm: float | None = None
    road_condition: str | None = None
    forecast_min_c: float | None = None


@dataclass(frozen=True)
class Assessment:
    """The risk class, the rule that decided it, and the figures behind it."""

    risk: Risk
    reason: str
    dew_point_c: float | None
    frost_point_c: float | None
    margin_c: float | None
    """Surface temperature minus dew point, K: at or below 0 water condenses on the road."""


@dataclass(frozen=True)
class Thresholds:
    """The rule set's tunable limits (parameters of the experiment).

    Attributes:
        margin_c: dew point margin, K, below which a freezing surface is a moderate risk.
        watch_c: surface temperature, °C, at or below which the risk is at least low.
        wet_film_mm: water film, mm, from which the surface counts as wet.
    """

    margin_c: float = 1.0
    watch_c: float = 3.0
    wet_film_mm: float = 0.05


def _is_wet(c: Conditions, limits: Thresholds) -> bool:
    if c.water_film_mm is not None and c.water_film_mm >= limits.wet_film_mm:
        return True
    return c.road_condition in WET_CONDITIONS


def assess(c: Conditions, limits: Thresholds = Thresholds()) -> Assessment:
    """Apply the rule set of the module docstring to ``c``."""
    dew = frost = margin = None
    if c.air_c is not None and c.humidity_pct is not None and c.humidity_pct > 0:
        dew = dew_point_c(c.air_c, min(c.humidity_pct, 100.0))
        frost = frost_point_c(c.air_c, min(c.humidity_pct, 100.0))
        margin = c.surface_c - dew

    def result(risk: Risk, reason: str) -> Assessment:
        return Assessment(risk, reason, dew, frost, margin)

    s = c.surface_c
    if c.road_condition in ICE_CONDITIONS:
        return result(Risk.ICE_OBSERVED, f"the road sensor reports {c.road_condition}")
    freezing = c.freezing_c if c.freezing_c is not None else 0.0
    if _is_wet(c, limits) and s <= freezing:
        return result(
            Risk.HIGH,
            f"ice: wet surface at {s:.1f} °C, at or below its freezing temperature "
            f"{freezing:.1f} °C",
        )
    if margin is not None and dew is not None and s <= 0 and margin <= 0:
        return result(
            Risk.HIGH,
            f"frost: surface {s:.1f} °C is at or below the dew point {dew:.1f} °C and 0 °C",
        )
    if margin is not None and s <= 0 and margin <= limits.margin_c:
        return result(
            Risk.MODERATE,
            f"surface {s:.1f} °C is freezing and only {margin:.1f} K above the dew point",
        )
    forecast_freezes = c.forecast_min_c is not None and c.forecast_min_c <= 0
    if forecast_freezes and margin is not None and margin <= limits.margin_c:
        return result(
            Risk.MODERATE,
            f"surface forecast to reach {c.forecast_min_c:.1f} °C with the dew point "
            f"{margin:.1f} K below the surface",
        )
    if s <= limits.watch_c:
        return result(Risk.LOW, f"surface {s:.1f} °C is at or below {limits.watch_c:.1f} °C")
    if forecast_freezes:
        return result(Risk.LOW, f"surface forecast to reach {c.forecast_min_c:.1f} °C")
    return result(Risk.NONE, f"surface {s:.1f} °C is above {limits.watch_c:.1f} °C")


class RiskLatch:
    """Hysteresis for the reported risk: it rises at once and falls only after ``hold_s``.

    A falling risk must stay lower for ``hold_s`` seconds (and it then falls to the highest
    level seen during that time), so a value hovering around a threshold does not flap.
    """

    def __init__(self, hold_s: float) -> None:
        self.hold_s = hold_s
        self.level = Risk.NONE
        self._lower_since: float | None = None
        self._lower_max = Risk.NONE

    def update(self, risk: Risk, now: float) -> tuple[Risk, bool]:
        """Feed the current risk at ``now`` (s); returns the reported level and if it rose."""
        if risk >= self.level:
            rose = risk > self.level
            self.level = risk
            self._lower_since = None
            return self.level, rose
        if self._lower_since is None:
            self._lower_since, self._lower_max = now, risk
        else:
            self._lower_max = max(self._lower_max, risk)
        if now - self._lower_since >= self.hold_s:
            self.level = self._lower_max
            self._lower_since = None
        return self.level, False


__all__ = [
    "Assessment",
    "Conditions",
    "Risk",
    "RiskLatch",
    "Thresholds",
    "assess",
    "dew_point_c",
    "frost_point_c",
    "saturation_vapour_pressure_hpa",
]
