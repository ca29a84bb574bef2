"""Train the surface temperature forecast and write its coefficients and model card.

::

    python -m experiments.road_icing.train_forecast            # synthetic winters (default)
    python -m experiments.road_icing.train_forecast --days 240 --test-days 60

The training data are synthetic winters from :mod:`weather` (seeds 0..), the held-out data
winters from other seeds that the fit never sees. The card compares the model with persistence
(the surface stays as it is) and with linear extrapolation of the last 30 minutes, by mean
absolute error at each horizon and by how often each gets "will the surface be at or below
0 °C" right. Needs only numpy, which the runtime already has.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import numpy.typing as npt

from .forecast import HISTORY_STEPS, HORIZONS_MIN, STEP_S, ForecastModel, features, fit
from .icing import dew_point_c
from .weather import WeatherSeries, simulate

HERE = Path(__file__).parent
MODEL_JSON = HERE / "model" / "forecast.json"
MODEL_CARD = HERE / "model" / "forecast.toml"

Arrays = tuple[npt.NDArray[np.float64], npt.NDArray[np.float64], npt.NDArray[np.float64]]


def dataset(series: WeatherSeries) -> Arrays:
    """Inputs, future changes (one column per horizon) and surface now, every 10 minutes."""
    step = int(STEP_S // 60)
    first = HISTORY_STEPS * step
    last = len(series.time) - max(HORIZONS_MIN) - 1
    rows, targets, now_values = [], [], []
    for i in range(first, last, step):
        grid = series.surface_c[i - first : i + 1 : step]
        dew = dew_point_c(float(series.air_c[i]), float(series.humidity_pct[i]))
        rows.append(features(grid, float(series.air_c[i]), dew, float(series.local_hour[i])))
        targets.append([series.surface_c[i + h] - series.surface_c[i] for h in HORIZONS_MIN])
        now_values.append(series.surface_c[i])
    return np.asarray(rows), np.asarray(targets), np.asarray(now_values)


def _many(days: float, seeds: range) -> Arrays:
    parts = [dataset(simulate(days / len(seeds), seed)) for seed in seeds]
    return (
        np.concatenate([p[0] for p in parts]),
        np.concatenate([p[1] for p in parts]),
        np.concatenate([p[2] for p in parts]),
    )


def evaluate(model: ForecastModel, data: Arrays) -> dict[str, dict[str, float]]:
    """MAE (K) and freeze hit rate per horizon for the model and the two baselines."""
    x, change, now = data
    truth = now[:, None] + change
    predicted = model.predict(x)
    slope = x[:, 2] / 30.0  # change over the last 30 minutes, per minute
    linear = now[:, None] + slope[:, None] * np.asarray(HORIZONS_MIN)[None, :]
    persistence = np.repeat(now[:, None], len(HORIZONS_MIN), axis=1)
    out: dict[str, dict[str, float]] = {}
    for name, guess in (("model", predicted), ("persistence", persistence), ("linear", linear)):
        for j, h in enumerate(HORIZONS_MIN):
            freeze_right = np.mean((guess[:, j] <= 0) == (truth[:, j] <= 0))
            out.setdefault(name, {})[f"mae_{h}min_k"] = round(
                float(np.mean(np.abs(guess[:, j] - truth[:, j]))), 3
            )
            out[name][f"freeze_right_{h}min"] = round(float(freeze_right), 4)
    return out


def write_card(path: Path, scores: dict[str, dict[str, float]], train: int, test: int) -> None:
    """The model card: what, trained on what, how good against the baselines."""
    lines = [
        "# Model card: road-surface temperature forecast (written by train_forecast.py)",
        'name = "road-surface-forecast"',
        'kind = "linear regression over 2 h of history (numpy), ridge 1e-3"',
        f"horizons_min = {list(HORIZONS_MIN)}",
        f"inputs = {HISTORY_STEPS + 1 + 5}",
        "",
        "[training]",
        'data = "synthetic winters from experiments/road_icing/weather.py (energy-balance toy '
        'model: air, cloud cover, humidity, road surface)"',
        f"samples = {train}",
        'seeds = "0-11 for training; 100-103 held out"',
        "",
        "[held_out]",
        f"samples = {test}",
        'note = "winters from seeds the fit never saw; synthetic, so these figures say how the '
        "forecasters compare on the toy physics, not how well any of them does on a real road. "
        "Retrain on a winter of the lab's own traces before trusting it.\"",
    ]
    for name, values in scores.items():
        lines += ["", f"[held_out.{name}]"]
        lines += [f"{key} = {value}" for key, value in values.items()]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    """Train, evaluate and write the model files; prints progress and the scores."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--days", type=float, default=240, help="training days (default 240)")
    parser.add_argument("--test-days", type=float, default=60, help="held-out days (default 60)")
    parser.add_argument("--out", type=Path, default=MODEL_JSON, help="coefficients file")
    parser.add_argument("--card", type=Path, default=MODEL_CARD, help="model card file")
    args = parser.parse_args(argv)
    started = time.monotonic()
    print(f"generating {args.days:g} training days ...", file=sys.stderr)
    train = _many(args.days, range(12))
    print(f"generating {args.test_days:g} held-out days ...", file=sys.stderr)
    test = _many(args.test_days, range(100, 104))
    print(f"fitting on {len(train[0])} samples ...", file=sys.stderr)
    model = fit(train[0], train[1])
    scores = evaluate(model, test)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    model.save(args.out, trained_samples=len(train[0]))
    write_card(args.card, scores, len(train[0]), len(test[0]))
    for name, values in scores.items():
        print(f"{name:<12} " + "  ".join(f"{k}={v}" for k, v in values.items()))
    print(f"wrote {args.out} and {args.card} in {time.monotonic() - started:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
