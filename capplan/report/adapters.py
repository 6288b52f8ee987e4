"""Turn capplan's result objects into report facts and charts (no I/O).

Sources: the capacity plan (:class:`capplan.app.planning.PlanReport`: plan, costs, resources,
triggers, recommendations), the saturation estimate, the traffic history and recorded
load-test runs. Definitions used in the report:

* runway = days from the first planned day to the first day P90 demand exceeds the
  current fleet's safe capacity (``Runway.safe_exceeded_date``);
* act-by = the earliest order-by date among the fleet (trigger crossing − lead time) and
  every resource (trigger crossing − its lead time);
* monthly cost now = current fleet × hourly price × hours per month (730).
"""

from __future__ import annotations

from datetime import date

import numpy as np

from capplan.models.saturation import SaturationEstimate
from capplan.app.planning import PlanReport
from capplan.report import charts
from capplan.report.risk_plot import risk_chart
from capplan.report.facts import AlertThreshold, ChartSpec, CostOption, ForecastFacts, PlanFacts, SaturationFacts, TriggerFacts

DAYS_PER_MONTH = 730.0 / 24.0


def to_date(value: np.datetime64 | None) -> date | None:
    """A numpy day (or None) as a :class:`datetime.date`."""
    if value is None or np.isnat(value):
        return None
    return value.astype("datetime64[D]").astype(object)


def plan_facts(report: PlanReport, hours_per_month: float = 730.0) -> PlanFacts:
    """The plan's runway, act-by date, actions, instance counts, triggers and costs."""
    plan, costs = report.plan, report.costs
    fleet, runway = plan.fleet, plan.runway
    hours = costs.hourly * hours_per_month
    horizon_days = len(plan.demand.ds)
    safe_date = to_date(runway.safe_exceeded_date)
    order_dates = [d for d in [to_date(runway.order_by_date)] + [to_date(s.order_by_date) for s in plan.steps]
                   + [to_date(r.order_by_date) for r in report.resources] if d is not None]
    return PlanFacts(
        horizon_days=horizon_days,
        current_instances=fleet.current_count,
        peak_instances=int(plan.needed_p90.max()),
        capacity_per_instance_rps=plan.capacity.safe_rps,
        runway_days=None if safe_date is None else float((safe_date - to_date(plan.demand.ds[0])).days),
        act_by=min(order_dates) if order_dates else None,
        actions=report.recommendations,
        cost_usd_month_now=fleet.current_count * hours,
        cost_usd_month_peak=int(plan.needed_p90.max()) * hours,
        triggers=trigger_facts(report),
        alerts=tuple(AlertThreshold(t.metric, f"> {_threshold(t.threshold, t.unit)}", t.rationale)
                     for t in report.triggers),
        cost_options=tuple(CostOption(o.name, o.total / (horizon_days / DAYS_PER_MONTH), o.total,
                                      _option_note(o.saving_fraction, o.note)) for o in costs.options),
    )


def trigger_facts(report: PlanReport) -> tuple[TriggerFacts, ...]:
    """Fleet runway dates, scale-out steps and resource runways as table rows."""
    plan, runway = report.plan, report.plan.runway
    kind = plan.fleet.instance_type
    rows = [TriggerFacts("Fleet load trigger", f"P90 demand > {runway.trigger_capacity_rps:,.0f} req/s",
                         to_date(runway.trigger_date), "scale out (see steps)", to_date(runway.order_by_date)),
            TriggerFacts("Safe capacity exceeded", f"P90 demand > {runway.safe_capacity_rps:,.0f} req/s",
                         to_date(runway.safe_exceeded_date), "SLOs at risk at the target utilisation"),
            TriggerFacts("Maximum capacity exceeded", f"P90 demand > {runway.max_capacity_rps:,.0f} req/s",
                         to_date(runway.breach_date), "SLO breach: the fleet saturates")]
    rows += [TriggerFacts(f"Scale-out step {i}", f"fleet {s.fleet_after - s.add} → {s.fleet_after}",
                          to_date(s.crossing_date), f"add {s.add} × {kind}", to_date(s.order_by_date))
             for i, s in enumerate(plan.steps, 1)]
    rows += [TriggerFacts(f"Resource: {r.spec.name}", f"> {r.trigger_value:,.0f} {r.spec.unit} "
                          f"({r.spec.trigger:.0%} of {r.spec.limit:,.0f})", to_date(r.trigger_date),
                          "add capacity", to_date(r.order_by_date)) for r in report.resources]
    return tuple(rows)


