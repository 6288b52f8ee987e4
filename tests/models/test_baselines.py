"""Baseline forecasters: exact on the patterns they model (FPP3 §5.2, §8.3)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from capplan.models.baselines import holt_winters, linear_trend, seasonal_naive, seasonal_naive_scale


def test_seasonal_naive_repeats_the_last_week():
    train = np.arange(1.0, 22.0)
    forecast = seasonal_naive(train, 10)
    assert forecast.tolist() == [15, 16, 17, 18, 19, 20, 21, 15, 16, 17]


@settings(max_examples=40, deadline=None)
@given(st.floats(-50, 50), st.floats(-1e3, 1e3), st.integers(3, 200), st.integers(1, 60))
def test_linear_trend_extends_an_exact_line(slope, intercept, n, horizon):
    t = np.arange(n + horizon, dtype=float)
    line = intercept + slope * t
    assert linear_trend(line[:n], horizon) == pytest.approx(line[n:], abs=1e-6 * (1 + abs(intercept) + abs(slope) * n))


def test_holt_winters_follows_trend_plus_weekly_season():
    t = np.arange(400 + 21, dtype=float)
    truth = 500 + 0.8 * t + 40 * np.sin(2 * np.pi * t / 7)
    forecast = holt_winters(truth[:400], 21)
    assert np.max(np.abs(forecast - truth[400:]) / truth[400:]) < 0.01


def test_holt_winters_beats_seasonal_naive_on_a_noisy_trend():
    rng = np.random.default_rng(3)
    t = np.arange(600 + 60, dtype=float)
    truth = 1000 + 2.0 * t + 100 * np.sin(2 * np.pi * t / 7) + rng.normal(0, 15, len(t))
    hw_error = np.mean(np.abs(holt_winters(truth[:600], 60) - truth[600:]))
    naive_error = np.mean(np.abs(seasonal_naive(truth[:600], 60) - truth[600:]))
    assert hw_error < naive_error


def test_mase_scale_is_the_mean_absolute_weekly_difference():
    # y_t = t: every weekly difference is 7 (Hyndman & Koehler 2006 denominator).
    assert seasonal_naive_scale(np.arange(30.0)) == pytest.approx(7.0)
