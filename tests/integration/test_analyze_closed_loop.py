"""Closing the loop on real runs: stress → analyze → wrk and a constant-rate baseline.

For each setting of the bundled demo target (a real HTTP server on 127.0.0.1 started by
the test): ``capplan analyze``'s max_throughput_rps must be within 10 % of what ``wrk -c64``
measures against the same target, and an open-model baseline run at safe_throughput_rps
must meet the p95 SLO that was asked for (where the SLO, not the utilisation cap, sets the
safe rate, the rate must agree with M/M/c theory and the run must meet the SLO within its noise).

Durations are set by the number of requests, not fixed: the demo target's service times are
exponential, so a throughput read from k requests has a relative error of about 1/sqrt(k).
At 100 req/s, 5 s of wrk and 3 s steps (500 and 300 requests, ±4.5 % and ±6 %) left the
two readings differing by over 10 % about one run in six; 1,500 requests per wrk reading
and steps of 900 requests (of which the steady window is part) narrow that difference,
and the short floors keep fast settings quick. Even so, the two 100 req/s settings used first
(2 slots × 20 ms) failed the 10 % comparison in 2 of 5 runs, so the settings now run at
about 225 req/s or more, where the same seconds hold several times the requests.
"""

from __future__ import annotations

import json
import math

import pytest
from typer.testing import CliRunner

from capplan.cli.app import app
from capplan.loadtest.runner import run_scenario
from capplan.loadtest.settings import LoadTestSettings
from capplan.loadtest.target import TargetSettings, start_target
from capplan.loadtest.wrk import measure_with_wrk
from capplan.models.slo import parse_slo

SETTINGS = [
    pytest.param(TargetSettings(slots=2, service_ms=5.0, port=0), "p95<100ms", "p95<100ms", None,
                 id="2-slots-5ms"),
    pytest.param(TargetSettings(slots=8, service_ms=5.0, port=0), "p95<60ms", "p95<60ms", None,
                 id="8-slots-5ms"),
    pytest.param(TargetSettings(slots=40, service_ms=40.0, sigma=0.05, kappa=0.001, port=0), "p95<500ms",
                 "p95<500ms", None, id="contention-sigma0.05-kappa0.001"),
    # an SLO tight enough that it, not the utilisation cap, sets the safe rate: through the queueing model, or
    # through a measured step that broke it when the refine steps land right at the knee (on a VM that adds
    # 2-3 ms to every request, as on 2026-12-01, the measured break binds first); the stress run gets a loose
    # SLO so that it does not stop at the tight one before the plateau is measured
    pytest.param(TargetSettings(slots=4, service_ms=10.0, port=0), "p95<1s", "p95<40ms", "p95<40ms",
                 id="4-slots-10ms-slo-bound"),
]


def _seconds_for(requests: float, rate_rps: float, low_s: float, high_s: float) -> float:
    """Seconds to collect ``requests`` at ``rate_rps``, within [low_s, high_s]."""
    return min(max(requests / rate_rps, low_s), high_s)


def _nominal_rps(settings: TargetSettings) -> float:
    return settings.slots * 1000.0 / settings.service_ms


def _stress(url: str, pid: int, slo: str, out, nominal_rps: float) -> LoadTestSettings:
    step_s = _seconds_for(900, nominal_rps, 3.0, 9.0)
    return LoadTestSettings(scenario="stress", host=url, slos=(slo,), out_dir=out, step_s=step_s,
                            max_step_s=2 * step_s, max_duration_s=150.0, target_pid=pid, seed=1)


def _baseline(url: str, pid: int, slo: str, out, rate_rps: float) -> LoadTestSettings:
    return LoadTestSettings(scenario="baseline", host=url, slos=(slo,), out_dir=out, rate_rps=rate_rps,
                            ramp_s=2.0, hold_s=_seconds_for(1500, rate_rps, 12.0, 20.0), target_pid=pid, seed=1)


