"""Resource runways: trigger, exhaustion and order-by dates, worked out by hand."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from capplan.errors import InputDataError
from capplan.models.runway import (
    ResourceSpec,
    describe_resource,
    first_crossing,
    fit_linear_trend,
    order_by,
    project_compound,
    project_linear,
    resource_runway,
)

D = np.datetime64
DAYS = np.arange(D("2027-01-01", "D"), D("2027-01-01", "D") + 365)
DISK = ResourceSpec("db disk", "GB", limit=2000.0, trigger=0.8, lead_time_days=30.0)


def test_disk_growing_10gb_a_day_hand_computed():
    """1,150 GB + 10 GB/day: above 1,600 GB (80 %) first at t = 46 → 2027-02-16; above 2,000 GB at
    t = 86 → 2027-03-28; order by 2027-02-16 − 30 days = 2027-01-17."""
    runway = resource_runway(DISK, DAYS, project_linear(1150.0, 10.0, len(DAYS)))
    assert runway.trigger_date == D("2027-02-16")
    assert runway.exhaustion_date == D("2027-03-28")
    assert runway.order_by_date == D("2027-01-17")
    assert runway.days_to_exhaustion == 86
    assert runway.trigger_value == 1600.0
    assert "add capacity by 2027-01-17" in describe_resource(runway, DAYS[0])


def test_resource_that_lasts_the_horizon_has_no_dates():
    runway = resource_runway(DISK, DAYS, project_linear(100.0, 1.0, len(DAYS)))
    assert runway.trigger_date is runway.exhaustion_date is runway.order_by_date is None
    assert "stays below 80%" in describe_resource(runway, DAYS[0])


def test_compound_growth_over_24_months_of_730_hours():
    """100 × 1.1 ** 24 = 984.97 after 730 days (24 months of 30.4167 days)."""
    assert project_compound(100.0, 0.10, 731)[-1] == pytest.approx(100 * 1.1**24)


def test_linear_trend_fit_returns_last_value_and_slope():
    assert fit_linear_trend(np.array([-2.0, -1.0, 0.0]), np.array([10.0, 12.0, 14.0])) == pytest.approx((14.0, 2.0))


def test_linear_trend_needs_two_days():
    with pytest.raises(InputDataError, match=">= 2 distinct days"):
        fit_linear_trend(np.array([0.0]), np.array([1.0]))


def test_order_by_rounds_a_partial_lead_day_up():
    assert order_by(D("2027-01-10"), 2.5) == D("2027-01-07")
    assert order_by(None, 3) is None


@settings(max_examples=200, deadline=None)
@given(st.lists(st.floats(0, 1e6, allow_nan=False), min_size=1, max_size=100), st.floats(0, 1e6), st.floats(0, 1e6))
def test_a_higher_threshold_is_never_crossed_earlier(values, t1, t2):
    low, high = sorted((t1, t2))
    v = np.array(values)
    ds = DAYS[: len(v)]
    first_low, first_high = first_crossing(ds, v, low), first_crossing(ds, v, high)
    if first_high is not None:
        assert first_low is not None and first_low <= first_high