def saturation_facts(estimate: SaturationEstimate) -> SaturationFacts:
    """The saturation estimate's headline numbers (req/s, concurrency, USL parameters)."""
    usl = estimate.usl
    return SaturationFacts(
        max_throughput_rps=float(estimate.max_throughput_rps),
        safe_throughput_rps=float(estimate.safe_throughput_rps),
        knee_concurrency=float(estimate.knee_concurrency),
        sigma=float(usl.sigma), kappa=float(usl.kappa), lambda_rps=float(usl.lambda_rps),
        peak_concurrency=float(usl.peak_concurrency), peak_throughput_rps=float(usl.peak_throughput_rps),
        target_utilization=float(estimate.target_utilization),
    )


def forecast_facts(report: PlanReport, interval: float, history=None, model: str = "") -> ForecastFacts:
    """Demand facts: source, horizon, forecast peaks (req/s) and the history span when known."""
    demand = report.plan.demand
    facts = ForecastFacts(source=report.demand_source, horizon_days=len(demand.ds), interval=interval,
                          peak_p50_rps=float(demand.p50_rps.max()), peak_upper_rps=float(demand.p90_rps.max()),
                          model=model)
    if history is None or history.daily.dropna().empty:
        return facts
    daily = history.daily.dropna()
    return ForecastFacts(**{**facts.__dict__, "history_start": daily.index.min().date(),
                            "history_end": daily.index.max().date(), "history_points": int(history.raw.size),
                            "resolution": history.resolution})


def plan_charts(report: PlanReport, history=None, interval: float = 0.8) -> tuple[ChartSpec, ...]:
    """Demand forecast with capacity lines, instances over time, and monthly cost."""
    plan, runway, costs = report.plan, report.plan.runway, report.costs
    days = [to_date(d) for d in plan.demand.ds]
    act_by = plan_facts(report).act_by
    past = None
    if history is not None:
        daily = history.daily.dropna()
        past = ([d.date() for d in daily.index], (daily.to_numpy(float) * history.peak_rps_per_unit).tolist())
    upper = f"P{round(50 + 50 * interval)}"
    demand = charts.demand_figure(
        past, (days, plan.demand.p50_rps, plan.demand.p90_rps),
        {f"trigger ({plan.fleet.trigger_utilization:.0%} of safe)": runway.trigger_capacity_rps,
         "safe capacity (current fleet)": runway.safe_capacity_rps,
         "max capacity (current fleet)": runway.max_capacity_rps}, upper, act_by)
    instances = charts.instances_figure(days, plan.needed_p50, plan.needed_p90, plan.fleet.current_count,
                                        act_by, plan.planned)
    months = [m.month for m in costs.months]
    cost = charts.cost_figure(
        months, {"load": [m.cost_load for m in costs.months], "headroom": [m.cost_headroom for m in costs.months],
                 "redundancy": [m.cost_redundancy for m in costs.months]},
        {"planned fleet (on-demand)": [m.cost_planned for m in costs.months]}, costs.currency)
    return (charts.chart_spec("forecast", f"Daily peak demand, forecast P50–{upper} and capacity", demand),
            charts.chart_spec("instances", "Instances needed and planned", instances),
            charts.chart_spec("cost", f"Monthly cost ({costs.currency}, on-demand prices; bars add up to P90)",
                              cost)) + (() if getattr(report, "risk", None) is None else (risk_chart(report),))


def _threshold(value: float, unit: str) -> str:
    return f"{value:.0%}" if unit == "fraction" else f"{value:,.4g} {unit}"


def _option_note(saving_fraction: float, note: str) -> str:
    saving = f"saves {saving_fraction:.0%}; " if saving_fraction > 0 else ""
    return saving + note
