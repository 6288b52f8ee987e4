"""capplan.models.compare and .bootstrap: checked against published values, scipy and properties."""

from __future__ import annotations

import math
from dataclasses import replace

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from capplan.errors import ConfigError
from capplan.models.bootstrap import block_length, block_weights, decode_sketches, weighted_quantiles_ms
from capplan.models.compare import (
    ACROSS_LEVELS,
    IMPROVED,
    NO_CHANGE,
    REGRESSED,
    CapacityInput,
    CompareSettings,
    LevelWindow,
    compare_runs,
    fisher_exact_p,
    holm_adjust,
    newcombe_interval,
    parse_max_regression,
    wilson_interval,
)
from capplan.models.sketch import LatencySketch, merge_sketches


def _window(rng: np.random.Generator, seconds: int = 30, rate: float = 200.0, scale_ms: float = 20.0,
            error_p: float = 0.0) -> LevelWindow:
    """Seconds of lognormal latencies (median ``scale_ms``) with Poisson request counts."""
    blobs, requests, errors, sums = [], [], [], []
    for _ in range(seconds):
        n = int(rng.poisson(rate))
        values = scale_ms * rng.lognormal(0.0, 0.5, size=n)
        sketch = LatencySketch()
        sketch.add_many(values.tolist())
        blobs.append(sketch.to_bytes())
        requests.append(n)
        errors.append(int(rng.binomial(n, error_p)))
        sums.append(float(values.sum()))
    r = np.array(requests, float)
    return LevelWindow("8 users", r, np.array(errors, float), np.ones(seconds), np.array(sums),
                       decode_sketches(blobs))


@given(st.lists(st.lists(st.floats(0.01, 5000.0), min_size=0, max_size=30), min_size=1, max_size=12),
       st.sampled_from([0.0, 0.3, 0.5, 0.9, 0.95, 0.99, 0.999, 1.0]))
@settings(max_examples=80, deadline=None)
def test_quantile_of_all_seconds_equals_the_merged_sketch(seconds, q):
    sketches = []
    for values in seconds:
        sketch = LatencySketch()
        sketch.add_many(values)
        sketches.append(sketch)
    merged = merge_sketches(sketches)
    got = weighted_quantiles_ms(decode_sketches([s.to_bytes() for s in sketches]), np.ones((1, len(seconds))), [q])
    if merged.count == 0:
        assert math.isnan(got[0, 0])
    else:
        assert got[0, 0] == pytest.approx(merged.quantile(q), rel=1e-9)


def test_weights_repeat_seconds_like_merging_them_again():
    sketches = [LatencySketch() for _ in range(3)]
    for i, sketch in enumerate(sketches):
        sketch.add_many([10.0 * (i + 1)] * (i + 1))
    matrix = decode_sketches([s.to_bytes() for s in sketches])
    twice_first = merge_sketches([sketches[0], sketches[0], sketches[2]])
    got = weighted_quantiles_ms(matrix, np.array([[2.0, 0.0, 1.0]]), [0.5, 0.9])
    assert got[0].tolist() == pytest.approx([twice_first.quantile(0.5), twice_first.quantile(0.9)])


def test_a_second_without_a_sketch_means_no_latency_matrix():
    assert decode_sketches([LatencySketch().to_bytes(), None]) is None


def test_damaged_sketch_bytes_are_rejected():
    with pytest.raises(ValueError, match="not a capplan latency sketch"):
        decode_sketches([b"XXXX" + bytes(60)])


@given(st.integers(1, 700), st.integers(0, 2**32 - 1))
@settings(max_examples=40, deadline=None)
def test_block_resamples_have_as_many_seconds_as_the_run(n_seconds, seed):
    weights = block_weights(n_seconds, 20, np.random.default_rng(seed))
    assert weights.shape == (20, n_seconds)
    assert np.all(weights.sum(axis=1) == n_seconds)


def test_block_length_grows_as_the_cube_root():
    assert [block_length(k) for k in (1, 8, 9, 27, 600)] == [1, 2, 3, 3, 9]


