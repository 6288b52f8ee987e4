"""The monthly review's pure comparison: forecast error, runway change, triggers crossed."""

from __future__ import annotations

import math
from datetime import date, datetime, timedelta, timezone

import pytest

from capplan.errors import InputDataError
from capplan.models.review import (PlanSnapshot, SnapshotTrigger, crossed_triggers, forecast_error, review_plans,
                                   runway_change_days)

D0 = date(2026, 10, 1)
DAYS = tuple(D0 + timedelta(days=i) for i in range(4))


def _snapshot(runway: date | None = None, triggers: tuple[SnapshotTrigger, ...] = ()) -> PlanSnapshot:
    return PlanSnapshot(service="svc", archived_at=datetime(2026, 10, 1, tzinfo=timezone.utc), as_of=D0, days=DAYS,
                        p50_rps=(100.0, 100.0, 200.0, 200.0), p90_rps=(120.0, 120.0, 240.0, 240.0),
                        current_instances=4, safe_capacity_rps=1000.0, runway_date=runway, act_by=None,
                        triggers=triggers)


def test_forecast_error_is_mape_bias_and_upper_coverage_by_hand():
    actual = {DAYS[0]: 110.0, DAYS[1]: 90.0, DAYS[2]: 250.0}
    err = forecast_error(DAYS, (100.0, 100.0, 200.0, 200.0), (120.0, 120.0, 240.0, 240.0), actual)
    # |A−F|/A: 10/110, 10/90, 50/250; (A−F)/A: +10/110, −10/90, +50/250
    assert err.days == 3
    assert err.mape == pytest.approx((10 / 110 + 10 / 90 + 50 / 250) / 3)
    assert err.bias == pytest.approx((10 / 110 - 10 / 90 + 50 / 250) / 3)
    assert err.upper_coverage == pytest.approx(2 / 3)  # 250 > 240
    assert (err.actual_peak_rps, err.forecast_peak_rps) == (250.0, 200.0)


def test_days_without_a_usable_actual_are_left_out():
    actual = {DAYS[0]: 0.0, DAYS[1]: math.nan, DAYS[2]: 200.0, D0 - timedelta(days=1): 5.0}
    err = forecast_error(DAYS, (100.0, 100.0, 200.0, 200.0), (120.0,) * 4, actual)
    assert err.days == 1 and err.mape == 0.0


def test_no_overlap_gives_no_forecast_error():
    assert forecast_error(DAYS, (1.0,) * 4, (2.0,) * 4, {D0 - timedelta(days=3): 5.0}) is None


def test_runway_change_is_the_difference_of_the_dates_and_none_when_open_ended():
    assert runway_change_days(_snapshot(date(2027, 6, 1)), _snapshot(date(2027, 5, 2))) == -30
    assert runway_change_days(_snapshot(None), _snapshot(date(2027, 5, 2))) is None


def test_a_demand_trigger_is_crossed_on_the_first_day_traffic_exceeds_it():
    trigger = SnapshotTrigger("fleet load trigger", 150.0, date(2026, 12, 1))
    actual = {DAYS[0]: 140.0, DAYS[1]: 151.0, DAYS[2]: 160.0}
    crossed = crossed_triggers(_snapshot(triggers=(trigger,)), actual, today=DAYS[3])
    assert [(c.name, c.when) for c in crossed] == [("fleet load trigger", DAYS[1])]


def test_a_dated_trigger_is_due_when_its_date_passed_and_not_before():
    trigger = SnapshotTrigger("resource disk", None, DAYS[2])
    assert crossed_triggers(_snapshot(triggers=(trigger,)), {}, today=DAYS[1]) == ()
    assert [c.when for c in crossed_triggers(_snapshot(triggers=(trigger,)), {}, today=DAYS[3])] == [DAYS[2]]


def test_review_plans_puts_the_parts_together():
    previous, current = _snapshot(date(2027, 6, 1)), _snapshot(date(2027, 6, 11))
    review = review_plans(previous, current, {DAYS[0]: 100.0}, today=DAYS[3])
    assert review.forecast_error.mape == 0.0 and review.runway_change_days == 10 and review.crossed == ()


def test_a_snapshot_with_columns_of_different_lengths_is_refused():
    with pytest.raises(InputDataError, match="differ in length"):
        PlanSnapshot(service="s", archived_at=datetime(2026, 1, 1, tzinfo=timezone.utc), as_of=D0, days=DAYS,
                     p50_rps=(1.0,), p90_rps=(1.0,) * 4, current_instances=1, safe_capacity_rps=1.0,
                     runway_date=None, act_by=None)
