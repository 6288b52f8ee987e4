"""Importing Locust's --csv output: a real Locust run, and a hand-computed history file."""

from __future__ import annotations

import math
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from capplan.errors import InputDataError
from capplan.loadtest.target import TargetSettings, start_target
from capplan.store.runs import import_locust_csv, read_run

_HEADER = ("Timestamp,User Count,Type,Name,Requests/s,Failures/s,50%,66%,75%,80%,90%,95%,98%,99%,99.9%,99.99%,"
           "100%,Total Request Count,Total Failure Count,Total Median Response Time,Total Average Response Time,"
           "Total Min Response Time,Total Max Response Time,Total Average Content Size")
_NA = ",".join(["N/A"] * 11)
_P = "10,11,12,13,14,15,16,17,18,19,20"
# Cumulative counters; the per-interval values below were computed by hand:
#   requests 100, 200, 300, 400, 400; failures 1, 2, 3, 4, 4;
#   mean ms  10, (300*12-100*10)/200 = 13, (600*14-3600)/300 = 16, (15000-8400)/400 = 16.5, (21700-15000)/400 = 16.75
_HISTORY = "\n".join([
    _HEADER,
    f"1000,0,,Aggregated,0,0,{_NA},0,0,0,0.0,0,0,0",
    f"1001,2,,Aggregated,0,0,{_P},100,1,10,10.0,1,30,3",
    f"1002,2,,Aggregated,0,0,{_P},300,3,10,12.0,1,30,3",
    f"1003,4,,Aggregated,0,0,{_P},600,6,10,14.0,1,30,3",
    f"1004,4,,Aggregated,0,0,{_P},1000,10,10,15.0,1,30,3",
    f"1005,4,,Aggregated,0,0,{_P},1400,14,10,15.5,1,30,3",
]) + "\n"

_LOCUSTFILE = """
from locust import FastHttpUser, constant, task

class Client(FastHttpUser):
    wait_time = constant(0)

    @task
    def root(self):
        self.client.get("/")
"""


def test_interval_counts_throughput_and_mean_latency_are_recovered_exactly(tmp_path):
    (tmp_path / "x_stats_history.csv").write_text(_HISTORY)
    run = read_run(import_locust_csv(tmp_path / "x", root=tmp_path / "runs", settle_s=1.0))
    seconds = run.seconds[run.seconds["users"] > 0]
    assert seconds["requests"].tolist() == [100, 200, 300, 400, 400]
    assert seconds["errors"].tolist() == [1, 2, 3, 4, 4]
    assert seconds["throughput_rps"].tolist() == [100.0, 200.0, 300.0, 400.0, 400.0]
    assert seconds["latency_mean_ms"].tolist() == pytest.approx([10.0, 13.0, 16.0, 16.5, 16.75])
    assert seconds["ts"].iloc[0] == pd.Timestamp(1001, unit="s", tz="UTC")
    assert run.complete and run.meta["scenario"] == "locust-import"


def test_steps_are_user_plateaus_without_their_settling_seconds(tmp_path):
    (tmp_path / "x_stats_history.csv").write_text(_HISTORY)
    steps = read_run(import_locust_csv(tmp_path / "x_stats_history.csv", root=tmp_path, settle_s=1.0)).steps
    assert steps["users"].tolist() == [2, 4]
    assert steps["requests"].tolist() == [200, 800]
    assert steps["throughput_rps"].tolist() == [200.0, 400.0]
    assert steps["error_rate"].tolist() == [0.01, 0.01]
    assert steps["latency_mean_ms"].tolist() == pytest.approx([13.0, 16.625])
    assert steps["concurrency_little"].tolist() == pytest.approx([2.6, 6.65])


def test_cumulative_percentiles_are_not_passed_off_as_per_second_values(tmp_path):
    (tmp_path / "x_stats_history.csv").write_text(_HISTORY)
    run = read_run(import_locust_csv(tmp_path / "x", root=tmp_path))
    assert run.seconds["latency_p95_ms"].isna().all()
    assert run.steps["latency_p95_ms"].isna().all()
    assert run.meta["summary"]["locust_percentiles"] == "cumulative"
    assert run.meta["summary"]["final_cumulative_percentiles_ms"]["latency_p95_ms"] == 15.0


def test_a_missing_history_file_says_what_to_pass(tmp_path):
    with pytest.raises(InputDataError, match="pass the --csv prefix"):
        import_locust_csv(tmp_path / "nothing", root=tmp_path)


def test_a_csv_that_is_not_a_locust_history_is_refused(tmp_path):
    (tmp_path / "x_stats_history.csv").write_text("a,b\n1,2\n")
    with pytest.raises(InputDataError, match="lacks columns"):
        import_locust_csv(tmp_path / "x", root=tmp_path / "runs")
    assert not (tmp_path / "runs").exists()


def test_a_history_without_requests_is_refused(tmp_path):
    (tmp_path / "x_stats_history.csv").write_text(_HISTORY.splitlines()[0] + "\n" + _HISTORY.splitlines()[1] + "\n")
    with pytest.raises(InputDataError, match="no completed requests"):
        import_locust_csv(tmp_path / "x", root=tmp_path)


@pytest.fixture(scope="module")
def locust_csv_prefix(tmp_path_factory) -> Path:
    """A real 12 s headless Locust run (8 users, --csv-full-history) against a 400 rps target."""
    return _locust_run(tmp_path_factory.mktemp("locust"))


def _locust_run(work: Path) -> Path:
    """Run Locust into ``work`` (see :func:`locust_csv_prefix`); the CSV prefix."""
    (work / "locustfile.py").write_text(_LOCUSTFILE)
    locust = Path(sys.executable).with_name("locust")
    with start_target(TargetSettings(port=0, slots=4, service_ms=10)) as target:
        subprocess.run(
            [str(locust), "-f", str(work / "locustfile.py"), "--headless", "-u", "8", "-r", "100", "-t", "12s",
             "--host", target.url, "--csv", str(work / "run"), "--csv-full-history", "--only-summary"],
            capture_output=True, timeout=60, check=False,
        )
    return work / "run"


@pytest.mark.slow
def test_a_real_locust_run_imports_with_every_request_counted(locust_csv_prefix, tmp_path):
    history = pd.read_csv(f"{locust_csv_prefix}_stats_history.csv")
    last_total = int(history[history["Name"] == "Aggregated"]["Total Request Count"].iloc[-1])
    run = read_run(import_locust_csv(locust_csv_prefix, root=tmp_path, host="http://127.0.0.1"))
    assert int(run.seconds["requests"].sum()) == last_total
    assert run.meta["summary"]["locust_percentiles"] == "window_10s"
    assert run.seconds["latency_p50_ms"].notna().any()


@pytest.mark.slow
@pytest.mark.flaky(reruns=2, reruns_delay=2)  # real load timed on 2 shared cores, as tests/conftest.py does
def test_a_real_locust_run_matches_capacity_and_littles_law(tmp_path):
    """8 closed-loop users on a 4-slot, 10 ms target: X = C/S = 400 rps and X*R = 8 users.

    Its own run, so that a retry measures again (one fresh clone on 2026-12-04 read 349 req/s).
    """
    run = read_run(import_locust_csv(_locust_run(tmp_path), root=tmp_path / "runs", settle_s=1.0))
    (step,) = run.steps.itertuples()
    assert step.users == 8
    assert step.throughput_rps == pytest.approx(400, rel=0.1)
    assert step.concurrency_little == pytest.approx(8, rel=0.1)
    assert step.duration_s >= 10 and not math.isnan(step.latency_p95_ms)  # a full 10 s window fits
