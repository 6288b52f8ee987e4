"""Forecast accuracy on every reference traffic series, judged as ../shared/reference/README.md says.

Run: ``.venv/bin/python benchmarks/bench_forecast_accuracy.py [--quick] [--history-days N] [--json out.json]``.
Reads ``../shared/reference/traffic/`` in place (never copied into the repo).

Each series becomes its daily peaks (capplan.store.history, as the CLI reads it), is cut at
several dates and forecast for the horizon a planner would ask for: 90 and 365 days for years
of daily data, 14 days for weeks of 5-minute data. Series too short for a 28-day history plus a
horizon are listed as skipped. Everything is fitted on the days before the cut only;
``--history-days N`` keeps only the last N of them, on the series of two years or more (e.g. 548:
how the default does on 18 months of history, where the better seasonal naive already holds the
same weekday a year earlier).

Per fold, the MAE of each forecaster's point forecast is divided by the MAE of the better of
two seasonal naive forecasts on the same held-out days (the last week repeated; the same
weekday 364 days earlier, when the history reaches that far). Per series, the geometric mean
of its folds' ratios; across series, the geometric mean of those. Coverage of the nominal 80 %
interval and the share of days above P90 are pooled over every held-out day.

Forecasters, side by side on the same folds: capplan's default (``auto``), bare Prophet with
its defaults (its own 80 % interval, P90 = its upper bound), and each candidate of the
default's backtest (its point forecast refitted on the whole training window, its interval
calibrated by the same backtest, widened the same way, capplan.models.backtest.bound_levels). Seconds are wall-clock per fit (shared 2-core machine:
noisy).
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from capplan.app.forecasting import fold_pool  # noqa: E402
from capplan.models.backtest import bound_levels, honest_level  # noqa: E402
from capplan.models.conformal import scale_floor  # noqa: E402
from capplan.models.forecast import DemandForecaster, ForecastSettings  # noqa: E402
from capplan.store.history import read_history  # noqa: E402

TRAFFIC = ROOT.parent / "shared" / "reference" / "traffic"
CUTS = 3
MIN_TRAIN_DAYS = 28


def folds_of(n_days: int, quick: bool) -> list[tuple[int, int]]:
    """(cut position, horizon days) pairs: disjoint test windows walking back from the end."""
    horizons = (365,) if quick else (90, 365)
    if n_days < 730:
        horizons = (14,)
    pairs = []
    for horizon in horizons:
        step = horizon if n_days >= 730 + 3 * horizon else max(7, horizon // 2)
        for k in range(1 if quick else CUTS):
            cut = n_days - horizon - k * step
            if cut >= (MIN_TRAIN_DAYS if n_days < 730 else 365):
                pairs.append((cut, horizon))
    return pairs


def naive_mae(train: np.ndarray, test: np.ndarray) -> float:
    """MAE of the better of the weekly and the 364-day seasonal naive (README definition)."""
    filled = pd.Series(train).interpolate(limit_direction="both").to_numpy()
    seen = np.isfinite(test)
    weekly = np.resize(filled[-7:], len(test))
    best = float(np.mean(np.abs(weekly - test)[seen]))
    if len(filled) >= 364:
        yearly = np.resize(filled[-364:], len(test))
        best = min(best, float(np.mean(np.abs(yearly - test)[seen])))
    return best


def bare_prophet(train: pd.Series, horizon: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Prophet() with its defaults on the observed days: yhat, yhat_lower, yhat_upper (80 %)."""
    from prophet import Prophet

    observed = train.dropna()
    model = Prophet().fit(pd.DataFrame({"ds": observed.index, "y": observed.to_numpy()}))
    future = pd.DataFrame({"ds": pd.date_range(train.index[-1] + pd.Timedelta(days=1), periods=horizon)})
    out = model.predict(future)
    return out["yhat"].to_numpy(), out["yhat_lower"].to_numpy(), out["yhat_upper"].to_numpy()


class Tally:
    """Per forecaster: per-series fold ratios, pooled coverage counts, seconds."""

    def __init__(self) -> None:
        self.ratios: dict[str, dict[str, list[float]]] = {}
        self.inside: dict[str, list[int]] = {}
        self.seconds: dict[str, list[float]] = {}

    def add(self, name: str, series: str, test: np.ndarray, bands: tuple, naive: float, seconds: float) -> None:
        yhat, low, high, p90 = (np.asarray(b, dtype=float) for b in bands)
        seen = np.isfinite(test)
        mae = float(np.mean(np.abs(yhat - test)[seen]))
        self.ratios.setdefault(name, {}).setdefault(series, []).append(mae / naive)
        counts = self.inside.setdefault(name, [0, 0, 0])
        counts[0] += int(np.sum(((test >= low) & (test <= high))[seen]))
        counts[1] += int(np.sum((test > p90)[seen]))
        counts[2] += int(seen.sum())
        self.seconds.setdefault(name, []).append(seconds)

    def series_ratio(self, name: str, series: str) -> float:
        values = self.ratios.get(name, {}).get(series)
        return float(np.exp(np.mean(np.log(values)))) if values else float("nan")

    def summary(self, name: str) -> dict[str, float]:
        per_series = [self.series_ratio(name, s) for s in self.ratios[name]]
        inside, above, days = self.inside[name]
        return {"geo_mean": float(np.exp(np.mean(np.log(per_series)))), "worst": float(max(per_series)),
                "coverage80": inside / days, "above_p90": above / days,
                "mean_s": float(np.mean(self.seconds[name]))}


