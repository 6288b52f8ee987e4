"""The risk chart of the capacity report (issue 12): a fan of fleet size and a risk line per month.

Left axis: the P10–P90 band and median of the fleet that follows each simulated demand path
(at the safe rate), and the planned fleet. Right axis: per month, the planned fleet's
probability of breaching the SLO and of crossing its scaling trigger, with the risk target.
Built from the stored :class:`capplan.app.risk.RiskReport` (no I/O, no recomputation).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

import numpy as np
import plotly.graph_objects as go

from capplan.report.charts import chart_spec
from capplan.report.facts import ChartSpec


def risk_figure(days: Sequence[date], fan: np.ndarray, planned: Sequence[int], months: Sequence[str],
                probabilities: dict[str, Sequence[float]], target: float) -> go.Figure:
    """Fleet-size fan (3 × days: P10, P50, P90), planned fleet and monthly probabilities (fractions)."""
    x = list(days)
    fig = go.Figure()
    fig.add_trace(go.Scatter(x=x, y=fan[2].tolist(), mode="lines", line=dict(width=0, shape="hv"),
                             showlegend=False, hoverinfo="skip"))
    fig.add_trace(go.Scatter(x=x, y=fan[0].tolist(), mode="lines", fill="tonexty", fillcolor="rgba(36,86,166,0.18)",
                             line=dict(width=0, shape="hv"), name="fleet following demand, P10–P90"))
    fig.add_trace(go.Scatter(x=x, y=fan[1].tolist(), mode="lines", name="fleet following demand, P50",
                             line=dict(color="#2456a6", shape="hv", dash="dot")))
    fig.add_trace(go.Scatter(x=x, y=list(planned), mode="lines", name="planned fleet",
                             line=dict(color="#1a7f37", width=3, shape="hv")))
    starts = [date.fromisoformat(f"{m}-01") for m in months]
    colors = {"breach": "#b42318", "trigger": "#b35900"}
    for name, values in probabilities.items():
        fig.add_trace(go.Scatter(x=starts, y=[100.0 * v for v in values], name=f"P({name}) per month", yaxis="y2",
                                 mode="lines+markers", line=dict(shape="hv", color=colors.get(name, "#555"))))
    fig.add_trace(go.Scatter(x=[starts[0], x[-1]], y=[100.0 * target] * 2, name=f"risk target {target:.0%}",
                             yaxis="y2", mode="lines", line=dict(color="#b42318", dash="dash", width=1)))
    fig.update_layout(template="plotly_white", height=400, margin=dict(l=60, r=60, t=50, b=50),
                      legend=dict(orientation="h", yanchor="bottom", y=1.02, x=0), xaxis_title="date",
                      yaxis=dict(title="instances", rangemode="tozero"),
                      yaxis2=dict(title="probability per month (%)", overlaying="y", side="right", range=[0, 100]))
    return fig


def risk_chart(report) -> ChartSpec:
    """The chart of a :class:`capplan.app.planning.PlanReport` with a risk report (section "instances")."""
    risk, plan = report.risk, report.plan
    days = [d.astype(object) for d in plan.demand.ds]
    probabilities = {"breach": [m.risk.breach_probability for m in risk.months],
                     "trigger": [m.risk.trigger_probability for m in risk.months]}
    figure = risk_figure(days, risk.fan, plan.planned.tolist(), [m.risk.month for m in risk.months],
                         probabilities, risk.shape_target)
    return chart_spec("instances", "Fleet size under uncertainty and the planned fleet's risk per month", figure)
