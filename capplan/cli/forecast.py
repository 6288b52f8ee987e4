"""``capplan forecast``: growth forecast of a traffic history, backtests, and what-if growth."""

from __future__ import annotations

import json
import os
import re
import sys
from collections.abc import Iterator
from concurrent.futures import Executor, ProcessPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import date
from multiprocessing import get_context
from pathlib import Path
from typing import Any

import typer

from capplan.errors import ConfigError, InputDataError

_DURATION = re.compile(r"^(\d+(?:\.\d+)?)(d|w|mo|y)$")
_DAYS = {"d": 1.0, "w": 7.0, "mo": 730.0 / 24.0, "y": 365.0}
_GROWTH = re.compile(r"^([+-]?\d+(?:\.\d+)?)%/(day|week|month|year)$")
_PERIOD_DAYS = {"day": 1.0, "week": 7.0, "month": 730.0 / 24.0, "year": 365.0}
_MULTIPLIER = re.compile(r"^[x×*]?(\d+(?:\.\d+)?)@(\d{4}-\d{2}-\d{2})$")
_EVENT = re.compile(r"^([^@]+)@([\d\-,]+?)(?:[x×*](\d+(?:\.\d+)?))?(?:\+(\d+)d)?$")
HISTORY_SUFFIXES = (".csv", ".parquet", ".pq")


@dataclass(frozen=True)
class SeriesJob:
    """One history to forecast in a worker process (everything picklable)."""

    source: str
    options: Any
    settings: Any
    horizon_days: int


def parse_days(text: str, flag: str = "--horizon") -> int:
    """``"180d"``, ``"26w"``, ``"6mo"``, ``"1y"`` → whole days (a month is 730 h)."""
    match = _DURATION.match(text.strip())
    if match is None:
        raise ConfigError(f"{flag} must be a number and a unit d/w/mo/y, got {text!r}: write e.g. 180d or 6mo")
    return max(1, round(float(match[1]) * _DAYS[match[2]]))


def parse_growth(text: str) -> float:
    """``"15%/month"`` → compounding growth per 730-hour month as a fraction (0.15)."""
    match = _GROWTH.match(text.replace(" ", ""))
    if match is None:
        raise ConfigError(f"--growth must look like 15%/month, got {text!r}: periods are day, week, month, year")
    per_period = float(match[1]) / 100.0
    if per_period <= -1.0:
        raise ConfigError(f"--growth must be above -100% per period, got {text!r}: write e.g. -5%/month")
    return (1.0 + per_period) ** (_PERIOD_DAYS["month"] / _PERIOD_DAYS[match[2]]) - 1.0


def parse_multiplier(text: str) -> tuple[date, float]:
    """``"1.5@2027-03-01"`` (or ``"x1.5@…"``) → (date, factor): ×factor from that date on."""
    match = _MULTIPLIER.match(text.replace(" ", ""))
    if match is None:
        raise ConfigError(f"--multiplier must look like 1.5@2027-03-01, got {text!r}: factor@date (ISO)")
    return _iso_date(match[2], "--multiplier"), float(match[1])


def parse_event(text: str) -> Any:
    """``"black-friday@2025-11-28,2026-11-27[x1.8][+3d]"`` → Event (uplift and upper window optional)."""
    from capplan.models.prophet_model import Event

    match = _EVENT.match(text.replace(" ", ""))
    if match is None:
        raise ConfigError(f"--event must look like name@2026-11-27[,date…][x1.5][+2d], got {text!r}: "
                          "name, dates, optional expected uplift and days after")
    dates = tuple(_iso_date(d, "--event") for d in match[2].split(",") if d)
    uplift = float(match[3]) if match[3] else None
    return Event(match[1], dates, uplift, 0, int(match[4] or 0))


