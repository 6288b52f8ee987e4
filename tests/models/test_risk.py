"""Risk per month: analytic normal cases, zero-width limits and hypothesis properties."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.stats import norm

from capplan.errors import InputDataError, ModelError
from capplan.models.capacity import DemandSeries, Redundancy, instances_needed
from capplan.models.risk import (
    Z90,
    CapacityInterval,
    RiskSettings,
    fleet_risk,
    fleet_sizes,
    per_day,
    plan_to_risk,
    sample_capacity,
    sample_demand_paths,
)

D = np.datetime64
N_PLUS_1 = Redundancy(spares=1)


def _demand(days: int, p50: float, p90: float, start: str = "2027-01-01") -> DemandSeries:
    ds = np.arange(D(start, "D"), D(start, "D") + days)
    return DemandSeries(ds, np.full(days, p50), np.full(days, p90))


def _growing(days: int = 730) -> DemandSeries:
    ds = np.arange(D("2026-12-01", "D"), D("2026-12-01", "D") + days)
    p50 = 1200.0 * 1.06 ** (np.arange(days) / 30.42)
    return DemandSeries(ds, p50, 1.25 * p50)


def _within_mc_error(observed: float, expected: float, paths: int) -> bool:
    se = math.sqrt(max(expected * (1 - expected), 1e-12) / paths)
    return abs(observed - expected) <= 4.0 * se


def test_breach_probability_matches_the_normal_tail_with_known_capacity():
    """Demand N(1000, σ) with P90 = 1000 + 1.2816σ, σ = 100; usable 4 × 280 = 1120 req/s.

    P(D > 1120) = 1 − Φ(1.2) = 0.1151 (one quantile level per path, so a flat month is one draw).
    """
    paths = sample_demand_paths(_demand(31, 1000.0, 1000.0 + Z90 * 100.0), RiskSettings(paths=20_000, seed=3))
    risk = fleet_risk(paths, CapacityInterval.exact(280.0), np.full(31, 5), N_PLUS_1, 0.8)
    assert _within_mc_error(risk[0].breach_probability, 1 - norm.cdf(1.2), 20_000)


def test_breach_probability_matches_the_normal_case_with_uncertain_capacity():
    """D ~ N(1000, 100²), C ~ N(280, 20²) (95 % interval 280 ± 1.96·20), usable u = 4.

    P(D > 4C) = Φ((1000 − 1120) / √(100² + 4²·20²)) = Φ(−120 / 128.06) = 0.1744.
    """
    paths = sample_demand_paths(_demand(1, 1000.0, 1000.0 + Z90 * 100.0), RiskSettings(paths=20_000, seed=4))
    half = float(norm.ppf(0.975)) * 20.0
    capacity = CapacityInterval(280.0, 280.0 - half, 280.0 + half, 0.95)
    risk = fleet_risk(paths, capacity, np.array([5]), N_PLUS_1, 0.8)
    expected = float(norm.cdf(-120.0 / math.sqrt(100.0**2 + 16 * 20.0**2)))
    assert _within_mc_error(risk[0].breach_probability, expected, 20_000)


def test_trigger_probability_uses_the_safe_fraction_and_trigger_utilisation():
    """Trigger at 4 × 280 × 0.8 × 0.8 = 716.8 req/s: P(N(700, 100²) > 716.8) = 1 − Φ(0.168) = 0.4333."""
    paths = sample_demand_paths(_demand(1, 700.0, 700.0 + Z90 * 100.0), RiskSettings(paths=20_000, seed=5))
    risk = fleet_risk(paths, CapacityInterval.exact(280.0, 0.8), np.array([5]), N_PLUS_1, 0.8)
    assert _within_mc_error(risk[0].trigger_probability, 1 - norm.cdf(0.168), 20_000)


def test_zero_width_forecast_and_capacity_give_probabilities_zero_or_one():
    paths = sample_demand_paths(_demand(10, 1000.0, 1000.0), RiskSettings(paths=50))
    capacity = CapacityInterval.exact(300.0)
    enough = fleet_risk(paths, capacity, np.full(10, 5), N_PLUS_1, 0.8)[0]  # 4 × 300 = 1200 > 1000
    short = fleet_risk(paths, capacity, np.full(10, 4), N_PLUS_1, 0.8)[0]  # 3 × 300 = 900 < 1000
    assert (enough.breach_probability, enough.breach_se) == (0.0, 0.0)
    assert (short.breach_probability, short.breach_se) == (1.0, 0.0)
    assert enough.trigger_probability == 1.0  # 4 × 300 × 0.8 × 0.8 = 768 < 1000


def test_zero_width_plan_equals_the_deterministic_instance_count():
    """With nothing uncertain the risk plan is ceil(peak / max) + redundancy, whatever the target."""
    demand = _demand(59, 1000.0, 1000.0)
    paths = sample_demand_paths(demand, RiskSettings(paths=100))
    plan = plan_to_risk(paths, CapacityInterval.exact(300.0), N_PLUS_1, 2, 0.01)
    assert plan.tolist() == [5, 5]  # Jan and Feb: ceil(1000 / 300) = 4, + 1
    assert plan.tolist() == instances_needed(np.array([1000.0, 1000.0]), 300.0, N_PLUS_1, 2).tolist()


def test_plan_to_risk_keeps_every_month_under_the_target():
    paths = sample_demand_paths(_growing(), RiskSettings(paths=2000, seed=11))
    capacity = CapacityInterval(362.8, 296.5, 429.0, 0.95)
    plan = plan_to_risk(paths, capacity, N_PLUS_1, 3, 0.01)
    risk = fleet_risk(paths, capacity, per_day(paths, plan), N_PLUS_1, 0.8)
    assert len(risk) == 24
    assert max(r.breach_probability for r in risk) <= 0.01
    one_less = fleet_risk(paths, capacity, per_day(paths, plan) - 1, N_PLUS_1, 0.8)
    assert all(r.breach_probability > 0.01 for r, p in zip(one_less, plan, strict=True) if p > 3)


def test_losing_a_zone_is_the_breach_of_the_usable_fleet():
    """6 instances over 3 zones: losing one leaves 4; 4 × 300 = 1200 ≥ 1100 but all 6 up is fine too."""
    paths = sample_demand_paths(_demand(5, 1100.0, 1100.0), RiskSettings(paths=20))
    zones = Redundancy(zones=3)
    ok = fleet_risk(paths, CapacityInterval.exact(300.0), np.full(5, 6), zones, 0.8)[0]
    assert (ok.breach_probability, ok.all_up_breach_probability) == (0.0, 0.0)
    lost = fleet_risk(paths, CapacityInterval.exact(300.0), np.full(5, 5), zones, 0.8)[0]  # 5 − 2 = 3 → 900
    assert (lost.breach_probability, lost.all_up_breach_probability) == (1.0, 0.0)


def test_days_of_a_path_are_correlated_but_keep_their_calibrated_marginal():
    demand = _demand(31, 1000.0, 1200.0)
    for rho in (1.0, 0.5, 0.0):
        paths = sample_demand_paths(demand, RiskSettings(paths=4000, seed=2, day_correlation=rho))
        assert abs(float((paths.rps > 1200.0).mean()) - 0.1) < 0.02
    together = sample_demand_paths(demand, RiskSettings(paths=4000, seed=2, day_correlation=1.0))
    assert np.all(np.ptp(together.rps, axis=1) < 1e-9)  # one quantile level per path
    apart = sample_demand_paths(demand, RiskSettings(paths=4000, seed=2, day_correlation=0.0))
    monthly = [float((p.month_peaks() > 1200.0).mean()) for p in (together, apart)]
    assert monthly[0] < 0.15 < 0.9 < monthly[1]  # independent days: nearly every month has a day above P90


def test_same_seed_gives_the_same_paths_and_another_seed_does_not():
    a, b = (sample_demand_paths(_growing(90), RiskSettings(paths=200, seed=7)) for _ in range(2))
    c = sample_demand_paths(_growing(90), RiskSettings(paths=200, seed=8))
    assert np.array_equal(a.rps, b.rps) and np.array_equal(a.capacity_z, b.capacity_z)
    assert not np.array_equal(a.rps, c.rps)


def test_lower_tail_follows_the_p10_when_given():
    demand = _demand(1, 1000.0, 1200.0)
    paths = sample_demand_paths(demand, RiskSettings(paths=8000, seed=1), p10_rps=np.array([500.0]))
    assert abs(float((paths.rps < 500.0).mean()) - 0.1) < 0.015
    assert abs(float((paths.rps > 1200.0).mean()) - 0.1) < 0.015


def test_capacity_with_an_unbounded_upper_end_is_never_sampled_above_its_estimate():
    capacity = CapacityInterval(300.0, 250.0, math.inf)
    drawn = sample_capacity(capacity, np.random.default_rng(0).standard_normal(1000))
    assert drawn.max() == 300.0 and drawn.min() < 260.0


def test_zero_width_fleet_sizes_match_the_planners_p50_count():
    demand = _growing(60)
    paths = sample_demand_paths(DemandSeries(demand.ds, demand.p50_rps, demand.p50_rps), RiskSettings(paths=20))
    sizes = fleet_sizes(paths, CapacityInterval.exact(350.0, 0.8), N_PLUS_1, 3)
    assert np.array_equal(sizes[0], instances_needed(demand.p50_rps, 280.0, N_PLUS_1, 3))


def test_bad_inputs_are_refused_with_the_fix():
    with pytest.raises(ModelError, match="max_breach_probability"):
        plan_to_risk(sample_demand_paths(_demand(3, 1.0, 1.0), RiskSettings(paths=10)),
                     CapacityInterval.exact(1.0), N_PLUS_1, 1, 1.5)
    with pytest.raises(ModelError, match="contain its estimate"):
        CapacityInterval(300.0, 310.0, 320.0)
    with pytest.raises(ModelError, match="day_correlation"):
        RiskSettings(day_correlation=1.2)
    with pytest.raises(InputDataError, match="P10"):
        sample_demand_paths(_demand(3, 1.0, 1.0), RiskSettings(paths=10), p10_rps=np.ones(2))


PATHS = sample_demand_paths(_growing(120), RiskSettings(paths=300, seed=5))


@settings(max_examples=40, deadline=None)
@given(point=st.floats(50.0, 2000.0), width=st.floats(0.0, 0.4), more=st.floats(1.0, 3.0),
       fleet=st.integers(1, 40))
def test_more_capacity_per_instance_never_raises_breach_probability(point, width, more, fleet):
    base = CapacityInterval(point, point * (1 - width), point * (1 + width))
    days = np.full(PATHS.rps.shape[1], fleet)
    low = fleet_risk(PATHS, base, days, N_PLUS_1, 0.8)
    high = fleet_risk(PATHS, base.scaled(more), days, N_PLUS_1, 0.8)
    shifted = fleet_risk(PATHS, CapacityInterval(point + more, base.lower_rps + more, base.upper_rps + more),
                         days, N_PLUS_1, 0.8)
    for a, b, c in zip(low, high, shifted, strict=True):
        assert b.breach_probability <= a.breach_probability and c.breach_probability <= a.breach_probability
        assert b.trigger_probability <= a.trigger_probability


@settings(max_examples=40, deadline=None)
@given(target=st.floats(0.0, 0.5), looser=st.floats(0.0, 0.5), width=st.floats(0.0, 0.3),
       zones=st.sampled_from([None, 2, 3]))
def test_a_looser_risk_target_never_buys_more_instances(target, looser, width, zones):
    capacity = CapacityInterval(360.0, 360.0 * (1 - width), 360.0 * (1 + width))
    redundancy = Redundancy(spares=0 if zones else 1, zones=zones)
    strict = plan_to_risk(PATHS, capacity, redundancy, 2, target)
    loose = plan_to_risk(PATHS, capacity, redundancy, 2, min(target + looser, 0.99))
    assert np.all(loose <= strict)