@pytest.mark.slow
@pytest.mark.timeout(360)
@pytest.mark.parametrize(("target_settings", "stress_slo", "slo", "limit"), SETTINGS)
def test_stress_analyze_matches_wrk_and_safe_rate_meets_the_slo(target_settings, stress_slo, slo, limit, tmp_path):
    with start_target(target_settings) as target:
        nominal = _nominal_rps(target_settings)
        wrk = measure_with_wrk(target.url, connections=64, duration_s=_seconds_for(1500, nominal, 5.0, 15.0))
        stress = run_scenario(_stress(target.url, target.pid, stress_slo, tmp_path, nominal))
        result = CliRunner().invoke(app, ["analyze", str(stress.run_dir), "--json", "--slo", slo])
        assert result.exit_code == 0, result.output
        saturation = json.loads(result.stdout)["saturation"]
        error = (saturation["max_throughput_rps"] - wrk.requests_per_s) / wrk.requests_per_s
        assert abs(error) <= 0.10, (saturation["max_throughput_rps"], wrk.requests_per_s, saturation["steps"])
        safe = saturation["safe_throughput_rps"]
        assert 0 < safe < saturation["max_throughput_rps"]
        assert limit is None or limit in saturation["safe_basis"], saturation["safe_basis"]
        baseline = run_scenario(_baseline(target.url, target.pid, slo, tmp_path, safe))
    hold = [s for s in baseline.steps if s.get("stage") == "hold"] or list(baseline.steps)
    p95_ms = max(float(s["latency_p95_ms"]) for s in hold)
    print(f"\nclosed loop {target_settings}: wrk -c64 {wrk.requests_per_s:.1f} req/s, max_throughput_rps "
          f"{saturation['max_throughput_rps']:.1f} ({error:+.1%}), safe_throughput_rps {safe:.1f} "
          f"({saturation['safe_basis']}), baseline p95 {p95_ms:.1f} ms vs {slo}")
    if limit is None:  # the utilisation cap binds: the SLO holds with room to spare
        assert parse_slo(slo).is_met_by(p95_ms), (safe, p95_ms, baseline.verdict)
        assert baseline.verdict.slos_met is True, baseline.verdict
        return
    # The SLO binds: the safe rate is where the model's p95 *equals* the SLO, so a real run there lands on
    # either side of it by its own noise. Judge the rate against queueing theory for the known target, and the
    # run against the SLO within that noise: near this edge (281-300 req/s), 12-20 s open-loop baselines on the
    # shared 2-core VMs gave p95 from 36.1 to 62.5 ms (2026-12-02, here and on CI), so up to 1.6x the SLO. The rate may sit
    # below theory's (the SLOs are solved with a pessimistic service time, up to the low-load latency, which holds
    # 1-3 ms of client and loopback time here: 12 ms instead of 10 gives 0.8 of it), never far above it.
    ideal = _mmc_rate_for_p95(target_settings.slots, target_settings.service_ms / 1000.0,
                              parse_slo(slo).threshold_ms / 1000.0)
    assert 0.75 * ideal <= safe <= 1.05 * ideal, (safe, ideal, saturation["safe_basis"])
    assert p95_ms <= 1.6 * parse_slo(slo).threshold_ms, (safe, p95_ms, baseline.verdict)


def _mmc_rate_for_p95(servers: int, service_s: float, p95_s: float) -> float:
    """Arrival rate at which an M/M/c queue's response-time p95 is ``p95_s``, from the textbook formulas.

    Erlang C by its defining sum; the response time T = W + S with W = 0 w.p. 1 − C, else
    Exp(θ = cμ − λ), and S ~ Exp(μ): P(T > t) = (1 − C)·e^{−μt} + C·(θ·e^{−μt} − μ·e^{−θt})/(θ − μ)
    (Kleinrock vol. 1 §3.5; Gross & Harris §2.3). Written out here, not taken from capplan.
    """
    from scipy.optimize import brentq

    mu = 1.0 / service_s

    def tail(rate: float) -> float:
        a, theta = rate / mu, servers * mu - rate
        top = a ** servers / math.factorial(servers) * servers / (servers - a)
        erlang_c = top / (sum(a ** k / math.factorial(k) for k in range(servers)) + top)
        wait_part = (theta * math.exp(-mu * p95_s) - mu * math.exp(-theta * p95_s)) / (theta - mu)
        return (1 - erlang_c) * math.exp(-mu * p95_s) + erlang_c * wait_part - 0.05

    return float(brentq(tail, 1e-6 * servers * mu, (1 - 1e-6) * servers * mu))