@given(st.integers(0, 40), st.integers(1, 40), st.integers(0, 40), st.integers(1, 40))
@settings(max_examples=60, deadline=None)
def test_fisher_exact_matches_scipy(x1, n1, x2, n2):
    from scipy.stats import fisher_exact

    x1, x2 = min(x1, n1), min(x2, n2)
    expected = fisher_exact([[x1, n1 - x1], [x2, n2 - x2]])[1]
    assert fisher_exact_p(x1, n1, x2, n2) == pytest.approx(expected, rel=1e-6, abs=1e-12)


def test_wilson_interval_matches_newcombe_1998():
    # Newcombe, Stat. Med. 17 (1998) 857-872, Table I: 81/263, score method 0.2553-0.3662.
    lo, hi = wilson_interval(81, 263)
    assert (round(lo, 4), round(hi, 4)) == (0.2553, 0.3662)


def test_difference_interval_matches_newcombe_1998_method_10():
    # Newcombe, Stat. Med. 17 (1998) 873-890, Table II (a): 56/70 - 48/80, method 10: 0.0524 to 0.3339.
    lo, hi = newcombe_interval(56, 70, 48, 80)
    assert (round(lo, 4), round(hi, 4)) == (0.0524, 0.3339)


def test_holm_adjustment_matches_r_p_adjust():
    # R: p.adjust(c(0.01, 0.04, 0.03, 0.005), "holm") -> 0.03 0.06 0.06 0.02
    assert holm_adjust([0.01, 0.04, 0.03, 0.005]).tolist() == pytest.approx([0.03, 0.06, 0.06, 0.02])


def test_max_regression_overrides_defaults():
    allowed = parse_max_regression(["p95=20%", "capacity=0.02"])
    assert allowed["p95"] == pytest.approx(0.20)
    assert allowed["capacity"] == pytest.approx(0.02)
    assert allowed["p99"] == pytest.approx(0.10)


def test_by_default_a_closed_loop_throughput_gate_never_fires_before_the_mean_latency_gate():
    """At N users X = N / (R + Z): a mean latency within its allowance is a throughput within its own."""
    from capplan.models.compare import DEFAULT_MAX_REGRESSION

    longest_cycle = 1.0 + DEFAULT_MAX_REGRESSION["mean"]
    assert 1.0 - 1.0 / longest_cycle <= DEFAULT_MAX_REGRESSION["throughput"]
    rng = np.random.default_rng(21)
    base = _window(rng, 120, 300, 20.0)
    new = _window(rng, 120, round(300 / 1.09), 20.0 * 1.09)  # 9 % longer cycle: 8.3 % fewer requests
    tested = {m.metric: m for m in compare_runs([(base, new)]).metrics}
    assert tested["throughput"].verdict == REGRESSED and not tested["throughput"].fails
    assert not tested["mean"].fails


@pytest.mark.parametrize("text", ["p95", "latency=10%", "p95=ten%", "p95=-5%"])
def test_bad_max_regression_is_a_usage_error(text):
    with pytest.raises(ConfigError, match="--max-regression"):
        parse_max_regression([text])


def test_identical_distributions_rarely_look_significant():
    rng = np.random.default_rng(11)
    alarms = 0
    for seed in range(30):
        result = compare_runs([(_window(rng, 20, 80), _window(rng, 20, 80))], settings=CompareSettings(
            n_resamples=400, seed=seed))
        alarms += result.verdict != NO_CHANGE
    assert alarms <= 3  # nominal family-wise rate 5 %: 1.5 of 30 expected


def test_twenty_percent_slower_latency_is_a_regression_with_its_size_in_the_interval():
    rng = np.random.default_rng(3)
    result = compare_runs([(_window(rng, scale_ms=20.0), _window(rng, scale_ms=24.0))])
    p95 = next(m for m in result.metrics if m.metric == "p95")
    assert p95.verdict == REGRESSED and p95.fails
    assert p95.effect_ci[0] < 0.20 < p95.effect_ci[1]
    assert result.verdict == REGRESSED and result.fails


def test_faster_latency_is_an_improvement_and_passes_the_gate():
    rng = np.random.default_rng(4)
    result = compare_runs([(_window(rng, scale_ms=24.0), _window(rng, scale_ms=20.0))])
    assert result.verdict == IMPROVED and not result.fails


