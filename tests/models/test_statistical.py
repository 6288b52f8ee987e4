"""The simple seasonal candidates: the published definitions, checked on series whose future is known."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from capplan.models.statistical import GROWTH_LIMIT, seasonal_median, yearly_scaled

WEEK = np.array([100.0, 120.0, 130.0, 125.0, 118.0, 60.0, 40.0])


def _series(values: np.ndarray) -> pd.Series:
    return pd.Series(values, index=pd.date_range("2024-01-01", periods=len(values), freq="D"))


def test_the_seasonal_median_repeats_a_pure_weekly_pattern_exactly():
    forecast = seasonal_median(_series(np.resize(WEEK, 70)), 21)
    assert forecast == pytest.approx(np.resize(WEEK, 21))


def test_one_spike_or_outage_in_the_last_weeks_does_not_move_the_seasonal_median():
    values = np.resize(WEEK, 70)
    values[-3] *= 10.0  # a spike last week
    values[-12] = 0.0  # an outage the week before
    assert seasonal_median(_series(values), 14) == pytest.approx(np.resize(WEEK, 14))


def test_the_seasonal_median_keeps_the_weekday_of_each_future_day():
    values = np.resize(WEEK, 66)  # 66 days: the future starts on the pattern's fifth day
    assert seasonal_median(_series(values), 7) == pytest.approx(np.roll(WEEK, -(66 % 7)))


def test_a_yearly_pattern_growing_steadily_is_continued_by_the_scaled_yearly_naive():
    days = np.arange(3 * 364)
    pattern = 1000.0 + 300.0 * np.sin(2 * np.pi * days / 364) + 80.0 * (days % 7 == 5)
    values = pattern * 1.3 ** (days / 364)  # +30 % a year, every day
    history, future = values[:2 * 364 + 100], values[2 * 364 + 100:2 * 364 + 200]
    assert yearly_scaled(_series(history), 100) == pytest.approx(future, rel=1e-9)


def test_a_steady_growth_rate_compounds_for_each_further_year_of_the_scaled_yearly_naive():
    days = np.arange(5 * 364)
    values = (1000.0 + 300.0 * np.sin(2 * np.pi * days / 364)) * 1.2 ** (days / 364)
    history, future = values[:2 * 364 + 50], values[2 * 364 + 50:2 * 364 + 50 + 800]
    assert yearly_scaled(_series(history), 800) == pytest.approx(future, rel=1e-9)


def test_a_spike_week_in_the_recent_weeks_is_not_taken_as_growth_by_the_scaled_yearly_naive():
    days = np.arange(364 + 120)
    values = 1000.0 + 80.0 * (days % 7 == 5)
    values[-20:-13] *= 3.0  # a campaign week inside the last eight weeks
    forecast = yearly_scaled(_series(values), 28)
    assert forecast == pytest.approx(values[-364:-336])


def test_a_level_shift_beyond_the_growth_limit_is_not_taken_as_growth():
    values = np.full(364 + 120, 100.0)
    values[-56:] = 1000.0  # ten times the level for the last eight weeks
    forecast = yearly_scaled(_series(values), 30)
    assert forecast == pytest.approx(np.full(30, 100.0 * GROWTH_LIMIT))


def test_the_scaled_yearly_naive_of_less_than_a_year_and_eight_weeks_is_the_yearly_naive():
    values = np.arange(400, dtype=float)
    assert yearly_scaled(_series(values), 10) == pytest.approx(values[-364:-354])


def test_a_service_launched_within_the_year_is_not_forecast_as_last_years_zero_traffic():
    values = np.concatenate([np.zeros(250), np.resize(WEEK, 200)])  # launched 200 days ago
    forecast = yearly_scaled(_series(values), 28)
    assert forecast == pytest.approx(seasonal_median(_series(values), 28))
    assert forecast.min() > 0
