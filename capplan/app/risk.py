"""Decisions under uncertainty for one plan (issue 12): risk per month, reservations, instance types.

``assess_risk(config, plan, forecast, estimate) -> (plan, RiskReport)`` is called once by
:func:`capplan.app.planning.build_plan`. It resolves, in order:

1. the per-instance capacity interval — the saturation estimate's 95 % interval of the
   maximum throughput when capacity comes from runs, else exact (``per_instance_rps``);
2. demand paths from the forecast (P50, calibrated P90, and the interval's lower bound),
   seeded by ``[risk] seed`` (:mod:`capplan.models.risk`);
3. with ``[fleet] max_breach_probability`` set, the fleet planned to that target replaces
   the P90 scale-out schedule (P50/P90 counts stay in the plan); without it, the P90 plan
   is kept and its risk reported;
4. per month: the planned fleet's breach and trigger probabilities, the fleet-size fan;
   reservations by the newsvendor rule priced on the paths (:mod:`capplan.models.reservation`);
   every priced instance type planned to the target (:mod:`capplan.models.instance_types`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from capplan.config import CapplanConfig
from capplan.models.capacity import CapacityPlan, ScaleStep
from capplan.models.cost import PriceSheet, day_rates
from capplan.models.instance_types import ShapeComparison, ShapeSpec, compare_shapes, scaled_by_vcpus
from capplan.models.reservation import ReservationAdvice, price_options
from capplan.models.risk import (
    CapacityInterval,
    DemandPaths,
    MonthRisk,
    RiskSettings,
    fleet_quantiles,
    fleet_risk,
    fleet_sizes,
    per_day,
    plan_to_risk,
    sample_demand_paths,
)
from capplan.models.runway import order_by

DEFAULT_SHAPE_TARGET = 0.01
"""Risk target the instance types are compared at when ``[fleet] max_breach_probability`` is unset."""


@dataclass(frozen=True)
class RiskMonth:
    """One month: the planned fleet's risk, the fleet at the risk target and the fleet-size fan."""

    risk: MonthRisk
    fleet_at_target: int
    fleet_p10: int
    fleet_p50: int
    fleet_p90: int


@dataclass(frozen=True, eq=False)
class RiskReport:
    """Everything issue 12 adds to a plan, computed once (the CLI, JSON, CSV and report read it).

    ``target`` is ``[fleet] max_breach_probability`` (None: the plan follows P90);
    ``fan`` the daily P10/P50/P90 fleet size (3 × days); ``assumptions`` what was assumed.
    """

    settings: RiskSettings
    target: float | None
    shape_target: float
    capacity: CapacityInterval
    capacity_basis: str
    months: tuple[RiskMonth, ...]
    fan: np.ndarray
    reservations: ReservationAdvice
    shapes: ShapeComparison
    zones: int | None
    assumptions: tuple[str, ...]

    @property
    def worst_breach_probability(self) -> float:
        """The highest monthly breach probability of the planned fleet."""
        return max(m.risk.breach_probability for m in self.months)


def capacity_interval(config: CapplanConfig, plan: CapacityPlan, estimate: Any) -> tuple[CapacityInterval, str]:
    """What one instance takes before its SLO breaks, with an interval; exact for a configured number.

    From runs it is the estimator's safe rate at 100 % utilisation (the highest arrival rate
    whose modelled SLO percentiles stay under their thresholds, on the pessimistic queue,
    never above a measured breach), with the relative 95 % interval of the maximum
    throughput; ``safe_fraction`` = the plan's safe rate / that.
    """
    cap = plan.capacity
    if estimate is None:
        return (CapacityInterval.exact(cap.max_rps, cap.safe_rps / cap.max_rps),
                "exact (configured per_instance_rps, no interval)")
    at_slo = _measure(config)([config.resolve(p) for p in config.capacity.runs], 1.0)
    interval = slo_interval(at_slo, 1.0)
    slo_rps = max(interval.max_rps, cap.safe_rps)
    interval = interval.scaled(slo_rps / interval.max_rps)
    interval = replace(interval, safe_fraction=cap.safe_rps / slo_rps)
    lo, hi = estimate.max_throughput_ci_rps
    return interval, (f"{slo_rps:,.1f} req/s before the SLO breaks ({at_slo.safe_basis} at 100 % utilisation), "
                      f"with the relative 95 % interval of the max throughput {lo:,.1f}–{hi:,.1f} req/s "
                      f"({estimate.max_throughput_basis})")


