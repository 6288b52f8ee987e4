"""Rolling-origin evaluation of daily forecasters: MAPE, MASE and conformal interval coverage.

Each fold trains on the days before an origin and forecasts the next ``horizon_days``
(Tashman 2000, "Out-of-sample tests of forecasting accuracy"). MASE divides the mean
absolute error by the training window's mean absolute weekly-seasonal difference
(Hyndman & Koehler 2006), so MASE < 1 beats an in-sample seasonal naive forecast.
Coverage is cross-conformal: the interval for fold k is calibrated on the scores of the
other folds only (Vovk 2015, "Cross-conformal predictors"), so no point judges itself, and
of those only on folds whose test windows do not overlap fold k's where any such fold exists
(purged, as in de Prado's purged k-fold cross-validation, *Advances in Financial Machine
Learning*, 2018, ch. 7): a fold that shares its test days shares their errors too.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from concurrent.futures import Executor, ThreadPoolExecutor
from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd

from capplan.models.baselines import seasonal_naive_scale
from capplan.models.conformal import ConformalCalibration, calibrate, scale_floor, scaled_errors

Tail = Literal["lower", "upper", "both"]
"""What a calibration holds: one bound's tail, or the band as a whole."""
MAX_LEVEL = 0.95
"""The widest level :func:`honest_level` searches: each bound at most the 97.5th percentile of the
held-out scores. Where widening cannot bring one tail's misses down (a fold's forecast far off), a
higher level only reached for a bucket's largest scores; with one day's spike of 50 times the level
among them, the P90 of a whole horizon bucket was 50 times the level (benchmarks/README.md, 2026-12-08)."""
PointForecaster = Callable[[pd.Series, int], np.ndarray]
"""(daily training series, possibly with NaN gaps; horizon in days) → point forecast array."""


@dataclass(frozen=True)
class FoldForecast:
    """One model's held-out forecast for one fold (arrays aligned by horizon day, 1-based), trained
    on the ``train_days`` days before ``origin``."""

    origin: pd.Timestamp
    actual: np.ndarray
    predicted: np.ndarray
    horizon_days: np.ndarray
    mase_scale: float
    floor: float
    train_days: int


@dataclass(frozen=True)
class ModelScore:
    """Accuracy of one model over all folds: MAPE in %, MASE (unitless), coverage as a fraction."""

    model: str
    mape_pct: float
    mase: float
    coverage: float
    points: int


@dataclass(frozen=True)
class BacktestResult:
    """Scores of every model at one horizon, the winner by MASE and each model's fold forecasts."""

    horizon_days: int
    interval: float
    origins: tuple[pd.Timestamp, ...]
    scores: tuple[ModelScore, ...]
    folds: Mapping[str, tuple[FoldForecast, ...]]

    @property
    def winner(self) -> str:
        """The model with the lowest MASE."""
        return min(self.scores, key=lambda s: s.mase).model

    def score(self, model: str) -> ModelScore:
        """The :class:`ModelScore` of ``model``."""
        return next(s for s in self.scores if s.model == model)

    def calibration(self, model: str, interval: float | None = None) -> ConformalCalibration:
        """Conformal calibration from every fold of ``model`` (at ``interval``, default the backtest's)."""
        return fold_calibration(self.folds[model], interval or self.interval)


def fold_calibration(folds: tuple[FoldForecast, ...], interval: float) -> ConformalCalibration:
    """Conformal calibration at ``interval`` from the held-out errors of every fold in ``folds``."""
    return calibrate(*_pooled_scores(folds), interval)


