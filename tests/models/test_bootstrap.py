"""capplan.models.bootstrap: block lengths fitted to a window's dependence (Politis–White)."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from capplan.models.bootstrap import (
    FITTED_BLOCKS_MIN_SECONDS,
    block_count,
    block_length,
    block_weights,
    politis_white_block_length,
)


def _ar1(rng: np.random.Generator, n: int, phi: float) -> np.ndarray:
    e = rng.normal(size=n + 200)
    x = np.zeros_like(e)
    for t in range(1, e.size):
        x[t] = phi * x[t - 1] + e[t]
    return x[200:]


@pytest.mark.parametrize("phi", [0.0, 0.5, 0.9, 0.97])
@pytest.mark.parametrize("n", [20, 60, 117, 600])
def test_block_length_is_the_one_arch_computes(phi, n):
    """arch (Kevin Sheppard's package) is the reference implementation of Politis & White (2004) with
    the 2009 correction: its circular-bootstrap length."""
    from arch.bootstrap import optimal_block_length

    x = _ar1(np.random.default_rng(int(1000 * phi) + n), n, phi)
    assert politis_white_block_length(x) == pytest.approx(float(optimal_block_length(x)["circular"].iloc[0]),
                                                          rel=1e-9)


def test_block_length_approaches_the_ar1_optimum_on_long_series():
    """For AR(1) with φ the circular bootstrap's optimum is (2 G² / D)^(1/3) n^(1/3) with
    G = 2φ/((1 − φ²)(1 − φ)²)·σ², D = (4/3)(σ²/(1 − φ)²)² (Politis & White 2004, their eq. 9 and
    the spectral density at 0); the estimate gets there within 25 % on 20,000 points."""
    phi, n = 0.6, 20_000
    g = 2 * phi / ((1 - phi ** 2) * (1 - phi) ** 2)
    d = 4 / 3 * (1 / (1 - phi) ** 2) ** 2
    optimum = (2 * g ** 2 / d) ** (1 / 3) * n ** (1 / 3)
    estimates = [politis_white_block_length(_ar1(np.random.default_rng(s), n, phi)) for s in range(5)]
    assert np.median(estimates) == pytest.approx(optimum, rel=0.25)


def test_a_slowly_wandering_window_gets_longer_blocks_than_the_cube_root_rule():
    x = _ar1(np.random.default_rng(3), 120, 0.9)
    assert block_length(120, x) > block_length(120) == 5


def test_white_noise_keeps_the_cube_root_rule():
    x = np.random.default_rng(4).normal(size=600)
    assert block_length(600, x) == block_length(600) == 9


def test_short_windows_keep_the_cube_root_rule_whatever_their_series():
    n = FITTED_BLOCKS_MIN_SECONDS - 1
    assert block_length(n, _ar1(np.random.default_rng(5), n, 0.97)) == math.ceil(n ** (1 / 3))


@pytest.mark.parametrize("x", [np.full(100, 3.0), np.full(100, np.nan), np.arange(5.0)])
def test_a_series_that_shows_nothing_has_no_fitted_length(x):
    assert math.isnan(politis_white_block_length(x))


def test_missing_seconds_do_not_stop_the_fit():
    x = _ar1(np.random.default_rng(6), 200, 0.9)
    x[[10, 50, 51]] = np.nan
    assert math.isfinite(politis_white_block_length(x))


@given(st.integers(1, 300), st.integers(1, 40), st.integers(0, 2 ** 16))
@settings(max_examples=40, deadline=None)
def test_resamples_with_any_block_length_have_as_many_seconds_as_the_window(n_seconds, block_s, seed):
    weights = block_weights(n_seconds, 10, np.random.default_rng(seed), block_s)
    assert weights.shape == (10, n_seconds)
    assert np.all(weights.sum(axis=1) == n_seconds)
    assert block_count(n_seconds, block_s) == math.ceil(n_seconds / block_s)
