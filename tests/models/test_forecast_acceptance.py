"""Acceptance on real public traffic: beat seasonal naive at 90 days, calibrated 80 % coverage.

Slow: 10 Prophet fits per series. Same code path as ``capplan forecast --backtest``.
"""

from __future__ import annotations

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