def test_a_significant_regression_within_the_allowance_passes_until_the_allowance_shrinks():
    rng = np.random.default_rng(5)
    base, new = _window(rng, 120, 300, 20.0), _window(rng, 120, 300, 21.2)  # +6 %
    loose = compare_runs([(base, new)])
    mean = next(m for m in loose.metrics if m.metric == "mean")
    assert mean.verdict == REGRESSED and not loose.fails
    strict = compare_runs([(base, new)], settings=CompareSettings(max_regression=parse_max_regression(["mean=3%"])))
    assert strict.fails and [m.metric for m in strict.failing] == ["mean"]


def test_more_errors_are_tested_as_a_difference_of_proportions():
    rng = np.random.default_rng(6)
    result = compare_runs([(_window(rng, error_p=0.001), _window(rng, error_p=0.02))])
    errors = next(m for m in result.metrics if m.metric == "error_rate")
    assert errors.verdict == REGRESSED and errors.fails and not errors.relative
    assert errors.effect_ci[0] < errors.effect < errors.effect_ci[1]


def test_a_percentile_without_enough_requests_beyond_it_is_not_compared():
    rng = np.random.default_rng(7)
    result = compare_runs([(_window(rng, 10, 50), _window(rng, 10, 50))])  # ~500 requests each
    names = {m.metric for m in result.metrics}
    assert {"p50", "p95"} <= names and "p99" not in names and "p99.9" not in names


@pytest.mark.parametrize("df", [1.0, 2.5, 14.0, 300.0, math.inf])
def test_t_p_values_and_critical_values_match_scipy(df):
    from scipy.stats import norm, t

    from capplan.models.proportions import t_crit95, t_two_sided_p

    dist = norm() if math.isinf(df) else t(df)
    assert t_crit95(df) == pytest.approx(dist.ppf(0.975), rel=1e-9)
    for stat in (-3.0, 0.4, 2.2):
        assert t_two_sided_p(stat, df) == pytest.approx(2 * dist.sf(abs(stat)), rel=1e-9)


@pytest.mark.parametrize("seconds", [6, 20])
def test_identical_short_levels_raise_at_most_one_false_alarm_in_twenty(seconds):
    """Pairs of windows drawn from one distribution: "no significant change" in >= 95 % of 60 pairs.

    A normal approximation to the bootstrap of a few seconds called 35 % of the 6-second pairs
    and 23 % of 10-second ones significant (2026-12-02); the t test on the windows' blocks does not.
    """
    rng = np.random.default_rng(11)
    alarms = 0
    for i in range(60):
        base, new = _window(rng, seconds=seconds), _window(rng, seconds=seconds)
        alarms += compare_runs([(base, new)], settings=CompareSettings(seed=i, n_resamples=400)).verdict != NO_CHANGE
    assert alarms <= 3, alarms


def _levels(rng: np.random.Generator, scales_ms: tuple[float, ...], seconds: int = 60) -> list[LevelWindow]:
    """One window per level of a stress curve (labelled by its users), each with its own median latency."""
    return [replace(_window(rng, seconds, 200.0, scale), label=f"{2 + i} users") for i, scale in enumerate(scales_ms)]


def _curve(base_ms: tuple[float, ...], new_ms: tuple[float, ...], seed: int, seconds: int = 60):
    rng = np.random.default_rng(seed)
    pairs = list(zip(_levels(rng, base_ms, seconds), _levels(rng, new_ms, seconds), strict=True))
    return compare_runs(pairs, one_curve=True)


def test_one_step_that_ran_slow_as_a_whole_is_not_a_regression_among_levels_that_agree():
    """A step 8 % slower as a whole (a busier minute) in the middle of levels that did not change: the
    seconds inside it cannot show that noise, the other levels can (two real pairs of identical
    120 s-step runs each read one such step as a change at p < 0.001)."""
    result = _curve((20.0,) * 5, (20.0, 21.6, 20.0, 20.0, 20.0), seed=21)
    slow = [m for m in result.metrics if m.level == "3 users" and m.metric in ("p50", "mean")]
    assert all(m.effect > 0.05 for m in slow), slow
    assert all(m.verdict == NO_CHANGE and "between-level spread" in m.note for m in slow), slow
    assert result.verdict == NO_CHANGE


