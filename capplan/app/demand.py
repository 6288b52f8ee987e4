"""``[demand]`` → the one forecast every output uses (``forecast --config``, ``plan``, report, review).

This is the only place capplan.toml's demand section becomes a forecast:

* a history ``source`` (CSV, Parquet or ``prometheus://``) is read once
  (:func:`read_demand_history`) and forecast with
  :class:`capplan.models.forecast.DemandForecaster`; ``[[demand.events]]`` are given to
  the forecaster as events with their expected uplift, so the forecast frame already
  carries them (one-day and spanned events on their days, lasting steps from their start);
* with no source, ``from_rate`` compounds at ``growth`` (what-if), lasting events as steps
  and spans as uplifts on their days.

The planner's daily P50/P90 peak req/s (:class:`DemandSeries`) is that forecast × peak
req/s per unit, with the days of temporary events marked (they get temporary capacity).
"""

from __future__ import annotations

from concurrent.futures import Executor
from dataclasses import dataclass, replace
from datetime import date
from typing import Any

import numpy as np

from capplan.config import CapplanConfig, DemandConfig
from capplan.models.capacity import DemandSeries


@dataclass(frozen=True, eq=False)
class ResolvedDemand:
    """The forecast of ``[demand]``, the history it was fitted on (None for what-if), the planner's series.

    ``events`` are the forecaster's :class:`capplan.models.prophet_model.Event` of
    ``[[demand.events]]`` (for plots); ``description`` names the model and the source.
    """

    forecast: Any
    history: Any
    series: DemandSeries
    events: tuple
    description: str
    warnings: tuple[str, ...] = ()


def history_options(demand: DemandConfig) -> Any:
    """How ``[demand]`` says to read its history → :class:`capplan.store.history.HistoryOptions`."""
    from capplan.store.history import HistoryOptions

    return HistoryOptions(time_col=demand.time_column, value_col=demand.value_column, unit=demand.unit,
                          peak_quantile=demand.peak_quantile, peak_to_mean=demand.peak_to_mean)


def forecast_settings(demand: DemandConfig) -> Any:
    """``[demand]`` → :class:`capplan.models.forecast.ForecastSettings`, its events included."""
    from capplan.models.forecast import ForecastSettings
    from capplan.models.prophet_model import ProphetSettings

    prophet = ProphetSettings(growth=demand.trend, cap=demand.cap, country=demand.country,
                              events=demand_events(demand))
    return ForecastSettings(interval=demand.interval, model=demand.model, horizon_days=demand.horizon_days,
                            prophet=prophet)


def demand_events(demand: DemandConfig) -> tuple:
    """``[[demand.events]]`` as forecaster events with their expected uplift (the multiplier)."""
    from capplan.models.prophet_model import Event

    events = []
    for event in demand.events:
        last = event.last_day or event.first_day
        events.append(Event(event.name, (event.first_day,), event.multiplier, 0, (last - event.first_day).days,
                            lasting=event.is_permanent))
    return tuple(events)


def source_location(config: CapplanConfig, source: str) -> str:
    """A history source as the reader takes it: ``prometheus://`` URLs unchanged, paths resolved."""
    return source if source.startswith("prometheus://") else str(config.resolve(source))


def read_demand_history(config: CapplanConfig) -> Any:
    """The ``[demand] source`` history (read once per plan); None for what-if demand."""
    from capplan.store.history import read_history

    if config.demand.source is None:
        return None
    return read_history(source_location(config, config.demand.source), history_options(config.demand))


def forecast_demand(config: CapplanConfig, today: date, executor: Executor | None = None) -> ResolvedDemand:
    """Forecast ``[demand]`` once (see the module docstring); ``today`` starts what-if demand."""
    demand = config.demand
    if demand.source is None:
        return _what_if(demand, today)
    from capplan.models.forecast import DemandForecaster

    history = read_demand_history(config)
    forecast = DemandForecaster(forecast_settings(demand)).fit(history, executor).predict(demand.horizon_days)
    warnings = list(forecast.warnings)
    if demand.start is not None:
        warnings.append(f"demand.start = {demand.start} is ignored for a history forecast, which starts the day "
                        f"after the history ends ({forecast.frame['ds'].iloc[0].date()})")
    return ResolvedDemand(forecast, history, demand_series(forecast, demand), demand_events(demand),
                          f"{forecast.model} forecast of {demand.source}", tuple(warnings))


def _what_if(demand: DemandConfig, today: date) -> ResolvedDemand:
    from capplan.models.forecast import apply_uplifts
    from capplan.models.growth import what_if_forecast

    events = demand_events(demand)
    steps = [(e.first_day, e.multiplier) for e in demand.events if e.is_permanent]
    scenario = what_if_forecast(float(demand.from_rate), _band(demand.growth), demand.horizon_days,
                                demand.start or today, steps)
    forecast = replace(scenario, frame=apply_uplifts(scenario.frame, tuple(e for e in events if not e.lasting)))
    return ResolvedDemand(forecast, None, demand_series(forecast, demand), events,
                          f"what-if: {demand.from_rate:g} req/s growing {demand.growth.text}",
                          (forecast.reason,) if demand.growth.is_range else ())


def _band(growth: Any) -> float | tuple[float, float]:
    """One monthly growth fraction, or the (low, high) band of a range such as ``"12-18%/month"``."""
    return growth.band_per_month if growth.is_range else growth.fraction_per_month


def demand_series(forecast: Any, demand: DemandConfig) -> DemandSeries:
    """A forecast as the planner's daily peak req/s: P50 = yhat, P90 = yhat_p90, temporary event days marked."""
    frame = forecast.frame
    per_unit = float(forecast.peak_rps_per_unit)
    upper = frame["yhat_p90"] if "yhat_p90" in frame else frame["yhat_upper"]
    ds = frame["ds"].to_numpy().astype("datetime64[D]")
    temporary = np.zeros(len(ds), dtype=bool)
    for event in demand.events:
        if not event.is_permanent:
            temporary |= (ds >= np.datetime64(event.first_day, "D")) & (ds <= np.datetime64(event.last_day, "D"))
    return DemandSeries(ds, frame["yhat"].to_numpy(float) * per_unit, upper.to_numpy(float) * per_unit,
                        event=temporary)
