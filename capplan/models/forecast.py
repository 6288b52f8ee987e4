"""The demand forecaster: the backtest's choice among candidates, with conformally calibrated intervals.

``DemandForecaster(settings).fit(history).predict(horizon_days) -> Forecast``. ``fit`` learns from
the history's usable days (capplan.models.usable_days: not before a launch, not outages, not
spikes of a few days) and runs a few rolling-origin folds (capplan.models.backtest) at the
horizon asked for. With the
default ``model="auto"`` every candidate — seasonal naive and the seasonal median (weekly; the
yearly naive, plain and scaled by the recent year-over-year ratio, once the latest fold trains
on a full year), AutoETS, Theta, MSTL (capplan.models.statistical), Prophet — is scored on those
folds, and the best alone or the mean of every candidate close to it is chosen
(capplan.models.selection); a named model is forced (``prophet`` is the bare Prophet path). The held-out errors of the
choice calibrate a split-conformal interval per horizon bucket (capplan.models.conformal): of
the forced model, or for ``auto`` of each fold forecast by what the other folds would have
chosen (capplan.models.selection.selection_folds: the winner's own errors are small by
selection), each bound at the level where both the band and its own tail came nearest their
shares on those folds (capplan.models.backtest.bound_levels); the chosen model (or the combination's
members) is then refitted on the whole history. Forecasts are never negative; custom events
with an expected uplift multiply their future days. Everything here is pure: no files, no
clock, no printing.
"""

from __future__ import annotations

import functools
from concurrent.futures import Executor, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Self

import numpy as np
import pandas as pd

from capplan.errors import ConfigError, InputDataError, NotFittedError
from capplan.models.backtest import (
    BacktestResult,
    FoldForecast,
    ModelScore,
    PointForecaster,
    backtest,
    bound_levels,
    fold_calibration,
    honest_level,
    rolling_origins,
)
from capplan.models.baselines import BASELINES
from capplan.models.conformal import scale_floor
from capplan.models.prophet_model import (
    Event,
    ProphetSettings,
    fit_prophet,
    predict_prophet,
    prophet_forecast,
)
from capplan.models.selection import Selection, select, selection_folds
from capplan.models.statistical import (
    YEAR_DAYS,
    ets_forecast,
    mstl_forecast,
    seasonal_median,
    seasonal_naive_yearly,
    theta_forecast,
    yearly_scaled,
)
from capplan.models.usable_days import usable_days

MIN_HISTORY_DAYS = 28
"""Four weeks: enough to see weekly seasonality and hold some days out for calibration."""
STATISTICAL = {"seasonal_naive_yearly": seasonal_naive_yearly, "seasonal_median": seasonal_median,
               "yearly_scaled": yearly_scaled, "ets": ets_forecast, "theta": theta_forecast,
               "mstl": mstl_forecast}
"""statsforecast models and the yearly naive (capplan.models.statistical)."""
MODELS = ("prophet", *BASELINES, *STATISTICAL)
AUTO_CANDIDATES = ("seasonal_naive", "seasonal_median", "ets", "theta", "mstl", "prophet")
"""What ``auto`` compares (plus :data:`YEARLY_CANDIDATES` once the latest calibration fold trains on a
full year); ``combo``, the mean of the closest, is chosen from them."""
YEARLY_CANDIDATES = ("seasonal_naive_yearly", "yearly_scaled")
"""The yearly naive and the yearly naive scaled by the recent year-over-year ratio."""
P90_INTERVAL = 0.8
"""The upper bound of a central 80 % interval is the 90th percentile (the budget's P90)."""


@dataclass(frozen=True)
class ForecastSettings:
    """Forecaster hyper-parameters.

    ``interval`` nominal central coverage (0.8); ``model`` one of :data:`MODELS` or ``"auto"``
    (chosen by the calibration backtest, capplan.models.selection); ``horizon_days`` the horizon calibrated for;
    ``calibration_folds`` rolling origins used to calibrate; ``threads`` concurrent fits;
    ``prophet`` Prophet's settings.
    """

    interval: float = 0.8
    model: str = "auto"
    horizon_days: int = 180
    calibration_folds: int = 6
    """Six origins: on the accuracy benchmark four left the 80 % band at 0.748 and the choice noisier
    (benchmarks/README.md, 2026-12-05)."""
    threads: int = 2
    prophet: ProphetSettings = field(default_factory=ProphetSettings)


