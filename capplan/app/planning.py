"""From capplan.toml to a capacity plan: the orchestration behind ``capplan plan``.

``build_plan(config) -> PlanReport`` is the one entry point (the report and the demo
call it too). It resolves, in order:

1. per-instance capacity — ``[capacity] per_instance_rps`` (safe = × target_utilization)
   or load-test runs through :func:`capplan.models.saturation.estimate_saturation`
   (whose CPU service demand enables the CPU trigger when ``cpu_ms_per_request`` is unset);
2. daily demand at P50 and P90 (peak req/s) — a history forecast with
   :class:`capplan.models.forecast.DemandForecaster`, or what-if compounding growth from
   ``from_rate``; ``[[demand.events]]`` multiply the days they cover;
3. the pure models: :func:`plan_capacity`, :func:`project_costs`, resource runways,
   scaling triggers and recommendations.

Everything with I/O (reading runs, histories) happens here; the maths is in ``models/``.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass

import numpy as np

from capplan.config import CapplanConfig, DemandConfig, ResourceConfig
from capplan.errors import CapplanError, ConfigError, InputDataError
from capplan.models.alerts import ScalingTrigger, scaling_triggers
from capplan.models.capacity import (
    CapacityPlan,
    DemandSeries,
    FleetSpec,
    InstanceCapacity,
    Redundancy,
    plan_capacity,
    recommendations,
)
from capplan.models.cost import CostProjection, PriceSheet, project_costs
from capplan.models.runway import (
    ResourceRunway,
    ResourceSpec,
    describe_resource,
    fit_linear_trend,
    project_compound,
    project_linear,
    resource_runway,
)

RESOURCE_TREND_DAYS = 90
"""A resource history's trend is fitted on its last 90 days (recent growth, not old history)."""


@dataclass(frozen=True)
class PlanReport:
    """Everything ``capplan plan`` shows: the capacity plan, costs, resources, triggers, advice."""

    service: str
    demand_source: str
    plan: CapacityPlan
    costs: CostProjection
    resources: tuple[ResourceRunway, ...]
    triggers: tuple[ScalingTrigger, ...]
    recommendations: tuple[str, ...]
    warnings: tuple[str, ...]

    @property
    def as_of(self) -> np.datetime64:
        """The first planned day."""
        return self.plan.demand.ds[0]


@dataclass(frozen=True)
class TriggerSet:
    """What alert rules need, without any demand forecast: capacity, fleet and triggers."""

    capacity: InstanceCapacity
    fleet: FleetSpec
    triggers: tuple[ScalingTrigger, ...]
    warnings: tuple[str, ...]


def build_triggers(config: CapplanConfig) -> TriggerSet:
    """Per-instance capacity, the fleet and its scaling triggers (no forecast is fitted)."""
    capacity, warnings = resolve_capacity(config)
    fleet = fleet_spec(config)
    triggers = scaling_triggers(capacity, fleet, config.service.objectives, capacity.cpu_ms_per_request,
                                config.instance_price.vcpus)
    return TriggerSet(capacity, fleet, triggers, tuple(warnings))


def build_plan(config: CapplanConfig, today: dt.date | None = None) -> PlanReport:
    """Plan the service described by ``config``; ``today`` is the default start of what-if demand."""
    base = build_triggers(config)
    capacity, fleet, triggers, warnings = base.capacity, base.fleet, base.triggers, base.warnings
    demand, source, demand_warnings = resolve_demand(config, today or dt.date.today())
    plan = plan_capacity(demand, capacity, fleet)
    price = config.instance_price
    sheet = PriceSheet(config.pricing.currency, price.hourly, config.pricing.hours_per_month,
                       config.pricing.reserved_1y_discount, config.pricing.reserved_3y_discount,
                       config.pricing.spot_discount)
    resources = tuple(resolve_resource(config, r, demand.ds) for r in config.resources)
    words = recommendations(plan) + tuple(describe_resource(r, demand.ds[0]) for r in resources)
    return PlanReport(config.service.name, source, plan, project_costs(plan, sheet), resources, triggers,
                      words, warnings + tuple(demand_warnings))