def test_the_same_slow_step_is_a_regression_without_the_other_levels():
    """The test above is not passing for want of power: the step alone reads as regressed."""
    rng = np.random.default_rng(21)
    base, new = _levels(rng, (20.0,) * 5), _levels(rng, (20.0, 21.6, 20.0, 20.0, 20.0))
    assert compare_runs([(base[1], new[1])]).verdict == REGRESSED


@pytest.mark.parametrize("new_ms", [(20.0, 20.0, 20.0, 26.0, 32.0), (20.0, 20.0, 20.0, 20.0, 26.0)])
def test_a_regression_that_grows_with_load_is_found_at_the_levels_it_hits(new_ms):
    """A change that differs from level to level is signal: a lock that only contends under load.
    (DerSimonian–Laird over all levels widened every interval here and called both "no significant change".)"""
    result = _curve((20.0,) * 5, new_ms, seed=22)
    assert result.verdict == REGRESSED
    hit = [m for m in result.metrics if m.metric in ("p50", "mean") and m.level == "6 users"]
    assert all(m.verdict == REGRESSED for m in hit), hit


def test_a_change_the_same_at_every_level_adds_no_spread_and_keeps_its_power():
    result = _curve((20.0,) * 4, (22.0,) * 4, seed=23, seconds=20)
    means = [m for m in result.metrics if m.metric == "mean" and m.level != ACROSS_LEVELS]
    assert len(means) == 4 and all(m.verdict == REGRESSED for m in means), means
    assert all(m.effect_ci[1] - m.effect_ci[0] < 0.1 for m in means), means  # the spread, if any, stays small


def test_a_change_too_small_for_any_short_level_adds_up_over_all_levels():
    """+8 % at each of five 7-second levels: no level alone is significant among the dozens of
    metrics, the geometric mean over the levels is, and its interval holds the true change. (Real
    default-step runs against a 20 % slower target moved every metric +10 … +34 % with none
    significant alone, 2026-12-04.)"""
    result = _curve((20.0,) * 5, (21.6,) * 5, seed=30, seconds=7)
    assert not [m for m in result.metrics if m.level != ACROSS_LEVELS and m.verdict != NO_CHANGE]
    mean = next(m for m in result.metrics if m.level == ACROSS_LEVELS and m.metric == "mean")
    assert mean.verdict == REGRESSED and mean.effect_ci[0] < 0.08 < mean.effect_ci[1], mean
    assert mean.new / mean.base - 1 == pytest.approx(mean.effect)
    assert result.verdict == REGRESSED


def test_the_latency_curves_plot_the_levels_not_their_mean():
    from capplan.models.compare import RunComparison
    from capplan.report.compare_view import comparison_junit, latency_figure

    run = RunComparison("a", "b", "a", "b", "stress", _curve((20.0,) * 3, (21.6,) * 3, seed=30, seconds=7))
    assert [list(trace.x) for trace in latency_figure(run).data] == [["2 users", "3 users", "4 users"]] * 2
    assert "p95 @ all levels" in comparison_junit(run)


def test_steps_that_wander_keep_the_all_levels_tests_at_their_nominal_rate():
    """Identical curves whose every step runs up to a few per cent slow or fast as a whole (4 %):
    the all-levels tests are significant at 5 % (unadjusted) in about 5 % of pairs. Without the
    levels' spread in their variance, a third of them were (61 of 180)."""
    rng = np.random.default_rng(5)
    hits = trials = 0
    for i in range(60):
        curves = [[replace(_window(rng, 7, 200.0, 20.0 * math.exp(rng.normal(0.0, 0.04))), label=f"{2 + j} users")
                   for j in range(5)] for _ in range(2)]
        result = compare_runs(list(zip(*curves, strict=True)), settings=CompareSettings(seed=i, n_resamples=200),
                              one_curve=True)
        across = [m for m in result.metrics if m.level == ACROSS_LEVELS and m.metric in ("p50", "mean", "throughput")]
        hits, trials = hits + sum(m.p_value < 0.05 for m in across), trials + len(across)
    assert trials == 180 and hits <= 18, hits  # 5 % expected (9); 10 % at most


