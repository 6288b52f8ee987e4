"""Plotly figures of a forecast: history, point forecast, calibrated band, events.

``forecast_figure`` returns a ``plotly.graph_objects.Figure`` the HTML report can embed;
``write_forecast_html`` writes a self-contained page (plotly.js inline, no CDN, works
offline) atomically, so a failed write never leaves half a file.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from capplan.errors import ReportError
from capplan.models.forecast import Forecast
from capplan.models.prophet_model import Event
from capplan.store.atomic import write_text_atomic


def forecast_figure(forecast: Forecast, events: Sequence[Event] = ()) -> Any:
    """History (grey), forecast (blue line), interval band (light blue), event days (dotted lines)."""
    import plotly.graph_objects as go

    frame = forecast.frame
    figure = go.Figure()
    if len(forecast.history):
        figure.add_trace(go.Scatter(x=forecast.history.index, y=forecast.history.to_numpy(), mode="lines",
                                    name="history", line={"color": "#7f7f7f", "width": 1}))
    band = f"{forecast.interval:.0%} interval" if forecast.interval else "scenario"
    figure.add_trace(go.Scatter(x=frame["ds"], y=frame["yhat_upper"], mode="lines", line={"width": 0},
                                showlegend=False, hoverinfo="skip"))
    figure.add_trace(go.Scatter(x=frame["ds"], y=frame["yhat_lower"], mode="lines", line={"width": 0},
                                fill="tonexty", fillcolor="rgba(31,119,180,0.25)", name=band))
    figure.add_trace(go.Scatter(x=frame["ds"], y=frame["yhat"], mode="lines", name=f"forecast ({forecast.model})",
                                line={"color": "#1f77b4", "width": 2}))
    for event in events:
        for day in event.dates:
            figure.add_vline(x=str(day), line={"dash": "dot", "color": "#d62728", "width": 1})
    figure.update_layout(title=f"{forecast.name}: daily peak forecast", xaxis_title="day",
                         yaxis_title=_unit_label(forecast), template="plotly_white",
                         legend={"orientation": "h", "y": -0.15})
    return figure


def write_forecast_html(forecast: Forecast, path: Path, events: Sequence[Event] = ()) -> Path:
    """Write ``forecast_figure`` as one offline HTML file at ``path`` (atomic replace)."""
    figure = forecast_figure(forecast, events)
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        write_text_atomic(path, figure.to_html(include_plotlyjs=True, full_html=True))
    except OSError as exc:
        raise ReportError(f"forecast plot could not be written, {str(path)!r} ({exc}): "
                          "choose a writable --plot path") from exc
    return path


def _unit_label(forecast: Forecast) -> str:
    if forecast.unit == "rps":
        return "peak requests/s"
    return f"requests per {'day' if forecast.peak_rps_per_unit < 1 / 3_600 else 'peak interval'}"
