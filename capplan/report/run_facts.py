"""Load-test runs (:class:`capplan.store.runs.Run`) as report facts and charts (no I/O).

Verdicts, spike recovery and soak drift come from ``run.json`` as the run stored them when it
ended, with its own parameters (:func:`capplan.store.runs.run_findings`; runs written before
summaries were stored are recomputed there, with the same functions). The soak chart draws
the stored Theil-Sen lines, so the chart, the tables, the CLI and ``analyze`` show one slope.
"""

from __future__ import annotations

import math
from datetime import datetime

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from capplan.models.drift import format_recovery, format_slope
from capplan.report import charts
from capplan.report.facts import ChartSpec, ScenarioFacts, SloCheck
from capplan.store.runs import Run, run_findings


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
    """p95 latency and target memory over the soak with the run's stored trend lines; None without seconds."""
    return None if (figure := soak_figure(run)) is None else charts.chart_spec(
        "soak", f"Soak run {run.run_id}: p95 latency and target memory", figure)


def soak_figure(run: Run) -> go.Figure | None:
    """The soak chart's figure (the data a report embeds): seconds of the soak, stored trend lines."""
    sec = _soak_seconds(run)
    if sec.empty:
        return None
    drift = run_findings(run).soak
    return charts.soak_figure(sec["t_s"], sec["latency_p95_ms"], sec["target_rss_mb"],
                              None if drift is None else drift.p95, None if drift is None else drift.rss)


def _spike_highlights(run: Run) -> tuple[tuple[str, str], ...]:
    rec = run_findings(run).spike
    if rec is None:
        return (("Recovery", "not measured (no per-second data)"),)
    start, end = rec.window_s
    return (("Surge", f"{end - start:.0f} s from t = {start:.0f} s"),
            ("p95 before / peak", f"{_ms(rec.pre_p95_ms)} / {_ms(rec.peak_p95_ms)}"),
            ("Peak error rate", f"{rec.peak_error_rate * 100:.2f} %"),
            ("Recovery", f"{format_recovery(rec)} (p95 within {rec.tolerance:.0%} of before)"))


def _soak_highlights(run: Run) -> tuple[tuple[str, str], ...]:
    sec = _soak_seconds(run)
    drift = run_findings(run).soak
    if drift is None or drift.p95.n < 3:
        return (("Drift", "not measured (too few seconds of soak data)"),)
    rows = [("Soak length", f"{(sec['t_s'].max() - sec['t_s'].min()) / 60:.1f} min"),
            ("Verdict", drift.verdict),
            ("p95 trend", format_slope(drift.p95, "ms"))]
    if drift.rss is not None:
        rows.append(("Target memory trend", format_slope(drift.rss, "MB")))
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