def unavoidable_breach(report: PlanReport) -> str | None:
    """Why the SLO breaks before capacity ordered today can serve, or None.

    True when P90 demand exceeds today's fleet's maximum capacity earlier than the first
    day plus the lead time: no order placed now arrives in time.
    """
    runway, fleet = report.plan.runway, report.plan.fleet
    ready = report.as_of + np.timedelta64(math.ceil(fleet.lead_time_days), "D")
    if runway.breach_date is None or runway.breach_date >= ready:
        return None
    return (f"the current fleet breaks its SLO before new capacity can arrive, P90 demand exceeds "
            f"{runway.max_capacity_rps:,.0f} req/s on {runway.breach_date} but {fleet.lead_time_days:g}-day lead "
            f"time means {ready} at the earliest, add instances now (expedite) or shed load")


def fleet_spec(config: CapplanConfig) -> FleetSpec:
    """The ``[fleet]`` section as the planner's :class:`FleetSpec`."""
    fleet = config.fleet
    return FleetSpec(
        instance_type=fleet.instance_type, current_count=fleet.current_count, minimum=fleet.minimum,
        redundancy=Redundancy(spares=fleet.spare_instances, zones=fleet.zones),
        trigger_utilization=fleet.trigger_utilization, lead_time_days=fleet.lead_time.days,
        step_ahead_days=fleet.step_ahead.days,
    )


def resolve_capacity(config: CapplanConfig) -> tuple[InstanceCapacity, list[str]]:
    """Per-instance capacity from the explicit number or from load-test runs via the estimator."""
    cap = config.capacity
    if cap.per_instance_rps is not None:
        return InstanceCapacity(cap.per_instance_rps, cap.per_instance_rps * cap.target_utilization,
                                "capplan.toml [capacity] per_instance_rps", cap.cpu_ms_per_request), []
    try:
        from capplan.models.saturation import estimate_saturation
        from capplan.store.measurements import load_measurements
    except ImportError as exc:
        raise ConfigError(f"capacity from runs needs the saturation estimator, which is not installed ({exc.name}), "
                          "set [capacity] per_instance_rps instead") from exc
    paths = [config.resolve(p) for p in cap.runs]
    estimate = estimate_saturation(load_measurements(paths), config.service.objectives, cap.target_utilization)
    cpu_ms = cap.cpu_ms_per_request
    if cpu_ms is None and math.isfinite(estimate.service_demand_cpu_ms) and estimate.service_demand_cpu_ms > 0:
        cpu_ms = float(estimate.service_demand_cpu_ms)  # utilisation law D = U / X from the runs
    capacity = InstanceCapacity(float(estimate.max_throughput_rps), float(estimate.safe_throughput_rps),
                                f"{len(paths)} load-test run(s)", cpu_ms)
    return capacity, list(estimate.warnings)


def resolve_demand(config: CapplanConfig, today: dt.date) -> tuple[DemandSeries, str, list[str]]:
    """Daily P50/P90 peak demand over the horizon, its description and any warnings."""
    demand = config.demand
    if demand.source is None:
        from capplan.models.growth import what_if_forecast

        steps = [(e.first_day, e.multiplier) for e in demand.events if e.is_permanent]
        forecast = what_if_forecast(float(demand.from_rate), demand.growth.fraction_per_month,
                                    demand.horizon_days, demand.start or today, steps)
        series = apply_events(_series(forecast), demand, permanent=False)
        return series, f"what-if: {demand.from_rate:g} req/s growing {demand.growth.text}", []
    return _forecast_demand(config)