def test_levels_that_are_not_one_curve_take_no_spread():
    """A spike run's before, surge and after are phases, not points of one curve in load order."""
    rng = np.random.default_rng(21)
    pairs = list(zip(_levels(rng, (20.0,) * 5), _levels(rng, (20.0, 21.6, 20.0, 20.0, 20.0)), strict=True))
    assert all("spread" not in m.note for m in compare_runs(pairs).metrics)


def _capacity(rng: np.random.Generator, rate: float, floor_ms: float = 20.0, seconds: int = 10):
    from capplan.models.compare import CapacityInput

    plateau = tuple(_window(rng, seconds=seconds, rate=rate) for _ in range(3))
    floor = _window(rng, seconds=seconds, rate=50.0, scale_ms=floor_ms)
    mean_s = _ratio_of(floor)
    return CapacityInput(rate, (math.nan, math.nan), rate * mean_s, 0.0, (0.0, 0.0), 0.0, (0.0, 0.0), plateau, floor)


def _ratio_of(w: LevelWindow) -> float:
    return float(w.latency_sum_ms.sum() / w.requests.sum()) / 1000.0


def test_a_twenty_percent_capacity_drop_is_a_regression_sized_by_its_interval():
    rng = np.random.default_rng(3)
    result = compare_runs([], (_capacity(rng, 200.0), _capacity(rng, 160.0)))
    capacity = next(m for m in result.metrics if m.metric == "capacity")
    assert capacity.verdict == REGRESSED and capacity.fails
    assert capacity.effect_ci[0] < -0.2 < capacity.effect_ci[1] and capacity.effect == pytest.approx(-0.2)


def test_the_knee_interval_carries_the_latency_floors_noise_too():
    """knee = X_max·R₀: its interval is wider than the capacity's when R₀ is measured, not exact."""
    rng = np.random.default_rng(5)
    result = compare_runs([], (_capacity(rng, 200.0), _capacity(rng, 200.0)))
    capacity, knee = (next(m for m in result.metrics if m.metric == name) for name in ("capacity", "knee"))
    width = lambda m: m.effect_ci[1] - m.effect_ci[0]  # noqa: E731
    assert width(knee) > width(capacity)
    assert "both resampled" in knee.note and result.verdict == NO_CHANGE


def test_an_interval_wider_than_the_allowance_is_named_in_a_warning():
    """A short plateau cannot resolve a 1 % capacity allowance; a long one resolves 5 %."""
    rng = np.random.default_rng(6)
    strict = CompareSettings(max_regression=parse_max_regression(["capacity=1%"]))
    short = compare_runs([], (_capacity(rng, 200.0, seconds=4), _capacity(rng, 200.0, seconds=4)), strict)
    assert any("capacity@stress" in w and "allowed 1%" in w for w in short.warnings)
    long = compare_runs([], (_capacity(rng, 200.0, seconds=120), _capacity(rng, 200.0, seconds=120)))
    assert not any("capacity@stress" in w for w in long.warnings)


def test_the_gate_fails_only_when_the_whole_interval_lies_beyond_the_allowance():
    """Significantly *beyond* the allowance: a point estimate past it is not enough."""
    rng = np.random.default_rng(5)
    base, new = _window(rng, 120, 300, 20.0), _window(rng, 120, 300, 21.2)  # +6 %
    mean = next(m for m in compare_runs([(base, new)]).metrics if m.metric == "mean")
    low = mean.effect_ci[0]
    assert mean.verdict == REGRESSED and 0 < low < mean.effect

    def fails_at(allowed: float) -> bool:
        result = compare_runs([(base, new)], settings=CompareSettings(max_regression={"mean": allowed}))
        return result.fails

    assert not fails_at((low + mean.effect) / 2)  # the point is beyond it, the interval reaches back
    assert fails_at(low * 0.9)


def test_a_large_change_that_is_not_significant_passes_the_gate():
    rng = np.random.default_rng(12)
    base, new = _window(rng, 3, 20, 20.0), _window(rng, 3, 20, 23.0)  # +15 % in 3 s: cannot be told from noise
    result = compare_runs([(base, new)], settings=CompareSettings(max_regression={"mean": 0.01}))
    mean = next(m for m in result.metrics if m.metric == "mean")
    assert mean.effect > 0.01 and mean.verdict == NO_CHANGE and not result.fails


