"""Turn what a run recorded into its run.json ``summary`` and SLO ``verdict``.

Verdict basis per scenario (documented in ``capplan loadtest --help``):

- baseline: the hold step's steady window;
- soak: the whole soak step;
- spike: the post-spike step, and the service must have recovered;
- stress: met when at least one step met every SLO (stress breaches them on purpose at
  its top; the summary names the highest passing step and why the climb stopped).
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from typing import Any

from capplan.loadtest.recorder import SecondBucket, observed_from_sketch
from capplan.loadtest.settings import LoadTestSettings, Verdict
from capplan.models.drift import SUMMARY_VERSION, soak_summary, spike_summary
from capplan.models.slo import evaluate_slos, parse_slos

GEN_CPU_LIMIT_PCT = 90.0
"""Above this generator CPU a second is flagged: the load generator may be the bottleneck."""


@dataclass
class Series:
    """The light per-second columns kept in memory for the end-of-run analysis."""

    t_s: list[float] = field(default_factory=list)
    stage: list[str] = field(default_factory=list)
    p95_ms: list[float] = field(default_factory=list)
    max_ms: list[float] = field(default_factory=list)
    error_rate: list[float] = field(default_factory=list)
    throughput_rps: list[float] = field(default_factory=list)
    rss_mb: list[float] = field(default_factory=list)
    gen_cpu_pct: list[float] = field(default_factory=list)

    def add(self, row: dict[str, Any]) -> None:
        """Keep the columns of one per-second row."""
        self.t_s.append(row["t_s"])
        self.stage.append(row["stage"])
        self.p95_ms.append(row["latency_p95_ms"])
        self.max_ms.append(row["latency_max_ms"])
        self.error_rate.append(row["error_rate"] if row["requests"] else math.nan)
        self.throughput_rps.append(row["throughput_rps"])
        self.rss_mb.append(row["target_rss_mb"])
        self.gen_cpu_pct.append(row["gen_cpu_pct"])


def _clean(value: Any) -> Any:
    """JSON-safe: NaN becomes None, numpy scalars become floats."""
    if isinstance(value, dict):
        return {k: _clean(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_clean(v) for v in value]
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if hasattr(value, "item"):
        return _clean(value.item())
    return value


def _loaded(series: Series) -> list[int]:
    """Indexes of the seconds under load: not the partial shutdown second(s) (``stopping``)."""
    return [i for i, stage in enumerate(series.stage) if stage not in ("stopping", "init")]


def totals(total: SecondBucket, series: Series) -> dict[str, float]:
    """Whole-run figures: requests, errors, latency percentiles (ms), mean throughput over the loaded seconds."""
    sk = total.sketch
    loaded = _loaded(series)
    duration = len(loaded)
    out = {"requests": total.requests, "successes": total.successes, "errors": total.errors,
           "error_rate": total.errors / total.requests if total.requests else 0.0, "duration_s": float(duration),
           "throughput_rps": sum(series.throughput_rps[i] for i in loaded) / duration if duration else 0.0}
    for key, value in observed_from_sketch(sk, total.requests, total.errors).items():
        if key in ("p50", "p90", "p95", "p99", "p99.9", "max", "mean"):
            out[f"latency_{key.replace('.', '')}_ms"] = value
    return out


def build_summary(settings: LoadTestSettings, total: SecondBucket, series: Series, steps: list[dict[str, Any]],
                  extra: dict[str, Any]) -> dict[str, Any]:
    """The scenario-specific run.json summary (JSON-safe)."""
    # Shutdown seconds are left out: stopping Locust costs CPU but limits no measurement.
    hot = [series.t_s[i] for i in _loaded(series)
           if not math.isnan(series.gen_cpu_pct[i]) and series.gen_cpu_pct[i] > GEN_CPU_LIMIT_PCT]
    summary: dict[str, Any] = {
        "summary_version": SUMMARY_VERSION,
        "totals": totals(total, series),
        "errors_by_kind": dict(sorted(total.errors_by_kind.items())),
        "generator_cpu_over_90pct_s": hot[:50], "generator_bottleneck": bool(hot),
        "steps": [{k: v for k, v in s.items() if k != "sketch"} for s in steps],
    }
    if settings.open_model:
        # Over the steps' steady windows: arrivals drawn during the ramp-down or just before
        # the stop never had a chance to complete, and would read as a shortfall.
        intended = sum(s.get("intended", 0) for s in steps)
        completed = sum(s["requests"] for s in steps if s.get("intended", 0))
        summary["open_model"] = {"intended_requests": intended, "completed_requests": completed,
                                 "achieved_ratio": completed / intended if intended else math.nan,
                                 "mean_gen_lag_ms": total.lag_ms_sum / total.sends if total.sends else math.nan}
    summary.update(extra)
    if settings.scenario == "spike":
        summary["spike"] = _spike(settings, series)
    if settings.scenario == "soak":
        summary["soak"] = _soak(series, steps)
    return _clean(summary)


def _spike(settings: LoadTestSettings, series: Series) -> dict[str, Any]:
    start = settings.spike_pre_s
    rec = spike_summary(series.t_s, series.stage, series.p95_ms, series.error_rate, series.max_ms,
                        (start, start + settings.spike_window_s), settings.recovery_tolerance)
    return {**rec.to_dict(), "multiplier": settings.spike_multiplier}


def _soak(series: Series, steps: list[dict[str, Any]]) -> dict[str, Any]:
    soak = next((s for s in steps if s["stage"] == "soak"), None)
    window = (soak["steady_start_s"], soak["end_s"]) if soak else None
    drift = soak_summary(series.t_s, series.stage, series.p95_ms, series.error_rate, series.rss_mb, window)
    return {**drift.to_dict(), "steady_window_s": None if window is None else list(window)}


def build_verdict(settings: LoadTestSettings, steps: list[dict[str, Any]], summary: dict[str, Any]) -> Verdict:
    """The SLO verdict on the scenario's basis (module docstring).

    A basis step whose error rate is above ``error_rate_max`` is never met, SLOs or not
    (failures are not capacity). A run interrupted before its basis step recorded a
    steady second is not judged (``None``); one interrupted inside it is judged on the
    completed part (a ``partial`` step).
    """
    slos = parse_slos(settings.slos)
    if settings.scenario == "stress":
        return _stress_verdict(slos, steps, settings.error_rate_max) if slos else Verdict(None, (), "no SLO given")
    stage = {"baseline": "hold", "soak": "soak", "spike": "post"}[settings.scenario]
    step = next((s for s in steps if s["stage"] == stage and s["requests"]), None)
    interrupted = summary.get("interrupted")
    if step is None and interrupted:
        return Verdict(None, (), f"interrupted ({interrupted['signal']}) before the {stage} step recorded a "
                                 "steady second: not judged")
    if step is None:
        return Verdict(False if slos else None, (), f"no completed requests in the {stage} step (run cut short?)")
    results = _results(slos, step) + _ceiling_breach(step, settings.error_rate_max)
    if not results:
        return Verdict(None, (), f"no SLO given; {stage} step error rate within the ceiling")
    met = all(r["met"] for r in results)
    basis = f"{stage} step (steady from t={step['steady_start_s']:.0f}s)"
    if step.get("partial") and interrupted:
        basis += (f", interrupted by {interrupted['signal']} at t={interrupted['at_s']:.0f}s: judged on the "
                  f"{step['duration_s']:.0f}s completed")
    if settings.scenario == "spike" and not summary.get("spike", {}).get("recovered"):
        met, basis = False, basis + "; the service did not recover after the spike"
    return Verdict(met, tuple(results), basis)


def _ceiling_breach(step: dict[str, Any], ceiling: float) -> list[dict[str, Any]]:
    """The error-ceiling result of a step, when the step broke it (else nothing)."""
    rate = float(step.get("error_rate") or 0.0)
    return [{"slo": f"error_rate<={ceiling:g} (error ceiling)", "observed": rate, "met": False}] if rate > ceiling else []


def _results(slos, step: dict[str, Any]) -> list[dict[str, Any]]:
    observed = _observed(step)
    return [{"slo": r.slo.text, "observed": _clean(r.observed), "met": r.met} for r in evaluate_slos(slos, observed)]


def _observed(step: dict[str, Any]) -> dict[str, float]:
    from capplan.models.sketch import LatencySketch

    sketch = LatencySketch.from_bytes(step["sketch"])
    return observed_from_sketch(sketch, step["requests"], step["errors"])


def _stress_verdict(slos, steps: list[dict[str, Any]], ceiling: float) -> Verdict:
    passing = [s for s in steps if s["requests"] and not _ceiling_breach(s, ceiling)
               and all(r["met"] for r in _results(slos, s))]
    if not passing:
        first = steps[0] if steps else None
        results = tuple(_results(slos, first)) if first and first["requests"] else ()
        return Verdict(False, results, "no stress step met every SLO (not even the lowest load)")
    best = max(passing, key=lambda s: s["throughput_rps"])
    return Verdict(True, tuple(_results(slos, best)),
                   f"highest-throughput step meeting every SLO: step {best['step']} ({best['users']} users, "
                   f"{best['throughput_rps']:.1f} req/s)")


def verdict_json(verdict: Verdict) -> dict[str, Any]:
    """run.json's ``verdict`` block."""
    return json.loads(json.dumps(_clean({"slos_met": verdict.slos_met, "results": list(verdict.results),
                                         "basis": verdict.basis})))
