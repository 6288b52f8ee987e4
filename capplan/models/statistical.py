"""Statistical point forecasters for the candidate pool: statsforecast models and a yearly naive.

Each function has the :data:`capplan.models.backtest.PointForecaster` signature
``(daily training series, NaN = missing day; horizon in days) → point forecast`` and is a
module-level function, so worker processes can run it. Models (Nixtla statsforecast,
Garza et al. 2022; formulas as in Hyndman & Athanasopoulos, *FPP3*):

* ``ets`` — AutoETS with a weekly season, the model chosen by AICc (FPP3 §8.6);
* ``theta`` — the dynamic optimised Theta method (Fiorucci et al. 2016), weekly season;
* ``mstl`` — MSTL decomposition (Bandara et al. 2021) with weekly and, given two years,
  yearly seasons, its trend forecast by a non-seasonal AutoETS;
* ``seasonal_naive_yearly`` — the same weekday 364 days earlier, repeated (FPP3 §5.2);
* ``seasonal_median`` — per weekday, the median of its last :data:`SEASONAL_MEDIAN_WEEKS` values:
  the seasonal window average (statsforecast's ``SeasonalWindowAverage``) with a median, which a
  one-day spike or outage in the window does not move; the MAE-optimal point of a noisy level;
* ``yearly_scaled`` — the yearly naive times the year-over-year ratio of the medians of the last
  :data:`LEVEL_DAYS` ("the same days last year, grown as much as the recent weeks grew", again for
  each further year); a median, so a campaign week in either window is not taken for growth.

statsforecast is imported lazily: its import costs a few seconds of CLI start-up.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

WEEK_DAYS = 7
YEAR_DAYS = 364
"""52 weeks: a yearly lag that keeps the weekday (the same weekday a year earlier)."""
MSTL_YEAR_DAYS = 365
SEASONAL_MEDIAN_WEEKS = 4
"""Weeks the seasonal median looks back over."""
LEVEL_DAYS = 56
"""Eight weeks: the recent window whose year-over-year ratio scales the yearly naive."""
GROWTH_LIMIT = 2.0
"""The year-over-year ratio is held within ÷2…×2: a ratio beyond that is a level shift, not growth."""
TRAIN_DAYS = 730
"""ETS and Theta fit on at most the last two years: older data barely moves their states."""
MSTL_TRAIN_DAYS = 1095
"""MSTL keeps three years, enough for a stable yearly season."""


def import_statsforecast() -> None:
    """Import statsforecast's models now (e.g. before forking workers that will use them)."""
    import statsforecast.models  # noqa: F401


def ets_forecast(train: pd.Series, horizon_days: int) -> np.ndarray:
    """AutoETS (weekly season) on the last :data:`TRAIN_DAYS` of ``train``."""
    from statsforecast.models import AutoETS

    return _run(lambda y: AutoETS(season_length=WEEK_DAYS), train, horizon_days, TRAIN_DAYS)


def theta_forecast(train: pd.Series, horizon_days: int) -> np.ndarray:
    """Dynamic optimised Theta (weekly season) on the last :data:`TRAIN_DAYS` of ``train``."""
    from statsforecast.models import DynamicOptimizedTheta

    return _run(lambda y: DynamicOptimizedTheta(season_length=WEEK_DAYS), train, horizon_days, TRAIN_DAYS)


def mstl_forecast(train: pd.Series, horizon_days: int) -> np.ndarray:
    """MSTL with weekly (and, from two years of data, yearly) seasons; AutoETS on the trend."""
    from statsforecast.models import MSTL, AutoETS

    def build(y: np.ndarray) -> object:
        seasons = [WEEK_DAYS, MSTL_YEAR_DAYS] if len(y) >= 2 * MSTL_YEAR_DAYS else WEEK_DAYS
        return MSTL(season_length=seasons, trend_forecaster=AutoETS(model="ZZN"))

    return _run(build, train, horizon_days, MSTL_TRAIN_DAYS)


def seasonal_naive_yearly(train: pd.Series, horizon_days: int) -> np.ndarray:
    """ŷ(T+h) = y(T + h − 364·⌈h/364⌉): the same weekday a year earlier (weekly naive if < 364 days)."""
    y = _filled(train)
    if len(y) < YEAR_DAYS:
        return np.resize(y[-WEEK_DAYS:], horizon_days).astype(float)
    return np.resize(y[-YEAR_DAYS:], horizon_days).astype(float)


def seasonal_median(train: pd.Series, horizon_days: int) -> np.ndarray:
    """ŷ(T+h) = median over k = 1…:data:`SEASONAL_MEDIAN_WEEKS` of y(T − 7k + 1 + (h − 1) mod 7)
    (the weekly naive under 2 weeks)."""
    y = _filled(train)
    weeks = min(len(y) // WEEK_DAYS, SEASONAL_MEDIAN_WEEKS)
    if weeks < 2:
        return np.resize(y[-WEEK_DAYS:], horizon_days).astype(float)
    block = y[-weeks * WEEK_DAYS:].reshape(weeks, WEEK_DAYS)
    return np.resize(np.median(block, axis=0), horizon_days).astype(float)


def yearly_scaled(train: pd.Series, horizon_days: int) -> np.ndarray:
    """ŷ(T+h) = y(T + h − 364k) · rᵏ, k = ⌈h/364⌉, r = median of the last :data:`LEVEL_DAYS` ÷ median of the
    same days 364 earlier, held within :data:`GROWTH_LIMIT` (the yearly naive while the history is shorter;
    the seasonal median when those days a year earlier had no traffic: the service was not live yet).

    Each year ahead grows by r again, as a steady growth rate would; the calibration backtest judges
    at most one year of it."""
    y = _filled(train)
    if len(y) < YEAR_DAYS + LEVEL_DAYS:
        return seasonal_naive_yearly(train, horizon_days)
    before = float(np.median(y[-YEAR_DAYS - LEVEL_DAYS:-YEAR_DAYS]))
    if before <= 0:
        return seasonal_median(train, horizon_days)  # no traffic a year ago (a launch): no year to repeat
    ratio = float(np.median(y[-LEVEL_DAYS:])) / before
    years_ahead = np.arange(horizon_days) // YEAR_DAYS + 1
    growth = float(np.clip(ratio, 1.0 / GROWTH_LIMIT, GROWTH_LIMIT)) ** years_ahead
    return np.resize(y[-YEAR_DAYS:], horizon_days) * growth


def _run(build: object, train: pd.Series, horizon_days: int, keep_days: int) -> np.ndarray:
    y = _filled(train)[-keep_days:]
    if len(y) < 2 * WEEK_DAYS + 2 or float(np.ptp(y)) <= 1e-12 * max(float(np.abs(y).max()), 1.0):
        return np.resize(y[-WEEK_DAYS:], horizon_days).astype(float)  # too short or constant: nothing to fit
    model = build(y)  # type: ignore[operator]
    try:
        mean = np.asarray(model.forecast(y=y, h=horizon_days)["mean"], dtype=float)
    except (ValueError, ArithmeticError, np.linalg.LinAlgError):
        mean = np.full(horizon_days, np.nan)  # a fit that fails falls back to the weekly naive below
    if not np.all(np.isfinite(mean)):
        return np.resize(y[-WEEK_DAYS:], horizon_days).astype(float)
    return np.maximum(mean, 0.0)


def _filled(train: pd.Series) -> np.ndarray:
    return train.interpolate(limit_direction="both").to_numpy(dtype=float)
