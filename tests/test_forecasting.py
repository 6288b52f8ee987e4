"""capplan.app.forecasting: flag texts to settings, sources to series (the library behind the command)."""

from __future__ import annotations

from datetime import date

import pytest

from capplan.errors import ConfigError, InputDataError
from capplan.app.forecasting import (
    expand_sources,
    parse_days,
    parse_event,
    parse_growth,
    parse_multiplier,
    parse_quantile,
)


@pytest.mark.parametrize("text, days", [("180d", 180), ("26w", 182), ("3mo", 91), ("12mo", 365), ("1y", 365), ("0.5d", 1)])
def test_durations_become_whole_days_with_730_hour_months(text, days):
    assert parse_days(text) == days


@pytest.mark.parametrize("text, monthly", [
    ("15%/month", 0.15),
    ("0%/month", 0.0),
    ("-5%/month", -0.05),
    ("100%/year", 2.0 ** (1 / 12) - 1),
    ("1%/day", 1.01 ** (730 / 24) - 1),
])
def test_growth_of_any_period_compounds_to_the_same_monthly_rate(text, monthly):
    assert parse_growth(text) == pytest.approx(monthly, rel=1e-12, abs=1e-15)


@pytest.mark.parametrize("text", ["15%", "15/month", "-100%/month", "15%/fortnight"])
def test_unreadable_growth_is_a_usage_error(text):
    with pytest.raises(ConfigError, match="--growth must"):
        parse_growth(text)


def test_multiplier_and_event_texts_are_parsed():
    assert parse_multiplier("x1.5@2027-03-01") == (date(2027, 3, 1), 1.5)
    event = parse_event("black-friday@2025-11-28,2026-11-27x1.8+3d")
    assert event.name == "black-friday" and event.dates == (date(2025, 11, 28), date(2026, 11, 27))
    assert event.uplift == 1.8 and event.upper_window_days == 3 and len(event.days()) == 8


def test_an_impossible_date_is_a_usage_error():
    with pytest.raises(ConfigError, match="impossible date, '2027-02-30'"):
        parse_multiplier("1.5@2027-02-30")


@pytest.mark.parametrize("text, value", [(None, None), ("max", None), ("p99", 0.99), ("0.95", 0.95)])
def test_peak_statistic_is_max_or_a_quantile(text, value):
    assert parse_quantile(text) == value


def test_a_folder_becomes_its_history_files_in_order(tmp_path):
    for name in ("b.csv", "a.parquet", "notes.txt"):
        (tmp_path / name).write_text("")
    url = "prometheus://127.0.0.1:9090?query=up"
    assert expand_sources([str(tmp_path), url]) == [str(tmp_path / "a.parquet"), str(tmp_path / "b.csv"), url]


def test_a_folder_without_histories_is_bad_input(tmp_path):
    with pytest.raises(InputDataError, match="no CSV or Parquet history"):
        expand_sources([str(tmp_path)])


def test_a_forked_fold_pool_gives_the_same_forecast_as_threads():
    import pandas as pd

    from capplan.app.forecasting import fold_pool
    from capplan.models.forecast import DemandForecaster, ForecastSettings
    from capplan.store.history import history_from_series
    from capplan.store.samples import SampleSpec, generate_sample_history

    frame = generate_sample_history(SampleSpec(days=120))
    history = history_from_series(frame.set_index(pd.to_datetime(frame["ds"]))["peak_rps"], "svc", "rps")
    settings = ForecastSettings(horizon_days=21)
    threads = DemandForecaster(settings).fit(history).predict(21).frame
    with fold_pool() as pool:
        forked = DemandForecaster(settings).fit(history, pool).predict(21).frame
    pd.testing.assert_frame_equal(threads, forked)
