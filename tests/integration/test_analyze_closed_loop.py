"""Closing the loop on real runs: stress → analyze → wrk and a constant-rate baseline.

For each setting of the bundled demo target (a real HTTP server on 127.0.0.1 started by
the test): ``capplan analyze``'s max_throughput_rps must be within 10 % of what ``wrk -c64``
measures against the same target, and an open-model baseline run at safe_throughput_rps
must meet the p95 SLO that was asked for. Step durations are short to fit the CI budget.
"""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from capplan.cli.app import app
from capplan.loadtest.runner import run_scenario
from capplan.loadtest.settings import LoadTestSettings
from capplan.loadtest.target import TargetSettings, start_target
from capplan.loadtest.wrk import measure_with_wrk
from capplan.models.slo import parse_slo

SETTINGS = [
    pytest.param(TargetSettings(slots=2, service_ms=20.0, port=0), "p95<250ms", "target utilisation",
                 id="2-slots-20ms"),
    pytest.param(TargetSettings(slots=8, service_ms=5.0, port=0), "p95<60ms", "target utilisation",
                 id="8-slots-5ms"),
    pytest.param(TargetSettings(slots=40, service_ms=40.0, sigma=0.05, kappa=0.001, port=0), "p95<500ms",
                 "target utilisation", id="contention-sigma0.05-kappa0.001"),
    # an SLO tight enough that the queueing model, not the utilisation cap, sets the safe rate
    pytest.param(TargetSettings(slots=2, service_ms=20.0, port=0), "p95<120ms", "queueing model",
                 id="2-slots-20ms-slo-bound"),
]


def _stress(url: str, pid: int, slo: str, out) -> LoadTestSettings:
    return LoadTestSettings(scenario="stress", host=url, slos=(slo,), out_dir=out, step_s=3.0, max_step_s=6.0,
                            max_duration_s=90.0, target_pid=pid, seed=1)


def _baseline(url: str, pid: int, slo: str, out, rate_rps: float) -> LoadTestSettings:
    return LoadTestSettings(scenario="baseline", host=url, slos=(slo,), out_dir=out, rate_rps=rate_rps,
                            ramp_s=2.0, hold_s=12.0, target_pid=pid, seed=1)


@pytest.mark.slow
@pytest.mark.timeout(240)
@pytest.mark.parametrize(("target_settings", "slo", "limit"), SETTINGS)
def test_stress_analyze_matches_wrk_and_safe_rate_meets_the_slo(target_settings, slo, limit, tmp_path):
    with start_target(target_settings) as target:
        wrk = measure_with_wrk(target.url, connections=64, duration_s=5)
        stress = run_scenario(_stress(target.url, target.pid, slo, tmp_path))
        result = CliRunner().invoke(app, ["analyze", str(stress.run_dir), "--json", "--slo", slo])
        assert result.exit_code == 0, result.output
        saturation = json.loads(result.stdout)["saturation"]
        error = (saturation["max_throughput_rps"] - wrk.requests_per_s) / wrk.requests_per_s
        assert abs(error) <= 0.10, (saturation["max_throughput_rps"], wrk.requests_per_s, saturation["steps"])
        safe = saturation["safe_throughput_rps"]
        assert 0 < safe < saturation["max_throughput_rps"]
        assert limit in saturation["safe_basis"], saturation["safe_basis"]
        baseline = run_scenario(_baseline(target.url, target.pid, slo, tmp_path, safe))
    hold = [s for s in baseline.steps if s.get("stage") == "hold"] or list(baseline.steps)
    p95_ms = max(float(s["latency_p95_ms"]) for s in hold)
    print(f"\nclosed loop {target_settings}: wrk -c64 {wrk.requests_per_s:.1f} req/s, max_throughput_rps "
          f"{saturation['max_throughput_rps']:.1f} ({error:+.1%}), safe_throughput_rps {safe:.1f} "
          f"({saturation['safe_basis']}), baseline p95 {p95_ms:.1f} ms vs {slo}")
    assert parse_slo(slo).is_met_by(p95_ms), (safe, p95_ms, baseline.verdict)
    assert baseline.verdict.slos_met is True, baseline.verdict
