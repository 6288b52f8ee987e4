"""From flags or ``[demand]`` to forecasts: the orchestration behind ``capplan forecast``.

The command module (capplan.cli.forecast) parses flags and prints; everything between is
here: flag texts to settings (:func:`parse_days`, :func:`parse_growth`, :func:`parse_event`,
…), sources to histories (:func:`expand_sources`), one or many series forecast in worker
processes (:func:`forecast_many`), the ``--backtest`` run (:func:`run_backtest`), what-if
growth (:func:`what_if_from_flags`) and the ``[demand]`` section of capplan.toml
(:func:`forecast_from_config`). Reading files and Prometheus happens in capplan.store, the
maths in capplan.models; nothing here prints.

Prophet, pandas and the store are imported inside the functions that need them, so the
CLI's start-up (and ``--help``) stays fast.
"""

from __future__ import annotations

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

from capplan.errors import ConfigError, InputDataError
from capplan.models.billing import DAYS_PER_MONTH, DAYS_PER_YEAR

_DURATION = re.compile(r"^(\d+(?:\.\d+)?)(d|w|mo|y)$")
_DAYS = {"d": 1.0, "w": 7.0, "mo": DAYS_PER_MONTH, "y": DAYS_PER_YEAR}
_MULTIPLIER = re.compile(r"^[x×*]?(\d+(?:\.\d+)?)@(\d{4}-\d{2}-\d{2})$")
_EVENT = re.compile(r"^([^@]+)@([\d\-,]+?)(?:[x×*](\d+(?:\.\d+)?))?(?:\+(\d+)d)?$")
HISTORY_SUFFIXES = (".csv", ".parquet", ".pq")
MAX_FOLD_WORKERS = 4


@dataclass(frozen=True)
class SeriesJob:
    """One history to forecast in a worker process (everything picklable)."""

    source: str
    options: Any
    settings: Any
    horizon_days: int


@dataclass(frozen=True)
class ProphetFlags:
    """The Prophet-related flags as given: ``growth_model``, ``cap``, ``country``, parsed ``events``."""

    growth_model: str = "linear"
    cap: float | None = None
    country: str | None = None
    events: tuple = ()


def parse_days(text: str, flag: str = "--horizon") -> int:
    """``"180d"``, ``"26w"``, ``"6mo"``, ``"1y"`` → whole days (a billing month, ``HOURS_PER_MONTH``)."""
    match = _DURATION.match(text.strip())
    if match is None:
        raise ConfigError(f"{flag} must be a number and a unit d/w/mo/y, got {text!r}: write e.g. 180d or 6mo")
    return max(1, round(float(match[1]) * _DAYS[match[2]]))


def parse_growth(text: str) -> float:
    """``"15%/month"`` → compounding growth per billing month as a fraction (0.15)."""
    growth = _growth_flag(text)
    if growth.is_range:
        raise ConfigError(f"--growth must be one rate here, got the range {text!r}: write e.g. 15%/month")
    return growth.fraction_per_month


def parse_growth_range(text: str) -> float | tuple[float, float]:
    """``"15%/month"`` → 0.15; ``"12-18%/month"`` → (0.12, 0.18) per 730-hour month (the what-if band)."""
    growth = _growth_flag(text)
    return growth.band_per_month if growth.is_range else growth.fraction_per_month


def _growth_flag(text: str):
    """The ``--growth`` text read by the one growth parser (capplan.config.units); percentages only."""
    from capplan.config.units import parse_growth as parse_growth_text

    try:
        growth = parse_growth_text(text.replace(" ", ""))
    except ValueError as exc:
        raise ConfigError(f"--growth {exc}") from None
    if not growth.is_relative:
        raise ConfigError(f"--growth must be a percentage per period, got {text!r}: write e.g. 15%/month")
    return growth


def parse_multiplier(text: str) -> tuple[date, float]:
    """``"1.5@2027-03-01"`` (or ``"x1.5@…"``) → (date, factor): ×factor from that date on."""
    match = _MULTIPLIER.match(text.replace(" ", ""))
    if match is None:
        raise ConfigError(f"--multiplier must look like 1.5@2027-03-01, got {text!r}: factor@date (ISO)")
    return parse_iso_date(match[2], "--multiplier"), float(match[1])


def parse_event(text: str) -> Any:
    """``"black-friday@2025-11-28,2026-11-27[x1.8][+3d]"`` → Event (uplift and upper window optional)."""
    from capplan.models.prophet_model import Event

    match = _EVENT.match(text.replace(" ", ""))
    if match is None:
        raise ConfigError(f"--event must look like name@2026-11-27[,date…][x1.5][+2d], got {text!r}: "
                          "name, dates, optional expected uplift and days after")
    dates = tuple(parse_iso_date(d, "--event") for d in match[2].split(",") if d)
    uplift = float(match[3]) if match[3] else None
    return Event(match[1], dates, uplift, 0, int(match[4] or 0))


def parse_iso_date(text: str, flag: str) -> date:
    """``"2027-03-01"`` → date; anything else is a usage error naming ``flag``."""
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


def history_sources(history: list[str] | None) -> list[str]:
    """:func:`expand_sources`, refusing an empty list with the ways to give a history."""
    sources = expand_sources(history or [])
    if not sources:
        raise ConfigError("no history given, got nothing: pass a CSV/Parquet file, a folder, a prometheus:// "
                          "URL, or --from-rate and --growth for a what-if")
    return sources