def slo_interval(at_slo: Any, safe_fraction: float) -> CapacityInterval:
    """A saturation estimate at 100 % utilisation as an interval: its SLO rate × the max throughput's CI / max."""
    slo_rps, x = float(at_slo.safe_throughput_rps), float(at_slo.max_throughput_rps)
    lo, hi = (float(v) for v in at_slo.max_throughput_ci_rps)
    lo = x if not math.isfinite(lo) else min(lo, x)
    hi = x if math.isnan(hi) else max(hi, x)
    return CapacityInterval(slo_rps, slo_rps * lo / x, slo_rps * hi / x, 0.95, safe_fraction)


def demand_paths(config: CapplanConfig, plan: CapacityPlan, forecast: Any) -> DemandPaths:
    """Seeded paths through the plan's P50/P90, the lower tail from the forecast interval when known."""
    risk = config.risk
    settings = RiskSettings(risk.paths, risk.seed, risk.day_correlation)
    lower = None
    frame = getattr(forecast, "frame", None)
    if frame is not None and "yhat_lower" in frame and len(frame) == len(plan.demand.ds):
        per_unit = float(forecast.peak_rps_per_unit)
        lower = np.minimum(frame["yhat_lower"].to_numpy(float) * per_unit, plan.demand.p50_rps)
    return sample_demand_paths(plan.demand, settings, lower, (1.0 - float(config.demand.interval)) / 2.0)


def risk_schedule(plan: CapacityPlan, monthly: np.ndarray, paths: DemandPaths) -> CapacityPlan:
    """The plan with its fleet following the risk-target counts (never below today's fleet).

    A step is ordered lead-time before the first day of the month that needs it; a step
    whose count falls again later is temporary until the day before it falls.
    """
    fleet, ds = plan.fleet, plan.demand.ds
    planned = np.maximum(per_day(paths, monthly), fleet.current_count).astype(np.int64)
    before = np.concatenate(([fleet.current_count], planned[:-1]))
    steps = []
    for i in np.flatnonzero(planned > before):
        fall = np.flatnonzero(planned[i:] < planned[i])
        until = None if fall.size == 0 else ds[i + int(fall[0]) - 1]
        steps.append(ScaleStep(ds[i], order_by(ds[i], fleet.lead_time_days), int(planned[i] - before[i]),
                               int(planned[i]), until is not None, until, "risk"))
    return replace(plan, planned=planned, steps=tuple(steps))


def shape_specs(config: CapplanConfig, measured: CapacityInterval, measure: Any) -> tuple[tuple[ShapeSpec, ...],
                                                                                           list[str]]:
    """Every priced instance type's capacity: the fleet's own, a configured shape, or scaled by vCPUs.

    ``measure(runs) -> SaturationEstimate`` estimates a shape from its own runs.
    """
    current, prices = config.fleet.instance_type, config.pricing.instance_types
    specs, notes = [ShapeSpec(current, prices[current].hourly, measured, "measured")], []
    for name, price in prices.items():
        if name == current:
            continue
        own = config.capacity.shapes.get(name)
        if own is not None and own.per_instance_rps is not None:
            specs.append(ShapeSpec(name, price.hourly, CapacityInterval.exact(own.per_instance_rps,
                                                                              measured.safe_fraction), "explicit"))
        elif own is not None:
            at_slo = measure([config.resolve(p) for p in own.runs], 1.0)
            specs.append(ShapeSpec(name, price.hourly, slo_interval(at_slo, measured.safe_fraction), "measured"))
        elif price.vcpus and prices[current].vcpus:
            base = prices[current].vcpus
            specs.append(ShapeSpec(name, price.hourly, scaled_by_vcpus(measured, base, price.vcpus), "scaled by vCPUs",
                                   f"estimated from {current} by vCPUs ({price.vcpus}/{base}), not measured"))
        else:
            notes.append(f"instance type {name} left out of the what-if: no runs, no per_instance_rps and no vcpus")
    return tuple(specs), notes


def _measure(config: CapplanConfig):
    """``measure(run paths, target utilisation=[capacity]'s) -> SaturationEstimate``."""
    def measure(paths, target_utilization: float | None = None):
        from capplan.models.saturation import estimate_saturation
        from capplan.store.measurements import load_measurements

        return estimate_saturation(load_measurements(paths), config.service.objectives,
                                   target_utilization or config.capacity.target_utilization)
    return measure