def apply_events(series: DemandSeries, demand: DemandConfig, permanent: bool = True) -> DemandSeries:
    """Multiply P50 and P90 by each ``[[demand.events]]`` multiplier on the days it covers.

    One-day and spanned events are marked in ``event`` (temporary capacity); lasting steps
    (``start`` without ``end``) multiply every day from ``start`` on, when ``permanent``.
    """
    factor = np.ones(len(series.ds))
    temporary = np.zeros(len(series.ds), dtype=bool)
    for event in demand.events:
        first = np.datetime64(event.first_day, "D")
        if event.is_permanent:
            if permanent:
                factor[series.ds >= first] *= event.multiplier
            continue
        hit = (series.ds >= first) & (series.ds <= np.datetime64(event.last_day, "D"))
        factor[hit] *= event.multiplier
        temporary |= hit
    return DemandSeries(series.ds, series.p50_rps * factor, series.p90_rps * factor, event=temporary)


def _series(forecast: object) -> DemandSeries:
    """A :class:`capplan.models.forecast.Forecast` as peak req/s: P50 = yhat, P90 = yhat_p90."""
    frame = forecast.frame
    per_unit = float(forecast.peak_rps_per_unit)
    upper = frame["yhat_p90"] if "yhat_p90" in frame else frame["yhat_upper"]
    ds = frame["ds"].to_numpy().astype("datetime64[D]")
    return DemandSeries(ds, frame["yhat"].to_numpy(float) * per_unit, upper.to_numpy(float) * per_unit)


def _forecast_demand(config: CapplanConfig) -> tuple[DemandSeries, str, list[str]]:
    from capplan.models.forecast import DemandForecaster, ForecastSettings
    from capplan.models.prophet_model import ProphetSettings
    from capplan.store.history import HistoryOptions, read_history

    demand = config.demand
    source = demand.source if demand.source.startswith("prometheus://") else str(config.resolve(demand.source))
    history = read_history(source, HistoryOptions(time_col=demand.time_column, value_col=demand.value_column,
                                                  unit=demand.unit, peak_quantile=demand.peak_quantile,
                                                  peak_to_mean=demand.peak_to_mean))
    settings = ForecastSettings(interval=demand.interval, model=demand.model, horizon_days=demand.horizon_days,
                                prophet=ProphetSettings(growth=demand.trend, cap=demand.cap, country=demand.country))
    forecast = DemandForecaster(settings).fit(history).predict(demand.horizon_days)
    warnings = list(forecast.warnings)
    if demand.start is not None:
        warnings.append(f"demand.start = {demand.start} is ignored for a history forecast, which starts the day "
                        f"after the history ends ({forecast.frame['ds'].iloc[0].date()})")
    return apply_events(_series(forecast), demand), f"{forecast.model} forecast of {demand.source}", warnings


def resolve_resource(config: CapplanConfig, resource: ResourceConfig, ds: np.ndarray) -> ResourceRunway:
    """Project one ``[[resources]]`` entry over the plan's days and find its dates."""
    lead = resource.lead_time or config.fleet.lead_time
    spec = ResourceSpec(resource.name, resource.unit, resource.limit, resource.trigger, lead.days)
    if resource.history is None:
        growth = resource.growth
        if growth.is_relative:
            projected = project_compound(float(resource.current), growth.fraction_per_month, len(ds))
        else:
            projected = project_linear(float(resource.current), growth.per_day, len(ds))
        return resource_runway(spec, ds, projected)
    last_value, slope, last_day = _resource_trend(config, resource)
    offsets = (ds - last_day) / np.timedelta64(1, "D")
    return resource_runway(spec, ds, last_value + slope * offsets.astype(float))


def _resource_trend(config: CapplanConfig, resource: ResourceConfig) -> tuple[float, float, np.datetime64]:
    from capplan.store.history import HistoryOptions, read_history

    try:
        source = resource.history if resource.history.startswith("prometheus://") else config.resolve(resource.history)
        history = read_history(source, HistoryOptions(
            time_col=resource.time_column, value_col=resource.value_column, unit="rps"))
    except CapplanError as exc:
        raise InputDataError(f"resource {resource.name!r}: {exc}") from exc
    daily = history.daily.dropna()
    daily = daily[daily.index >= daily.index.max() - np.timedelta64(RESOURCE_TREND_DAYS, "D")]
    days = daily.index.to_numpy().astype("datetime64[D]")
    offsets = (days - days.max()) / np.timedelta64(1, "D")
    last_value, slope = fit_linear_trend(offsets.astype(float), daily.to_numpy(float))
    return last_value, slope, days.max()


