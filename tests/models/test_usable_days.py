"""The days a forecast learns from: not before a launch, not through an outage recorded as zero,
not a one-day spike."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from capplan.models.usable_days import MAX_OUTAGE_SHARE, SPIKE_FACTOR, SPIKE_MAX_DAYS, usable_days

WEEK = np.array([100.0, 120.0, 130.0, 125.0, 118.0, 60.0, 40.0])


def _series(values) -> pd.Series:
    return pd.Series(np.asarray(values, dtype=float), index=pd.date_range("2025-01-01", periods=len(values)))


def test_days_before_the_first_traffic_are_dropped_with_a_warning():
    days, warnings = usable_days(_series(np.r_[np.zeros(40), np.resize(WEEK, 70)]))
    assert days.index[0] == pd.Timestamp("2025-02-10") and len(days) == 70
    assert warnings == ("the 40 days before 2025-02-10 have no traffic (before a launch): "
                        "the forecast learns from that day on",)


def test_rare_zero_days_amid_traffic_become_missing():
    values = np.resize(WEEK, 200)
    values[120:125] = 0.0  # a five-day outage
    days, warnings = usable_days(_series(values))
    assert days.iloc[120:125].isna().all() and days.drop(days.index[120:125]).notna().all()
    assert len(days) == 200
    assert len(warnings) == 1 and "5 days with zero traffic" in warnings[0] and "2025-05-01" in warnings[0]


def test_an_outage_at_the_end_stays_inside_the_history():
    values = np.resize(WEEK, 200)
    values[-3:] = 0.0
    days, _ = usable_days(_series(values))
    assert days.index[-1] == pd.Timestamp("2025-07-19") and days.iloc[-3:].isna().all()


def test_a_series_often_at_zero_keeps_its_zeros():
    values = np.resize(np.r_[WEEK[:6], 0.0], 210)  # closed every seventh day: 14 % of days
    assert (values == 0).mean() > MAX_OUTAGE_SHARE
    days, warnings = usable_days(_series(values))
    assert (days == 0.0).sum() == 30 and warnings == ()


def test_a_history_without_any_traffic_is_kept_whole():
    days, warnings = usable_days(_series(np.zeros(60)))
    assert len(days) == 60 and (days == 0.0).all() and warnings == ()


def test_missing_days_at_either_end_are_dropped_and_missing_days_inside_kept():
    values = np.resize(WEEK, 100)
    values[[0, 1, 50, 99]] = np.nan
    days, warnings = usable_days(_series(values))
    assert len(days) == 97 and days.isna().sum() == 1 and warnings == ()
    assert days.index[0] == pd.Timestamp("2025-01-03")


@pytest.mark.parametrize("zeros", [0, 1, 10])
def test_the_days_keep_their_calendar(zeros):
    values = np.resize(WEEK, 100)
    values[40:40 + zeros] = 0.0
    days, _ = usable_days(_series(values))
    assert days.index.equals(pd.date_range("2025-01-01", periods=100))


def test_a_drop_in_the_last_days_is_kept_and_warned_about():
    values = np.resize(WEEK, 200)
    values[-5:] = 1.0  # a broken exporter, or traffic that moved away
    days, warnings = usable_days(_series(values))
    assert days.iloc[-5:].tolist() == [1.0] * 5
    assert warnings == ("the last 5 days (from 2025-07-15) lie under 10% of the same weekdays in the 4 weeks "
                        "before: the forecast follows them; if that was an outage, leave those days empty in the "
                        "history",)


def test_a_weekend_low_is_not_a_drop():
    values = np.resize(np.r_[WEEK[:5], 15.0, 12.0], 200)  # weekends at about a tenth of the weekdays
    assert usable_days(_series(values))[1] == ()


def test_a_zero_first_day_is_not_a_launch():
    values = np.resize(np.r_[0.0, WEEK[1:]], 210)  # closed every seventh day, the first one included
    days, warnings = usable_days(_series(values))
    assert len(days) == 210 and warnings == ()


@pytest.mark.parametrize("drop_days", [5, 22, 60])
def test_a_long_drop_at_the_end_is_warned_about_over_its_whole_length(drop_days):
    values = np.resize(WEEK, 300)
    values[-drop_days:] = 1.0
    values[-2] = np.nan  # a missing day inside the drop does not cut it short
    warnings = usable_days(_series(values))[1]
    assert len(warnings) == 1 and warnings[0].startswith(f"the last {drop_days} days")


def test_a_one_day_spike_amid_traffic_becomes_missing_with_a_warning():
    values = np.resize(WEEK, 200)
    values[100] = 50 * values[100]
    days, warnings = usable_days(_series(values))
    assert np.isnan(days.iloc[100]) and days.drop(days.index[100]).notna().all()
    assert len(warnings) == 1 and "1 day above 10x" in warnings[0] and "2025-04-11" in warnings[0]


def test_a_busy_day_a_few_times_the_usual_is_demand_and_kept():
    values = np.resize(WEEK, 200)
    values[100] = 0.9 * SPIKE_FACTOR * values[100]  # a sale day: busy, but within the factor
    days, warnings = usable_days(_series(values))
    assert days.iloc[100] == values[100] and warnings == ()


@pytest.mark.parametrize("days", [7, 10, 14])
def test_a_surge_in_the_last_two_weeks_is_kept_as_it_may_be_the_new_level(days):
    values = np.resize(WEEK, 200)
    values[-days:] *= 20
    kept, warnings = usable_days(_series(values))
    assert kept.iloc[-days:].tolist() == values[-days:].tolist() and warnings == ()


def test_an_event_longer_than_a_spike_is_kept():
    values = np.resize(WEEK, 200)
    values[100:100 + SPIKE_MAX_DAYS + 1] *= 30  # a four-day campaign
    days, warnings = usable_days(_series(values))
    assert days.tolist() == values.tolist() and warnings == ()


def test_a_configured_events_day_is_never_set_aside_as_a_spike():
    values = np.resize(WEEK, 200)
    values[100] *= 50
    series = _series(values)
    days, warnings = usable_days(series, event_days=pd.DatetimeIndex([series.index[100]]))
    assert days.iloc[100] == values[100] and warnings == ()


def test_a_spike_on_a_series_that_is_mostly_zero_is_its_traffic():
    values = np.zeros(200)
    values[[3, 90, 140]] = 500.0  # a batch job now and then: the weekday's median is zero
    days, _ = usable_days(_series(values))
    assert days.iloc[[3, 90, 140]].tolist() == [500.0] * 3


def test_a_series_whose_days_often_jump_tenfold_keeps_its_spikes_as_demand():
    rng = np.random.default_rng(0)
    values = np.resize(WEEK, 120) * np.exp(rng.normal(0, 0.8, 120))  # messages about a news topic
    values[60] = 15 * np.median(values[[46, 53, 67, 74]])  # two such days in 120, under the 5 % share
    days, warnings = usable_days(_series(values))
    assert days.iloc[60] == values[60] and not any("spike" in w for w in warnings)
