"""Load-test runs (:class:`capplan.store.runs.Run`) as report facts and charts (no I/O).

Verdicts come from ``run.json`` as the runner wrote them. Spike recovery and soak drift
are recomputed from the per-second rows with :mod:`capplan.models.drift` (spike:
recovery time until p95 and error rate are back within 20 % of the pre-spike level for
3 s; soak: Theil–Sen slopes with Mann–Kendall significance), so a report never depends on
which summary keys a runner version wrote.
"""

from __future__ import annotations

import math
from datetime import datetime

import numpy as np
import pandas as pd

from capplan.models.drift import assess_drift, spike_recovery
from capplan.report import charts
from capplan.report.facts import ChartSpec, ScenarioFacts, SloCheck
from capplan.store.runs import Run


def scenario_facts(run: Run) -> ScenarioFacts:
    """A run's scenario, status, SLO verdict and scenario-specific highlights."""
    meta = run.meta
    verdict = meta.get("verdict") or {}
    checks = tuple(SloCheck(str(r.get("slo", "")), _number(r.get("observed")), r.get("met"))
                   for r in verdict.get("results", ()))
    highlights = {"spike": _spike_highlights, "soak": _soak_highlights}.get(run.scenario, _load_highlights)(run)
    return ScenarioFacts(
        scenario=run.scenario, run_id=run.run_id, status=run.status, complete=run.complete,
        slos_met=verdict.get("slos_met"), host=str(meta.get("host", "")),
        started_at=_timestamp(meta.get("started_at")), checks=checks, highlights=highlights)


def spike_window_s(run: Run) -> tuple[float, float] | None:
    """(start, end) of the surge in seconds since the start: from the parameters, else the stage."""
    params = run.meta.get("parameters") or {}
    pre, window = params.get("spike_pre_s"), params.get("spike_window_s")
    if isinstance(pre, (int, float)) and isinstance(window, (int, float)):
        return float(pre), float(pre) + float(window)
    spike = run.seconds[run.seconds["stage"] == "spike"]
    if spike.empty:
        return None
    return float(spike["t_s"].min()), float(spike["t_s"].max()) + 1.0


def spike_chart(run: Run, slo_p95_ms: float | None = None) -> ChartSpec | None:
    """Throughput and p95 per second around the surge; None when the run has no seconds."""
    sec = run.seconds
    if sec.empty:
        return None
    fig = charts.spike_figure(sec["t_s"], sec["throughput_rps"], sec["latency_p95_ms"], spike_window_s(run),
                              slo_p95_ms)
    return charts.chart_spec("spike", f"Spike run {run.run_id}: throughput and p95 latency per second", fig)


def soak_chart(run: Run) -> ChartSpec | None:
    """p95 latency and target memory over the soak with trend lines; None without seconds."""
    sec = _soak_seconds(run)
    if sec.empty:
        return None
    fig = charts.soak_figure(sec["t_s"], sec["latency_p95_ms"], sec["target_rss_mb"])
    return charts.chart_spec("soak", f"Soak run {run.run_id}: p95 latency and target memory", fig)


def _spike_highlights(run: Run) -> tuple[tuple[str, str], ...]:
    sec, window = run.seconds, spike_window_s(run)
    if sec.empty or window is None:
        return (("Recovery", "not measured (no per-second data)"),)
    rec = spike_recovery(sec["t_s"], sec["latency_p95_ms"], sec["error_rate"], sec["latency_max_ms"], window)
    recovery = f"{rec.recovery_s:.0f} s after the surge" if rec.recovered else "did not recover before the run ended"
    return (("Surge", f"{window[1] - window[0]:.0f} s from t = {window[0]:.0f} s"),
            ("p95 before / peak", f"{_ms(rec.pre_p95_ms)} / {_ms(rec.peak_p95_ms)}"),
            ("Peak error rate", f"{rec.peak_error_rate * 100:.2f} %"),
            ("Recovery", recovery))


def _soak_highlights(run: Run) -> tuple[tuple[str, str], ...]:
    sec = _soak_seconds(run)
    if len(sec) < 10:
        return (("Drift", "not measured (fewer than 10 s of soak data)"),)
    rss = sec["target_rss_mb"] if sec["target_rss_mb"].notna().any() else None
    drift = assess_drift(sec["t_s"], sec["latency_p95_ms"], sec["error_rate"], rss)
    rows = [("Soak length", f"{(sec['t_s'].max() - sec['t_s'].min()) / 60:.1f} min"),
            ("Verdict", drift.verdict),
            ("p95 trend", f"{drift.p95.slope_per_hour:+.3g} ms/h (Mann–Kendall p = {drift.p95.p_value:.2g})")]
    if drift.rss is not None:
        rows.append(("Target memory trend", f"{drift.rss.slope_per_hour:+.3g} MB/h "
                                            f"(p = {drift.rss.p_value:.2g})"))
    return tuple(rows) + tuple(("Reason", r) for r in drift.reasons)


def _load_highlights(run: Run) -> tuple[tuple[str, str], ...]:
    sec = run.seconds
    steady = sec[sec["step"] >= 0] if "step" in sec else sec
    if steady.empty:
        return ()
    return (("Peak throughput (1 s)", f"{steady['throughput_rps'].max():,.1f} req/s"),
            ("Requests", f"{int(sec['requests'].sum()):,}"))


def _soak_seconds(run: Run) -> pd.DataFrame:
    sec = run.seconds
    soak = sec[sec["stage"] == "soak"] if "stage" in sec else sec
    return soak if not soak.empty else sec


def _ms(value: float) -> str:
    return "n/a" if not np.isfinite(value) else f"{value:,.1f} ms"


def _number(value: object) -> float | None:
    try:
        number = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


def _timestamp(value: object) -> datetime | None:
    try:
        return datetime.fromisoformat(str(value))
    except ValueError:
        return None
