"""Live status line, step lines and end-of-run tables of `capplan loadtest`."""

from __future__ import annotations

import math
from pathlib import Path

from rich.console import Console

from capplan.loadtest.settings import RunOutcome, Verdict
from capplan.loadtest.view import status_line, step_line, steps_table, summary_table


def _second(**over) -> dict:
    row = {"t_s": 12.0, "stage": "hold", "step": 1, "users": 8, "offered_rps": math.nan, "throughput_rps": 412.0,
           "latency_p95_ms": 23.4, "errors": 3, "error_rate": 0.0073, "gen_cpu_pct": 41.0}
    return {**row, **over}


def _step(**over) -> dict:
    row = {"step": 2, "stage": "step", "users": 4, "offered_rps": math.nan, "concurrency_little": 3.9,
           "throughput_rps": 398.2, "latency_p50_ms": 7.1, "latency_p95_ms": 29.5, "latency_p99_ms": 44.0,
           "latency_p999_ms": 61.2, "latency_max_ms": 70.3, "error_rate": 0.0}
    return {**row, **over}


def _render(renderable) -> str:
    console = Console(width=200, record=True)
    console.print(renderable)
    return console.export_text()


def test_status_line_shows_stage_load_rate_p95_and_errors():
    text = status_line(_second(), "baseline").plain
    for part in ("baseline", "t=12s", "hold", "8 users", "412 req/s", "p95 23.4 ms", "errors 0.73%"):
        assert part in text


def test_status_line_shows_the_offered_rate_in_the_open_model():
    assert "250 req/s offered" in status_line(_second(offered_rps=250.0), "stress").plain


def test_status_line_warns_when_the_generator_is_saturated():
    assert "generator saturated" in status_line(_second(gen_cpu_pct=97.0), "stress").plain
    assert "generator saturated" not in status_line(_second(gen_cpu_pct=60.0), "stress").plain


def test_step_line_names_the_step_load_and_results():
    assert step_line(_step()) == "step 2 (step): 4 users, 398.2 req/s, p95 29.5 ms, errors 0.00%"


def test_step_line_names_the_offered_rate_in_the_open_model():
    assert step_line(_step(offered_rps=150.0, users=256)).startswith("step 2 (step): 150 req/s offered, 398.2 req/s")


def test_steps_table_has_the_issue_columns():
    text = _render(steps_table((_step(), _step(step=3, users=8, throughput_rps=401.0)), open_model=False))
    for column in ("users", "conc. (XR)", "req/s", "p50 ms", "p95 ms", "p99 ms", "p99.9 ms", "max ms", "errors"):
        assert column in text
    assert "398.2" in text and "401.0" in text


def test_summary_table_shows_totals_findings_and_the_breached_slo():
    outcome = RunOutcome(
        run_dir=Path("datasets/runs/20261123T100000Z-spike"), status="complete",
        verdict=Verdict(False, ({"slo": "p95<20ms", "observed": 29.5, "met": False},), "post step"),
        summary={"spike": {"recovery_s": 4.0, "peak_p95_ms": 180.0, "peak_error_rate": 0.02,
                           "peak_latency_ms": 350.0},
                 "errors_by_kind": {"HTTP 503": 12}},
        steps=(), totals={"requests": 1000, "errors": 12, "error_rate": 0.012, "throughput_rps": 50.0,
                          "duration_s": 20.0, "latency_p50_ms": 5.0, "latency_p95_ms": 29.5,
                          "latency_p99_ms": 40.0, "latency_max_ms": 350.0})
    text = _render(summary_table(outcome))
    for part in ("1000 (12 errors, 1.20%)", "spike recovery", "4 s after the surge", "peak p95 180.0 ms", "BREACHED — post step",
                 "p95<20ms", "observed 29.5 → breached", "HTTP 503: 12", "20261123T100000Z-spike"):
        assert part in text


def test_summary_table_says_no_slo_given_once():
    outcome = RunOutcome(run_dir=Path("runs/x-soak"), status="complete", verdict=Verdict(None, (), "no SLO given"),
                         summary={}, steps=(), totals={"requests": 10, "errors": 0, "error_rate": 0.0,
                                                       "throughput_rps": 1.0, "duration_s": 10.0})
    text = _render(summary_table(outcome))
    assert text.count("no SLO given") == 1
