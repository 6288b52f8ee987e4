"""Report charts not covered by the saturation and forecast figure builders.

Instances over time, cost projection, spike recovery and soak drift, as plotly figures
built from plain arrays (no I/O). :func:`chart_spec` turns any figure into the JSON the
report embeds. Soak trend lines are the ones the run stored (Theil-Sen, :mod:`capplan.models.drift`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date

import numpy as np
import plotly.graph_objects as go
import plotly.io as pio

from capplan.models.drift import Trend, format_slope
from capplan.report.facts import ChartSpec

_LAYOUT = dict(
    template="plotly_white", height=380, margin=dict(l=60, r=30, t=50, b=50),
    legend=dict(orientation="h", yanchor="bottom", y=1.02, x=0),
    font=dict(family="system-ui, -apple-system, Segoe UI, Roboto, Arial, sans-serif", size=12),
)


def chart_spec(section: str, title: str, figure: go.Figure) -> ChartSpec:
    """The figure as plotly JSON for the report section ``section``."""
    return ChartSpec(section=section, title=title, figure_json=pio.to_json(figure, validate=False))


def instances_figure(dates: Sequence[date], needed: Sequence[float], needed_upper: Sequence[float] | None = None,
                     current_instances: int | None = None, act_by: date | None = None,
                     planned: Sequence[float] | None = None) -> go.Figure:
    """Instances needed per day (P50 and P90), the planned fleet and the current fleet."""
    fig = go.Figure()
    fig.add_trace(go.Scatter(x=list(dates), y=list(needed), name="needed (P50)", mode="lines",
                             line=dict(shape="hv", width=2, color="#2456a6")))
    if needed_upper is not None:
        fig.add_trace(go.Scatter(x=list(dates), y=list(needed_upper), name="needed (P90)", mode="lines",
                                 line=dict(shape="hv", dash="dot", color="#7a9bd1")))
    if planned is not None:
        fig.add_trace(go.Scatter(x=list(dates), y=list(planned), name="planned fleet", mode="lines",
                                 line=dict(shape="hv", width=3, color="#1a7f37")))
    if current_instances is not None:
        fig.add_hline(y=current_instances, line=dict(color="#1a7f37", dash="dash", width=1),
                      annotation_text=f"current fleet: {current_instances}", annotation_position="bottom right")
    if act_by is not None:
        _vline(fig, act_by, f"act by {act_by.isoformat()}", "#b35900")
    fig.update_layout(**_LAYOUT, xaxis_title="date", yaxis_title="instances", yaxis_rangemode="tozero")
    return fig


def cost_figure(months: Sequence[str], stacked_usd: Mapping[str, Sequence[float]],
                lines_usd: Mapping[str, Sequence[float]] | None = None, currency: str = "USD") -> go.Figure:
    """Cost per month: stacked bars (e.g. load, headroom, redundancy) and lines (e.g. planned fleet)."""
    fig = go.Figure()
    colors = ["#2456a6", "#9bb3dc", "#b35900", "#6a3d9a"]
    for i, (name, costs) in enumerate(stacked_usd.items()):
        fig.add_trace(go.Bar(x=list(months), y=list(costs), name=name, marker_color=colors[i % len(colors)]))
    for name, costs in (lines_usd or {}).items():
        fig.add_trace(go.Scatter(x=list(months), y=list(costs), name=name, mode="lines+markers",
                                 line=dict(color="#1a7f37", width=2)))
    fig.update_layout(**_LAYOUT, barmode="stack", xaxis_title="month", yaxis_title=f"{currency} per month",
                      yaxis_rangemode="tozero")
    return fig


def demand_figure(history: tuple[Sequence[date], Sequence[float]] | None,
                  forecast: tuple[Sequence[date], Sequence[float], Sequence[float]],
                  capacity_rps: Mapping[str, float], upper_label: str = "P90",
                  act_by: date | None = None) -> go.Figure:
    """Daily peak demand: history, the forecast P50 with its upper band, and capacity lines (req/s).

    ``forecast`` is ``(days, p50_rps, upper_rps)``; ``capacity_rps`` maps a label (e.g.
    "trigger (80 % of safe)") to a horizontal line.
    """
    fig = go.Figure()
    if history is not None:
        fig.add_trace(go.Scatter(x=list(history[0]), y=list(history[1]), name="history (daily peak)",
                                 mode="lines", line=dict(color="#555", width=1)))
    days, p50, upper = (list(v) for v in forecast)
    fig.add_trace(go.Scatter(x=days, y=upper, name=f"forecast {upper_label}", mode="lines",
                             line=dict(color="#7a9bd1", width=1)))
    fig.add_trace(go.Scatter(x=days, y=p50, name="forecast P50", mode="lines", fill="tonexty",
                             fillcolor="rgba(36,86,166,0.18)", line=dict(color="#2456a6", width=2)))
    styles = ["dot", "dash", "solid"]
    places = ["bottom right", "top left", "top right"]  # keep neighbouring labels apart
    for i, (label, value) in enumerate(capacity_rps.items()):
        fig.add_hline(y=value, line=dict(color="#c62828", dash=styles[i % len(styles)], width=1),
                      annotation_text=label, annotation_position=places[i % len(places)])
    if act_by is not None:
        _vline(fig, act_by, f"act by {act_by.isoformat()}", "#b35900")
    fig.update_layout(**_LAYOUT, xaxis_title="date", yaxis_title="peak req/s", yaxis_rangemode="tozero")
    return fig


def spike_figure(t_s: Sequence[float], throughput_rps: Sequence[float], latency_p95_ms: Sequence[float],
                 spike_window_s: tuple[float, float] | None = None, slo_p95_ms: float | None = None) -> go.Figure:
    """Throughput and p95 latency per second around a spike, with the spike window shaded."""
    fig = go.Figure()
    fig.add_trace(go.Scatter(x=list(t_s), y=list(throughput_rps), name="throughput (req/s)", mode="lines",
                             line=dict(color="#2456a6")))
    fig.add_trace(go.Scatter(x=list(t_s), y=list(latency_p95_ms), name="p95 latency (ms)", mode="lines",
                             yaxis="y2", line=dict(color="#c62828")))
    if spike_window_s is not None:
        fig.add_vrect(x0=spike_window_s[0], x1=spike_window_s[1], fillcolor="#b35900", opacity=0.12,
                      line_width=0, annotation_text="spike", annotation_position="top left")
    if slo_p95_ms is not None:
        fig.add_trace(go.Scatter(x=[min(t_s, default=0), max(t_s, default=0)], y=[slo_p95_ms, slo_p95_ms],
                                 name="p95 SLO", mode="lines", yaxis="y2", line=dict(color="#c62828", dash="dot")))
    fig.update_layout(**_LAYOUT, xaxis_title="seconds since start", yaxis_title="req/s",
                      yaxis2=dict(title="ms", overlaying="y", side="right", rangemode="tozero"))
    return fig


def soak_figure(t_s: Sequence[float], latency_p95_ms: Sequence[float], rss_mb: Sequence[float] | None = None,
                p95_trend: Trend | None = None, rss_trend: Trend | None = None) -> go.Figure:
    """p95 latency (and target memory when known) over a soak, with the run's stored trend lines.

    The dashed lines are the Theil-Sen lines the run computed when it ended
    (:class:`capplan.models.drift.Trend`: slope and intercept), labelled with the same slope
    as the tables; the figure fits nothing itself.
    """
    fig = go.Figure()
    t = list(t_s)
    fig.add_trace(go.Scatter(x=t, y=list(latency_p95_ms), name="p95 latency (ms)", mode="lines",
                             line=dict(color="#c62828", width=1.5)))
    _add_trend(fig, p95_trend, "p95 trend", "y", "ms")
    rss = np.asarray(rss_mb if rss_mb is not None else [], dtype=float)
    if np.isfinite(rss).any():
        fig.add_trace(go.Scatter(x=t, y=list(rss), name="target RSS (MB)", mode="lines", yaxis="y2",
                                 line=dict(color="#2456a6", width=1.5)))
        _add_trend(fig, rss_trend, "RSS trend", "y2", "MB")
    fig.update_layout(**_LAYOUT, xaxis_title="seconds since start",
                      yaxis=dict(title="ms", rangemode="tozero", tickformat=",.1f"),
                      yaxis2=dict(title="MB", overlaying="y", side="right", tickformat=",.1f",
                                  **_min_span(rss, 2.0)))
    return fig


def _min_span(values: np.ndarray, span: float) -> dict:
    """An axis range at least ``span`` wide around nearly constant values (else plotly zooms into noise)."""
    finite = values[np.isfinite(values)]
    if finite.size == 0 or np.ptp(finite) >= span:
        return {}
    mid = float(np.median(finite))
    return {"range": [mid - span / 2, mid + span / 2]}


def _add_trend(fig: go.Figure, trend: Trend | None, name: str, axis: str, unit: str) -> None:
    line = None if trend is None else trend.line()
    if line is None:
        return
    (t0, y0), (t1, y1) = line
    fig.add_trace(go.Scatter(x=[t0, t1], y=[y0, y1], name=f"{name} ({format_slope(trend, unit)})", mode="lines",
                             yaxis=axis, line=dict(dash="dash", color="#555")))


def _vline(fig: go.Figure, when: date, text: str, color: str) -> None:
    # add_vline with annotations fails on date axes in plotly 6; draw a shape plus an annotation.
    fig.add_shape(type="line", x0=when, x1=when, y0=0, y1=1, yref="paper", line=dict(color=color, dash="dash"))
    fig.add_annotation(x=when, y=1, yref="paper", text=text, showarrow=False, xanchor="left",
                       font=dict(color=color))


def forecast_vs_actual_figure(days: Sequence[date], p50_rps: Sequence[float], p90_rps: Sequence[float],
                              actual: tuple[Sequence[date], Sequence[float]], as_of: date) -> go.Figure:
    """Last month's forecast (P50 with its P90 band) against the daily peaks that came in (req/s)."""
    fig = go.Figure()
    fig.add_trace(go.Scatter(x=list(days), y=list(p90_rps), name="forecast P90", mode="lines",
                             line=dict(color="#7a9bd1", width=1)))
    fig.add_trace(go.Scatter(x=list(days), y=list(p50_rps), name="forecast P50", mode="lines", fill="tonexty",
                             fillcolor="rgba(36,86,166,0.18)", line=dict(color="#2456a6", width=2)))
    fig.add_trace(go.Scatter(x=list(actual[0]), y=list(actual[1]), name="actual (daily peak)", mode="lines+markers",
                             line=dict(color="#1d2330", width=1.5), marker=dict(size=4)))
    _vline(fig, as_of, f"forecast made {as_of.isoformat()}", "#5b6474")
    fig.update_layout(**_LAYOUT, xaxis_title="date", yaxis_title="peak req/s", yaxis_rangemode="tozero")
    return fig
