"""``capplan compare``: exit codes, messages and outputs, on run directories written by the real RunWriter."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from capplan.cli.app import app
from capplan.models.sketch import LatencySketch
from capplan.store.runs import RunWriter

runner = CliRunner()


def write_run(root: Path, seed: int, *, scale_ms: float = 20.0, users: int = 8, seconds: int = 30,
              scenario: str = "baseline", rate: float = 200.0, error_p: float = 0.0) -> Path:
    """A finalized baseline-like run: one hold step, lognormal latencies (median ``scale_ms``)."""
    rng = np.random.default_rng(seed)
    rows, merged = [], LatencySketch()
    for t in range(seconds):
        n = int(rng.poisson(rate))
        values = scale_ms * rng.lognormal(0.0, 0.5, size=n)
        sketch = LatencySketch()
        sketch.add_many(values.tolist())
        merged.merge(sketch)
        errors = int(rng.binomial(n, error_p))
        rows.append({"t_s": float(t), "stage": "hold", "step": 0, "users": users, "requests": n,
                     "throughput_rps": float(n), "errors": errors, "error_rate": errors / n,
                     "latency_mean_ms": float(values.mean()), "latency_p95_ms": sketch.quantile(0.95),
                     "sketch": sketch.to_bytes()})
    requests = sum(r["requests"] for r in rows)
    step = {"step": 0, "stage": "hold", "users": users, "start_s": 0.0, "steady_start_s": 0.0,
            "end_s": float(seconds), "duration_s": float(seconds), "requests": requests,
            "throughput_rps": requests / seconds, "errors": sum(r["errors"] for r in rows),
            "latency_p95_ms": merged.quantile(0.95), "latency_mean_ms": merged.mean_ms, "sketch": merged.to_bytes()}
    writer = RunWriter(scenario, "http://127.0.0.1:1", root=root, parameters={"users": users})
    writer.append_seconds(rows)
    writer.write_steps([step])
    return writer.finalize("complete")


@pytest.fixture
def runs(tmp_path):
    return lambda seed, **kw: write_run(tmp_path / "runs", seed, **kw)


def test_identical_settings_report_no_significant_change_and_exit_0(runs):
    result = runner.invoke(app, ["compare", str(runs(1)), str(runs(2))])
    assert result.exit_code == 0, result.output
    assert "Verdict: baseline: no significant change" in result.output


def test_slower_release_fails_with_exit_1_naming_the_metrics(runs):
    result = runner.invoke(app, ["compare", str(runs(1)), str(runs(2, scale_ms=24.0))])
    assert result.exit_code == 1, result.output
    assert "regressed, beyond the allowed amount: p50 at hold 8 users" in result.output


def test_a_regression_within_the_allowance_exits_0_and_fails_with_a_tighter_one(runs):
    base, new = runs(1, seconds=60, rate=300), runs(2, seconds=60, rate=300, scale_ms=21.2)
    loose = runner.invoke(app, ["compare", str(base), str(new)])
    assert loose.exit_code == 0, loose.output
    assert "regressed, within the allowed amounts" in loose.output
    strict = runner.invoke(app, ["compare", str(base), str(new), "--max-regression", "p50=3%"])
    assert strict.exit_code == 1 and "p50 at hold 8 users" in strict.output


def test_json_output_has_the_verdict_and_every_metric(runs):
    result = runner.invoke(app, ["compare", str(runs(1)), str(runs(2, scale_ms=24.0)), "--json"])
    payload = json.loads(result.output)["compare"]
    assert payload["verdict"] == "regressed" and payload["fails"] is True
    p95 = next(m for m in payload["metrics"] if m["metric"] == "p95")
    assert {"base", "new", "effect", "effect_ci", "p_adjusted", "verdict", "allowed", "fails"} <= set(p95)
    assert p95["effect_ci"][0] < 0.2 < p95["effect_ci"][1]


def test_markdown_output_is_a_pull_request_comment(runs):
    result = runner.invoke(app, ["compare", str(runs(1)), str(runs(2, scale_ms=24.0)), "--md"])
    assert result.output.startswith("### :x: Load test comparison: baseline: regressed")
    assert "| hold 8 users | p95 |" in result.output and "<details>" in result.output


def test_junit_file_is_read_back_by_junitparser_one_case_per_metric(runs, tmp_path):
    from junitparser import Failure, JUnitXml

    out = tmp_path / "compare.xml"
    result = runner.invoke(app, ["compare", str(runs(1)), str(runs(2, scale_ms=24.0)), "--json",
                                 "--junit", str(out)])
    metrics = json.loads(result.output)["compare"]["metrics"]
    suites = list(JUnitXml.fromfile(str(out)))
    cases = [case for suite in suites for case in suite]
    assert len(cases) == len(metrics)
    failed = {case.name for case in cases if any(isinstance(r, Failure) for r in case.result)}
    assert failed == {f"{m['metric']} @ {m['level']}" for m in metrics if m["fails"]}
    assert "p95 @ hold 8 users" in failed


def test_html_page_overlays_both_latency_curves(runs, tmp_path):
    out = tmp_path / "compare.html"
    result = runner.invoke(app, ["compare", str(runs(1)), str(runs(2)), "--html", str(out)])
    assert result.exit_code == 0, result.output
    html = out.read_text()
    assert 'id="comparison"' in html and "base p95" in html and "new p95" in html and "error_y" in html


def test_different_scenarios_are_bad_input_naming_both(runs):
    result = runner.invoke(app, ["compare", str(runs(1)), str(runs(2, scenario="soak"))])
    assert result.exit_code == 3
    assert "Error: runs are of different scenarios, 'baseline'" in result.output and "'soak'" in result.output


def test_different_load_levels_are_bad_input_naming_them(runs):
    result = runner.invoke(app, ["compare", str(runs(1)), str(runs(2, users=16))])
    assert result.exit_code == 3
    assert "Error: runs differ in users, 8" in result.output and "16" in result.output


def test_a_missing_run_is_bad_input(runs, tmp_path):
    result = runner.invoke(app, ["compare", str(runs(1)), str(tmp_path / "nope")])
    assert result.exit_code == 3 and "run directory does not exist" in result.output


def test_bad_max_regression_is_a_usage_error(runs):
    result = runner.invoke(app, ["compare", str(runs(1)), str(runs(2)), "--max-regression", "p95"])
    assert result.exit_code == 2 and "Error: --max-regression is not METRIC=PCT" in result.output


def write_locust_history(path: Path, seed: int, mean_ms: float) -> Path:
    """A Locust ``--csv`` stats history: 40 s at 8 users, cumulative counters, one row per second."""
    rng = np.random.default_rng(seed)
    rows, count, fails, total_ms = [], 0, 0, 0.0
    for t in range(41):
        n = int(rng.poisson(150)) if t else 0
        latencies = rng.exponential(mean_ms, n)
        count, fails, total_ms = count + n, fails + int(rng.binomial(n, 0.001)), total_ms + latencies.sum()
        rows.append({"Timestamp": 1_700_000_000 + t, "User Count": 8 if t else 0, "Type": "", "Name": "Aggregated",
                     "Requests/s": 150.0, "Failures/s": 0.0, "50%": 10, "95%": 30, "Total Request Count": count,
                     "Total Failure Count": fails, "Total Average Response Time": total_ms / count if count else 0.0})
    import pandas as pd

    file = path / f"run{seed}_stats_history.csv"
    pd.DataFrame(rows).to_csv(file, index=False)
    return file


def test_runs_imported_from_locust_csv_compare_on_mean_latency_throughput_and_errors(tmp_path):
    from capplan.store.runs import import_locust_csv

    a = import_locust_csv(write_locust_history(tmp_path, 1, 20.0), root=tmp_path / "runs")
    b = import_locust_csv(write_locust_history(tmp_path, 2, 26.0), root=tmp_path / "runs")
    result = runner.invoke(app, ["compare", str(a), str(b), "--json"])
    assert result.exit_code == 1, result.output
    metrics = {m["metric"]: m for m in json.loads(result.output)["compare"]["metrics"]}
    assert set(metrics) == {"mean", "throughput", "error_rate"}  # Locust's CSV has no per-second percentiles
    assert metrics["mean"]["verdict"] == "regressed" and metrics["mean"]["effect_ci"][0] < 0.3 < \
        metrics["mean"]["effect_ci"][1]