def assess_risk(config: CapplanConfig, plan: CapacityPlan, forecast: Any,
                estimate: Any = None) -> tuple[CapacityPlan, RiskReport]:
    """The plan (risk-target schedule when configured) and its :class:`RiskReport` (module steps)."""
    fleet = plan.fleet
    capacity, basis = capacity_interval(config, plan, estimate)
    paths = demand_paths(config, plan, forecast)
    target = config.fleet.max_breach_probability
    shape_target = target if target is not None else DEFAULT_SHAPE_TARGET
    at_target = plan_to_risk(paths, capacity, fleet.redundancy, fleet.minimum, shape_target)
    if target is not None:
        plan = risk_schedule(plan, at_target, paths)
    risk = fleet_risk(paths, capacity, plan.planned, fleet.redundancy, fleet.trigger_utilization)
    sizes = fleet_sizes(paths, capacity, fleet.redundancy, fleet.minimum)
    fan = fleet_quantiles(sizes).astype(np.int64)
    pricing, hourly = config.pricing, config.instance_price.hourly
    sheet = PriceSheet(pricing.currency, hourly, pricing.hours_per_month, pricing.reserved_1y_discount,
                       pricing.reserved_3y_discount, pricing.spot_discount)
    reservations = price_options(sizes, day_rates(plan.demand.ds, sheet), plan.needed_p50, sheet)
    specs, notes = shape_specs(config, capacity, _measure(config))
    hours = day_rates(plan.demand.ds, replace(sheet, hourly=1.0))
    shapes = compare_shapes(paths, specs, (fleet.redundancy, fleet.minimum, shape_target), hours,
                            fleet.instance_type, pricing.currency)
    monthly_fan = np.maximum.reduceat(fan, paths.month_starts, axis=1)
    months = tuple(RiskMonth(r, int(at_target[i]), *(int(v) for v in monthly_fan[:, i])) for i, r in enumerate(risk))
    assumptions = (
        f"demand: split normal through P50 and the calibrated P90 per day, days of a path correlated "
        f"(ρ = {paths_rho(config)}), tails past P90 normal; {config.risk.paths} paths, seed {config.risk.seed}",
        f"per-instance capacity: {basis}; breach = demand above usable instances × that rate",
        "fleet sizes for reservations follow each path's daily peak at the safe rate; a month's risk plan "
        "covers its busiest day (events included)", *notes)
    if np.allclose(plan.demand.p90_rps, plan.demand.p50_rps):
        assumptions += ("the demand has no interval (what-if growth): only the per-instance capacity is uncertain",)
    report = RiskReport(RiskSettings(config.risk.paths, config.risk.seed, config.risk.day_correlation), target,
                        shape_target, capacity, basis, months, fan, reservations, shapes, fleet.redundancy.zones,
                        assumptions)
    return plan, report


def paths_rho(config: CapplanConfig) -> str:
    """ρ as written in capplan.toml."""
    return f"{config.risk.day_correlation:g}"


def _r(value: float, digits: int = 4) -> float:
    return round(float(value), digits)


def risk_month_rows(report: RiskReport, months: int | None = None) -> list[dict[str, object]]:
    """Per month: the planned fleet's risk, the fleet at the target and the fleet-size fan."""
    return [{"month": m.risk.month, "planned_fleet": m.risk.fleet,
             "breach_probability": _r(m.risk.breach_probability), "breach_se": _r(m.risk.breach_se),
             "trigger_probability": _r(m.risk.trigger_probability), "trigger_se": _r(m.risk.trigger_se),
             "all_up_breach_probability": _r(m.risk.all_up_breach_probability),
             "fleet_at_target": m.fleet_at_target, "fleet_p10": m.fleet_p10, "fleet_p50": m.fleet_p50,
             "fleet_p90": m.fleet_p90}
            for m in report.months[:months]]


def risk_as_dict(report: RiskReport, months: int | None = None) -> dict[str, object]:
    """The risk report as JSON-ready data (``capplan plan --json`` under ``"plan"`` → ``"risk"``)."""
    cap, shapes, res = report.capacity, report.shapes, report.reservations
    return {
        "max_breach_probability": report.target, "planned_to": "risk target" if report.target else "P90",
        "paths": report.settings.paths, "seed": report.settings.seed,
        "day_correlation": report.settings.day_correlation,
        "capacity": {"max_throughput_rps": cap.max_rps, "lower_rps": cap.lower_rps,
                     "upper_rps": None if math.isinf(cap.upper_rps) else cap.upper_rps, "level": cap.level,
                     "basis": report.capacity_basis},
        "worst_breach_probability": _r(report.worst_breach_probability),
        "zones": report.zones,
        "months": risk_month_rows(report, months),
        "reservations": {"recommended": res.recommended, "reason": res.reason, "options": [
            {"name": o.name, "reserved_instances": list(o.reserved), "expected_cost": round(o.expected_cost, 2),
             "p90_cost": round(o.p90_cost, 2), "saving_expected": round(o.saving_expected, 2),
             "saving_fraction": _r(o.saving_fraction), "regret_probability": _r(o.regret_probability),
             "idle_fraction": _r(o.idle_fraction), "spot": o.spot, "note": o.note} for o in res.options]},
        "instance_types": {"target": report.shape_target, "recommended": shapes.recommended,
                           "reason": shapes.reason, "shapes": [
            {"name": o.name, "basis": o.basis, "assumption": o.assumption, "hourly": o.hourly,
             "peak_instances": o.peak_instances, "instances_per_month": list(o.instances_per_month),
             "cost": round(o.cost, 2), "max_breach_probability": _r(o.max_breach_probability),
             "meets_target": o.meets_target, "cost_per_safe_rps_hour": o.cost_per_safe_rps_hour}
            for o in shapes.outcomes]},
        "assumptions": list(report.assumptions),
    }


