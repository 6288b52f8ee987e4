"""From capplan.toml to one result: the orchestration behind ``plan``, ``report``, ``review`` and ``demo``.

``build_plan(config) -> PlanReport`` resolves capplan.toml once and runs the models once:

1. per-instance capacity (:mod:`capplan.app.capacity`): ``[capacity] per_instance_rps`` or
   the saturation estimate of the runs named there;
2. daily demand at P50 and P90 (peak req/s) from the one forecast of ``[demand]``
   (:mod:`capplan.app.demand`: the history read once, events applied once);
3. the pure models: :func:`plan_capacity`, :func:`project_costs`, resource runways,
   scaling triggers, recommendations, and the dated triggers and act-by date
   (:func:`capplan.models.decision.decide`).

The :class:`PlanReport` keeps every input and result (the forecast and its backtest, the
history, the saturation estimate, the runs), so the CLI tables, ``--json``, ``--csv``, the
report and the review archive all show the same numbers. Everything with I/O happens here
or below in ``store/``; the maths is in ``models/``.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from capplan.app.capacity import (
    build_triggers,
    fleet_spec,
    latest_runs,
    measured_saturation,
    resolve_capacity,
    triggers_for,
)
from capplan.app.demand import forecast_demand, source_location
from capplan.app.risk import assess_risk, risk_as_dict
from capplan.config import CapplanConfig, ResourceConfig
from capplan.errors import CapplanError, InputDataError
from capplan.models.alerts import ScalingTrigger
from capplan.models.capacity import CapacityPlan, plan_capacity, recommendations
from capplan.models.cost import CostProjection, PriceSheet, project_costs
from capplan.models.decision import Decision, DatedTrigger, TriggerSet, decide
from capplan.models.runway import (
    ResourceRunway,
    ResourceSpec,
    describe_resource,
    fit_linear_trend,
    project_compound,
    project_linear,
    resource_runway,
)

__all__ = ["PlanReport", "TriggerSet", "budget_rows", "build_plan", "build_triggers", "fleet_spec",
           "plan_as_dict", "price_sheet", "resolve_capacity", "resolve_resource", "unavoidable_breach"]

RESOURCE_TREND_DAYS = 90
"""A resource history's trend is fitted on its last 90 days (recent growth, not old history)."""


@dataclass(frozen=True, eq=False)
class PlanReport:
    """The one result every output is made from.

    ``decision`` holds the plan (capacity with its source, fleet, demand, runway, steps),
    costs, resources, triggers, recommendations, dated triggers and the act-by date;
    ``forecast`` the demand forecast (its model and backtest scores; a what-if scenario has
    none); ``history`` the traffic history it was fitted on (None for what-if);
    ``saturation`` the estimate capacity came from, or the one measured by the latest stress
    run; ``runs`` the latest run of each scenario, with the summaries stored in run.json
    (read only with ``build_plan(..., with_runs=True)``). New results (risk, instance
    shapes) are added as fields with defaults.
    """

    config: CapplanConfig
    service: str
    demand_source: str
    decision: Decision
    forecast: Any = None
    history: Any = None
    saturation: Any = None
    runs: tuple = ()
    events: tuple = ()
    warnings: tuple[str, ...] = ()
    risk: Any = None  # capplan.app.risk.RiskReport: breach/trigger probabilities, reservations, instance types

    @property
    def plan(self) -> CapacityPlan:
        """The capacity plan."""
        return self.decision.plan

    @property
    def costs(self) -> CostProjection:
        """The budget of the planned fleet (and the needed P50/P90 beside it)."""
        return self.decision.costs

    @property
    def resources(self) -> tuple[ResourceRunway, ...]:
        """The ``[[resources]]`` runways."""
        return self.decision.resources

    @property
    def triggers(self) -> tuple[ScalingTrigger, ...]:
        """Live-metric scaling triggers (alert thresholds)."""
        return self.decision.triggers

    @property
    def recommendations(self) -> tuple[str, ...]:
        """What to do, in sentences."""
        return self.decision.recommendations

    @property
    def dated_triggers(self) -> tuple[DatedTrigger, ...]:
        """Fleet crossings, scale-out steps and resource runways with their dates."""
        return self.decision.dated_triggers

    @property
    def act_by(self) -> dt.date | None:
        """The earliest order-by date (None: nothing to order within the horizon)."""
        return self.decision.act_by

    @property
    def as_of(self) -> np.datetime64:
        """The first planned day."""
        return self.plan.demand.ds[0]


def price_sheet(config: CapplanConfig) -> PriceSheet:
    """``[pricing]`` for the fleet's instance type."""
    pricing = config.pricing
    return PriceSheet(pricing.currency, config.instance_price.hourly, pricing.hours_per_month,
                      pricing.reserved_1y_discount, pricing.reserved_3y_discount, pricing.spot_discount)


def build_plan(config: CapplanConfig, today: dt.date | None = None, with_runs: bool = False) -> PlanReport:
    """Plan the service described by ``config``; ``today`` is the default start of what-if demand.

    ``with_runs`` also reads the latest run of each scenario (for the report and the review).
    """
    capacity, estimate = resolve_capacity(config)
    warnings = [] if estimate is None else list(estimate.warnings)
    runs, saturation = (), estimate
    if with_runs:
        runs, run_warnings = latest_runs(config.resolve(config.loadtest.out_dir))
        warnings += run_warnings  # a damaged run is skipped, never fatal
        if estimate is None:
            saturation, measured_warnings = measured_saturation(config, runs)
            warnings += measured_warnings
    base = triggers_for(config, capacity, tuple(warnings))
    demand = forecast_demand(config, today or dt.date.today())
    plan, risk = assess_risk(config, plan_capacity(demand.series, capacity, base.fleet), demand.forecast, estimate)
    resources = tuple(resolve_resource(config, r, demand.series.ds) for r in config.resources)
    words = recommendations(plan) + tuple(describe_resource(r, demand.series.ds[0]) for r in resources)
    decision = decide(plan, project_costs(plan, price_sheet(config)), resources, base.triggers, words)
    return PlanReport(config, config.service.name, demand.description, decision, demand.forecast, demand.history,
                      saturation, runs, demand.events, tuple(dict.fromkeys(warnings + list(demand.warnings))), risk)


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
        history = read_history(source_location(config, resource.history), HistoryOptions(
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


def _iso(value: dt.date | None) -> str | None:
    return None if value is None else value.isoformat()


def budget_rows(report: PlanReport, months: int | None = None) -> list[dict[str, object]]:
    """Month-by-month budget rows (first ``months`` months), costs in the plan's currency.

    ``cost_planned`` is the budget (the planned fleet); ``cost_p50``/``cost_p90`` price the
    instances needed, what the fleet could shrink to.
    """
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
        "act_by": _iso(report.act_by), "runway_days": report.decision.runway_days,
        "dated_triggers": [{"name": t.name, "condition": t.condition, "threshold_rps": t.threshold_rps,
                            "expected": _iso(t.expected), "action": t.action, "order_by": _iso(t.order_by)}
                           for t in report.dated_triggers],
        "cost": {"currency": costs.currency, "hourly": costs.hourly, "hours_per_month": costs.hours_per_month,
                 "total_planned": costs.total_planned, "total_p50": costs.total_p50,
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
        "risk": None if report.risk is None else risk_as_dict(report.risk, months),
    }}