@dataclass(frozen=True, eq=False)
class Forecast:
    """A daily forecast of the planning series.

    ``frame`` has ``ds, yhat, yhat_lower, yhat_upper, yhat_p90`` (one row per future day,
    planning-series units); ``peak_rps_per_unit`` turns those into peak req/s;
    ``candidates`` the calibration backtest scores (empty for what-if forecasts), ``weights``
    the chosen model's members and weights, ``reason`` why it was chosen, ``backtest_horizon_days``
    and ``backtest_folds`` the backtest that decided.
    """

    frame: pd.DataFrame
    interval: float
    model: str
    unit: str
    peak_rps_per_unit: float
    history: pd.Series
    name: str = "forecast"
    resolution: str = "daily"
    interval_method: str = "conformal"
    candidates: tuple[ModelScore, ...] = ()
    warnings: tuple[str, ...] = ()
    weights: tuple[tuple[str, float], ...] = ()
    reason: str = ""
    backtest_horizon_days: int = 0
    backtest_folds: int = 0
    calibrated_levels: tuple[float, float, float] = (0.0, 0.0, 0.0)
    """Conformal levels (≥ nominal) at which each bound's misses came nearest their share on the
    backtest's folds: the interval's lower bound, its upper bound, and the P90
    (capplan.models.backtest.honest_level)."""

    def monthly_peaks(self) -> pd.DataFrame:
        """Per calendar month: ``p50_peak`` (max yhat) and ``p90_peak`` (max yhat_p90), planning units.

        ``days`` counts the forecast days in the month: the first and last month of a horizon
        are usually partial, and their peak covers only those days.
        """
        frame = self.frame.set_index("ds")
        months = frame.index.to_period("M")
        table = frame.groupby(months).agg(p50_peak=("yhat", "max"), p90_peak=("yhat_p90", "max"),
                                          days=("yhat", "size"))
        table.index = table.index.astype(str)
        return table.rename_axis("month").reset_index()

    def to_dict(self) -> dict[str, Any]:
        """The PRODUCT.md JSON contract plus model, unit, peak_rps_per_unit and monthly peaks."""
        rows = [
            {"ds": ds.date().isoformat(), "yhat": float(r.yhat), "yhat_lower": float(r.yhat_lower),
             "yhat_upper": float(r.yhat_upper)}
            for ds, r in zip(self.frame["ds"], self.frame.itertuples())
        ]
        return {
            "forecast": rows, "interval": self.interval, "resolution": self.resolution, "name": self.name,
            "model": self.model, "interval_method": self.interval_method, "unit": self.unit,
            "peak_rps_per_unit": self.peak_rps_per_unit,
            "monthly": self.monthly_peaks().to_dict(orient="records"),
            "backtest": [vars(s) for s in self.candidates], "warnings": list(self.warnings),
            "chosen": {"model": self.model, "reason": self.reason, "weights": dict(self.weights),
                       "backtest_horizon_days": self.backtest_horizon_days, "backtest_folds": self.backtest_folds,
                       "calibrated_levels": list(self.calibrated_levels)},
        }