def risk_summary_lines(report: RiskReport, currency: str, months: int | None = None) -> list[str]:
    """The risk report as text lines for the ``capplan plan`` table (the CLI prints them)."""
    target = "P90 schedule" if report.target is None else f"planned to ≤ {report.target:.1%} breach risk per month"
    lines = [f"risk per month ({target}; {report.settings.paths} paths, seed {report.settings.seed}):",
             f"  {'month':>7}  {'fleet':>5}  {'P(breach)':>9}  {'P(trigger)':>10}  "
             f"{'at ' + format(report.shape_target, '.0%') + ' risk':>10}  {'following P10-P90':>17}"]
    for m in report.months[:months]:
        r = m.risk
        lines.append(f"  {r.month:>7}  {r.fleet:>5}  {r.breach_probability:>9.1%}  {r.trigger_probability:>10.1%}  "
                     f"{m.fleet_at_target:>10}  {f'{m.fleet_p10}-{m.fleet_p90}':>17}")
    if report.zones is not None:
        bad = [m.risk.month for m in report.months if m.risk.breach_probability > report.shape_target]
        lines.append(f"  zones: losing one of {report.zones} zones at each month's peak keeps the SLO "
                     + ("in every month" if not bad else f"except in {', '.join(bad)}")
                     + f" (risk ≤ {report.shape_target:.0%})")
    lines += ["", "reservations for a fleet that follows each demand path at the safe rate "
              f"(newsvendor rule; the planned fleet's options are above): {report.reservations.reason}"]
    lines += [f"  - {o.name}: expected {o.expected_cost:,.0f}, P90 {o.p90_cost:,.0f} {currency}; {o.note}"
              for o in report.reservations.options]
    lines += ["", f"instance types at {report.shape_target:.0%} risk: {report.shapes.reason}"]
    lines += [f"  - {o.name}: peak {o.peak_instances} instances, {o.cost:,.0f} {currency}, worst month "
              f"{o.max_breach_probability:.1%} ({o.assumption or o.basis})" for o in report.shapes.outcomes]
    lines += [f"  assumption: {a}" for a in report.assumptions]
    return lines


CSV_COLUMNS = ("breach_probability", "trigger_probability", "fleet_at_target", "fleet_p10", "fleet_p50", "fleet_p90")
"""Risk columns appended to each month of ``capplan plan --csv``."""


def with_risk_columns(rows: list[dict[str, object]], report: RiskReport | None) -> list[dict[str, object]]:
    """Budget rows with the month's risk columns added (unchanged without a risk report)."""
    if report is None:
        return rows
    by_month = {r["month"]: r for r in risk_month_rows(report)}
    return [{**row, **{k: by_month.get(row["month"], {}).get(k) for k in CSV_COLUMNS}} for row in rows]


def risk_snapshot(report: Any) -> tuple:
    """Per month of a :class:`PlanReport`, what the review archive keeps of the risk (empty without one)."""
    from capplan.models.risk_review import RiskSnapshotMonth

    risk = getattr(report, "risk", None)
    if risk is None:
        return ()
    redundancy, cap = report.plan.fleet.redundancy, risk.capacity
    trigger = cap.safe_fraction * report.plan.fleet.trigger_utilization
    return tuple(RiskSnapshotMonth(m.risk.month, m.risk.fleet, m.risk.breach_probability, m.risk.trigger_probability,
                                   redundancy.usable_of(m.risk.fleet) * cap.max_rps,
                                   redundancy.usable_of(m.risk.fleet) * cap.max_rps * trigger)
                 for m in risk.months)
