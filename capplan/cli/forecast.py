"""``capplan forecast``: growth forecast of a traffic history, backtests, and what-if growth.

Flags in, output out: the work is in capplan.app.forecasting (and the models and store below it).
"""

from __future__ import annotations

import calendar
import json
import math
import os
import sys
from pathlib import Path
from typing import Any

import typer

from capplan.errors import ConfigError
from capplan.models.forecast import MODELS
from capplan.app.forecasting import (
    ProphetFlags,
    SeriesJob,
    forecast_from_config,
    forecast_many,
    forecast_settings,
    history_options,
    history_sources,
    parse_days,
    parse_event,
    run_backtest,
    what_if_from_flags,
)


def register(app: typer.Typer) -> None:
    """Add ``capplan forecast`` to the root app."""
    app.command("forecast")(forecast)


def forecast(
    history: list[str] = typer.Argument(None, help="CSV/Parquet files, folders of them, or prometheus://host:port?query=…"),
    horizon: str = typer.Option("180d", "--horizon", help="How far ahead: 90d, 26w, 6mo, 1y."),
    interval: float = typer.Option(0.8, "--interval", help="Central interval coverage, e.g. 0.8."),
    as_json: bool = typer.Option(False, "--json", help="Print the forecast as JSON."),
    as_csv: bool = typer.Option(False, "--csv", help="Print the forecast as CSV."),
    plot: Path = typer.Option(None, "--plot", help="Write an offline HTML chart to this path."),
    model: str = typer.Option("auto", "--model", help="auto (chosen by backtest at the horizon), or force one: "
                              f"{', '.join(MODELS)}."),
    backtest: bool = typer.Option(False, "--backtest", help="Rolling-origin backtest against baselines instead."),
    folds: int = typer.Option(5, "--folds", help="Rolling origins for --backtest."),
    time_col: str = typer.Option(None, "--time-col", help="Time column (default: detected)."),
    value_col: str = typer.Option(None, "--value-col", help="Value column (default: detected)."),
    unit: str = typer.Option("auto", "--unit", help="auto, rps (a rate) or count (requests per sample)."),
    peak: str = typer.Option("max", "--peak", help="Daily peak of sub-daily data: max or a quantile like p99."),
    peak_to_mean: float = typer.Option(None, "--peak-to-mean", help="Peak/mean hour ratio for daily totals."),
    country: str = typer.Option(None, "--country", help="Public holidays of this country (ISO code, e.g. US)."),
    event: list[str] = typer.Option(None, "--event", help="name@2026-11-27[,date…][x1.5][+2d]; repeatable."),
    growth_model: str = typer.Option("linear", "--growth-model", help="linear, logistic (needs --cap) or flat."),
    cap: float = typer.Option(None, "--cap", help="Saturation level for logistic growth (series units)."),
    from_rate: float = typer.Option(None, "--from-rate", help="What-if: current peak req/s (no history)."),
    growth: str = typer.Option(None, "--growth", help="What-if: compound growth, e.g. 15%/month."),
    multiplier: list[str] = typer.Option(None, "--multiplier", help="What-if: factor@date, e.g. 1.5@2027-03-01."),
    start: str = typer.Option(None, "--start", help="What-if: first forecast day (default: today)."),
    jobs: int = typer.Option(0, "--jobs", help="Worker processes for many series (default: CPU count)."),
    config: Path = typer.Option(None, "--config", help="Read source, horizon, model and events from [demand]."),
) -> None:
    """Forecast daily peak traffic with a calibrated interval, or a what-if growth scenario."""
    if as_json and as_csv:
        raise ConfigError("--json and --csv were both given, got both: pick one output format")
    horizon_days = parse_days(horizon)
    events = tuple(parse_event(e) for e in event or [])
    if config is not None:
        result, events = forecast_from_config(config, history)
    elif from_rate is not None or growth is not None:
        result = [what_if_from_flags(from_rate, growth, horizon_days, multiplier or [], start)]
    else:
        options = history_options(time_col, value_col, unit, peak, peak_to_mean)
        settings = forecast_settings(interval, model, horizon_days, ProphetFlags(growth_model, cap, country, events))
        sources = history_sources(history)
        if backtest:
            _print_backtests([run_backtest(s, options, settings, folds) for s in sources], as_json)
            return
        result = forecast_many([SeriesJob(s, options, settings, horizon_days) for s in sources],
                               jobs or os.cpu_count() or 1)
    _print_forecasts(result, as_json, as_csv)
    if plot is not None:
        _write_plot(result, plot, events)


