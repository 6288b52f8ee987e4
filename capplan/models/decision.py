"""What a capacity plan says to do, computed once: the dated triggers and the act-by date.

Every output (CLI tables, ``--json``, the report, the review archive) shows these from one
:class:`Decision`, so the act-by date and the trigger list cannot differ between them:

* dated triggers — the fleet's load trigger, safe and maximum capacity crossings (first
  day P90 demand exceeds each, ``capplan.models.capacity.Runway``), every scale-out step
  and every resource runway, each with its order-by date (crossing − lead time);
* act-by — the earliest order-by date among them (None: nothing to order in the horizon);
* runway — days from the first planned day to the first day P90 demand exceeds the
  current fleet's safe capacity (None: not within the horizon).

Pure: no I/O, no clock.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import numpy as np

from capplan.models.alerts import ScalingTrigger
from capplan.models.capacity import CapacityPlan, FleetSpec, InstanceCapacity
from capplan.models.cost import CostProjection
from capplan.models.runway import ResourceRunway


@dataclass(frozen=True)
class TriggerSet:
    """What alert rules need, without any demand forecast: capacity, fleet and triggers."""

    capacity: InstanceCapacity
    fleet: FleetSpec
    triggers: tuple[ScalingTrigger, ...]
    warnings: tuple[str, ...]


@dataclass(frozen=True)
class DatedTrigger:
    """One dated trigger: ``condition`` crosses on ``expected`` (None: not in the horizon).

    ``threshold_rps`` is the P90 demand threshold in req/s (None for steps and resources,
    whose crossing is a date only); ``order_by`` is when to order (None: nothing to order).
    """

    name: str
    condition: str
    threshold_rps: float | None
    expected: date | None
    action: str
    order_by: date | None = None


@dataclass(frozen=True)
class Decision:
    """The plan and what it says to do: costs, resources, triggers, recommendations, dates."""

    plan: CapacityPlan
    costs: CostProjection
    resources: tuple[ResourceRunway, ...]
    triggers: tuple[ScalingTrigger, ...]
    recommendations: tuple[str, ...]
    dated_triggers: tuple[DatedTrigger, ...]
    act_by: date | None
    runway_days: int | None


def to_date(value: np.datetime64 | None) -> date | None:
    """A numpy day (or None / NaT) as a :class:`datetime.date`."""
    if value is None or np.isnat(value):
        return None
    return value.astype("datetime64[D]").astype(object)


def dated_triggers(plan: CapacityPlan, resources: tuple[ResourceRunway, ...]) -> tuple[DatedTrigger, ...]:
    """Fleet runway crossings, scale-out steps and resource runways, in that order."""
    runway, kind = plan.runway, plan.fleet.instance_type
    rows = [DatedTrigger("Fleet load trigger", f"P90 demand > {runway.trigger_capacity_rps:,.0f} req/s",
                         float(runway.trigger_capacity_rps), to_date(runway.trigger_date), "scale out (see steps)",
                         to_date(runway.order_by_date)),
            DatedTrigger("Safe capacity exceeded", f"P90 demand > {runway.safe_capacity_rps:,.0f} req/s",
                         float(runway.safe_capacity_rps), to_date(runway.safe_exceeded_date),
                         "SLOs at risk at the target utilisation"),
            DatedTrigger("Maximum capacity exceeded", f"P90 demand > {runway.max_capacity_rps:,.0f} req/s",
                         float(runway.max_capacity_rps), to_date(runway.breach_date), "SLO breach: the fleet saturates")]
    rows += [DatedTrigger(f"Scale-out step {i}", f"fleet {s.fleet_after - s.add} → {s.fleet_after}", None,
                          to_date(s.crossing_date), f"add {s.add} × {kind}", to_date(s.order_by_date))
             for i, s in enumerate(plan.steps, 1)]
    rows += [DatedTrigger(f"Resource: {r.spec.name}", f"> {r.trigger_value:,.0f} {r.spec.unit} "
                          f"({r.spec.trigger:.0%} of {r.spec.limit:,.0f})", None, to_date(r.trigger_date),
                          "add capacity", to_date(r.order_by_date)) for r in resources]
    return tuple(rows)


def decide(plan: CapacityPlan, costs: CostProjection, resources: tuple[ResourceRunway, ...],
           triggers: tuple[ScalingTrigger, ...], recommendations: tuple[str, ...]) -> Decision:
    """The :class:`Decision` of a plan: its dated triggers, act-by date and runway (module docstring)."""
    dated = dated_triggers(plan, resources)
    orders = [t.order_by for t in dated if t.order_by is not None]
    safe = to_date(plan.runway.safe_exceeded_date)
    first = to_date(plan.demand.ds[0])
    runway_days = None if safe is None or first is None else (safe - first).days
    return Decision(plan, costs, resources, triggers, recommendations, dated, min(orders) if orders else None,
                    runway_days)
