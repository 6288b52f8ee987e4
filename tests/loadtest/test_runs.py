"""Real load tests against the real demo target on 127.0.0.1 (slow).

Each scenario runs in a child ``capplan`` process, as a user runs it: Locust
monkey-patches its process with gevent, which must not leak into the test process (or
the rest of the suite), and signals (SIGINT, SIGKILL) need a real process anyway.
"""

from __future__ import annotations

import json
import math
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from capplan.loadtest.distributed import free_port
from capplan.loadtest.recorder import read_raw_latencies
from capplan.loadtest.target import TargetSettings, start_target
from capplan.loadtest.wrk import measure_with_wrk
from capplan.models.sketch import LatencySketch, merge_sketches
from capplan.store.runs import read_run

pytestmark = pytest.mark.slow

_CLI = [sys.executable, "-c", "from capplan.cli.app import main; main()"]


def _capplan(*args: str, timeout_s: float = 180) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*_CLI, *args], capture_output=True, text=True, timeout=timeout_s)


def _popen(*args: str) -> subprocess.Popen[str]:
    return subprocess.Popen([*_CLI, *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _only_run(root: Path) -> Path:
    runs = [p for p in root.iterdir() if p.is_dir() and (p / "run.json").exists()]
    assert len(runs) == 1, runs
    return runs[0]


def _wait_for_run(root: Path, min_rows_s: float, proc: subprocess.Popen[str], timeout_s: float = 60) -> Path:
    """Wait until a run directory exists and has been running for ``min_rows_s``."""
    deadline = time.time() + timeout_s
    while time.time() < deadline:
        runs = [p for p in root.iterdir() if (p / "run.json").exists()] if root.exists() else []
        if runs:
            time.sleep(min_rows_s)
            return runs[0]
        if proc.poll() is not None:
            raise AssertionError(f"capplan exited with {proc.returncode} before a run started: "
                                 f"{proc.stderr.read() if proc.stderr else ''}")
        time.sleep(0.1)
    proc.kill()
    out, err = proc.communicate()
    raise AssertionError(f"no run directory appeared in {timeout_s} s; stdout {out!r}, stderr {err!r}")


def test_stress_finds_saturation_within_ten_percent_of_wrk(tmp_path):
    with start_target(TargetSettings(port=0, slots=4, service_ms=10)) as target:
        wrk = measure_with_wrk(target.url, connections=64, duration_s=10, threads=1)
        began = time.monotonic()
        result = _capplan("loadtest", "stress", "--host", target.url, "--max-duration", "120s",
                          # steps of ~3,000 requests: the best of several noisy steps reads high with short ones
                          "--step-duration", "8s", "--max-step-duration", "12s", "--out", str(tmp_path),
                          "--target-pid", str(target.pid))
        elapsed = time.monotonic() - began
    assert result.returncode == 0, result.stderr
    assert elapsed < 120 + 15
    run = read_run(_only_run(tmp_path))
    assert run.complete and run.meta["summary"]["stress"]["stop_reason"]
    best = run.steps["throughput_rps"].max()
    print(f"\nstress: best steady step {best:.1f} req/s, wrk -t1 -c64 -d10s {wrk.requests_per_s:.1f} req/s, "
          f"ratio {best / wrk.requests_per_s:.3f}, {len(run.steps)} steps in {elapsed:.0f} s, "
          f"stop: {run.meta['summary']['stress']['stop_reason']}")
    assert abs(best / wrk.requests_per_s - 1) <= 0.10, (best, wrk.requests_per_s)
    assert "Steps (steady state)" in result.stdout
    assert run.seconds["target_rss_mb"].notna().any()


def _assert_master_percentiles_match_the_workers_raw_samples(run_root: Path, raw: Path, label: str) -> None:
    run = read_run(_only_run(run_root))
    files = sorted(raw.glob("worker-*.f64"))
    assert len(files) == 2
    per_worker = [np.asarray(read_raw_latencies(f)) for f in files]
    assert all(len(v) > 100 for v in per_worker), "both workers sent load"
    samples = np.concatenate(per_worker)
    merged = merge_sketches(LatencySketch.from_bytes(b) for b in run.seconds["sketch"])
    assert merged.count == len(samples) == run.seconds["requests"].sum()
    print(f"\n{label}: {len(samples)} requests from {len(files)} workers; master sketch vs exact raw (ms):")
    for q in (0.5, 0.9, 0.95, 0.99, 0.999):
        exact = float(np.percentile(samples, 100 * q, method="lower"))
        print(f"  p{100 * q:g}: {merged.quantile(q):.3f} vs {exact:.3f} ({merged.quantile(q) / exact - 1:+.3%})")
        assert math.isclose(merged.quantile(q), exact, rel_tol=0.01), q
    assert merged.max_ms == samples.max()


def test_master_with_two_workers_records_the_percentiles_of_all_raw_samples(tmp_path):
    raw = tmp_path / "raw"
    with start_target(TargetSettings(port=0, slots=8, service_ms=5)) as target:
        result = _capplan("loadtest", "baseline", "--host", target.url, "--users", "8", "--ramp", "1s",
                          "--hold", "5s", "--workers", "2", "--raw-dir", str(raw), "--out", str(tmp_path / "runs"))
    assert result.returncode == 0, result.stderr
    _assert_master_percentiles_match_the_workers_raw_samples(tmp_path / "runs", raw, "--workers 2")


def test_master_and_workers_started_separately_as_on_several_machines(tmp_path):
    """``--master --workers 2`` and two ``--worker --master-host`` processes (here all on loopback)."""
    raw, port = tmp_path / "raw", str(free_port())
    with start_target(TargetSettings(port=0, slots=8, service_ms=5)) as target:
        master = _popen("loadtest", "baseline", "--host", target.url, "--users", "8", "--ramp", "1s", "--hold",
                        "5s", "--master", "--workers", "2", "--master-port", port, "--out", str(tmp_path / "runs"))
        workers = [_popen("loadtest", "baseline", "--host", target.url, "--worker", "--master-host", "127.0.0.1",
                          "--master-port", port, "--raw-dir", str(raw)) for _ in range(2)]
        _, err = master.communicate(timeout=120)
        worker_exits = [w.wait(timeout=30) for w in workers]
    assert master.returncode == 0, err
    assert worker_exits == [0, 0]
    _assert_master_percentiles_match_the_workers_raw_samples(tmp_path / "runs", raw, "--master/--worker")


def test_killed_target_is_recorded_as_errors_and_the_run_is_finalized(tmp_path):
    target = start_target(TargetSettings(port=0, slots=4, service_ms=5))
    try:
        proc = _popen("loadtest", "baseline", "--host", target.url, "--users", "4", "--ramp", "0s",
                      "--hold", "8s", "--slo", "error_rate<1%", "--target-pid", str(target.pid),
                      "--out", str(tmp_path))
        _wait_for_run(tmp_path, min_rows_s=4, proc=proc)
        target.kill()
        out, err = proc.communicate(timeout=60)
    finally:
        target.stop()
    assert proc.returncode == 1, err
    assert "SLO breached, error_rate<1%" in err
    run = read_run(_only_run(tmp_path))
    assert run.complete
    kinds = {k for text in run.seconds["errors_by_kind"] for k in json.loads(text)}
    assert run.seconds["errors"].sum() > 0 and kinds
    assert run.seconds["target_rss_mb"].notna().any() and run.seconds["target_rss_mb"].isna().any()


def test_sigint_finalizes_the_run_and_prints_the_summary(tmp_path):
    with start_target(TargetSettings(port=0, slots=4, service_ms=5)) as target:
        proc = _popen("loadtest", "baseline", "--host", target.url, "--users", "2", "--hold", "60s",
                      "--out", str(tmp_path))
        _wait_for_run(tmp_path, min_rows_s=3, proc=proc)
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=30)
    assert proc.returncode == 130, err
    assert "(interrupted)" in out and "requests" in out
    run = read_run(_only_run(tmp_path))
    assert run.status == "interrupted" and not run.complete
    assert (run.path / "seconds.parquet").exists() and len(run.seconds) >= 2


def test_sigkill_leaves_a_readable_incomplete_run(tmp_path):
    with start_target(TargetSettings(port=0, slots=4, service_ms=5)) as target:
        proc = _popen("loadtest", "baseline", "--host", target.url, "--users", "2", "--hold", "60s",
                      "--out", str(tmp_path))
        _wait_for_run(tmp_path, min_rows_s=6, proc=proc)
        os.kill(proc.pid, signal.SIGKILL)
        proc.communicate(timeout=30)
    run = read_run(_only_run(tmp_path))
    assert run.status == "incomplete" and not run.complete
    assert len(run.seconds) >= 2 and run.seconds["requests"].sum() > 0
    assert any("not finalized" in w for w in run.warnings)


def test_open_model_latency_shows_queueing_when_the_target_stalls(tmp_path):
    """Coordinated omission: with 2 requests in flight, a 1.5 s stall delays ~60 arrivals.

    A generator measuring from the actual send would see at most 2 slow requests; from
    the intended send time every arrival during the stall is slow.
    """
    with start_target(TargetSettings(port=0, slots=2, service_ms=5)) as target:
        proc = _popen("loadtest", "baseline", "--host", target.url, "--rate", "40", "--max-in-flight", "2",
                      "--ramp", "0s", "--hold", "9s", "--out", str(tmp_path), "--seed", "1")
        _wait_for_run(tmp_path, min_rows_s=3, proc=proc)
        os.kill(target.pid, signal.SIGSTOP)
        time.sleep(1.5)
        os.kill(target.pid, signal.SIGCONT)
        out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    run = read_run(_only_run(tmp_path))
    merged = merge_sketches(LatencySketch.from_bytes(b) for b in run.seconds["sketch"])
    slow_rank = 1 - 20 / merged.count  # at least 20 requests at or above this quantile
    om = run.meta["summary"]["open_model"]
    print(f"\nopen model stall: latency at rank {slow_rank:.4f} {merged.quantile(slow_rank):.0f} ms, max generator "
          f"lag {run.seconds['gen_lag_ms'].max():.0f} ms, achieved {om['achieved_ratio']:.3f} of intended")
    assert merged.quantile(slow_rank) >= 500.0
    assert run.seconds["gen_lag_ms"].max() >= 300.0
    assert run.meta["summary"]["open_model"]["achieved_ratio"] >= 0.9


def test_spike_reports_recovery_and_peaks(tmp_path):
    with start_target(TargetSettings(port=0, slots=4, service_ms=10)) as target:
        result = _capplan("loadtest", "spike", "--host", target.url, "--users", "2", "--multiplier", "16",
                          "--spike-before", "5s", "--spike-window", "4s", "--spike-after", "7s",
                          "--slo", "p95<500ms", "--out", str(tmp_path))
    assert result.returncode == 0, result.stderr
    spike = read_run(_only_run(tmp_path)).meta["summary"]["spike"]
    print(f"\nspike: pre p95 {spike['pre_p95_ms']:.1f} ms, peak p95 {spike['peak_p95_ms']:.1f} ms, peak error rate "
          f"{spike['peak_error_rate']:.2%}, recovery {spike['recovery_s']} s")
    assert spike["peak_p95_ms"] > 2 * spike["pre_p95_ms"]
    assert spike["recovered"] and spike["recovery_s"] is not None
    assert "spike recovery" in result.stdout


def test_soak_flags_a_leaking_target(tmp_path):
    with start_target(TargetSettings(port=0, slots=4, service_ms=5, leak_mb_per_min=600)) as target:
        result = _capplan("loadtest", "soak", "--host", target.url, "--users", "2", "--ramp", "1s",
                          "--soak-duration", "12s", "--target-pid", str(target.pid), "--out", str(tmp_path))
    assert result.returncode == 0, result.stderr
    soak = read_run(_only_run(tmp_path)).meta["summary"]["soak"]
    rss = soak["trends"]["rss"]
    print(f"\nsoak (--target-pid): {soak['verdict']}; RSS slope {rss['slope_per_hour']:.0f} MB/h "
          f"(p={rss['p_value']:.2g}, leak knob 600 MB/min = 36000 MB/h)")
    assert soak["verdict"] == "degradation/leak suspected"
    assert rss["slope_per_hour"] > 0
    assert "memory grows" in result.stdout


def test_soak_reads_target_memory_from_prometheus(tmp_path, prometheus_scraping):
    with start_target(TargetSettings(port=0, slots=4, service_ms=5, leak_mb_per_min=600)) as target:
        address = prometheus_scraping(target.url)
        result = _capplan("loadtest", "soak", "--host", target.url, "--users", "2", "--ramp", "1s",
                          "--soak-duration", "16s", "--out", str(tmp_path / "runs"),
                          "--target-rss-query", f"prometheus://{address}?query=process_resident_memory_bytes")
    assert result.returncode == 0, result.stderr
    run = read_run(_only_run(tmp_path / "runs"))
    soak = run.meta["summary"]["soak"]
    rss = soak["trends"]["rss"]
    print(f"\nsoak (Prometheus): {soak['verdict']}; RSS slope {rss['slope_per_hour']:.0f} MB/h from {rss['n']} "
          f"samples (p={rss['p_value']:.2g})")
    assert soak["verdict"] == "degradation/leak suspected"
    assert rss["slope_per_hour"] > 0 and rss["n"] >= 5
    assert run.seconds["target_cpu_pct"].isna().all()  # no pid given: the memory came from Prometheus


def test_example_locustfile_runs_against_the_demo_target(tmp_path):
    locustfile = Path(__file__).resolve().parents[2] / "loadtests" / "locustfile.py"
    with start_target(TargetSettings(port=0, slots=4, service_ms=5)) as target:
        result = _capplan("loadtest", "baseline", "--host", target.url, "--locustfile", str(locustfile),
                          "--users", "4", "--ramp", "1s", "--hold", "3s", "--out", str(tmp_path))
    assert result.returncode == 0, result.stderr
    run = read_run(_only_run(tmp_path))
    assert run.seconds["requests"].sum() > 50 and run.seconds["errors"].sum() == 0


def test_locust_csv_output_imports_as_a_run(tmp_path):
    locust = Path(sys.executable).with_name("locust")
    locustfile = Path(__file__).resolve().parents[2] / "loadtests" / "locustfile.py"
    with start_target(TargetSettings(port=0, slots=4, service_ms=5)) as target:
        subprocess.run([str(locust), "-f", str(locustfile), "--headless", "-u", "4", "-r", "4", "-t", "5s",
                        "--host", target.url, "--csv", str(tmp_path / "lc"), "--only-summary"],
                       capture_output=True, timeout=60, check=True)
    result = _capplan("loadtest", "import", str(tmp_path / "lc"), "--out", str(tmp_path / "runs"))
    assert result.returncode == 0, result.stderr
    run = read_run(_only_run(tmp_path / "runs"))
    assert run.seconds["requests"].sum() > 50


def test_workers_started_without_rate_follow_the_masters_open_model(tmp_path):
    port = str(free_port())
    with start_target(TargetSettings(port=0, slots=8, service_ms=5)) as target:
        master = _popen("loadtest", "baseline", "--host", target.url, "--rate", "200", "--ramp", "0s", "--hold",
                        "6s", "--master", "--workers", "2", "--master-port", port, "--out", str(tmp_path))
        workers = [_popen("loadtest", "baseline", "--host", target.url, "--worker", "--master-port", port)
                   for _ in range(2)]
        _, err = master.communicate(timeout=120)
        for worker in workers:
            worker.wait(timeout=30)
    assert master.returncode == 0, err
    run = read_run(_only_run(tmp_path))
    om = run.meta["summary"]["open_model"]
    hold = run.steps[run.steps["stage"] == "hold"].iloc[0]
    print(f"\nopen model over 2 workers: intended {om['intended_requests']}, completed {om['completed_requests']}, "
          f"achieved {om['achieved_ratio']:.3f}; hold {hold['throughput_rps']:.1f} req/s for 200 req/s intended")
    assert 0.95 <= om["achieved_ratio"] <= 1.05
    assert abs(hold["throughput_rps"] / 200 - 1) <= 0.1
    assert run.seconds["gen_lag_ms"].notna().any()  # requests carried their intended send time


def test_distributed_stress_judges_steadiness_on_the_masters_delayed_record(tmp_path):
    """The master writes each second 2.5 s late; steps must still settle, not time out unsteady."""
    with start_target(TargetSettings(port=0, slots=4, service_ms=10)) as target:
        result = _capplan("loadtest", "stress", "--host", target.url, "--workers", "2", "--max-duration", "90s",
                          "--step-duration", "4s", "--max-step-duration", "8s", "--out", str(tmp_path))
    assert result.returncode == 0, result.stderr
    run = read_run(_only_run(tmp_path))
    notes = run.meta["summary"]["notes"]
    best = run.steps["throughput_rps"].max()
    print(f"\ndistributed stress: best step {best:.1f} req/s (nominal 400), {len(run.steps)} steps, notes {notes}")
    assert not [n for n in notes if "never reached steady state" in n]
    assert abs(best / 400 - 1) <= 0.10
