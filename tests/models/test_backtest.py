"""Rolling-origin backtest and split-conformal calibration."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from capplan.models.backtest import (
    MAX_LEVEL,
    FoldForecast,
    backtest,
    bound_levels,
    cross_conformal_rates,
    honest_level,
    purged_folds,
    rolling_origins,
)
from capplan.models.baselines import seasonal_naive
from capplan.models.conformal import FLOOR_SHARE, calibrate, scaled_errors


@settings(max_examples=60, deadline=None)
@given(st.integers(30, 3000), st.integers(1, 400), st.integers(1, 12), st.integers(7, 400))
def test_rolling_origins_leave_enough_training_and_end_at_the_series_end(n, horizon, folds, min_train):
    origins = rolling_origins(n, horizon, folds, min_train)
    assert len(origins) <= folds
    assert all(o >= min_train for o in origins)
    assert origins == sorted(set(origins))
    if origins:
        assert origins[-1] == n - horizon
    else:
        assert n - horizon < min_train


def test_origins_one_horizon_apart_give_disjoint_test_windows():
    assert rolling_origins(1000, 90, 5, 100, spacing_days=90) == [550, 640, 730, 820, 910]
    # Without room for that spacing the folds squeeze together rather than disappear.
    assert rolling_origins(400, 90, 5, 200, spacing_days=90) == [202, 229, 256, 283, 310]
    assert rolling_origins(1000, 90, 3, 100) == [820, 865, 910]


def _weekly_series(days=200, noise=0.0, seed=0):
    rng = np.random.default_rng(seed)
    t = np.arange(days)
    values = 100 + 20 * np.sin(2 * np.pi * t / 7) + rng.normal(0, noise, days)
    return pd.Series(values, index=pd.date_range("2024-01-01", periods=days, freq="D"))


def test_a_perfect_seasonal_forecast_scores_zero_error():
    series = _weekly_series()
    naive = {"seasonal_naive": lambda train, h: seasonal_naive(train.to_numpy(), h)}
    result = backtest(series, naive, 28, rolling_origins(len(series), 28, 4, 60))
    score = result.score("seasonal_naive")
    assert score.mase == pytest.approx(0.0, abs=1e-9)
    assert score.mape_pct == pytest.approx(0.0, abs=1e-9)
    assert score.points == 4 * 28


def test_the_winner_is_the_model_with_the_lowest_mase():
    series = _weekly_series(noise=2.0)
    models = {
        "seasonal_naive": lambda train, h: seasonal_naive(train.to_numpy(), h),
        "flat": lambda train, h: np.full(h, float(train.mean())),
    }
    result = backtest(series, models, 14, rolling_origins(len(series), 14, 5, 60))
    assert result.winner == "seasonal_naive"
    assert result.score("flat").mase > result.score("seasonal_naive").mase


def test_threads_do_not_change_the_result():
    series = _weekly_series(noise=3.0, seed=4)
    models = {"seasonal_naive": lambda train, h: seasonal_naive(train.to_numpy(), h)}
    origins = rolling_origins(len(series), 14, 5, 60)
    one = backtest(series, models, 14, origins, threads=1).scores
    many = backtest(series, models, 14, origins, threads=3).scores
    assert one == many


@settings(max_examples=15, deadline=None)
@given(st.floats(0.5, 0.95), st.integers(0, 10_000))
def test_conformal_interval_covers_fresh_exchangeable_errors_at_the_nominal_rate(interval, seed):
    """Conformal coverage is at least nominal; the last bucket's horizons beyond its mean are widened
    (errors usually grow with the horizon), so errors that do not grow are over-covered by about 0.015
    at a 50 % interval. 30,000 calibration scores hold the sampling spread to about ±0.005."""
    rng = np.random.default_rng(seed)
    calibration = calibrate(rng.standard_t(4, 30_000) * 0.1, rng.integers(1, 90, 30_000), interval)
    yhat = np.full(20_000, 100.0)
    actual = yhat * (1 + rng.standard_t(4, 20_000) * 0.1)
    low, high = calibration.bounds(yhat, rng.integers(1, 90, 20_000), floor=1.0)
    coverage = np.mean((actual >= low) & (actual <= high))
    assert interval - 0.02 < coverage < interval + 0.04


def test_conformal_interval_widens_with_the_horizon_beyond_the_calibrated_range():
    rng = np.random.default_rng(1)
    calibration = calibrate(rng.normal(0, 0.1, 900), np.tile(np.arange(1, 91), 10), 0.8)
    low, high = calibration.bounds(np.full(3, 100.0), np.array([60, 180, 360]), floor=1.0)
    assert high[0] < high[1] < high[2]
    assert low[0] > low[1] > low[2]


def test_scaled_errors_are_relative_to_the_forecast_with_a_floor():
    assert scaled_errors(np.array([110.0, 5.0]), np.array([100.0, 0.0]), floor=1.0).tolist() == [0.1, 5.0]


def test_calibration_refuses_an_interval_outside_zero_one():
    with pytest.raises(ValueError, match="between 0 and 1"):
        calibrate(np.zeros(10), np.ones(10), 1.2)



def _drifting_folds(seed: int, drift: float) -> tuple[FoldForecast, ...]:
    """Six 60-day folds whose forecasts run further above the actual days fold by fold (by
    ``drift`` of the level each fold, 5 % noise): the errors are not exchangeable."""
    rng = np.random.default_rng(seed)
    predicted = np.full(60, 100.0)
    return tuple(FoldForecast(pd.Timestamp("2025-01-01") + pd.Timedelta(days=60 * k),
                              predicted * (1 + rng.normal(-drift * k, 0.05, 60)), predicted, np.arange(1, 61), 1.0, 1.0,
                              365 + 60 * k)
                 for k in range(6))


GRID = np.arange(0.8, 0.99, 0.01)


@pytest.mark.parametrize("drift", [0.0, 0.02, 0.04])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_each_bound_gets_the_level_at_which_its_own_tail_comes_nearest_its_share(seed, drift):
    folds = _drifting_folds(seed, drift)
    for tail, column in (("lower", 1), ("upper", 2)):
        level = honest_level(folds, 0.8, tail)
        gaps = [abs(cross_conformal_rates(folds, float(g))[column] - 0.1) for g in GRID]
        assert abs(cross_conformal_rates(folds, level)[column] - 0.1) <= min(gaps) + 1e-12


def test_a_drift_below_the_forecast_widens_the_lower_bound_only():
    folds = _drifting_folds(0, drift=0.08)
    assert cross_conformal_rates(folds, 0.8)[1] > 0.13  # the nominal band misses below
    assert honest_level(folds, 0.8, "lower") > 0.85
    assert honest_level(folds, 0.8, "upper") == pytest.approx(0.8)


def test_exchangeable_folds_keep_both_bounds_near_the_nominal_level():
    folds = _drifting_folds(3, drift=0.0)
    assert honest_level(folds, 0.8, "lower") <= 0.86
    assert honest_level(folds, 0.8, "upper") <= 0.86


@pytest.mark.parametrize("drift", [0.0, 0.02, 0.04])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_the_interval_bounds_bring_the_band_and_each_tail_near_their_shares_on_the_held_out_folds(seed, drift):
    folds = _drifting_folds(seed, drift)
    lower, upper = bound_levels(folds, 0.8)
    both = honest_level(folds, 0.8, "both")
    assert lower == max(both, honest_level(folds, 0.8, "lower"))
    assert upper == max(both, honest_level(folds, 0.8, "upper"))
    assert cross_conformal_rates(folds, lower)[1] <= 0.1 + 0.02
    assert cross_conformal_rates(folds, upper)[2] <= 0.1 + 0.02


def _fold_at(day, horizon_days, error):
    actual = np.full(horizon_days, 100.0)
    return FoldForecast(pd.Timestamp("2024-01-01") + pd.Timedelta(days=day), actual, actual - error,
                        np.arange(1, horizon_days + 1), 1.0, 1.0, 365 + day)


def test_a_fold_is_not_calibrated_on_folds_that_share_its_test_days():
    # Test windows [0, 90), [30, 120), [200, 290): the first two share 60 days.
    folds = (_fold_at(0, 90, 1.0), _fold_at(30, 90, 1.0), _fold_at(200, 90, 5.0))
    assert purged_folds(folds, 0) == (folds[2],)
    assert purged_folds(folds, 1) == (folds[2],)
    assert purged_folds(folds, 2) == folds[:2]


def test_without_a_disjoint_fold_every_other_fold_calibrates():
    folds = (_fold_at(0, 90, 1.0), _fold_at(30, 90, 2.0), _fold_at(60, 90, 3.0))
    assert purged_folds(folds, 1) == (folds[0], folds[2])


def test_adjacent_test_windows_do_not_overlap():
    folds = (_fold_at(0, 90, 1.0), _fold_at(90, 90, 2.0))
    assert purged_folds(folds, 0) == (folds[1],)
    assert purged_folds(folds, 1) == (folds[0],)


def test_a_forecast_near_zero_scores_its_miss_against_a_tenth_of_the_level_not_against_itself():
    # A fold trained into a drop forecasts about zero; its relative errors must not be ~100.
    series = _weekly_series(days=200, noise=2.0)
    near_zero = {"collapsed": lambda train, h: np.full(h, 1e-3)}
    result = backtest(series, near_zero, 28, rolling_origins(len(series), 28, 4, 60))
    fold = result.folds["collapsed"][0]
    scores = scaled_errors(fold.actual, fold.predicted, fold.floor)
    level = float(series.loc[:fold.origin - pd.Timedelta(days=1)].mean())
    assert scores.max() <= fold.actual.max() / (FLOOR_SHARE * level) + 1e-9
    assert scores.max() < 15.0


def test_folds_that_share_their_test_days_do_not_vouch_for_each_others_band():
    # Two overlapping folds miss by the same +20 %; two disjoint ones are nearly right. Calibrated on each
    # other, the overlapping pair would look covered; calibrated on the disjoint folds, they are not.
    wiggle = np.resize([0.5, -0.5], 90)
    folds = (_fold_at(0, 90, -20.0), _fold_at(30, 90, -20.0), _fold_at(200, 90, wiggle), _fold_at(400, 90, -wiggle))
    inside = cross_conformal_rates(folds, 0.8)[0]
    assert inside <= 0.5 + 1e-9


def test_a_tail_that_widening_cannot_fix_stops_at_the_widest_level_searched():
    folds = _drifting_folds(0, drift=-0.12)  # each fold's actual days run 12 % further above its forecast
    assert cross_conformal_rates(folds, MAX_LEVEL)[2] > 0.1  # still missing above at the widest level
    assert cross_conformal_rates(folds, 0.97)[2] < cross_conformal_rates(folds, MAX_LEVEL)[2]  # wider would help
    assert honest_level(folds, 0.8, "upper") == pytest.approx(MAX_LEVEL)


def test_a_tail_that_widening_does_not_change_keeps_the_nominal_level():
    folds = _drifting_folds(0, drift=-0.3)  # the last folds miss above whatever the level
    assert cross_conformal_rates(folds, 0.8)[2] == cross_conformal_rates(folds, MAX_LEVEL)[2] > 0.1
    assert honest_level(folds, 0.8, "upper") == pytest.approx(0.8)
