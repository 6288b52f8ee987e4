"""read_history: column detection, sub-daily → daily peaks, and every kind of bad input."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from capplan.errors import ConfigError, InputDataError
from capplan.store.history import HistoryOptions, history_from_series, read_history


def _write(tmp_path, text, name="h.csv"):
    path = tmp_path / name
    path.write_text(text)
    return path


def _daily_csv(tmp_path, days=40, header="ds,y", start="2025-01-01"):
    dates = pd.date_range(start, periods=days, freq="D")
    rows = "\n".join(f"{d.date()},{100 + i}" for i, d in enumerate(dates))
    return _write(tmp_path, f"{header}\n{rows}\n")


def test_split_year_month_day_columns_are_read_from_the_reference_daily_file(reference_dir):
    history = read_history(reference_dir / "traffic" / "appserver_traffic_stats_DAILY_CHs.csv")
    assert history.resolution == "daily"
    assert history.unit == "count"
    # 2015-03-27 is the first full day (published row: 2015,3,27,4,795009); the partial 26th is dropped.
    assert history.daily.index[0] == pd.Timestamp("2015-03-27")
    assert history.daily.iloc[0] == 795009
    assert any("partial day" in w for w in history.warnings)


def test_hourly_reference_counts_reduce_to_the_busiest_hour_per_day(reference_dir):
    history = read_history(reference_dir / "traffic" / "appserver_traffic_stats_HOURLY_CHs.csv")
    raw = pd.read_csv(reference_dir / "traffic" / "appserver_traffic_stats_HOURLY_CHs.csv")
    day = raw[(raw.year == 2016) & (raw.month == 7) & (raw.day == 14)]
    assert history.resolution == "hourly"
    assert history.daily[pd.Timestamp("2016-07-14")] == day.requests.max()
    assert history.peak_rps_per_unit == pytest.approx(1 / 3600)
    assert history.peak_to_mean > 1.0


def test_daily_totals_assume_a_peak_to_mean_and_say_so(tmp_path):
    history = read_history(_daily_csv(tmp_path, header="date,requests"))
    assert history.peak_rps_per_unit == pytest.approx(2.0 / 86_400)
    assert any("peak-to-mean" in w for w in history.warnings)


def test_given_peak_to_mean_sets_the_peak_rate_of_daily_totals(tmp_path):
    history = read_history(_daily_csv(tmp_path, header="date,requests"), HistoryOptions(peak_to_mean=1.5))
    assert history.peak_rps_per_unit == pytest.approx(1.5 / 86_400)


def test_rate_columns_are_already_peak_requests_per_second(tmp_path):
    history = read_history(_daily_csv(tmp_path, header="timestamp,peak_rps"))
    assert history.unit == "rps"
    assert history.peak_rps_per_unit == 1.0


def test_column_overrides_pick_any_names(tmp_path):
    path = _daily_csv(tmp_path, header="when,hits_total")
    history = read_history(path, HistoryOptions(time_col="when", value_col="hits_total"))
    assert len(history.daily) == 40


def test_unknown_columns_are_refused_with_the_columns_listed(tmp_path):
    with pytest.raises(InputDataError, match=r"columns are \['when', 'amount'\].*--time-col"):
        read_history(_daily_csv(tmp_path, header="when,amount"))


def test_missing_override_column_is_a_usage_error(tmp_path):
    with pytest.raises(ConfigError, match="--value-col names no column, 'nope'"):
        read_history(_daily_csv(tmp_path), HistoryOptions(value_col="nope"))


def test_empty_file_is_refused(tmp_path):
    with pytest.raises(InputDataError, match="empty"):
        read_history(_write(tmp_path, ""))


def test_header_only_file_is_refused(tmp_path):
    with pytest.raises(InputDataError, match="no rows"):
        read_history(_write(tmp_path, "ds,y\n"))


def test_one_row_is_refused_with_the_history_needed(tmp_path):
    with pytest.raises(InputDataError, match="at least 28 days"):
        read_history(_write(tmp_path, "ds,y\n2025-01-01,5\n"))


def test_conflicting_duplicate_timestamps_are_refused(tmp_path):
    with pytest.raises(InputDataError, match="two different values for one timestamp, 2025-01-02"):
        read_history(_write(tmp_path, "ds,y\n2025-01-01,1\n2025-01-02,2\n2025-01-02,3\n2025-01-03,4\n"))


def test_exact_duplicate_rows_are_dropped_with_a_warning(tmp_path):
    history = read_history(_write(tmp_path, "ds,y\n2025-01-01,1\n2025-01-02,2\n2025-01-02,2\n2025-01-03,4\n"))
    assert len(history.raw) == 3
    assert any("duplicate" in w for w in history.warnings)


def test_unsorted_timestamps_are_sorted_with_a_warning(tmp_path):
    history = read_history(_write(tmp_path, "ds,y\n2025-01-03,3\n2025-01-01,1\n2025-01-02,2\n"))
    assert history.daily.tolist() == [1, 2, 3]
    assert any("not in order" in w for w in history.warnings)


def test_gaps_stay_missing_and_are_reported(tmp_path):
    text = "ds,y\n2025-01-01,1\n2025-01-02,2\n2025-01-03,2\n2025-01-07,3\n2025-01-08,3\n"
    history = read_history(_write(tmp_path, text))
    assert history.daily.isna().sum() == 3
    assert any("3 days have no data (longest gap 3 days" in w for w in history.warnings)


def test_nan_values_are_dropped_with_a_warning(tmp_path):
    history = read_history(_write(tmp_path, "ds,y\n2025-01-01,1\n2025-01-02,\n2025-01-03,3\n2025-01-04,3\n"))
    assert len(history.raw) == 3
    assert any("NaN" in w for w in history.warnings)


def test_negative_values_are_refused_with_the_offending_row(tmp_path):
    with pytest.raises(InputDataError, match="negative traffic value, -5 at 2025-01-02"):
        read_history(_write(tmp_path, "ds,y\n2025-01-01,1\n2025-01-02,-5\n2025-01-03,3\n"))


def test_non_numeric_values_are_refused_with_the_offending_value(tmp_path):
    with pytest.raises(InputDataError, match="non-numeric value, 'lots' \\(row 3\\)"):
        read_history(_write(tmp_path, "ds,y\n2025-01-01,1\n2025-01-02,lots\n2025-01-03,3\n"))


def test_unparseable_timestamps_are_refused(tmp_path):
    with pytest.raises(InputDataError, match="not a timestamp, 'yesterday'"):
        read_history(_write(tmp_path, "ds,y\n2025-01-01,1\nyesterday,2\n2025-01-03,3\n"))


def test_timestamps_with_and_without_zone_are_refused(tmp_path):
    text = "ds,y\n2025-01-01T00:00:00,1\n2025-01-01T01:00:00+01:00,2\n2025-01-01T02:00:00,3\n"
    with pytest.raises(InputDataError, match="mixes timestamps with and without a time zone"):
        read_history(_write(tmp_path, text))


def test_mixed_utc_offsets_are_converted_to_utc_with_a_warning(tmp_path):
    text = "ds,y\n2025-03-29T12:00:00+01:00,1\n2025-03-30T12:00:00+02:00,2\n2025-03-31T12:00:00+02:00,3\n"
    history = read_history(_write(tmp_path, text))
    assert history.raw.index[0] == pd.Timestamp("2025-03-29T11:00:00")
    assert any("converted to UTC" in w for w in history.warnings)


def test_a_single_offset_keeps_local_wall_clock_days(tmp_path):
    text = "ds,y\n2025-01-01T00:30:00-05:00,1\n2025-01-02T00:30:00-05:00,2\n2025-01-03T00:30:00-05:00,3\n"
    history = read_history(_write(tmp_path, text))
    assert history.daily.index[0] == pd.Timestamp("2025-01-01")


def test_unix_seconds_and_parquet_are_read(tmp_path):
    frame = pd.DataFrame({"ts": 1_735_689_600 + 86_400 * np.arange(20), "rps": np.arange(20.0) + 100})
    frame.to_parquet(tmp_path / "h.parquet")
    history = read_history(tmp_path / "h.parquet")
    assert history.daily.index[0] == pd.Timestamp("2025-01-01")
    assert history.daily.iloc[-1] == 119.0


def test_a_chosen_quantile_replaces_the_daily_max(tmp_path):
    index = pd.date_range("2025-01-01", periods=3 * 24 * 12, freq="5min")
    values = pd.Series(np.tile(np.arange(288.0), 3), index=index)
    history = history_from_series(values, "q", "rps", HistoryOptions(peak_quantile=0.5))
    assert history.peak_statistic == "p50"
    assert history.daily.iloc[0] == pytest.approx(143.5)


def test_coarser_than_daily_data_is_refused(tmp_path):
    text = "ds,y\n2025-01-01,1\n2025-02-01,2\n2025-03-01,3\n"
    with pytest.raises(InputDataError, match="daily or finer"):
        read_history(_write(tmp_path, text))


def test_missing_file_is_refused(tmp_path):
    with pytest.raises(InputDataError, match="not found"):
        read_history(tmp_path / "absent.csv")


@settings(max_examples=30, deadline=None)
@given(st.lists(st.floats(0.0, 1e6), min_size=24 * 3, max_size=24 * 3))
def test_daily_peak_is_the_busiest_sample_and_never_below_the_mean(values):
    index = pd.date_range("2025-01-01", periods=len(values), freq="h")
    history = history_from_series(pd.Series(values, index=index), "p", "rps")
    by_day = np.array(values).reshape(3, 24)
    assert history.daily.to_numpy() == pytest.approx(by_day.max(axis=1))
    if history.peak_to_mean is not None:
        assert history.peak_to_mean >= 1.0 - 1e-12
