"""Surface temperature forecast 30, 60 and 120 minutes ahead: a linear model over recent history.

The model sees the last two hours of surface temperature on a 10-minute grid, the air
temperature and dew point margin now, and the time of day, and predicts the change of the
surface temperature at each horizon. Its coefficients live in ``model/forecast.json`` (trained
by ``train_forecast.py``); its card, ``model/forecast.toml``, says what it was trained on and
how it compares with persistence and linear extrapolation on held-out data.

Pure numpy and pure functions: :func:`features` builds the input vector from a history,
:class:`ForecastModel` applies the coefficients.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt

STEP_S = 600.0
"""Grid step of the history, seconds."""
HISTORY_STEPS = 12
"""Grid steps of history the model sees (two hours)."""
HORIZONS_MIN = (30, 60, 120)
"""Forecast horizons, minutes."""
FEATURES = (
    *(f"surface_change_{(k + 1) * 10}min" for k in range(HISTORY_STEPS)),
    "surface_c",
    "air_minus_surface_k",
    "dew_margin_k",
    "hour_sin",
    "hour_cos",
    "bias",
)
"""Names of the model's inputs, in order."""


def features(
    surface_grid: Sequence[float],
    air_c: float,
    dew_point_c: float,
    local_hour: float,
) -> npt.NDArray[np.float64]:
    """The model input for one moment.

    Args:
        surface_grid: surface temperature (°C) at now - k * 10 min for k = HISTORY_STEPS..0,
            oldest first (HISTORY_STEPS + 1 values).
        air_c: air temperature now, °C.
        dew_point_c: dew point now, °C.
        local_hour: local time of day now, hours in [0, 24).
    """
    grid = np.asarray(surface_grid, dtype=np.float64)
    if grid.shape != (HISTORY_STEPS + 1,):
        raise ValueError(f"surface_grid needs {HISTORY_STEPS + 1} values, got {grid.shape}")
    now = grid[-1]
    changes = now - grid[-2::-1]  # change over the last 10, 20, ... minutes
    angle = 2 * math.pi * local_hour / 24
    rest = [now, air_c - now, now - dew_point_c, math.sin(angle), math.cos(angle), 1.0]
    return np.concatenate([changes, np.asarray(rest)])


@dataclass(frozen=True)
class ForecastModel:
    """Coefficients per horizon: ``prediction = surface_now + features @ coef[h]``."""

    coef: npt.NDArray[np.float64]
    """Shape (len(HORIZONS_MIN), len(FEATURES))."""

    @classmethod
    def load(cls, path: Path) -> ForecastModel:
        """Read ``forecast.json``; :class:`ValueError` names the file and what is wrong."""
        data = json.loads(path.read_text(encoding="utf-8"))
        if data.get("features") != list(FEATURES) or data.get("horizons_min") != list(HORIZONS_MIN):
            raise ValueError(
                f"{path}: the model was trained for other features or horizons; retrain it "
                "with train_forecast.py"
            )
        coef = np.asarray(data["coef"], dtype=np.float64)
        return cls(coef)

    def save(self, path: Path, **extra: object) -> None:
        """Write ``forecast.json`` with the feature names and horizons it expects."""
        data = {
            "features": list(FEATURES),
            "horizons_min": list(HORIZONS_MIN),
            "coef": [[round(float(v), 6) for v in row] for row in self.coef],
            **extra,
        }
        path.write_text(json.dumps(data, indent=1) + "\n", encoding="utf-8")

    def predict(self, x: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
        """Forecast surface temperatures (°C) at each horizon from one or many inputs."""
        surface_now = x[..., FEATURES.index("surface_c")]
        change: npt.NDArray[np.float64] = x @ self.coef.T
        return change + surface_now[..., None]


def fit(
    x: npt.NDArray[np.float64], future_change: npt.NDArray[np.float64], ridge: float = 1e-3
) -> ForecastModel:
    """Least squares with a small ridge penalty: ``future_change`` has one column per horizon."""
    gram = x.T @ x + ridge * len(x) * np.eye(x.shape[1])
    coef = np.linalg.solve(gram, x.T @ future_change).T
    return ForecastModel(coef)


def resample(times: Sequence[float], values: Sequence[float], at: Sequence[float]) -> list[float]:
    """The last value at or before each of ``at`` (times in s, ascending); NaN before the first."""
    t = np.asarray(times, dtype=np.float64)
    index = np.searchsorted(t, np.asarray(at, dtype=np.float64), side="right") - 1
    v = np.asarray(values, dtype=np.float64)
    out = np.where(index >= 0, v[np.clip(index, 0, None)], np.nan)
    return [float(value) for value in out]


__all__ = [
    "FEATURES",
    "HISTORY_STEPS",
    "HORIZONS_MIN",
    "STEP_S",
    "ForecastModel",
    "features",
    "fit",
    "resample",
]