class DemandForecaster:
    """Forecast a daily planning series with calibrated intervals (see module docstring)."""

    def __init__(self, settings: ForecastSettings | None = None) -> None:
        self.settings = settings or ForecastSettings()
        if self.settings.model not in (*MODELS, "auto"):
            raise ConfigError(f"--model must be one of {', '.join((*MODELS, 'auto'))}, got {self.settings.model!r}: "
                              "pass --model prophet or --model auto")
        if not 0.0 < self.settings.interval < 1.0:
            raise ConfigError(f"--interval must be between 0 and 1, got {self.settings.interval!r}: pass e.g. 0.8")

    def fit(self, history: Any, executor: Executor | None = None) -> Self:
        """Calibrate on rolling-origin folds of ``history.daily`` and fit the chosen model on all of it.

        ``history`` is a capplan.store.history.History or anything with ``daily`` (pd.Series),
        ``unit``, ``peak_rps_per_unit``, ``name`` and ``warnings``. ``executor`` (e.g. a
        process pool started before any thread) runs the calibration folds; the result is the same.
        """
        if (history.daily < 0).any():
            raise InputDataError(f"forecast history {history.name} holds a negative value, "
                                 f"{float(history.daily.min()):g}: traffic cannot be negative, fix the series")
        daily, set_aside = self.usable_days(history.daily)
        self.warnings_ = (*history.warnings, *set_aside)
        observed = int(daily.notna().sum())
        if observed < MIN_HISTORY_DAYS:
            raise InputDataError(
                f"forecast needs at least {MIN_HISTORY_DAYS} days of history, got {observed}: export a longer "
                "history (2 years or more also captures yearly seasonality)"
            )
        if self.settings.model == "auto":
            chosen = self._fit_auto(daily, executor)
        else:
            with ThreadPoolExecutor(max_workers=1) as pool:
                # The final fit does not depend on calibration: overlap them.
                final = pool.submit(self._final_fit, daily, self.settings.model)
                self.backtest_ = self._calibration_backtest(daily, self.candidates(len(daily)), executor)
                self.model_ = self.settings.model
                self.point_ = final.result()
            self.selection_ = Selection(self.model_, ((self.model_, 1.0),), self.backtest_.scores,
                                        f"forced by --model {self.model_}", len(self.backtest_.origins))
            chosen = self.backtest_.folds[self.model_]
        interval = self.settings.interval
        self.levels_ = (*bound_levels(chosen, interval), honest_level(chosen, P90_INTERVAL, "upper"))
        self.calibrations_ = tuple(fold_calibration(chosen, level) for level in self.levels_)
        self.daily_ = daily
        self.history_ = history
        return self

    def usable_days(self, daily: pd.Series) -> tuple[pd.Series, tuple[str, ...]]:
        """The days of ``daily`` that ``fit`` learns from, and what was set aside
        (capplan.models.usable_days; a configured event's days are never set aside as spikes)."""
        events = [event.days() for event in self.settings.prophet.events]
        return usable_days(daily, pd.DatetimeIndex(np.concatenate(events)) if events else None)

    def predict(self, horizon_days: int) -> Forecast:
        """Daily forecast for ``horizon_days`` after the last day of history."""
        if not hasattr(self, "model_"):
            raise NotFittedError("DemandForecaster.predict called before fit: call fit(history) first")
        if horizon_days < 1:
            raise ConfigError(f"--horizon must be at least 1 day, got {horizon_days}: pass e.g. --horizon 180d")
        ds = pd.date_range(self.daily_.index[-1] + pd.Timedelta(days=1), periods=horizon_days, freq="D")
        yhat = np.maximum(self.point_(ds), 0.0)
        if self.settings.prophet.growth == "logistic" and self.settings.prophet.cap is not None:
            yhat = np.minimum(yhat, self.settings.prophet.cap)  # every candidate respects the stated saturation
        floor = scale_floor(float(np.nanmean(self.daily_.to_numpy())))
        steps = np.arange(1, horizon_days + 1)
        lower, upper, p90_upper = (c.bounds(yhat, steps, floor) for c in self.calibrations_)
        low, high, p90 = lower[0], upper[1], p90_upper[1]
        frame = pd.DataFrame({"ds": ds, "yhat": yhat, "yhat_lower": np.maximum(low, 0.0), "yhat_upper": high,
                              "yhat_p90": p90})
        frame = apply_uplifts(frame, self.settings.prophet.events)
        return Forecast(frame, self.settings.interval, self.model_, self.history_.unit,
                        self.history_.peak_rps_per_unit, self.daily_, self.history_.name,
                        candidates=self.selection_.scores, warnings=self.warnings_,
                        weights=self.selection_.weights, reason=self.selection_.reason,
                        backtest_horizon_days=self.backtest_.horizon_days,
                        backtest_folds=self.selection_.folds, calibrated_levels=self.levels_)

    def candidates(self, history_days: int = 0, latest_train_days: int | None = None) -> dict[str, PointForecaster]:
        """Model name → picklable point forecaster: :data:`AUTO_CANDIDATES` for ``auto``
        (with :data:`YEARLY_CANDIDATES` when the latest backtest fold trains on a full year —
        ``latest_train_days``, by default that of the calibration backtest of ``history_days``: a yearly
        naive is a fair forecast from one year of history on; folds trained on less score it as the
        weekly naive it falls back to, so only the full-year folds separate it), else the chosen one."""
        every = _every_candidate(self.settings.prophet)
        if self.settings.model != "auto":
            return {self.settings.model: every[self.settings.model]}
        if latest_train_days is None:
            latest_train_days = history_days - self._backtest_horizon(history_days)
        yearly = YEARLY_CANDIDATES if latest_train_days >= YEAR_DAYS else ()
        names = AUTO_CANDIDATES[:2] + yearly + AUTO_CANDIDATES[2:]
        return {name: every[name] for name in names}

    def _fit_auto(self, daily: pd.Series, executor: Executor | None) -> tuple[FoldForecast, ...]:
        """Backtest every candidate, choose (capplan.models.selection), refit the chosen members on all
        days; the folds that calibrate the choice's interval (capplan.models.selection.selection_folds).
        With the yearly candidates on offer, candidates are judged on the folds that train on a full year."""
        candidates = self.candidates(len(daily))
        self.backtest_ = self._calibration_backtest(daily, candidates, executor)
        judged_from_days = YEAR_DAYS if set(YEARLY_CANDIDATES) & set(candidates) else 0
        self.selection_ = select(self.backtest_, judged_from_days)
        self.model_ = self.selection_.model
        names = [name for name, _ in self.selection_.weights]
        horizon = max(self.settings.horizon_days, 1)
        tasks = [(daily, candidates[name], horizon) for name in names]
        if executor is not None and len(tasks) > 1:
            paths = list(executor.map(_final_task, tasks))
        else:
            with ThreadPoolExecutor(max_workers=max(1, min(self.settings.threads, len(tasks)))) as pool:
                paths = list(pool.map(_final_task, tasks))
        weights = [weight for _, weight in self.selection_.weights]
        self.point_ = functools.partial(_weighted_point, daily=daily, paths=tuple(paths), weights=tuple(weights),
                                        forecasters=tuple(candidates[name] for name in names))
        return selection_folds(self.backtest_, judged_from_days)

    def _final_fit(self, daily: pd.Series, model_name: str) -> Any:
        """A function future days → point forecast, from ``model_name`` fitted on all of ``daily``."""
        if model_name == "prophet":
            model, offset = fit_prophet(daily, self.settings.prophet)
            return functools.partial(_prophet_days, model=model, offset=offset, settings=self.settings.prophet)
        fn = _every_candidate(self.settings.prophet)[model_name]
        return lambda ds: np.asarray(fn(daily, len(ds)), dtype=float)

    def _backtest_horizon(self, n_days: int) -> int:
        """The calibration backtest's horizon: the asked one, at most a year and a third of the history,
        leaving the minimum training days (1 for histories too short to backtest)."""
        return max(1, min(max(7, min(self.settings.horizon_days, 365, n_days // 3)), n_days - _min_train_days(n_days)))

    def _calibration_backtest(
        self, daily: pd.Series, candidates: dict[str, PointForecaster], executor: Executor | None
    ) -> BacktestResult:
        n = len(daily)
        min_train = _min_train_days(n)
        horizon = self._backtest_horizon(n)
        # Test windows one horizon apart where the history has room (else as far apart as it allows):
        # scores from overlapping windows share one fold's bias, and the interval came out too narrow
        # (60-71 % for a nominal 80 % on the appserver series).
        origins = rolling_origins(n, horizon, self.settings.calibration_folds, min_train, spacing_days=horizon)
        if not origins:
            raise InputDataError(f"forecast needs at least {MIN_HISTORY_DAYS} days of history, got {n}: "
                                 "export a longer history")
        return backtest(daily, candidates, horizon, origins, self.settings.interval, self.settings.threads, executor)


def _min_train_days(n_days: int) -> int:
    return max(MIN_HISTORY_DAYS - 7, n_days // 3)


def apply_uplifts(frame: pd.DataFrame, events: tuple[Event, ...]) -> pd.DataFrame:
    """Multiply forecast columns by each event's ``uplift`` on the event's days."""
    frame = frame.copy()
    columns = [c for c in frame.columns if c.startswith("yhat")]
    for event in events:
        if event.uplift is None:
            continue
        if not event.uplift > 0:
            raise ConfigError(f"event {event.name} uplift must be positive, got {event.uplift!r}: "
                              "write e.g. 1.5 for +50 %")
        hit = frame["ds"] >= pd.Timestamp(min(event.dates)) if event.lasting else frame["ds"].isin(event.days())
        frame.loc[hit, columns] = frame.loc[hit, columns] * event.uplift
    return frame


def _every_candidate(prophet: ProphetSettings) -> dict[str, PointForecaster]:
    every: dict[str, PointForecaster] = {"prophet": functools.partial(_prophet_point, settings=prophet)}
    every.update({name: functools.partial(_baseline_point, fn=fn) for name, fn in BASELINES.items()})
    every.update(STATISTICAL)
    return every


def _final_task(arguments: tuple[pd.Series, PointForecaster, int]) -> np.ndarray:
    daily, forecaster, horizon_days = arguments
    return np.asarray(forecaster(daily, horizon_days), dtype=float)


def _weighted_point(ds: pd.DatetimeIndex, daily: pd.Series, paths: tuple[np.ndarray, ...],
                    weights: tuple[float, ...], forecasters: tuple[PointForecaster, ...]) -> np.ndarray:
    """Weighted mean of the members' forecasts for ``ds`` (precomputed paths, refitted if ``ds`` is longer)."""
    if len(ds) > min(len(p) for p in paths):
        paths = tuple(np.asarray(f(daily, len(ds)), dtype=float) for f in forecasters)
    return np.sum([w * p[:len(ds)] for w, p in zip(weights, paths)], axis=0)


def _prophet_point(train: pd.Series, horizon_days: int, settings: ProphetSettings) -> np.ndarray:
    return prophet_forecast(train, horizon_days, settings)


def _prophet_days(ds: pd.DatetimeIndex, model: Any, offset: float, settings: ProphetSettings) -> np.ndarray:
    return predict_prophet(model, pd.DataFrame({"ds": ds}), offset, settings)


def _baseline_point(train: pd.Series, horizon_days: int, fn: Any) -> np.ndarray:
    return fn(train.interpolate(limit_direction="both").to_numpy(dtype=float), horizon_days)
