"""Run findings: stored spike/soak summaries are read back; older runs are recomputed with the same functions."""

from __future__ import annotations

import math

import numpy as np
import pytest

from capplan.models.drift import SUMMARY_VERSION, SpikeRecovery, soak_summary, spike_summary
from capplan.store.runs import RunWriter, read_run, run_findings

_PARAMS = {"spike_pre_s": 10.0, "spike_window_s": 5.0, "spike_post_s": 15.0, "recovery_tolerance": 0.2}


def _spike_rows() -> list[dict]:
    """10 s at 20 ms, a surge to 200 ms, then p95 easing back: 60, 30, 25, 23, 22, 21 ... ms."""
    p95 = [20.0] * 10 + [200.0] * 5 + [60.0, 30.0, 25.0, 23.0, 22.0] + [21.0] * 10
    stage = ["pre"] * 10 + ["spike"] * 5 + ["post"] * 15
    rows = [{"t_s": float(i), "stage": s, "step": 0, "users": 4, "requests": 100, "errors": 0,
             "error_rate": 0.0, "latency_p95_ms": v, "latency_max_ms": 2 * v, "throughput_rps": 100.0}
            for i, (s, v) in enumerate(zip(stage, p95, strict=True))]
    rows.append({**rows[-1], "t_s": 30.0, "stage": "stopping", "latency_p95_ms": 500.0})  # partial shutdown second
    return rows


def _run(tmp_path, scenario: str, rows: list[dict], params: dict, summary: dict):
    writer = RunWriter(scenario, "http://127.0.0.1:1", root=tmp_path, parameters=params)
    writer.append_seconds(rows)
    return read_run(writer.finalize("complete", summary=summary))


def test_an_older_spike_run_is_recomputed_with_its_own_recovery_tolerance(tmp_path):
    strict = _run(tmp_path, "spike", _spike_rows(), _PARAMS | {"recovery_tolerance": 0.06}, {})
    loose = _run(tmp_path, "spike", _spike_rows(), _PARAMS | {"recovery_tolerance": 0.5}, {})
    got_strict, got_loose = run_findings(strict), run_findings(loose)
    assert got_strict.source == "recomputed"
    assert (got_loose.spike.recovery_s, got_strict.spike.recovery_s) == (1.0, 5.0)  # 30 ms ≤ 1.5 × 20 at t=16; 21 ms ≤ 1.06 × 20 from t=20
    t = [r["t_s"] for r in _spike_rows()]
    same = spike_summary(t, [r["stage"] for r in _spike_rows()], [r["latency_p95_ms"] for r in _spike_rows()],
                         [0.0] * len(t), [r["latency_max_ms"] for r in _spike_rows()], (10.0, 15.0), 0.06)
    assert got_strict.spike == same


def test_a_stored_spike_summary_is_read_not_recomputed(tmp_path):
    stored = SpikeRecovery(20.0, 0.0, 200.0, 400.0, 0.0, 42.0, (10.0, 15.0), 0.2).to_dict()
    run = _run(tmp_path, "spike", _spike_rows(), _PARAMS, {"summary_version": SUMMARY_VERSION, "spike": stored})
    found = run_findings(run)
    assert (found.source, found.spike.recovery_s) == ("run.json", 42.0)


def test_an_older_soak_run_is_recomputed_over_its_soak_step_without_the_shutdown_seconds(tmp_path):
    t = np.arange(0, 40, 1.0)
    rows = [{"t_s": x, "stage": "soak" if x < 39 else "stopping", "step": 0, "users": 4, "requests": 100,
             "errors": 0, "error_rate": 0.0, "latency_p95_ms": 40.0 + 0.5 * x, "latency_max_ms": 90.0,
             "target_rss_mb": 100.0 + 0.01 * x, "throughput_rps": 100.0} for x in t]
    rows[-1]["latency_p95_ms"] = 1.0  # the partial last second must not bend the trend
    writer = RunWriter("soak", "http://127.0.0.1:1", root=tmp_path, parameters={"soak_s": 39.0})
    writer.append_seconds(rows)
    writer.write_steps([{"step": 0, "stage": "soak", "users": 4, "start_s": 0.0, "steady_start_s": 2.0,
                         "end_s": 39.0, "requests": 3700, "errors": 0}])
    found = run_findings(read_run(writer.finalize("complete", summary={})))
    assert found.soak.p95.slope_per_hour == pytest.approx(0.5 * 3600)
    assert (found.soak.p95.start_s, found.soak.p95.end_s) == (2.0, 38.0)
    assert found.soak.rss.slope_per_hour == pytest.approx(36.0)
    expected = soak_summary(t, ["soak"] * 39 + ["stopping"], [r["latency_p95_ms"] for r in rows], [0.0] * 40,
                            [r["target_rss_mb"] for r in rows], (2.0, 39.0))
    assert found.soak == expected


def test_stored_trends_survive_the_json_round_trip():
    from capplan.models.drift import DriftAssessment

    t = np.arange(0, 100, 1.0)
    drift = soak_summary(t, ["soak"] * 100, 30 + 0.1 * t, np.zeros(100), np.full(100, math.nan), None)
    again = DriftAssessment.from_dict(drift.to_dict())
    assert again.p95 == drift.p95 and again.rss is None and again.verdict == drift.verdict