def _date(value: np.datetime64 | None) -> str | None:
    return None if value is None else str(value)


def budget_rows(report: PlanReport, months: int | None = None) -> list[dict[str, object]]:
    """Month-by-month budget rows (first ``months`` months), costs in the plan's currency."""
    rows = []
    for m in report.costs.months[:months]:
        rows.append({
            "month": m.month, "days": m.days, "p50_peak_rps": round(m.p50_peak_rps, 1),
            "p90_peak_rps": round(m.p90_peak_rps, 1), "instances_p50": m.instances_p50,
            "instances_p90": m.instances_p90, "planned_fleet": m.planned_fleet,
            "cost_p50": round(m.cost_p50, 2), "cost_p90": round(m.cost_p90, 2), "cost_load": round(m.cost_load, 2),
            "cost_headroom": round(m.cost_headroom, 2), "cost_redundancy": round(m.cost_redundancy, 2),
            "cost_planned": round(m.cost_planned, 2),
        })
    return rows


def plan_as_dict(report: PlanReport, months: int | None = None) -> dict[str, object]:
    """The plan as JSON-ready data (the ``capplan plan --json`` contract, under ``"plan"``)."""
    plan, costs, runway = report.plan, report.costs, report.plan.runway
    fleet = plan.fleet
    return {"plan": {
        "service": report.service, "as_of": str(report.as_of), "end": str(plan.demand.ds[-1]),
        "demand_source": report.demand_source,
        "capacity": {"max_throughput_rps": plan.capacity.max_rps, "safe_throughput_rps": plan.capacity.safe_rps,
                     "source": plan.capacity.source},
        "fleet": {"instance_type": fleet.instance_type, "current_count": fleet.current_count,
                  "minimum": fleet.minimum, "redundancy": fleet.redundancy.describe(),
                  "trigger_utilization": fleet.trigger_utilization, "lead_time_days": fleet.lead_time_days},
        "runway": {"trigger_date": _date(runway.trigger_date), "safe_exceeded_date": _date(runway.safe_exceeded_date),
                   "breach_date": _date(runway.breach_date), "order_by_date": _date(runway.order_by_date),
                   "trigger_capacity_rps": runway.trigger_capacity_rps,
                   "safe_capacity_rps": runway.safe_capacity_rps, "max_capacity_rps": runway.max_capacity_rps},
        "steps": [{"crossing_date": str(s.crossing_date), "order_by_date": str(s.order_by_date), "add": s.add,
                   "fleet_after": s.fleet_after, "temporary": s.temporary, "until_date": _date(s.until_date),
                   "reason": s.reason}
                  for s in plan.steps],
        "recommendations": list(report.recommendations),
        "triggers": [{"name": t.name, "metric": t.metric, "threshold": t.threshold, "unit": t.unit,
                      "rationale": t.rationale} for t in report.triggers],
        "months": budget_rows(report, months),
        "cost": {"currency": costs.currency, "hourly": costs.hourly, "total_p50": costs.total_p50,
                 "total_p90": costs.total_p90, "total_headroom": costs.total_headroom,
                 "total_redundancy": costs.total_redundancy,
                 "options": [{"name": o.name, "reserved_instances": list(o.reserved_instances), "total": o.total,
                              "saving": o.saving, "saving_fraction": o.saving_fraction, "note": o.note}
                             for o in costs.options]},
        "resources": [{"name": r.spec.name, "unit": r.spec.unit, "limit": r.spec.limit, "current": r.current,
                       "value_at_end": r.value_at_end, "trigger_value": r.trigger_value,
                       "trigger_date": _date(r.trigger_date), "exhaustion_date": _date(r.exhaustion_date),
                       "order_by_date": _date(r.order_by_date), "days_to_exhaustion": r.days_to_exhaustion}
                      for r in report.resources],
        "warnings": list(report.warnings),
    }}