def _print_backtests(results: list[tuple[str, Any]], as_json: bool) -> None:
    from rich.console import Console
    from rich.table import Table

    if as_json:
        dump_json({"backtests": [_backtest_dict(name, r) for name, r in results]})
        return
    console = Console()
    for name, result in results:
        table = Table(title=f"{name}: {len(result.origins)}-fold backtest, horizon {result.horizon_days} days, "
                            f"{result.interval:.0%} conformal interval")
        for column in ("model", "MAPE %", "MASE", "coverage", "points"):
            table.add_column(column, justify="left" if column == "model" else "right")
        for score in sorted(result.scores, key=lambda s: s.mase):
            table.add_row(score.model, f"{score.mape_pct:.2f}", f"{score.mase:.3f}", f"{score.coverage:.1%}",
                          str(score.points))
        console.print(table)
        console.print(f"winner by MASE: [bold]{result.winner}[/bold]")


def _backtest_dict(name: str, result: Any) -> dict[str, Any]:
    return {"name": name, "horizon_days": result.horizon_days, "interval": result.interval,
            "origins": [o.date().isoformat() for o in result.origins], "winner": result.winner,
            "scores": [vars(s) for s in result.scores]}


def _print_forecasts(results: list[Any], as_json: bool, as_csv: bool) -> None:
    for result in results:
        for warning in result.warnings:
            typer.echo(f"warning: {result.name}: {warning}", err=True)
    if as_json:
        dump_json(results[0].to_dict() if len(results) == 1 else {"series": [r.to_dict() for r in results]})
    elif as_csv:
        _print_csv(results)
    else:
        for result in results:
            _print_monthly(result)


def _print_csv(results: list[Any]) -> None:
    import pandas as pd

    frames = []
    for result in results:
        frame = result.frame[["ds", "yhat", "yhat_lower", "yhat_upper"]].copy()
        frame["ds"] = frame["ds"].dt.date.astype(str)
        if len(results) > 1:
            frame.insert(0, "series", result.name)
        frames.append(frame)
    sys.stdout.write(pd.concat(frames).to_csv(index=False))


def _print_monthly(result: Any) -> None:
    from rich.console import Console
    from rich.table import Table

    console = Console()
    table = Table(title=f"{result.name}: peak per month ({result.model}, {result.interval_method} interval)")
    for column in ("month", "P50 peak", "P90 peak", "P50 peak req/s", "P90 peak req/s"):
        table.add_column(column, justify="left" if column == "month" else "right", no_wrap=column == "month")
    for row in result.monthly_peaks().itertuples():
        table.add_row(_month_label(row.month, row.days), f"{row.p50_peak:,.0f}", f"{row.p90_peak:,.0f}",
                      f"{row.p50_peak * result.peak_rps_per_unit:,.1f}",
                      f"{row.p90_peak * result.peak_rps_per_unit:,.1f}")
    console.print(table)
    if result.candidates:
        _print_choice(console, result)
    elif result.reason:
        console.print(result.reason, highlight=False)


def _print_choice(console: Any, result: Any) -> None:
    from rich.table import Table

    members = dict(result.weights)
    table = Table(title=f"{result.name}: candidates, {result.backtest_folds}-fold backtest at "
                        f"{result.backtest_horizon_days} days")
    for column in ("model", "MASE", "MAPE %", "coverage", "weight"):
        table.add_column(column, justify="left" if column == "model" else "right")
    for score in sorted(result.candidates, key=lambda s: s.mase):
        mark = " ←" if score.model == result.model else ""
        table.add_row(f"{score.model}{mark}", f"{score.mase:.3f}", f"{score.mape_pct:.1f}", f"{score.coverage:.0%}",
                      f"{members[score.model]:.2f}" if score.model in members else "")
    console.print(table)
    weights = ", ".join(f"{m} {w:.2f}" for m, w in result.weights)
    lower, upper, p90 = result.calibrated_levels
    console.print(f"chosen: {result.model} ({weights}): {result.reason}; interval calibrated at conformal levels "
                  f"{lower:.2f} (lower bound) and {upper:.2f} (upper), P90 at {p90:.2f}", highlight=False)


def _month_label(month: str, days: int) -> str:
    """``2027-05`` for a whole month, ``2027-05 (2 d)`` when the horizon covers only part of it."""
    in_month = calendar.monthrange(int(month[:4]), int(month[5:7]))[1]
    return month if days >= in_month else f"{month} ({days} d)"


def _write_plot(results: list[Any], path: Path, events: tuple) -> None:
    from capplan.report.forecast_plot import write_forecast_html

    for result in results:
        target = path if len(results) == 1 else path.with_name(f"{path.stem}-{result.name}{path.suffix}")
        write_forecast_html(result, target, events)
        typer.echo(f"plot written to {target}", err=True)


def dump_json(payload: Any) -> None:
    """Print ``payload`` as JSON on stdout (NaN written as null)."""
    sys.stdout.write(json.dumps(_finite(payload), indent=None) + "\n")


def _finite(value: Any) -> Any:
    if isinstance(value, float) and math.isnan(value):
        return None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_finite(v) for v in value]
    return value
