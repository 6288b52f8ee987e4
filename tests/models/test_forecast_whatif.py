"""What-if growth: compound growth per 730-hour month and scenario multipliers."""

from __future__ import annotations

from datetime import date

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from capplan.errors import ConfigError
from capplan.models.growth import DAYS_PER_MONTH, what_if_forecast


def test_fifteen_percent_a_month_compounds_to_one_point_15_per_month():
    forecast = what_if_forecast(1200.0, 0.15, 400, date(2026, 1, 1))
    yhat = forecast.frame["yhat"].to_numpy()
    assert yhat[0] == pytest.approx(1200.0)
    # 12 months of 730 h = 365 days: 1200 · 1.15^12 = 6420.3 (compound-interest formula).
    assert yhat[365] == pytest.approx(1200.0 * 1.15 ** 12, rel=1e-9)
    assert yhat[365] == pytest.approx(6420.3, abs=0.1)


def test_a_multiplier_applies_from_its_date_on():
    forecast = what_if_forecast(100.0, 0.0, 60, date(2027, 2, 1), [(date(2027, 3, 1), 1.5)])
    frame = forecast.frame.set_index("ds")
    assert frame.loc["2027-02-28", "yhat"] == pytest.approx(100.0)
    assert frame.loc["2027-03-01":, "yhat"].tolist() == pytest.approx([150.0] * 32)


def test_a_scenario_has_no_interval_of_its_own():
    frame = what_if_forecast(10.0, 0.05, 30, date(2026, 1, 1)).frame
    assert (frame["yhat_lower"] == frame["yhat"]).all() and (frame["yhat_upper"] == frame["yhat"]).all()


@settings(max_examples=50, deadline=None)
@given(st.floats(0.01, 1e6), st.floats(-0.5, 2.0), st.integers(2, 800))
def test_growth_over_any_span_matches_the_monthly_rate(rate, growth, horizon):
    yhat = what_if_forecast(rate, growth, horizon, date(2026, 1, 1)).frame["yhat"].to_numpy()
    days = horizon - 1
    assert yhat[-1] / yhat[0] == pytest.approx((1 + growth) ** (days / DAYS_PER_MONTH), rel=1e-9)
    assert np.all(np.diff(yhat) >= 0) if growth >= 0 else np.all(np.diff(yhat) <= 0)


def test_non_positive_rate_is_a_usage_error():
    with pytest.raises(ConfigError, match="--from-rate must be a positive req/s, got 0"):
        what_if_forecast(0.0, 0.1, 30, date(2026, 1, 1))