def _wandering_capacity(rng: np.random.Generator, wander: float):
    """Three 10 s plateau steps whose rates wander step to step by ``wander`` (log sd) about 200 req/s."""
    from capplan.models.compare import CapacityInput

    plateau = tuple(_window(rng, seconds=10, rate=rate) for rate in 200.0 * np.exp(rng.normal(0, wander, 3)))
    rate = float(np.mean([_ratio_of_requests(w) for w in plateau]))
    floor = _window(rng, seconds=10, rate=50.0)
    return CapacityInput(rate, (math.nan, math.nan), rate * _ratio_of(floor), 0.0, (0.0, 0.0), 0.0, (0.0, 0.0),
                         plateau, floor)


def _ratio_of_requests(w: LevelWindow) -> float:
    return float(w.requests.sum() / w.seconds_s.sum())


def test_plateau_steps_that_wander_step_to_step_widen_the_capacity_interval_not_the_alarms():
    """Seconds within a step cannot see a step that ran 4 % slow; the spread of the steps can."""
    rng = np.random.default_rng(8)
    alarms = 0
    for _ in range(60):
        result = compare_runs([], (_wandering_capacity(rng, 0.04), _wandering_capacity(rng, 0.04)))
        alarms += next(m for m in result.metrics if m.metric == "capacity").verdict != NO_CHANGE
    assert alarms <= 6, alarms  # 5 % nominal; the seconds alone called about 40 % of these pairs different


def test_the_step_noise_comes_from_every_saturated_step_not_only_the_plateau_it_selected():
    """Steps kept for lying within 5 % of the highest agree by selection; the others show the noise."""
    from dataclasses import replace

    rng = np.random.default_rng(9)
    runs = []
    for _ in range(2):
        plateau = tuple(_window(rng, seconds=10, rate=rate) for rate in (208.0, 207.0))
        others = tuple(_window(rng, seconds=10, rate=rate) for rate in (190.0, 186.0))
        floor = _window(rng, seconds=10, rate=50.0)
        rate = float(np.mean([_ratio_of_requests(w) for w in plateau]))
        runs.append(CapacityInput(rate, (math.nan, math.nan), rate * _ratio_of(floor), 0.0, (0.0, 0.0), 0.0,
                                  (0.0, 0.0), plateau, floor, plateau + others))
    width = lambda result: np.subtract(*next(m for m in result.metrics if m.metric == "capacity").effect_ci[::-1])  # noqa: E731
    selected_only = compare_runs([], tuple(replace(r, saturated=()) for r in runs))
    assert width(compare_runs([], tuple(runs))) > 1.2 * width(selected_only)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.floats(1e-6, 1.0), st.floats(0.1, 10.0)), min_size=1, max_size=6))
def test_weighted_holm_is_the_closed_test_of_weighted_bonferroni_tests(pairs):
    # Closed testing (Marcus, Peritz & Gabriel 1976): H_i is rejected at α when every intersection
    # holding it is; the weighted Bonferroni test of J rejects when min p_j·w(J)/w_j ≤ α.
    p, w = np.array([a for a, _ in pairs]), np.array([b for _, b in pairs])
    m = p.size
    expected = []
    for i in range(m):
        worst = 0.0
        for mask in range(1, 2 ** m):
            members = [j for j in range(m) if mask >> j & 1]
            if i in members:
                worst = max(worst, min(1.0, min(p[j] * w[members].sum() / w[j] for j in members)))
        expected.append(worst)
    assert holm_adjust(p, w).tolist() == pytest.approx(expected)


def test_equal_weights_are_plain_holm():
    assert holm_adjust([0.01, 0.04, 0.03, 0.005], [2.0] * 4).tolist() == pytest.approx([0.03, 0.06, 0.06, 0.02])


