"""Instance-type what-if: plan every priced shape to the risk target and compare their costs.

Each shape has its own per-instance capacity: from its own load-test runs, an explicit
number, or — lacking both — the measured shape's capacity scaled by vCPUs
(``C_shape = C_measured × vcpus_shape / vcpus_measured``, interval scaled alike), which
assumes the service scales linearly with cores; the output says so. Every shape is planned
on the same demand paths and the same capacity draws (common random numbers, risk.py), so
differences between shapes are not Monte-Carlo noise. A shape's cost is its risk-planned
fleet at on-demand prices over the horizon; the recommendation is the cheapest shape whose
every month meets the risk target.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from capplan.errors import ModelError
from capplan.models.capacity import Redundancy
from capplan.models.risk import CapacityInterval, DemandPaths, breach_probability, per_day, plan_to_risk


@dataclass(frozen=True)
class ShapeSpec:
    """One priced instance type: ``hourly`` on-demand price, its capacity and where it came from.

    ``basis`` is ``"measured"``, ``"explicit"`` or ``"scaled by vCPUs"``; ``assumption`` says
    what was assumed (empty when measured or explicit).
    """

    name: str
    hourly: float
    capacity: CapacityInterval
    basis: str
    assumption: str = ""


@dataclass(frozen=True)
class ShapeOutcome:
    """A shape planned to the risk target: instances per month, cost and achieved risk."""

    name: str
    basis: str
    assumption: str
    hourly: float
    instances_per_month: tuple[int, ...]
    peak_instances: int
    cost: float
    max_breach_probability: float
    meets_target: bool
    cost_per_safe_rps_hour: float


@dataclass(frozen=True)
class ShapeComparison:
    """Every shape's outcome (cheapest first) and the recommendation with its reason."""

    outcomes: tuple[ShapeOutcome, ...]
    recommended: str | None
    reason: str


def scaled_by_vcpus(measured: CapacityInterval, measured_vcpus: int, vcpus: int) -> CapacityInterval:
    """The measured capacity scaled linearly by cores (an estimate, not a measurement)."""
    if measured_vcpus < 1 or vcpus < 1:
        raise ModelError(f"vCPU scaling needs vcpus ≥ 1 for both shapes, got {measured_vcpus} and {vcpus}, "
                         "set vcpus in [pricing.instance_types] or give the shape its own runs")
    return measured.scaled(vcpus / measured_vcpus)


def plan_shape(paths: DemandPaths, shape: ShapeSpec, policy: tuple[Redundancy, int, float],
               day_hours: np.ndarray) -> ShapeOutcome:
    """Plan one shape: ``policy`` = (redundancy, minimum, max breach probability per month).

    ``day_hours`` is the billed hours of each day (hours_per_month / days in its month).
    """
    redundancy, minimum, target = policy
    monthly = plan_to_risk(paths, shape.capacity, redundancy, minimum, target)
    daily = per_day(paths, monthly)
    worst = float(breach_probability(paths, shape.capacity, daily, redundancy).max())
    safe_rps = shape.capacity.max_rps * shape.capacity.safe_fraction
    return ShapeOutcome(shape.name, shape.basis, shape.assumption, shape.hourly, tuple(int(n) for n in monthly),
                        int(monthly.max()), float((daily * day_hours).sum() * shape.hourly), worst,
                        worst <= target + 1e-12, shape.hourly / safe_rps)


def compare_shapes(paths: DemandPaths, shapes: tuple[ShapeSpec, ...], policy: tuple[Redundancy, int, float],
                   day_hours: np.ndarray, current: str, currency: str = "USD") -> ShapeComparison:
    """Plan every shape and recommend the cheapest that meets the target, against ``current``."""
    if not shapes:
        raise ModelError("instance-type comparison needs at least one priced shape, got none, "
                         "add [pricing.instance_types] entries")
    outcomes = tuple(sorted((plan_shape(paths, s, policy, day_hours) for s in shapes), key=lambda o: o.cost))
    meeting = [o for o in outcomes if o.meets_target]
    if not meeting:
        return ShapeComparison(outcomes, None, "no instance type meets the risk target; raise "
                                               "[fleet] max_breach_probability or add capacity")
    best = meeting[0]
    base = next((o for o in outcomes if o.name == current), None)
    if base is None or base.name == best.name:
        reason = f"{best.name}: cheapest that meets the risk target ({currency} {best.cost:,.0f} over the horizon)"
    else:
        reason = (f"{best.name}: {1 - best.cost / base.cost:.0%} cheaper than {current} over the horizon "
                  f"({currency} {best.cost:,.0f} vs {base.cost:,.0f}), "
                  f"{1 - best.cost_per_safe_rps_hour / base.cost_per_safe_rps_hour:.0%} cheaper per safe req/s")
    reason += "; " + (best.assumption or f"capacity {best.basis}")
    return ShapeComparison(outcomes, best.name, reason)
