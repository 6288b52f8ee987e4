"""Acceptance on real public traffic: beat seasonal naive at 90 days, calibrated 80 % coverage.

Slow: 10 Prophet fits per series for the backtest (the code path of ``capplan forecast
--backtest``), 8 × 6 for the default forecast's own interval (the path of ``capplan forecast``).
"""

from __future__ import annotations

import functools
from concurrent.futures import ProcessPoolExecutor
from dataclasses import replace
from multiprocessing import get_context

import numpy as np
import pytest

from capplan.models.backtest import backtest, rolling_origins
from capplan.models.forecast import MIN_HISTORY_DAYS, DemandForecaster, ForecastSettings
from capplan.store.history import read_history

HORIZON_DAYS = 90
FOLDS = 10


def _scores(path):
    history = read_history(path)
    daily = history.daily.loc[history.daily.first_valid_index():history.daily.last_valid_index()]
    candidates = DemandForecaster(ForecastSettings(model="auto")).candidates()
    models = {name: candidates[name] for name in ("prophet", "seasonal_naive")}
    origins = rolling_origins(len(daily), HORIZON_DAYS, FOLDS, max(MIN_HISTORY_DAYS, len(daily) // 3))
    result = backtest(daily, models, HORIZON_DAYS, origins, 0.8, threads=2)
    return result.score("prophet"), result.score("seasonal_naive")


@pytest.mark.slow
@pytest.mark.parametrize("name", [
    "appserver_traffic_stats_DAILY_CHs.csv",
    "appserver_traffic_stats_HOURLY_CHs.csv",
    "prophet_example_wp_log_peyton_manning.csv",
])
def test_default_model_beats_seasonal_naive_with_calibrated_coverage(reference_dir, name):
    prophet, naive = _scores(reference_dir / "traffic" / name)
    assert prophet.mase < naive.mase
    assert 0.75 <= prophet.coverage <= 0.85
    assert prophet.points >= FOLDS * HORIZON_DAYS * 0.95


SERIES = ("appserver_traffic_stats_DAILY_CHs.csv", "appserver_traffic_stats_HOURLY_CHs.csv",
          "prophet_example_wp_log_peyton_manning.csv")


@functools.cache
def _default_path_counts(path, origins=8, spacing_days=45):
    """(days inside the 80 % band, days known) of what ``capplan forecast`` prints: fit on history
    up to each origin, forecast 90 days. Cached: the per-series and the pooled test share the fits.

    The origins are independent, so they run in two forked processes (the suite's two cores).
    """
    with ProcessPoolExecutor(max_workers=2, mp_context=get_context("fork")) as pool:
        counts = list(pool.map(_origin_coverage, [path] * origins, [spacing_days * k for k in range(origins)]))
    return sum(inside for inside, _ in counts), sum(seen for _, seen in counts)


def _origin_coverage(path, days_back):
    """(days inside the 80 % band, days known) of the default forecast from ``days_back`` before the last origin."""
    history = read_history(path)
    daily = history.daily.loc[history.daily.first_valid_index():history.daily.last_valid_index()]
    cut = len(daily) - HORIZON_DAYS - days_back
    past = replace(history, daily=daily.iloc[:cut])
    frame = DemandForecaster(ForecastSettings(horizon_days=HORIZON_DAYS)).fit(past).predict(HORIZON_DAYS).frame
    actual = daily.iloc[cut:cut + HORIZON_DAYS].to_numpy()
    known = np.isfinite(actual)
    inside = np.sum((actual >= frame["yhat_lower"].to_numpy()) & (actual <= frame["yhat_upper"].to_numpy()) & known)
    return int(inside), int(known.sum())


@pytest.mark.slow
@pytest.mark.parametrize("name", SERIES)
def test_the_default_forecast_interval_covers_75_to_90_percent_of_each_series_later_days(reference_dir, name):
    """One series' coverage comes from 8 overlapping 90-day windows, and is noisy: with the origins
    50, 45 or 40 days apart, Peyton Manning's was 0.83, 0.85 and 0.88 (0.84 and 0.89 at 45 and 40
    before the choice rule of 2026-12-08). Per series this holds the side a plan cannot afford to
    miss, and a loose ceiling; issue 11's 0.75-0.85 is for the pooled coverage (the test below)."""
    inside, seen = _default_path_counts(reference_dir / "traffic" / name)
    assert 0.75 <= inside / seen <= 0.90


@pytest.mark.slow
def test_the_default_forecast_interval_covers_75_to_85_percent_of_later_days_pooled(reference_dir):
    counts = [_default_path_counts(reference_dir / "traffic" / name) for name in SERIES]
    assert 0.75 <= sum(inside for inside, _ in counts) / sum(seen for _, seen in counts) <= 0.85