def test_a_regression_beyond_the_allowance_on_its_estimate_only_is_said_to_be_unresolved():
    from capplan.models.compare import RunComparison
    from capplan.report.compare_view import headline

    rng = np.random.default_rng(5)
    base, new = _window(rng, 120, 300, 20.0), _window(rng, 120, 300, 21.2)  # +6 %
    mean = next(m for m in compare_runs([(base, new)]).metrics if m.metric == "mean")
    allowed = (mean.effect_ci[0] + mean.effect) / 2  # the estimate lies beyond it, the interval reaches back
    result = compare_runs([(base, new)], settings=CompareSettings(max_regression={"mean": allowed}))
    mean = next(m for m in result.metrics if m.metric == "mean")
    assert mean.unresolved and not mean.fails and not result.fails
    text = headline(RunComparison("a", "b", "a", "b", "baseline", result))
    assert "not shown beyond the allowed amounts: mean at" in text
    loose = next(m for m in compare_runs([(base, new)]).metrics if m.metric == "mean")
    assert not loose.unresolved  # +6 % against the default 10 %: simply allowed


def _saturated_run(rng: np.random.Generator, rate: float, steps: int):
    """A stress run's capacity from ``steps`` saturated 8 s steps at ``rate`` req/s."""
    from capplan.models.compare import CapacityInput

    windows = tuple(_window(rng, seconds=8, rate=rate) for _ in range(steps))
    x = float(np.mean([_ratio_of_requests(w) for w in windows]))
    floor = _window(rng, seconds=8, rate=50.0)
    return CapacityInput(x, (math.nan, math.nan), x * _ratio_of(floor), 0.0, (0.0, 0.0), 0.0, (0.0, 0.0), windows,
                         floor)


def test_a_run_stopped_after_one_saturated_step_still_shows_a_twenty_percent_drop():
    """Two steps' spread is a one-df estimate: taken alone, its t quantile (12.7) hid the drop in a
    third of such pairs; as τ² beside the steps' own noise it widens the interval only by what it shows."""
    rng = np.random.default_rng(21)
    found = sum(next(m for m in compare_runs([], (_saturated_run(rng, 200.0, 1), _saturated_run(rng, 200.0 / 1.2, 2)))
                     .metrics if m.metric == "capacity").verdict == REGRESSED for _ in range(150))
    assert found >= 0.75 * 150, found  # the larger-of rule found it in about two thirds


def _one_step_capacity(requests: np.ndarray):
    """A stress run's capacity from one saturated step of these per-second counts."""
    from capplan.models.compare import CapacityInput

    w = LevelWindow("saturated step", requests, np.zeros(len(requests)), np.ones(len(requests)),
                    np.full(len(requests), math.nan), None)
    x = float(requests.mean())
    return CapacityInput(x, (math.nan, math.nan), 0.0, 0.0, (0.0, 0.0), 0.0, (0.0, 0.0), (w,), None, (w,))


def test_holding_the_steps_as_much_longer_as_an_unresolved_capacity_asks_shows_it_beyond_the_allowance():
    """The same seconds repeated k times are k times longer steps with the same noise: the
    interval narrows as 1/√k, so the factor the verdict names is the one that resolves it."""
    from capplan.models.compare import RunComparison, hold_longer_text
    from capplan.report.compare_view import headline

    rng = np.random.default_rng(8)
    base, new = rng.poisson(200.0, 60).astype(float), rng.poisson(190.0, 60).astype(float)

    def capacity(k: int, allowed: float):
        result = compare_runs([], (_one_step_capacity(np.tile(base, k)), _one_step_capacity(np.tile(new, k))),
                              CompareSettings(max_regression={"capacity": allowed}))
        return result, next(m for m in result.metrics if m.metric == "capacity")

    _, first = capacity(1, 0.05)
    allowed = -first.effect - 0.3 * (first.effect_ci[1] - first.effect)  # 30 % of the way to the near end
    result, cap = capacity(1, allowed)
    assert cap.unresolved and 5 < cap.hold_longer < 20, cap.hold_longer
    assert hold_longer_text(cap.hold_longer) in headline(RunComparison("a", "b", "a", "b", "stress", result))
    assert capacity(math.ceil(1.3 * cap.hold_longer), allowed)[1].fails
    assert not capacity(math.floor(0.7 * cap.hold_longer), allowed)[1].fails
