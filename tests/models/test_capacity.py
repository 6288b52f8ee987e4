"""Instances needed, runway and scale-out schedule: hand-computed cases and hypothesis properties."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from capplan.errors import InputDataError, ModelError
from capplan.models.capacity import (
    DemandSeries,
    FleetSpec,
    InstanceCapacity,
    Redundancy,
    fleet_runway,
    instances_needed,
    plan_capacity,
    recommendations,
)

D = np.datetime64


def _days(n: int, start: str = "2027-01-01") -> np.ndarray:
    return np.arange(D(start, "D"), D(start, "D") + n)


def _fleet(current=6, minimum=3, redundancy=Redundancy(spares=1), trigger=0.8, lead=14.0, ahead=2.0) -> FleetSpec:
    return FleetSpec("m6i.large", current, minimum, redundancy, trigger, lead, ahead)


HAND = DemandSeries(_days(4), np.array([500.0, 900, 1000, 1500]), np.array([600.0, 1000, 1200, 1700]))
CAPACITY = InstanceCapacity(max_rps=250.0, safe_rps=200.0)  # 250 req/s max at 80 % target utilisation


def test_hand_computed_instances_with_n_plus_1():
    """safe = 250 × 0.8 = 200 req/s; N+1; minimum 3.

    P90 600, 1000, 1200, 1700 → ceil(3), ceil(5), ceil(6), ceil(8.5) = 3, 5, 6, 9 → +1 = 4, 6, 7, 10.
    P50 500, 900, 1000, 1500 → 2.5, 4.5, 5, 7.5 → 3, 5, 5, 8 → +1 = 4, 6, 6, 9.
    """
    plan = plan_capacity(HAND, CAPACITY, _fleet())
    assert plan.needed_p90.tolist() == [4, 6, 7, 10]
    assert plan.needed_p50.tolist() == [4, 6, 6, 9]
    assert plan.serving_p90.tolist() == [3, 5, 6, 9]


def test_hand_computed_instances_with_three_zones():
    """Serving 3, 5, 6, 9 over 3 zones that must survive losing one: per zone ceil(s / 2) = 2, 3, 3, 5 → ×3."""
    plan = plan_capacity(HAND, CAPACITY, _fleet(redundancy=Redundancy(zones=3)))
    assert plan.needed_p90.tolist() == [6, 9, 9, 15]


def test_minimum_applies_when_demand_is_tiny():
    """1 req/s needs 1 serving + 1 spare = 2, but the minimum is 3."""
    assert instances_needed(np.array([1.0, 0.0]), 200.0, Redundancy(spares=1), 3).tolist() == [3, 3]


def test_exact_multiples_do_not_round_up_an_extra_instance():
    """1000 / 250 is exactly 4, also for values such as 0.3 × 10 / 0.1 that float arithmetic perturbs."""
    assert instances_needed(np.array([1000.0, 0.3 * 10]), 250.0, Redundancy(), 0).tolist() == [4, 1]
    assert instances_needed(np.array([3.0]), 0.1 * 3, Redundancy(), 0).tolist() == [10]


def test_hand_computed_runway_of_the_current_fleet():
    """Fleet 6, N+1 → 5 usable × 200 = 1000 req/s safe, trigger 0.8 × 1000 = 800, max 5 × 250 = 1250.

    P90 600, 1000, 1200, 1700: trigger crossed day 2 (1000 > 800), safe exceeded day 3 (1200 > 1000),
    breach day 4 (1700 > 1250); order by 2027-01-02 − 14 days = 2026-12-19.
    """
    runway = fleet_runway(HAND.p90_rps, HAND.ds, CAPACITY, _fleet())
    assert (runway.trigger_date, runway.safe_exceeded_date, runway.breach_date) == (
        D("2027-01-02"), D("2027-01-03"), D("2027-01-04"))
    assert runway.order_by_date == D("2026-12-19")
    assert (runway.trigger_capacity_rps, runway.safe_capacity_rps, runway.max_capacity_rps) == (800, 1000, 1250)


def test_hand_computed_scale_out_schedule():
    """Per-instance trigger 0.8 × 200 = 160 req/s, step_ahead 2 days.

    Day 2: 1000 > 5 × 160 = 800 → window peak max(1000, 1200) = 1200 → ceil(7.5) + 1 = 9 (add 3).
    Day 4: 1700 > 8 × 160 = 1280 → ceil(1700 / 160 = 10.6) + 1 = 12 (add 3). Planned 6, 9, 9, 12.
    """
    plan = plan_capacity(HAND, CAPACITY, _fleet())
    assert [(s.crossing_date, s.add, s.fleet_after) for s in plan.steps] == [
        (D("2027-01-02"), 3, 9), (D("2027-01-04"), 3, 12)]
    assert [s.order_by_date for s in plan.steps] == [D("2026-12-19"), D("2026-12-21")]
    assert plan.planned.tolist() == [6, 9, 9, 12]
    assert recommendations(plan)[0] == ("add 3 × m6i.large by 2026-12-19 (overdue: order now) — trigger crossed "
                                        "2027-01-02, lead time 14 days (fleet 9)")


def test_event_days_get_temporary_capacity_not_a_permanent_step():
    """Flat 500 req/s with a 3× day: fleet 6 covers 500 (< 800) but the 1500 event day needs
    ceil(1500 / 160) + 1 = 11, i.e. 5 more for that day only."""
    p = np.full(5, 500.0)
    p[2] = 1500.0
    event = np.array([False, False, True, False, False])
    plan = plan_capacity(DemandSeries(_days(5), p, p, event=event), CAPACITY, _fleet())
    assert plan.planned.tolist() == [6, 6, 11, 6, 6]
    (step,) = plan.steps
    assert step.temporary and step.add == 5 and step.until_date == D("2027-01-03")
    assert "temporarily" in recommendations(plan)[0]


def test_no_scale_out_needed_says_so_and_counts_spare_instances():
    flat = DemandSeries(_days(3), np.full(3, 100.0), np.full(3, 100.0))
    (text,) = recommendations(plan_capacity(flat, CAPACITY, _fleet(current=6)))
    assert text.startswith("no scale-out needed") and "P90 needs at most 3, 3 could go" in text


def test_safe_above_max_is_a_model_error():
    with pytest.raises(ModelError, match="0 < safe <= max"):
        plan_capacity(HAND, InstanceCapacity(max_rps=100.0, safe_rps=200.0), _fleet())


def test_nan_demand_is_an_input_data_error():
    with pytest.raises(InputDataError, match="NaN"):
        DemandSeries(_days(2), np.array([1.0, np.nan]), np.array([1.0, 2.0]))


def test_unsorted_days_are_an_input_data_error():
    with pytest.raises(InputDataError, match="strictly increasing"):
        DemandSeries(_days(2)[::-1], np.ones(2), np.ones(2))


demand_values = st.lists(st.floats(0, 50_000, allow_nan=False), min_size=1, max_size=60)
redundancies = st.one_of(st.builds(Redundancy, spares=st.integers(0, 3)),
                         st.builds(Redundancy, zones=st.integers(2, 5)))


@settings(max_examples=200, deadline=None)
@given(demand_values, st.lists(st.floats(0, 10_000, allow_nan=False), min_size=60, max_size=60),
       st.floats(1, 2_000), redundancies, st.integers(0, 10))
def test_more_demand_never_needs_fewer_instances(values, extra, safe, redundancy, minimum):
    base = np.array(values)
    more = base + np.array(extra[: len(values)])
    assert np.all(instances_needed(more, safe, redundancy, minimum) >= instances_needed(base, safe, redundancy, minimum))


@settings(max_examples=200, deadline=None)
@given(demand_values, st.floats(10, 2_000), st.floats(0.05, 1.0), st.floats(0.05, 1.0), redundancies)
def test_higher_target_utilization_never_needs_more_instances(values, max_rps, u1, u2, redundancy):
    low, high = sorted((u1, u2))
    peak = np.array(values)
    assert np.all(instances_needed(peak, max_rps * high, redundancy, 0) <= instances_needed(peak, max_rps * low, redundancy, 0))


@settings(max_examples=150, deadline=None)
@given(demand_values, st.floats(0, 60), st.floats(0, 60), st.integers(0, 30))
def test_longer_lead_time_never_gives_a_later_order_by_date(values, lead1, lead2, current):
    short, long = sorted((lead1, lead2))
    p = np.array(values)
    demand = DemandSeries(_days(len(p)), p, p)
    plans = [plan_capacity(demand, CAPACITY, _fleet(current=current, lead=lead)) for lead in (short, long)]
    runway_short, runway_long = plans[0].runway, plans[1].runway
    if runway_short.order_by_date is not None:
        assert runway_long.order_by_date <= runway_short.order_by_date
    for a, b in zip(plans[0].steps, plans[1].steps, strict=True):
        assert b.order_by_date <= a.order_by_date


@settings(max_examples=200, deadline=None)
@given(st.integers(0, 500), redundancies)
def test_redundant_fleet_still_serves_after_losing_a_zone_or_spares(serving, redundancy):
    total = int(redundancy.total_for(np.array([serving]))[0])
    assert redundancy.usable_of(total) >= serving


@settings(max_examples=150, deadline=None)
@given(demand_values, st.integers(0, 40), redundancies, st.floats(1, 120))
def test_planned_fleet_keeps_p90_demand_under_the_trigger(values, current, redundancy, ahead):
    p = np.array(values)
    fleet = _fleet(current=current, redundancy=redundancy, ahead=ahead)
    plan = plan_capacity(DemandSeries(_days(len(p)), p, p), CAPACITY, fleet)
    usable = np.array([redundancy.usable_of(int(n)) for n in plan.planned])
    assert np.all(p <= usable * CAPACITY.safe_rps * fleet.trigger_utilization + 1e-6)
    assert np.all(np.diff(plan.planned) >= 0)
    assert np.all(plan.planned >= fleet.minimum)


def test_fleet_below_the_minimum_is_raised_to_it_first():
    """Fleet 1 with minimum 3 and no demand: one step of 2 on the first day."""
    flat = DemandSeries(_days(3), np.zeros(3), np.zeros(3))
    plan = plan_capacity(flat, CAPACITY, _fleet(current=1, minimum=3))
    assert [(s.reason, s.add, s.fleet_after) for s in plan.steps] == [("minimum", 2, 3)]
    assert plan.planned.tolist() == [3, 3, 3]
    assert "below the minimum of 3" in recommendations(plan)[0]
