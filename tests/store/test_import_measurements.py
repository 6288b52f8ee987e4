"""Importing a generic CSV of measurements (concurrency, throughput[, latency_ms]) as a run."""

from __future__ import annotations

import math

import pytest

from capplan.errors import InputDataError
from capplan.store.runs import import_measurements_csv, list_runs, read_run


def test_each_row_becomes_one_step(tmp_path):
    source = tmp_path / "m.csv"
    source.write_text("concurrency,throughput,latency_ms\n1,100,10\n2,190,10.5\n4,350,11.4\n")
    run = read_run(import_measurements_csv(source, root=tmp_path / "runs"))
    assert run.complete and run.scenario == "measurements" and run.seconds.empty
    assert run.steps["users"].tolist() == [1, 2, 4]
    assert run.steps["throughput_rps"].tolist() == [100.0, 190.0, 350.0]
    assert run.steps["latency_mean_ms"].tolist() == [10.0, 10.5, 11.4]
    assert run.steps["concurrency_little"].tolist() == pytest.approx([1.0, 1.995, 3.99])


def test_latency_is_optional_and_fractional_concurrency_is_kept(tmp_path):
    source = tmp_path / "m.csv"
    source.write_text("Concurrency, Throughput\n1.5,120\n3,200\n")
    steps = read_run(import_measurements_csv(source, root=tmp_path)).steps
    assert steps["concurrency"].tolist() == [1.5, 3.0]
    assert steps["latency_mean_ms"].isna().all()
    assert math.isnan(steps["concurrency_little"].iloc[0])


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("users,rps\n1,100\n", "lacks a concurrency column"),
        ("concurrency,throughput\n", "has no rows"),
        ("concurrency,throughput\n1,100\n0,50\n", "concurrency must be > 0 on line 3"),
        ("concurrency,throughput\n1,-5\n", "throughput must be >= 0 on line 2"),
        ("concurrency,throughput\n1,lots\n", "non-numeric throughput on line 2"),
        ("concurrency,throughput,latency_ms\n1,100,-1\n", "latency_ms must be >= 0"),
        ("concurrency,throughput\n1,inf\n", "non-numeric throughput"),
    ],
)
def test_bad_measurements_are_one_input_error_and_write_nothing(tmp_path, content, message):
    source = tmp_path / "m.csv"
    source.write_text(content)
    with pytest.raises(InputDataError, match=message) as info:
        import_measurements_csv(source, root=tmp_path / "runs")
    assert info.value.exit_code == 3
    assert list_runs(tmp_path / "runs") == []


def test_a_missing_file_is_an_input_error(tmp_path):
    with pytest.raises(InputDataError, match="not found"):
        import_measurements_csv(tmp_path / "absent.csv", root=tmp_path)
