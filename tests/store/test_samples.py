"""The generated sample history: seeded, shaped like real traffic, and the committed file matches."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from capplan.store.history import read_history
from capplan.store.samples import SampleSpec, generate_hourly_history, generate_sample_history

COMMITTED = Path(__file__).resolve().parents[2] / "datasets" / "sample_traffic_daily.csv"


def test_same_seed_same_history_other_seed_other_noise():
    assert generate_sample_history().equals(generate_sample_history())
    assert not generate_sample_history().equals(generate_sample_history(SampleSpec(seed=8)))


def test_committed_sample_is_the_generator_output_and_small():
    committed = pd.read_csv(COMMITTED)
    fresh = generate_sample_history()
    assert committed.columns.tolist() == ["ds", "peak_rps"]
    assert committed["peak_rps"].to_numpy() == pytest.approx(fresh["peak_rps"].to_numpy())
    assert COMMITTED.stat().st_size <= 200_000


def test_level_grows_by_the_yearly_rate():
    frame = generate_sample_history(SampleSpec(noise_sigma=0.0))
    first = frame["peak_rps"].iloc[:365].mean()
    second = frame["peak_rps"].iloc[365:730].mean()
    assert second / first == pytest.approx(1.4, rel=0.03)


def test_weekends_are_quieter_and_black_friday_is_the_peak_of_its_month():
    frame = generate_sample_history()
    ds = pd.to_datetime(frame["ds"])
    weekend = frame["peak_rps"][ds.dt.dayofweek >= 5].mean()
    assert weekend < frame["peak_rps"][ds.dt.dayofweek < 5].mean()
    november_2025 = frame[(ds.dt.year == 2025) & (ds.dt.month == 11)]
    assert november_2025.loc[november_2025["peak_rps"].idxmax(), "ds"].isoformat() == "2025-11-28"


def test_hourly_variant_reduces_back_to_the_daily_peaks(tmp_path):
    spec = SampleSpec(days=40)
    hourly = generate_hourly_history(spec)
    hourly.to_csv(tmp_path / "hourly.csv", index=False)
    history = read_history(tmp_path / "hourly.csv")
    assert history.unit == "rps" and history.resolution == "hourly"
    assert history.daily.to_numpy() == pytest.approx(generate_sample_history(spec)["peak_rps"].to_numpy(), abs=0.01)
    assert history.peak_to_mean > 1.2


def test_committed_sample_reads_as_peak_requests_per_second():
    history = read_history(COMMITTED)
    assert history.unit == "rps" and history.peak_rps_per_unit == 1.0
    assert history.warnings == () and np.isfinite(history.daily).all()