def run_fold(tally: Tally, history, series: str, cut: int, horizon: int, pool, history_days: int = 0) -> str:
    """Fit every forecaster on the days before ``cut`` (the last ``history_days`` of them, if given)
    and score it on the next ``horizon``."""
    daily = history.daily
    first = max(0, cut - history_days) if history_days else 0
    train, test = daily.iloc[first:cut], daily.iloc[cut:cut + horizon].to_numpy(dtype=float)
    naive = naive_mae(train.to_numpy(dtype=float), test)
    start = time.perf_counter()
    forecaster = DemandForecaster(ForecastSettings(horizon_days=horizon)).fit(replace(history, daily=train), pool)
    frame = forecaster.predict(horizon).frame
    tally.add("capplan", series, test, (frame.yhat, frame.yhat_lower, frame.yhat_upper, frame.yhat_p90), naive,
              time.perf_counter() - start)
    start = time.perf_counter()
    yhat, low, high = bare_prophet(train, horizon)
    tally.add("bare_prophet", series, test, (yhat, low, high, high), naive, time.perf_counter() - start)
    candidates = forecaster.candidates(len(forecaster.daily_))
    points = {}
    for name, point in candidates.items():
        start = time.perf_counter()
        points[name] = np.maximum(np.asarray(point(train.loc[forecaster.daily_.index[0]:], horizon)), 0.0)
        _add_candidate(tally, forecaster, name, points[name], series, test, naive, time.perf_counter() - start)
    return forecaster.model_


def _add_candidate(tally, forecaster, name, yhat, series, test, naive, seconds) -> None:
    steps = np.arange(1, len(yhat) + 1)
    floor = scale_floor(float(np.nanmean(forecaster.daily_.to_numpy())))
    folds = forecaster.backtest_.folds[name]
    lower, upper = bound_levels(folds, 0.8)
    low = forecaster.backtest_.calibration(name, lower).bounds(yhat, steps, floor)[0]
    high = forecaster.backtest_.calibration(name, upper).bounds(yhat, steps, floor)[1]
    p90 = forecaster.backtest_.calibration(name, honest_level(folds, 0.8, "upper")).bounds(yhat, steps, floor)[1]
    tally.add(name, series, test, (yhat, low, high, p90), naive, seconds)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="one cut, 365-day horizon only")
    parser.add_argument("--history-days", type=int, default=0,
                        help="train on only the last N days before each cut (series of two years or more)")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args()
    if args.history_days < 0:
        parser.error(f"--history-days must be 0 (all) or a number of days, got {args.history_days}")
    logging.getLogger("cmdstanpy").disabled = True
    if not TRAFFIC.is_dir():
        sys.exit(f"reference data not found at {TRAFFIC}")
    tally, chosen = Tally(), {}
    with fold_pool() as pool:
        for path in sorted(TRAFFIC.glob("*.csv")):
            history = read_history(path)
            if args.history_days and len(history.daily) < 730:
                continue
            pairs = folds_of(len(history.daily), args.quick)
            if not pairs:
                print(f"skipped {path.stem}: {len(history.daily)} daily peaks, too short for "
                      f"{MIN_TRAIN_DAYS} days of history and a horizon", flush=True)
                continue
            for cut, horizon in pairs:
                model = run_fold(tally, history, path.stem, cut, horizon, pool, args.history_days)
                chosen.setdefault(path.stem, []).append(f"{horizon}d:{model}")
                print(f"{path.stem[:44]:<44} cut {history.daily.index[cut].date()} h={horizon:>3}d "
                      f"capplan {tally.ratios['capplan'][path.stem][-1]:.3f} "
                      f"prophet {tally.ratios['bare_prophet'][path.stem][-1]:.3f} chose {model}", flush=True)
    print_table(tally, chosen)
    if args.json:
        args.json.write_text(json.dumps({n: tally.summary(n) for n in tally.ratios}, indent=1))


def print_table(tally: Tally, chosen: dict[str, list[str]]) -> None:
    names = list(tally.ratios)
    series = list(tally.ratios["capplan"])
    print("\nMAE ratio to the better seasonal naive (geometric mean over each series' folds)")
    print(f"{'series':<46}" + "".join(f"{n[:12]:>13}" for n in names))
    for s in series:
        print(f"{s[:45]:<46}" + "".join(f"{tally.series_ratio(n, s):13.3f}" for n in names))
    for key, label in (("geo_mean", "geometric mean"), ("worst", "worst series"), ("coverage80", "80% coverage"),
                       ("above_p90", "share above P90"), ("mean_s", "seconds per fit")):
        print(f"{label:<46}" + "".join(f"{tally.summary(n)[key]:13.3f}" for n in names))
    ours, prophet = tally.summary("capplan")["geo_mean"], tally.summary("bare_prophet")["geo_mean"]
    print(f"\ncapplan geo-mean is {1 - ours / prophet:.0%} below bare Prophet's")
    for s, models in chosen.items():
        print(f"chosen on {s}: {', '.join(models)}")


if __name__ == "__main__":
    main()
