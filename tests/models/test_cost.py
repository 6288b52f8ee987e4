"""Monthly costs, the headroom/redundancy split and purchase options, worked out by hand."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from capplan.models.capacity import DemandSeries, FleetSpec, InstanceCapacity, Redundancy, plan_capacity
from capplan.models.cost import PriceSheet, day_rates, project_costs, purchase_options

D = np.datetime64
CAPACITY = InstanceCapacity(max_rps=250.0, safe_rps=200.0)
PRICES = PriceSheet("USD", hourly=0.1, hours_per_month=730.0, reserved_1y_discount=0.37,
                    reserved_3y_discount=0.57, spot_discount=0.6)


def _days(n: int, start: str = "2027-01-01") -> np.ndarray:
    return np.arange(D(start, "D"), D(start, "D") + n)


def _plan(p50, p90, start="2027-01-01", minimum=0, spares=1):
    demand = DemandSeries(_days(len(p50), start), np.asarray(p50, float), np.asarray(p90, float))
    fleet = FleetSpec("m6i.large", 0, minimum, Redundancy(spares=spares), 0.8, 14.0, 90.0)
    return plan_capacity(demand, CAPACITY, fleet)


def test_a_full_month_costs_instances_times_730_hours():
    """10 instances all of January at 0.1/h: 10 × 0.1 × 730 = 730 (not 31 × 24 = 744 hours)."""
    costs = project_costs(_plan(np.full(31, 1700.0), np.full(31, 1700.0)), PRICES)  # ceil(8.5) + 1 = 10
    (month,) = costs.months
    assert month.month == "2027-01" and month.days == 31 and month.instances_p90 == 10
    assert month.cost_p90 == pytest.approx(730.0)


def test_february_prorates_by_its_28_days():
    rates = day_rates(_days(28, "2027-02-01"), PRICES)
    assert rates.sum() == pytest.approx(73.0)


def test_hand_computed_split_into_load_headroom_and_redundancy():
    """4 January days at 0.1 × 730 / 31 per instance-day; needed P90 4, 6, 7, 10 (sum 27).

    load = P50 / max = 500, 900, 1000, 1500 / 250 = 2, 3.6, 4, 6 (15.6 instance-days);
    redundancy = 1 spare a day (4); headroom = 27 − 4 − 15.6 = 7.4.
    """
    costs = project_costs(_plan([500, 900, 1000, 1500], [600, 1000, 1200, 1700]), PRICES)
    day = 0.1 * 730 / 31
    (month,) = costs.months
    assert month.cost_p90 == pytest.approx(27 * day)
    assert month.cost_p50 == pytest.approx((4 + 6 + 6 + 9) * day)
    assert month.cost_load == pytest.approx(15.6 * day)
    assert month.cost_redundancy == pytest.approx(4 * day)
    assert month.cost_headroom == pytest.approx(7.4 * day)
    assert costs.total_headroom == pytest.approx(month.cost_headroom)


def test_months_are_split_at_calendar_boundaries():
    costs = project_costs(_plan(np.full(40, 100.0), np.full(40, 100.0), start="2027-01-15"), PRICES)
    assert [(m.month, m.days) for m in costs.months] == [("2027-01", 17), ("2027-02", 23)]


def _options(plan):
    """Purchase options for the instances needed at P90 (the tests' fleets are given by hand)."""
    return {o.name: o for o in purchase_options(plan.needed_p90, PRICES, day_rates(plan.demand.ds, PRICES))}


def test_purchase_options_and_the_budget_are_for_the_planned_fleet():
    """The budget is what the plan runs (N+1, a step ahead), not the instances needed."""
    plan = _plan(np.linspace(500.0, 1700.0, 120), np.linspace(600.0, 1900.0, 120))
    costs = project_costs(plan, PRICES)
    rate = day_rates(plan.demand.ds, PRICES)
    assert costs.total_planned == pytest.approx(float((plan.planned * rate).sum()))
    assert costs.total_planned > costs.total_p90
    assert [o.total for o in costs.options] == pytest.approx(
        [o.total for o in purchase_options(plan.planned, PRICES, rate)])
    assert costs.options[0].total == pytest.approx(costs.total_planned)


def test_one_year_reservation_of_a_flat_fleet_saves_the_discount():
    """A flat 10 instances for 365 days from 2027-01-01: on demand 10 × 0.1 × 730 × 12 = 8,760;
    1y reserved 8,760 × (1 − 0.37) = 5,518.8, a 37 % saving; no peaks, so spot changes nothing."""
    options = _options(_plan(np.full(365, 1700.0), np.full(365, 1700.0)))
    assert options["all on-demand"].total == pytest.approx(8760.0)
    reserved = options["1y reserved baseline + on-demand peaks"]
    assert reserved.reserved_instances == (10,)
    assert reserved.total == pytest.approx(5518.8)
    assert reserved.saving_fraction == pytest.approx(0.37)
    assert options["1y reserved baseline + spot peaks"].total == pytest.approx(5518.8)


def test_three_year_reservation_is_charged_for_its_whole_term():
    """On a 365-day horizon the 3y term still owes 730 days: 8,760 × 0.43 + 10 × 730 × 24 × 0.1 × 0.43
    = 3,766.8 + 7,533.6 = 11,300.4, more than paying on demand."""
    option = _options(_plan(np.full(365, 1700.0), np.full(365, 1700.0)))["3y reserved baseline + on-demand peaks"]
    assert option.total == pytest.approx(11300.4)
    assert option.saving < 0 and "730 days" in option.note


def test_peaks_above_the_reserved_baseline_are_paid_on_demand_or_spot():
    """30 January days at 4 instances (P50 = P90 = 500 → 3 + 1), one day at 10 (1700): baseline 4.
    The peak day has 6 extra instances: on demand 6 × 73/31, on spot 60 % less."""
    p = np.full(31, 500.0)
    p[10] = 1700.0
    options = _options(_plan(p, p))
    day = 73.0 / 31
    base = 4 * 31 * day * 0.63
    assert options["1y reserved baseline + on-demand peaks"].total == pytest.approx(base + 6 * day + 4 * 334 * 24 * 0.1 * 0.63)
    assert options["1y reserved baseline + spot peaks"].total == pytest.approx(base + 6 * day * 0.4 + 4 * 334 * 24 * 0.1 * 0.63)


@settings(max_examples=100, deadline=None)
@given(st.lists(st.floats(0, 20_000, allow_nan=False), min_size=1, max_size=120), st.floats(0, 5_000))
def test_cost_parts_add_up_and_p90_costs_at_least_p50(p50, spread):
    p50 = np.array(p50)
    costs = project_costs(_plan(p50, p50 + spread), PRICES)
    for m in costs.months:
        assert m.cost_load + m.cost_headroom + m.cost_redundancy == pytest.approx(m.cost_p90, rel=1e-9, abs=1e-9)
        assert m.cost_p90 >= m.cost_p50 - 1e-9
