"""Plotly figures of a saturation estimate: measured points, fitted USL and queueing curves.

The builders are pure functions of :class:`~capplan.models.saturation.SaturationEstimate`
(the report reuses them); :func:`write_figure_html` writes one self-contained offline HTML
page (plotly.js inline, no CDN) atomically.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from capplan.errors import ReportError
from capplan.models.saturation import SaturationEstimate
from capplan.models.saturation_checks import latency_of
from capplan.models.slo import parse_slos
from capplan.store.atomic import write_text_atomic


def throughput_figure(estimate: SaturationEstimate) -> go.Figure:
    """Throughput (req/s) against concurrency: measured steps, USL curve, max and knee."""
    fig = go.Figure()
    _add_throughput_traces(fig, estimate, row=None)
    fig.update_layout(title="Throughput against concurrency", xaxis_title="concurrency N",
                      yaxis_title="throughput (req/s)", template="plotly_white")
    return fig


def latency_figure(estimate: SaturationEstimate) -> go.Figure:
    """Latency (ms) against throughput: measured steps, queueing model, safe point and SLO."""
    fig = go.Figure()
    _add_latency_traces(fig, estimate, row=None)
    fig.update_layout(title="Latency against throughput", xaxis_title="throughput (req/s)",
                      yaxis_title="latency (ms)", template="plotly_white")
    return fig


def saturation_figure(estimate: SaturationEstimate) -> go.Figure:
    """Both panels side by side, as written by ``capplan analyze --plot``."""
    fig = make_subplots(rows=1, cols=2, subplot_titles=("Throughput against concurrency (USL)",
                                                        "Latency against throughput (queueing model)"))
    _add_throughput_traces(fig, estimate, row=1)
    _add_latency_traces(fig, estimate, row=1)
    fig.update_xaxes(title_text="concurrency N", row=1, col=1)
    fig.update_yaxes(title_text="throughput (req/s)", row=1, col=1)
    fig.update_xaxes(title_text="throughput (req/s)", row=1, col=2)
    fig.update_yaxes(title_text="latency (ms)", row=1, col=2)
    fig.update_layout(title=(f"Saturation: max {estimate.max_throughput_rps:.1f} req/s, "
                             f"safe {estimate.safe_throughput_rps:.1f} req/s, "
                             f"knee N={estimate.knee_concurrency:.1f}"), template="plotly_white", height=520)
    return fig


def write_figure_html(fig: go.Figure, path: Path) -> None:
    """Write ``fig`` as a self-contained offline HTML file (temp file, then ``os.replace``)."""
    path = Path(path)
    try:
        write_text_atomic(path, fig.to_html(include_plotlyjs=True, full_html=True))
    except OSError as exc:
        raise ReportError(f"cannot write the plot, {str(path)!r} ({exc.strerror}), "
                          "pass --plot a path in a writable directory") from exc


def _cell(row: int | None, col: int) -> dict:
    return {} if row is None else {"row": row, "col": col}


def _add_throughput_traces(fig: go.Figure, est: SaturationEstimate, row: int | None) -> None:
    where = _cell(row, 1)
    n = np.array([s.concurrency for s in est.steps])
    x = np.array([s.throughput_rps for s in est.steps])
    fig.add_trace(go.Scatter(x=n, y=x, mode="markers", name="measured", marker={"size": 8}), **where)
    top = max(float(n.max()) * 1.1, est.knee_concurrency * 1.5)
    grid = np.linspace(0.0, top, 200)
    fig.add_trace(go.Scatter(x=grid, y=est.usl.throughput_rps(grid), mode="lines",
                             name=f"USL σ={est.usl.sigma:.3g} κ={est.usl.kappa:.3g}"), **where)
    fig.add_trace(go.Scatter(x=[0, top], y=[est.max_throughput_rps] * 2, mode="lines",
                             name=f"max {est.max_throughput_rps:.1f} req/s", line={"dash": "dash"}), **where)
    fig.add_trace(go.Scatter(x=[est.knee_concurrency] * 2, y=[0, est.max_throughput_rps], mode="lines",
                             name=f"knee N={est.knee_concurrency:.1f}", line={"dash": "dot"}), **where)


def _add_latency_traces(fig: go.Figure, est: SaturationEstimate, row: int | None) -> None:
    where = _cell(row, 2)
    key = est.steps[0].latency_key if est.steps else "mean"
    x = np.array([s.throughput_rps for s in est.steps])
    measured = np.array([s.latency_ms for s in est.steps])
    if np.any(np.isfinite(measured)):
        fig.add_trace(go.Scatter(x=x, y=measured, mode="markers", name=f"measured {key}",
                                 marker={"size": 8}), **where)
    rates = np.linspace(est.max_throughput_rps * 0.01, est.max_throughput_rps * 0.97, 80)
    model = [latency_of(est.queue_at(float(r)), key) for r in rates]
    fig.add_trace(go.Scatter(x=rates, y=model, mode="lines",
                             name=f"G/G/{est.effective_servers} model {key}"), **where)
    if est.slo_service_time_ms > est.service_time_ms * (1 + 1e-9):  # the SLOs were solved on this curve
        slow = [latency_of(est.slo_queue_at(float(r)), key) for r in rates]
        slow = [v if math.isfinite(v) else None for v in slow]  # past this queue's own saturation
        fig.add_trace(go.Scatter(x=rates, y=slow, mode="lines", line={"dash": "dot"},
                                 name=f"model {key}, service {est.slo_service_time_ms:.2f} ms (for SLOs)"), **where)
    safe = est.safe_throughput_rps
    if safe > 0 and math.isfinite(safe):
        fig.add_trace(go.Scatter(x=[safe], y=[latency_of(est.slo_queue_at(safe), key)], mode="markers",
                                 name=f"safe {safe:.1f} req/s", marker={"size": 14, "symbol": "star"}), **where)
    for slo in parse_slos(est.slos):
        if slo.metric == key:
            fig.add_trace(go.Scatter(x=[0, est.max_throughput_rps], y=[slo.threshold_ms] * 2, mode="lines",
                                     name=f"SLO {slo}", line={"dash": "dash"}), **where)
