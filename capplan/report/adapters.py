"""Turn capplan's result objects into report facts and charts (no I/O).

Sources: the plan's :class:`capplan.models.decision.Decision` (plan, costs, resources,
triggers, recommendations, dated triggers and act-by date, computed once by the models),
the demand forecast, the saturation estimate and the traffic history. Definitions:

* runway = days from the first planned day to the first day P90 demand exceeds the
  current fleet's safe capacity (``Decision.runway_days``);
* act-by = the earliest order-by date (``Decision.act_by``);
* monthly cost now = current fleet × hourly price × ``hours_per_month`` (``[pricing]``);
* the budget is the planned fleet (``cost_planned``); the needed P50/P90 instances are
  what it could shrink to.
"""

from __future__ import annotations

from typing import Any

from capplan.models.capacity import DemandSeries
from capplan.models.decision import Decision, to_date
from capplan.models.saturation import SaturationEstimate
from capplan.report import charts
from capplan.report.facts import (
    AlertThreshold,
    ChartSpec,
    CostOption,
    ForecastFacts,
    MonthFacts,
    PlanFacts,
    SaturationFacts,
    TriggerFacts,
)

__all__ = ["forecast_facts", "plan_charts", "plan_facts", "saturation_facts", "to_date", "trigger_facts"]


def plan_facts(decision: Decision) -> PlanFacts:
    """The plan's runway, act-by date, actions, instance counts, triggers, budget and purchase options."""
    plan, costs = decision.plan, decision.costs
    month_cost = costs.hourly * costs.hours_per_month
    horizon_days = len(plan.demand.ds)
    horizon_months = horizon_days * 24.0 / costs.hours_per_month
    return PlanFacts(
        horizon_days=horizon_days,
        current_instances=plan.fleet.current_count,
        peak_instances=int(plan.needed_p90.max()),
        capacity_per_instance_rps=plan.capacity.safe_rps,
        runway_days=None if decision.runway_days is None else float(decision.runway_days),
        act_by=decision.act_by,
        actions=decision.recommendations,
        cost_usd_month_now=plan.fleet.current_count * month_cost,
        cost_usd_month_peak=int(plan.planned.max()) * month_cost,
        triggers=trigger_facts(decision),
        alerts=tuple(AlertThreshold(t.metric, f"> {_threshold(t.threshold, t.unit)}", t.rationale)
                     for t in decision.triggers),
        cost_options=tuple(CostOption(o.name, o.total / horizon_months, o.total,
                                      _option_note(o.saving_fraction, o.note)) for o in costs.options),
        months=tuple(MonthFacts(m.month, m.p50_peak_rps, m.p90_peak_rps, m.instances_p50, m.instances_p90,
                                m.planned_fleet, m.cost_planned, m.cost_p50, m.cost_p90) for m in costs.months),
        runway_date=to_date(plan.runway.safe_exceeded_date), currency=costs.currency,
        total_cost_planned=costs.total_planned, total_cost_p50=costs.total_p50, total_cost_p90=costs.total_p90,
        peak_planned_fleet=int(plan.planned.max()),
    )


def trigger_facts(decision: Decision) -> tuple[TriggerFacts, ...]:
    """The decision's dated triggers (fleet crossings, scale-out steps, resources) as table rows."""
    return tuple(TriggerFacts(t.name, t.condition, t.expected, t.action, t.order_by)
                 for t in decision.dated_triggers)


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


def forecast_facts(source: str, demand: DemandSeries, interval: float, history: Any = None,
                   forecast: Any = None) -> ForecastFacts:
    """Demand facts: source, horizon, peaks (req/s), the model and its backtest, the history span when known.

    ``forecast`` is the :class:`capplan.models.forecast.Forecast` the plan used; its model is
    named and its calibration backtest score (MAPE, MASE, interval coverage) shown.
    """
    score = _score(forecast)
    model = "" if forecast is None or history is None else str(forecast.model)
    facts = ForecastFacts(source=source, horizon_days=len(demand.ds), interval=interval,
                          peak_p50_rps=float(demand.p50_rps.max()), peak_upper_rps=float(demand.p90_rps.max()),
                          model=model, backtest_mape=None if score is None else float(score.mape_pct) / 100.0,
                          backtest_mase=None if score is None else float(score.mase),
                          backtest_coverage=None if score is None else float(score.coverage))
    if history is None or history.daily.dropna().empty:
        return facts
    daily = history.daily.dropna()
    return ForecastFacts(**{**facts.__dict__, "history_start": daily.index.min().date(),
                            "history_end": daily.index.max().date(), "history_points": int(history.raw.size),
                            "resolution": history.resolution})


def _score(forecast: Any) -> Any:
    if forecast is None:
        return None
    return next((s for s in forecast.candidates if s.model == forecast.model), None)


def plan_charts(decision: Decision, history: Any = None, interval: float = 0.8) -> tuple[ChartSpec, ...]:
    """Demand forecast with capacity lines, instances over time, and monthly cost."""
    plan, runway, costs = decision.plan, decision.plan.runway, decision.costs
    days = [to_date(d) for d in plan.demand.ds]
    act_by = decision.act_by
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
        {"planned fleet (the budget)": [m.cost_planned for m in costs.months]}, costs.currency)
    return (charts.chart_spec("forecast", f"Daily peak demand, forecast P50–{upper} and capacity", demand),
            charts.chart_spec("instances", "Instances needed and planned", instances),
            charts.chart_spec("cost", f"Monthly cost ({costs.currency}, on-demand): the planned fleet (line); "
                                      "bars add up to the P90 need it could shrink to", cost))


def _threshold(value: float, unit: str) -> str:
    return f"{value:.0%}" if unit == "fraction" else f"{value:,.4g} {unit}"


def _option_note(saving_fraction: float, note: str) -> str:
    saving = f"saves {saving_fraction:.0%}; " if saving_fraction > 0 else ""
    return saving + note