def rolling_origins(
    n_days: int, horizon_days: int, folds: int, min_train_days: int, spacing_days: int | None = None
) -> list[int]:
    """Origin positions (number of training days) for ``folds`` evaluations ending at the series end.

    Origins walk back from ``n − horizon``, ``min(spacing, (n − horizon − min_train) / (folds − 1))``
    apart, never leaving fewer than ``min_train_days`` to train on. ``spacing_days`` defaults to
    ``max(horizon/2, 7)`` (overlapping test windows, recent behaviour weighs most); a spacing of
    one horizon makes the test windows disjoint.
    """
    last = n_days - horizon_days
    if last < min_train_days:
        return []
    if folds <= 1:
        return [last]
    room = last - min_train_days
    spacing = spacing_days if spacing_days is not None else max(horizon_days // 2, 7)
    step = max(1, min(room // (folds - 1), spacing))
    origins = [last - k * step for k in range(folds)]
    return sorted(o for o in origins if o >= min_train_days)


def backtest(
    series: pd.Series,
    forecasters: Mapping[str, PointForecaster],
    horizon_days: int,
    origins: list[int],
    interval: float = 0.8,
    threads: int = 1,
    executor: Executor | None = None,
) -> BacktestResult:
    """Evaluate each forecaster on every origin of a daily ``series`` (NaN = missing day).

    Fold fits run on ``executor`` when given (e.g. a process pool: forecasters must then be
    picklable), else on ``threads`` threads; the result does not depend on either.
    """
    tasks = [(name, origin) for origin in origins for name in forecasters]
    arguments = [(series, forecasters[name], origin, horizon_days) for name, origin in tasks]
    if executor is not None:
        results = list(executor.map(_fold_task, arguments))
    elif threads > 1 and len(tasks) > 1:
        # Prophet spends part of each fit in a CmdStan child process, so threads overlap somewhat.
        with ThreadPoolExecutor(max_workers=threads) as pool:
            results = list(pool.map(_fold_task, arguments))
    else:
        results = [_fold_task(a) for a in arguments]
    folds: dict[str, list[FoldForecast]] = {name: [] for name in forecasters}
    for (name, _), result in zip(tasks, results):
        folds[name].append(result)
    scores = tuple(score_folds(name, tuple(items), interval) for name, items in folds.items())
    return BacktestResult(horizon_days, interval, tuple(series.index[o] for o in origins), scores,
                          {name: tuple(items) for name, items in folds.items()})


def _fold_task(arguments: tuple[pd.Series, PointForecaster, int, int]) -> FoldForecast:
    series, forecaster, origin, horizon_days = arguments
    train = series.iloc[:origin]
    actual = series.iloc[origin:origin + horizon_days].to_numpy(dtype=float)
    filled = train.interpolate(limit_direction="both").to_numpy(dtype=float)
    level = max(float(np.mean(np.abs(filled))), 1e-9)
    scale = seasonal_naive_scale(filled)
    # A perfectly periodic training window leaves MASE undefined: fall back to the mean level.
    scale = scale if scale > 1e-9 * level else level
    floor = scale_floor(level)
    predicted = np.asarray(forecaster(train, horizon_days), dtype=float)[: len(actual)]
    return FoldForecast(series.index[origin], actual, predicted, np.arange(1, len(actual) + 1), scale, floor, origin)


def purged_folds(folds: tuple[FoldForecast, ...], k: int) -> tuple[FoldForecast, ...]:
    """The folds that calibrate fold ``k``'s interval: every other fold whose test window does not
    overlap fold ``k``'s, or, when each one overlaps it (a short history), every other fold."""
    others = folds[:k] + folds[k + 1:]
    apart = tuple(f for f in others if not _overlap(f, folds[k]))
    return apart or others


def _overlap(a: FoldForecast, b: FoldForecast) -> bool:
    first, second = (a, b) if a.origin <= b.origin else (b, a)
    return second.origin < first.origin + pd.Timedelta(days=len(first.actual))


def cross_conformal_rates(folds: tuple[FoldForecast, ...], interval: float) -> tuple[float, float, float]:
    """(share inside, share below the lower bound, share above the upper bound) of held-out days,
    each fold's interval at ``interval`` calibrated on :func:`purged_folds` (nan with a single fold)."""
    inside = below = above = points = 0
    for k, fold in enumerate(folds):
        others = purged_folds(folds, k)
        if not others:
            continue
        seen = np.isfinite(fold.actual)
        low, high = calibrate(*_pooled_scores(others), interval).bounds(fold.predicted, fold.horizon_days, fold.floor)
        inside += int(np.sum((fold.actual >= low) & (fold.actual <= high) & seen))
        below += int(np.sum((fold.actual < low) & seen))
        above += int(np.sum((fold.actual > high) & seen))
        points += int(seen.sum())
    return (inside / points, below / points, above / points) if points else (float("nan"),) * 3


def honest_level(folds: tuple[FoldForecast, ...], interval: float, tail: Tail) -> float:
    """The nominal level ≥ ``interval`` whose ``tail`` comes nearest to holding exactly on the held-out folds.

    Conformal intervals assume exchangeable errors; errors of later folds of a drifting series
    are larger than those of earlier ones, and the band under-covers, often on one side only (a
    rise extrapolated too far puts the actual days below the band). The held-out folds say by
    how much: widen the level until, fold by fold, the band calibrated on the other folds leaves
    (1 − interval)/2 of the days beyond its ``tail`` bound ("lower" or "upper"), or (``"both"``)
    holds ``interval`` of them. The levels step by 0.01 and the rates jump between them: the
    level whose rate lies nearest the target is taken (the first one at or past it was a biased
    choice, wider on average than the folds asked for). The search ends at :data:`MAX_LEVEL`.
    """
    miss = (1.0 - interval) / 2.0
    best, gap = interval, math.inf
    for level in np.arange(interval, MAX_LEVEL + 0.005, 0.01):
        inside, below, above = cross_conformal_rates(folds, float(level))
        if not np.isfinite(below):
            return interval
        excess = {"lower": below - miss, "upper": above - miss, "both": interval - inside}[tail]
        if abs(excess) < gap - 1e-12:
            best, gap = float(level), abs(excess)
        if excess <= 1e-12:
            return best
    return best


def bound_levels(folds: tuple[FoldForecast, ...], interval: float) -> tuple[float, float]:
    """Conformal levels of an interval's lower and upper bound (:func:`honest_level`): each the
    larger of the band's level and that bound's own tail's. The whole band can hold while one
    side misses often (a rise extrapolated too far puts the actual days below it); a side can
    hold while the band does not."""
    both = honest_level(folds, interval, "both")
    return max(both, honest_level(folds, interval, "lower")), max(both, honest_level(folds, interval, "upper"))


def _pooled_scores(folds: tuple[FoldForecast, ...]) -> tuple[np.ndarray, np.ndarray]:
    scores = [scaled_errors(f.actual, f.predicted, f.floor) for f in folds]
    horizons = [f.horizon_days for f in folds]
    return np.concatenate(scores), np.concatenate(horizons)


def score_folds(model: str, folds: tuple[FoldForecast, ...], interval: float) -> ModelScore:
    """MAPE, mean MASE and cross-conformal coverage of ``model`` over its held-out ``folds``."""
    abs_pct, mase_terms, covered, points = [], [], 0, 0
    for k, fold in enumerate(folds):
        seen = np.isfinite(fold.actual)
        errors = np.abs(fold.actual - fold.predicted)[seen]
        nonzero = fold.actual[seen] != 0
        abs_pct.extend((errors[nonzero] / np.abs(fold.actual[seen][nonzero])).tolist())
        mase_terms.append(float(np.mean(errors)) / fold.mase_scale if errors.size else np.nan)
        others = purged_folds(folds, k)
        if others:
            low, high = calibrate(*_pooled_scores(others), interval).bounds(fold.predicted, fold.horizon_days,
                                                                            fold.floor)
            covered += int(np.sum((fold.actual >= low) & (fold.actual <= high) & seen))
            points += int(seen.sum())
    coverage = covered / points if points else float("nan")
    return ModelScore(model, 100.0 * float(np.mean(abs_pct)) if abs_pct else float("nan"),
                      float(np.nanmean(mase_terms)), coverage, points)