def history_options(time_col: str | None, value_col: str | None, unit: str, peak: str,
                    peak_to_mean: float | None) -> Any:
    """The flags that say how to read a history → capplan.store.history.HistoryOptions."""
    from capplan.store.history import HistoryOptions

    if unit not in ("auto", "rps", "count"):
        raise ConfigError(f"--unit must be auto, rps or count, got {unit!r}: pass --unit rps or --unit count")
    return HistoryOptions(time_col, value_col, unit, parse_quantile(peak), peak_to_mean)


def forecast_settings(interval: float, model: str, horizon_days: int, flags: ProphetFlags) -> Any:
    """Checked flags → capplan.models.forecast.ForecastSettings."""
    from capplan.models.forecast import ForecastSettings
    from capplan.models.prophet_model import ProphetSettings

    if flags.growth_model not in ("linear", "logistic", "flat"):
        raise ConfigError(f"--growth-model must be linear, logistic or flat, got {flags.growth_model!r}: "
                          "pass --growth-model linear")
    if flags.country is not None:
        _check_country(flags.country)
    prophet = ProphetSettings(growth=flags.growth_model, cap=flags.cap, country=flags.country, events=flags.events)
    return ForecastSettings(interval=interval, model=model, horizon_days=horizon_days, prophet=prophet)


def _check_country(country: str) -> None:
    import holidays

    if country.upper() not in holidays.list_supported_countries():
        raise ConfigError(f"--country is not a supported holiday calendar, got {country!r}: "
                          "give an ISO 3166 code such as US, GB, DE or FR")


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
    workers = min(os.cpu_count() or 1, MAX_FOLD_WORKERS)
    if workers < 2 or not sys.platform.startswith("linux"):
        yield None
        return
    import prophet  # noqa: F401

    from capplan.models.statistical import import_statsforecast

    import_statsforecast()
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


def run_backtest(source: str, options: Any, settings: Any, folds: int) -> tuple[str, Any]:
    """Rolling-origin backtest of Prophet and every baseline on one history → (series name, BacktestResult).

    ``folds`` origins end at the last day of history, each forecasting ``settings.horizon_days``;
    intervals are cross-conformal at ``settings.interval`` (capplan.models.backtest).
    """
    from capplan.models.backtest import backtest, rolling_origins
    from capplan.models.forecast import MIN_HISTORY_DAYS, DemandForecaster
    from capplan.store.history import read_history

    if folds < 2:
        raise ConfigError(f"--folds must be at least 2, got {folds}: pass e.g. --folds 5")
    horizon_days = settings.horizon_days
    history = read_history(source, options)
    daily = DemandForecaster(settings).usable_days(history.daily)[0]  # the days `fit` learns from
    origins = rolling_origins(len(daily), horizon_days, folds, max(MIN_HISTORY_DAYS, len(daily) // 3))
    if len(origins) < 2:
        raise InputDataError(f"backtest of {history.name} needs about {horizon_days * 2 + MIN_HISTORY_DAYS} days "
                             f"for 2 folds at horizon {horizon_days}d, got {len(daily)}: shorten --horizon")
    candidates = DemandForecaster(replace(settings, model="auto")).candidates(len(daily), latest_train_days=origins[-1])
    with fold_pool() as pool:
        return history.name, backtest(daily, candidates, horizon_days, origins, settings.interval,
                                      threads=2, executor=pool)


def what_if_from_flags(from_rate: float | None, growth: str | None, horizon_days: int, multipliers: list[str],
                       start: str | None) -> Any:
    """``--from-rate`` and ``--growth`` (both needed) → a what-if Forecast; ``start`` defaults to today."""
    from capplan.models.growth import what_if_forecast

    if from_rate is None or growth is None:
        raise ConfigError("what-if needs both --from-rate and --growth, got only one: "
                          "pass e.g. --from-rate 1200 --growth 15%/month")
    first = parse_iso_date(start, "--start") if start else date.today()
    return what_if_forecast(from_rate, parse_growth_range(growth), horizon_days, first,
                            [parse_multiplier(m) for m in multipliers])


def forecast_from_config(path: Path, sources: list[str] | None, today: date | None = None) -> tuple[list[Any], tuple]:
    """Forecast as ``[demand]`` in capplan.toml says → (forecasts, events); HISTORY arguments replace its source.

    With the config's own source (or a what-if ``[demand]``) this is the very forecast
    ``capplan plan`` uses (:func:`capplan.app.demand.forecast_demand`); other HISTORY
    arguments are forecast with the same settings, events included.
    """
    from capplan.app.demand import forecast_demand, forecast_settings, history_options
    from capplan.config import load_config

    loaded = load_config(path)
    demand = loaded.demand
    if not sources:
        with fold_pool() if demand.source is not None else _no_pool() as pool:
            resolved = forecast_demand(loaded, today or date.today(), pool)
        return [resolved.forecast], resolved.events
    settings = forecast_settings(demand)
    jobs = [SeriesJob(s, history_options(demand), settings, demand.horizon_days) for s in expand_sources(sources)]
    return forecast_many(jobs, os.cpu_count() or 1), settings.prophet.events


@contextmanager
def _no_pool() -> Iterator[None]:
    yield None
