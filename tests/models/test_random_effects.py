"""capplan.models.random_effects: DerSimonian–Laird τ² against a published meta-analysis, and the
monotone variant that leaves a change growing with the load alone."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from capplan.models.random_effects import dersimonian_laird, monotone_heterogeneity, pooled_heterogeneity

# The 13 BCG vaccine trials (Colditz et al., JAMA 271, 1994), as in metafor's dat.bcg: vaccinated
# TB positive, negative, control TB positive, negative.
BCG = np.array([[4, 119, 11, 128], [6, 300, 29, 274], [3, 228, 11, 209], [62, 13536, 248, 12619],
                [33, 5036, 47, 5761], [180, 1361, 372, 1079], [8, 2537, 10, 619], [505, 87886, 499, 87892],
                [29, 7470, 45, 7232], [17, 1699, 65, 1600], [186, 50448, 141, 27197], [5, 2493, 3, 2338],
                [27, 16886, 29, 17825]], dtype=float)


def test_bcg_trials_give_the_published_q_and_tau2():
    """Viechtbauer, "Conducting meta-analyses in R with the metafor package", J. Stat. Softw. 36(3), 2010:
    log risk ratios of the BCG trials, Q(df = 12) = 152.2330, DerSimonian–Laird τ² = 0.3088."""
    tpos, tneg, cpos, cneg = BCG.T
    log_rr = np.log(tpos / (tpos + tneg)) - np.log(cpos / (cpos + cneg))
    variance = 1 / tpos - 1 / (tpos + tneg) + 1 / cpos - 1 / (cpos + cneg)
    result = dersimonian_laird(log_rr, variance)
    assert result.df == 12
    assert result.q == pytest.approx(152.2330, abs=5e-4)
    assert result.tau2 == pytest.approx(0.3088, abs=5e-5)


def test_estimates_that_agree_have_no_between_spread():
    assert dersimonian_laird([0.1, 0.1, 0.1, 0.1], [0.01, 0.02, 0.01, 0.03]).tau2 == 0.0


def test_one_estimate_shows_no_spread():
    result = dersimonian_laird([0.3], [0.01])
    assert (result.tau2, result.df) == (0.0, 0)


def test_estimates_without_a_usable_variance_are_left_out():
    assert dersimonian_laird([0.0, 0.2, 5.0], [0.01, 0.01, math.nan]) == dersimonian_laird([0.0, 0.2], [0.01, 0.01])


def test_equal_variances_give_the_sample_variance_less_the_noise():
    """With one within variance v for all, τ² = max(0, s² − v) (s² the effects' sample variance)."""
    effects = np.array([0.0, 0.1, -0.05, 0.2, 0.02])
    assert dersimonian_laird(effects, [0.001] * 5).tau2 == pytest.approx(np.var(effects, ddof=1) - 0.001)


@given(st.lists(st.tuples(st.floats(-1.0, 1.0), st.floats(1e-4, 1.0)), min_size=2, max_size=12),
       st.floats(-2.0, 2.0))
@settings(max_examples=100, deadline=None)
def test_tau2_is_the_same_wherever_the_common_effect_lies(pairs, shift):
    effects, variances = (np.array(column) for column in zip(*pairs, strict=True))
    for estimator in (dersimonian_laird, monotone_heterogeneity):
        here, there = estimator(effects, variances), estimator(effects + shift, variances)
        assert here.tau2 >= 0.0
        assert there.tau2 == pytest.approx(here.tau2, rel=1e-6, abs=1e-9)


@pytest.mark.parametrize("effects", [[0.0, 0.0, 0.26, 0.47], [0.3, 0.2, 0.1, 0.0], [0.18, 0.18, 0.2, 0.2, 0.22]])
def test_a_change_that_grows_or_shrinks_with_the_load_is_not_spread(effects):
    """DerSimonian–Laird calls these profiles heterogeneous; about a monotone profile they are not."""
    variances = [1e-4] * len(effects)
    assert dersimonian_laird(effects, variances).tau2 > 0
    assert monotone_heterogeneity(effects, variances).tau2 == 0.0


def test_one_level_off_among_levels_that_agree_is_spread():
    """One step 8 % off in the middle of four: about the best monotone profile it is still off."""
    result = monotone_heterogeneity([0.0, 0.077, 0.0, 0.0, 0.0], [2e-4] * 5)
    assert result.tau2 > 5e-4
    assert result.df >= 1


@given(st.lists(st.tuples(st.floats(-1.0, 1.0), st.floats(1e-4, 1.0)), min_size=3, max_size=12))
@settings(max_examples=100, deadline=None)
def test_the_monotone_profile_leaves_no_more_scatter_than_the_common_mean(pairs):
    """A constant is a monotone profile, and the isotonic fit is the closest one: its Q is at most Cochran's."""
    effects, variances = (np.array(column) for column in zip(*pairs, strict=True))
    assert monotone_heterogeneity(effects, variances).q <= dersimonian_laird(effects, variances).q * (1 + 1e-9) + 1e-12


def test_two_levels_are_always_monotone():
    assert monotone_heterogeneity([0.0, 0.5], [1e-4, 1e-4]).tau2 == 0.0


def test_levels_fitted_to_one_value_are_one_block_however_rounding_splits_them():
    """Four tied levels: pool-adjacent-violators pools them or not as the shift's rounding falls."""
    effects = np.array([0.0, 0.0, 0.0, 0.0, 1.0, 0.0])
    variances = [1.0, 0.25, 0.375, 1.0, 0.125, 0.125]
    here = monotone_heterogeneity(effects, variances)
    for shift in (-1.5, -0.3, 0.7, 2.0):
        there = monotone_heterogeneity(effects + shift, variances)
        assert (there.tau2, there.q, there.df) == pytest.approx((here.tau2, here.q, here.df))


def test_groups_pooled_keep_their_own_means():
    """Steps of two runs about each run's own capacity: moving one run leaves the spread as it was,
    and one group alone is plain DerSimonian–Laird."""
    first, second = ([0.00, 0.04, -0.03], [4e-4] * 3), ([0.10, 0.13], [4e-4] * 2)
    pooled = pooled_heterogeneity([first, second])
    moved = pooled_heterogeneity([first, (np.array(second[0]) - 0.3, second[1])])
    assert (moved.tau2, moved.q, moved.df) == pytest.approx((pooled.tau2, pooled.q, pooled.df))
    assert pooled.df == 3
    assert pooled_heterogeneity([first]) == dersimonian_laird(*first)
    assert pooled.q == pytest.approx(dersimonian_laird(*first).q + dersimonian_laird(*second).q)