def _iso_date(text: str, flag: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError as exc:
        raise ConfigError(f"{flag} holds an impossible date, {text!r}: write YYYY-MM-DD") from exc


def parse_quantile(text: str | None) -> float | None:
    """``"max"``/None → None; ``"p99"`` or ``"0.99"`` → 0.99."""
    if text is None or text == "max":
        return None
    try:
        value = float(text[1:]) / 100.0 if text.lower().startswith("p") else float(text)
    except ValueError:
        value = -1.0
    if not 0.0 < value < 1.0:
        raise ConfigError(f"--peak must be max, pNN or a fraction, got {text!r}: write e.g. --peak p99")
    return value


def expand_sources(sources: list[str]) -> list[str]:
    """Files and ``prometheus://`` URLs as given; a directory becomes its CSV/Parquet files, sorted."""
    expanded: list[str] = []
    for source in sources:
        path = Path(source)
        if path.is_dir():
            found = sorted(str(p) for p in path.iterdir() if p.suffix.lower() in HISTORY_SUFFIXES)
            if not found:
                raise InputDataError(f"directory holds no CSV or Parquet history, {source!r}: "
                                     "give a file or a folder of .csv/.parquet files")
            expanded.extend(found)
        else:
            expanded.append(source)
    return expanded


def forecast_source(job: SeriesJob, executor: Executor | None = None) -> Any:
    """Read one history and forecast it (module level, so worker processes can run it)."""
    from capplan.models.forecast import DemandForecaster
    from capplan.store.history import read_history

    history = read_history(job.source, job.options)
    return DemandForecaster(job.settings).fit(history, executor).predict(job.horizon_days)


@contextmanager
def fold_pool() -> Iterator[Executor | None]:
    """A forked process pool for one series' fold fits (None on one core or without fork).

    Prophet is imported first so the workers inherit it, and the workers are started at once,
    before any thread exists, so forking is safe.
    """
    workers = min(os.cpu_count() or 1, 4)
    if workers < 2 or not sys.platform.startswith("linux"):
        yield None
        return
    import prophet  # noqa: F401

    pool = ProcessPoolExecutor(max_workers=workers, mp_context=get_context("fork"))
    try:
        pool.submit(int).result()
        yield pool
    finally:
        pool.shutdown(cancel_futures=True)


def forecast_many(jobs: list[SeriesJob], workers: int) -> list[Any]:
    """Forecast every job, spread over ``workers`` processes when there is more than one job.

    Workers are forked where the platform allows it (no second import of pandas and Prophet;
    the parent has started no threads yet) and spawned elsewhere, which is why the console
    entry point keeps its ``if __name__ == "__main__"`` guard. Errors come back as the
    CapplanError each worker raised.
    """
    if len(jobs) == 1:
        with fold_pool() as pool:
            return [forecast_source(jobs[0], pool)]
    if workers <= 1:
        return [forecast_source(job) for job in jobs]
    method = "fork" if sys.platform.startswith("linux") else "spawn"
    with ProcessPoolExecutor(max_workers=min(workers, len(jobs)), mp_context=get_context(method)) as pool:
        return list(pool.map(forecast_source, jobs))


def write_text_atomic(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` through a temporary file and ``os.replace``."""
    temp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        temp.write_text(text, encoding="utf-8")
        os.replace(temp, path)
    except OSError as exc:
        temp.unlink(missing_ok=True)
        raise ConfigError(f"could not write {str(path)!r} ({exc}): choose a writable path") from exc


def dump_json(payload: Any) -> None:
    """Print ``payload`` as JSON on stdout (NaN written as null)."""
    sys.stdout.write(json.dumps(_finite(payload), indent=None) + "\n")


def _finite(value: Any) -> Any:
    if isinstance(value, float) and value != value:
        return None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_finite(v) for v in value]
    return value


def register(app: typer.Typer) -> None:
    """Add ``capplan forecast`` to the root app."""
    app.command("forecast")(forecast)


def forecast(  # noqa: PLR0913 - typer maps each flag to a parameter
    history: list[str] = typer.Argument(None, help="CSV/Parquet files, folders of them, or prometheus://host:port?query=…"),
    horizon: str = typer.Option("180d", "--horizon", help="How far ahead: 90d, 26w, 6mo, 1y."),
    interval: float = typer.Option(0.8, "--interval", help="Central interval coverage, e.g. 0.8."),
    as_json: bool = typer.Option(False, "--json", help="Print the forecast as JSON."),
    as_csv: bool = typer.Option(False, "--csv", help="Print the forecast as CSV."),
    plot: Path = typer.Option(None, "--plot", help="Write an offline HTML chart to this path."),
    model: str = typer.Option("prophet", "--model", help="prophet, auto (backtest winner), seasonal_naive, "
                              "linear_trend or holt_winters."),
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
        result, events = _from_config(config, history)
    elif from_rate is not None or growth is not None:
        result = [_what_if(from_rate, growth, horizon_days, multiplier or [], start)]
    else:
        options = _history_options(time_col, value_col, unit, peak, peak_to_mean)
        settings = _settings(interval, model, horizon_days, (growth_model, cap, country, events))
        sources = _sources(history)
        if backtest:
            _print_backtests([_run_backtest(s, options, settings, horizon_days, folds) for s in sources], as_json)
            return
        result = forecast_many([SeriesJob(s, options, settings, horizon_days) for s in sources],
                               jobs or os.cpu_count() or 1)
    _print_forecasts(result, as_json, as_csv)
    if plot is not None:
        _write_plot(result, plot, events)


def _sources(history: list[str] | None) -> list[str]:
    sources = expand_sources(history or [])
    if not sources:
        raise ConfigError("no history given, got nothing: pass a CSV/Parquet file, a folder, a prometheus:// "
                          "URL, or --from-rate and --growth for a what-if")
    return sources


def _history_options(time_col: str | None, value_col: str | None, unit: str, peak: str,
                     peak_to_mean: float | None) -> Any:
    from capplan.store.history import HistoryOptions

    if unit not in ("auto", "rps", "count"):
        raise ConfigError(f"--unit must be auto, rps or count, got {unit!r}: pass --unit rps or --unit count")
    return HistoryOptions(time_col, value_col, unit, parse_quantile(peak), peak_to_mean)


def _settings(interval: float, model: str, horizon_days: int, prophet: tuple[str, float | None, str | None, tuple]) -> Any:
    from capplan.models.forecast import ForecastSettings
    from capplan.models.prophet_model import ProphetSettings

    growth_model, cap, country, events = prophet
    if growth_model not in ("linear", "logistic", "flat"):
        raise ConfigError(f"--growth-model must be linear, logistic or flat, got {growth_model!r}: "
                          "pass --growth-model linear")
    if country is not None:
        _check_country(country)
    return ForecastSettings(interval=interval, model=model, horizon_days=horizon_days,
                            prophet=ProphetSettings(growth=growth_model, cap=cap, country=country, events=events))


def _check_country(country: str) -> None:
    import holidays

    if country.upper() not in holidays.list_supported_countries():
        raise ConfigError(f"--country is not a supported holiday calendar, got {country!r}: "
                          "give an ISO 3166 code such as US, GB, DE or FR")


def _what_if(from_rate: float | None, growth: str | None, horizon_days: int, multipliers: list[str],
             start: str | None) -> Any:
    from capplan.models.growth import what_if_forecast

    if from_rate is None or growth is None:
        raise ConfigError("what-if needs both --from-rate and --growth, got only one: "
                          "pass e.g. --from-rate 1200 --growth 15%/month")
    first = _iso_date(start, "--start") if start else date.today()
    return what_if_forecast(from_rate, parse_growth(growth), horizon_days, first,
                            [parse_multiplier(m) for m in multipliers])


def _run_backtest(source: str, options: Any, settings: Any, horizon_days: int, folds: int) -> tuple[str, Any]:
    from capplan.models.backtest import backtest, rolling_origins
    from capplan.models.forecast import DemandForecaster, MIN_HISTORY_DAYS
    from capplan.store.history import read_history

    if folds < 2:
        raise ConfigError(f"--folds must be at least 2, got {folds}: pass e.g. --folds 5")
    history = read_history(source, options)
    daily = history.daily.loc[history.daily.first_valid_index():history.daily.last_valid_index()]
    origins = rolling_origins(len(daily), horizon_days, folds, max(MIN_HISTORY_DAYS, len(daily) // 3))
    if len(origins) < 2:
        raise InputDataError(f"backtest of {history.name} needs about {horizon_days * 2 + MIN_HISTORY_DAYS} days "
                             f"for 2 folds at horizon {horizon_days}d, got {len(daily)}: shorten --horizon")
    auto = DemandForecaster(_with_model(settings, "auto"))
    with fold_pool() as pool:
        return history.name, backtest(daily, auto._candidates(), horizon_days, origins, settings.interval,
                                      threads=2, executor=pool)


def _with_model(settings: Any, model: str) -> Any:
    return replace(settings, model=model)


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
        table.add_column(column, justify="left" if column == "month" else "right")
    for row in result.monthly_peaks().itertuples():
        table.add_row(row.month, f"{row.p50_peak:,.0f}", f"{row.p90_peak:,.0f}",
                      f"{row.p50_peak * result.peak_rps_per_unit:,.1f}",
                      f"{row.p90_peak * result.peak_rps_per_unit:,.1f}")
    console.print(table)
    if result.candidates:
        console.print(f"calibration backtest: {result.model} MASE {_score_of(result).mase:.2f}, "
                      f"interval coverage {_score_of(result).coverage:.0%}", highlight=False)


def _score_of(result: Any) -> Any:
    return next(s for s in result.candidates if s.model == result.model)


def _write_plot(results: list[Any], path: Path, events: tuple) -> None:
    from capplan.report.forecast_plot import write_forecast_html

    for result in results:
        target = path if len(results) == 1 else path.with_name(f"{path.stem}-{result.name}{path.suffix}")
        write_forecast_html(result, target, events)
        typer.echo(f"plot written to {target}", err=True)


def _from_config(path: Path, sources: list[str] | None) -> tuple[list[Any], tuple]:
    """Forecast as ``[demand]`` in capplan.toml says (HISTORY arguments replace its source)."""
    from capplan.config import load_config
    from capplan.models.forecast import ForecastSettings, apply_uplifts
    from capplan.models.growth import what_if_forecast
    from capplan.models.prophet_model import ProphetSettings
    from capplan.store.history import HistoryOptions

    loaded = load_config(path)
    demand = loaded.demand
    events = tuple(_config_event(e) for e in demand.events)
    if demand.source is None and not sources:
        steps = [(e.first_day, e.multiplier) for e in demand.events if e.is_permanent]
        scenario = what_if_forecast(float(demand.from_rate), demand.growth.fraction_per_month, demand.horizon_days,
                                    demand.start or date.today(), steps)
        spans = tuple(e for e in events if not e.lasting)
        return [replace(scenario, frame=apply_uplifts(scenario.frame, spans))], events
    options = HistoryOptions(demand.time_column, demand.value_column, demand.unit, demand.peak_quantile,
                             demand.peak_to_mean)
    settings = ForecastSettings(interval=demand.interval, model=demand.model, horizon_days=demand.horizon_days,
                                prophet=ProphetSettings(growth=demand.trend, cap=demand.cap, events=events))
    chosen = sources or [demand.source if demand.source.startswith("prometheus://") else
                         str(loaded.resolve(demand.source))]
    jobs = [SeriesJob(s, options, settings, demand.horizon_days) for s in expand_sources(chosen)]
    return forecast_many(jobs, os.cpu_count() or 1), events


def _config_event(event: Any) -> Any:
    from capplan.models.prophet_model import Event

    last = event.last_day or event.first_day
    return Event(event.name, (event.first_day,), event.multiplier, 0, (last - event.first_day).days,
                 lasting=event.is_permanent)
