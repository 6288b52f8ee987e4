"""Drift (Theil-Sen + Mann-Kendall) and spike recovery."""

from __future__ import annotations

import math

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.stats import norm

from capplan.models.drift import assess_drift, spike_recovery, trend


def _mann_kendall_p(y: np.ndarray) -> float:
    """Textbook Mann-Kendall: S = sum sign(y_j - y_i), Var(S) with tie correction, continuity-corrected z."""
    n = len(y)
    s = sum(np.sign(y[j] - y[i]) for i in range(n - 1) for j in range(i + 1, n))
    _, counts = np.unique(y, return_counts=True)
    var = (n * (n - 1) * (2 * n + 5) - sum(c * (c - 1) * (2 * c + 5) for c in counts)) / 18
    z = (s - np.sign(s)) / math.sqrt(var) if s else 0.0
    return float(2 * (1 - norm.cdf(abs(z))))


def test_kendall_tau_against_time_gives_the_mann_kendall_p_value():
    rng = np.random.default_rng(5)
    t = np.arange(60.0)
    y = 0.02 * t + rng.normal(0, 1, size=60)
    assert math.isclose(trend(t, y).p_value, _mann_kendall_p(y), rel_tol=0.05, abs_tol=1e-4)


def test_theil_sen_matches_the_median_of_pairwise_slopes():
    t = np.array([0, 1, 2, 3, 4, 5.0])
    y = np.array([1, 3, 2, 5, 40, 7.0])  # one wild outlier
    pairwise = [(y[j] - y[i]) / (t[j] - t[i]) for i in range(6) for j in range(i + 1, 6)]
    assert trend(t, y).slope_per_s == float(np.median(pairwise))


@settings(max_examples=40, deadline=None)
@given(st.floats(-5, 5), st.integers(0, 1000))
def test_theil_sen_ignores_a_few_outliers(slope, seed):
    rng = np.random.default_rng(seed)
    t = np.arange(100.0)
    y = 50 + slope * t + rng.normal(0, 0.1, size=100)
    y[rng.choice(100, size=10, replace=False)] += 1000
    assert abs(trend(t, y).slope_per_s - slope) < 0.05


def test_a_leak_is_suspected_and_a_flat_soak_is_stable():
    rng = np.random.default_rng(2)
    t = np.arange(300.0)
    p95 = 20 + rng.normal(0, 1, size=300)
    err = np.zeros(300)
    flat = assess_drift(t, p95, err, rss_mb=100 + rng.normal(0, 0.2, size=300))
    leaking = assess_drift(t, p95, err, rss_mb=100 + t * (30 / 60) + rng.normal(0, 0.2, size=300))
    assert flat.verdict == "stable" and flat.stable
    assert leaking.verdict == "degradation/leak suspected"
    assert "memory grows" in leaking.reasons[0]
    assert math.isclose(leaking.rss.slope_per_hour, 1800, rel_tol=0.02)


def test_rising_latency_is_degradation():
    t = np.arange(120.0)
    result = assess_drift(t, 10 + 0.1 * t, np.zeros(120))
    assert not result.stable and "p95 rises" in result.reasons[0]


def test_spike_recovery_measures_time_back_within_tolerance():
    t = np.arange(60.0)
    p95 = np.full(60, 10.0)
    p95[20:30] = 200.0  # surge 20..30
    p95[30:37] = 50.0  # slow drain until 37
    err = np.zeros(60)
    err[22:28] = 0.3
    result = spike_recovery(t, p95, err, p95 * 2, window=(20, 30), tolerance=0.2)
    assert result.recovery_s == 7.0
    assert result.peak_p95_ms == 200.0 and result.peak_error_rate == 0.3 and result.peak_latency_ms == 400.0
    assert result.pre_p95_ms == 10.0


def test_spike_that_never_recovers_reports_none():
    t = np.arange(40.0)
    p95 = np.where(t < 10, 10.0, 100.0)
    result = spike_recovery(t, p95, np.zeros(40), p95, window=(10, 20))
    assert result.recovery_s is None and not result.recovered
