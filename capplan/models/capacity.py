"""Instances needed over time, the fleet's runway and its scale-out schedule.

Formulas (one day ``d``, peak demand ``D_d`` in req/s, safe per-instance throughput
``S = max_rps × target_utilization``):

* serving instances   ``s_d = ceil(D_d / S)`` (0 when there is no demand);
* with N+k            ``n_d = s_d + k``;
* with ``z`` zones    ``n_d = z × ceil(s_d / (z − 1))`` — evenly spread, so losing any
  one zone leaves ``(z − 1) × ceil(s_d / (z − 1)) ≥ s_d`` instances;
* never below the minimum: ``max(n_d, minimum)``.

A fleet of ``n`` instances serves with ``usable(n)`` after the failure it must survive:
``n − k`` for N+k, ``n − ceil(n / z)`` for zones (the largest zone lost). Its trigger
capacity is ``usable × S × trigger_utilization``, safe capacity ``usable × S``, maximum
capacity ``usable × max_rps``. Runway dates are the first days P90 demand exceeds each.

Scale-out schedule: starting from today's fleet, at each day the P90 demand crosses the
trigger capacity, grow the fleet so that P90 demand stays under the trigger for the next
``step_ahead_days``; each step is ordered ``lead_time_days`` before its crossing.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from capplan.errors import InputDataError, ModelError
from capplan.models.runway import first_crossing, order_by

_CEIL_TOLERANCE = 1e-9  # so 1000 / 250 stays 4 despite floating-point noise


@dataclass(frozen=True)
class Redundancy:
    """N+k spares (``spares``) or ``zones`` (survive the loss of one zone); not both."""

    spares: int = 0
    zones: int | None = None

    def total_for(self, serving: np.ndarray) -> np.ndarray:
        """Instances to run so that ``serving`` instances survive the tolerated failure."""
        serving = np.asarray(serving, dtype=np.int64)
        if self.zones is None:
            return np.where(serving > 0, serving + self.spares, 0)
        per_zone = -(-serving // (self.zones - 1))  # ceil division on integers
        return per_zone * self.zones

    def usable_of(self, fleet: int) -> int:
        """Instances still serving after the tolerated failure (a zone or ``spares`` instances)."""
        if self.zones is None:
            return max(fleet - self.spares, 0)
        return fleet - math.ceil(fleet / self.zones)

    def describe(self) -> str:
        """``"N+1"`` or ``"3 zones (survives losing one)"``."""
        return f"N+{self.spares}" if self.zones is None else f"{self.zones} zones (survives losing one)"


@dataclass(frozen=True)
class InstanceCapacity:
    """What one instance takes: ``max_rps`` (sustainable maximum) and ``safe_rps`` (plan at), req/s.

    ``cpu_ms_per_request`` is the CPU service demand (core-milliseconds per request) when known.
    """

    max_rps: float
    safe_rps: float
    source: str = "config"
    cpu_ms_per_request: float | None = None


@dataclass(frozen=True)
class FleetSpec:
    """Today's fleet and its provisioning policy (counts in instances, times in days)."""

    instance_type: str
    current_count: int
    minimum: int
    redundancy: Redundancy
    trigger_utilization: float
    lead_time_days: float
    step_ahead_days: float = 90.0


@dataclass(frozen=True)
class DemandSeries:
    """Daily peak demand in req/s: ``ds`` (``datetime64[D]``), median ``p50_rps``, upper ``p90_rps``.

    ``event`` marks days of known, temporary peaks (launches, Black Friday): they get
    temporary capacity, not a permanent scale-out step. None means no such days.
    """

    ds: np.ndarray
    p50_rps: np.ndarray
    p90_rps: np.ndarray
    event: np.ndarray | None = None

    def __post_init__(self) -> None:
        n = len(self.ds)
        if n == 0 or len(self.p50_rps) != n or len(self.p90_rps) != n:
            raise InputDataError(f"demand series needs equal, non-empty columns, got {n} days, "
                                 f"{len(self.p50_rps)} P50 and {len(self.p90_rps)} P90 values, check the forecast")
        if n > 1 and not np.all(np.diff(self.ds) > np.timedelta64(0, "D")):
            raise InputDataError(f"demand days must be strictly increasing, first {self.ds[0]}, last {self.ds[-1]}, "
                                 "sort the forecast by date and drop duplicate days")
        if not (np.all(np.isfinite(self.p50_rps)) and np.all(np.isfinite(self.p90_rps))):
            raise InputDataError("demand series has NaN or infinite values, in P50 or P90 req/s, "
                                 "fill or drop those days in the history")


@dataclass(frozen=True)
class Runway:
    """When the current fleet crosses its trigger, its safe and its maximum capacity (P90 demand).

    ``breach_date`` is when demand exceeds the maximum capacity (the SLO would break);
    ``order_by_date`` = ``trigger_date`` − lead time. Any date may be None (not reached).
    """

    trigger_date: np.datetime64 | None
    safe_exceeded_date: np.datetime64 | None
    breach_date: np.datetime64 | None
    order_by_date: np.datetime64 | None
    trigger_capacity_rps: float
    safe_capacity_rps: float
    max_capacity_rps: float


@dataclass(frozen=True)
class ScaleStep:
    """One planned scale-out: add ``add`` instances (fleet becomes ``fleet_after``) by ``order_by_date``.

    A ``temporary`` step covers an event from ``crossing_date`` to ``until_date`` only.
    ``reason`` is ``"trigger"`` (demand crossed the trigger), ``"event"`` (temporary) or
    ``"minimum"`` (today's fleet is below the policy minimum).
    """

    crossing_date: np.datetime64
    order_by_date: np.datetime64
    add: int
    fleet_after: int
    temporary: bool = False
    until_date: np.datetime64 | None = None
    reason: str = "trigger"


@dataclass(frozen=True)
class CapacityPlan:
    """Instances needed per day at P50 and P90, the runway and the scale-out schedule.

    ``needed_p50``/``needed_p90`` include redundancy and the minimum; ``serving_p90`` is
    the count before redundancy; ``planned`` is the fleet after the scheduled steps.
    """

    demand: DemandSeries
    capacity: InstanceCapacity
    fleet: FleetSpec
    needed_p50: np.ndarray
    needed_p90: np.ndarray
    serving_p90: np.ndarray
    planned: np.ndarray
    runway: Runway
    steps: tuple[ScaleStep, ...]


def serving_instances(peak_rps: np.ndarray, safe_rps: float) -> np.ndarray:
    """``ceil(peak / safe)`` per day (int64), 0 for no demand."""
    if not safe_rps > 0:
        raise ModelError(f"safe per-instance throughput must be > 0 req/s, got {safe_rps!r}, "
                         "check [capacity] per_instance_rps or the load-test runs")
    ratio = np.maximum(np.asarray(peak_rps, dtype=float), 0.0) / safe_rps
    return np.ceil(ratio - _CEIL_TOLERANCE).clip(min=0).astype(np.int64)


def instances_needed(peak_rps: np.ndarray, safe_rps: float, redundancy: Redundancy, minimum: int) -> np.ndarray:
    """Instances to run per day: serving instances plus redundancy, never below ``minimum``."""
    return np.maximum(redundancy.total_for(serving_instances(peak_rps, safe_rps)), minimum)


def fleet_runway(demand_rps: np.ndarray, ds: np.ndarray, capacity: InstanceCapacity, fleet: FleetSpec) -> Runway:
    """Runway of today's fleet against a daily demand series (use P90 to be conservative)."""
    usable = fleet.redundancy.usable_of(fleet.current_count)
    safe = usable * capacity.safe_rps
    trigger = safe * fleet.trigger_utilization
    trigger_date = first_crossing(ds, demand_rps, trigger)
    return Runway(
        trigger_date=trigger_date,
        safe_exceeded_date=first_crossing(ds, demand_rps, safe),
        breach_date=first_crossing(ds, demand_rps, usable * capacity.max_rps),
        order_by_date=order_by(trigger_date, fleet.lead_time_days),
        trigger_capacity_rps=trigger,
        safe_capacity_rps=safe,
        max_capacity_rps=usable * capacity.max_rps,
    )


def scale_out_schedule(demand_rps: np.ndarray, ds: np.ndarray, capacity: InstanceCapacity,
                       fleet: FleetSpec) -> tuple[tuple[ScaleStep, ...], np.ndarray]:
    """Scale-out steps that keep demand under the trigger, and the planned fleet per day."""
    per_instance_trigger = capacity.safe_rps * fleet.trigger_utilization
    step_days = max(1, math.ceil(fleet.step_ahead_days))
    planned = np.empty(len(ds), dtype=np.int64)
    steps: list[ScaleStep] = []
    count, start = max(fleet.current_count, 0), 0
    if count < fleet.minimum:  # the policy minimum applies from the first day, whatever the demand
        steps.append(ScaleStep(ds[0], order_by(ds[0], fleet.lead_time_days), fleet.minimum - count, fleet.minimum,
                               reason="minimum"))
        count = fleet.minimum
    while True:
        limit = fleet.redundancy.usable_of(count) * per_instance_trigger
        above = np.flatnonzero(demand_rps[start:] > limit)
        if above.size == 0:
            planned[start:] = count
            return tuple(steps), planned
        cross = start + int(above[0])
        planned[start:cross] = count
        window_peak = float(demand_rps[cross:cross + step_days].max())
        target = int(instances_needed(np.array([window_peak]), per_instance_trigger, fleet.redundancy,
                                      fleet.minimum)[0])
        target = max(target, count + 1)
        steps.append(ScaleStep(crossing_date=ds[cross], order_by_date=order_by(ds[cross], fleet.lead_time_days),
                               add=target - count, fleet_after=target))
        count, start = target, cross


def event_steps(demand: DemandSeries, capacity: InstanceCapacity, fleet: FleetSpec,
                planned: np.ndarray) -> tuple[ScaleStep, ...]:
    """Temporary capacity for each run of event days whose P90 peak crosses the planned fleet's trigger.

    Updates ``planned`` in place on those days to the temporarily larger fleet.
    """
    if demand.event is None or not demand.event.any():
        return ()
    per_instance_trigger = capacity.safe_rps * fleet.trigger_utilization
    edges = np.flatnonzero(np.diff(np.concatenate(([0], demand.event.astype(np.int8), [0]))))
    steps = []
    for first, stop in zip(edges[::2], edges[1::2], strict=True):
        base = int(planned[first:stop].max())
        need = int(instances_needed(np.array([demand.p90_rps[first:stop].max()]), per_instance_trigger,
                                    fleet.redundancy, fleet.minimum)[0])
        if need > base:
            planned[first:stop] = np.maximum(planned[first:stop], need)
            steps.append(ScaleStep(demand.ds[first], order_by(demand.ds[first], fleet.lead_time_days), need - base,
                                   need, temporary=True, until_date=demand.ds[stop - 1], reason="event"))
    return tuple(steps)


def plan_capacity(demand: DemandSeries, capacity: InstanceCapacity, fleet: FleetSpec) -> CapacityPlan:
    """The capacity plan of one service over the demand's days (see the module formulas).

    Event days are left out of the permanent scale-out schedule and covered by
    temporary steps instead.
    """
    if not 0 < capacity.safe_rps <= capacity.max_rps:
        raise ModelError(f"per-instance capacity must satisfy 0 < safe <= max, got safe={capacity.safe_rps!r} "
                         f"max={capacity.max_rps!r} req/s, check [capacity] or the load-test runs")
    serving = serving_instances(demand.p90_rps, capacity.safe_rps)
    steady = demand.p90_rps if demand.event is None else np.where(demand.event, 0.0, demand.p90_rps)
    steps, planned = scale_out_schedule(steady, demand.ds, capacity, fleet)
    temporary = event_steps(demand, capacity, fleet, planned)
    ordered = tuple(sorted(steps + temporary, key=lambda s: s.crossing_date))
    return CapacityPlan(
        demand=demand,
        capacity=capacity,
        fleet=fleet,
        needed_p50=instances_needed(demand.p50_rps, capacity.safe_rps, fleet.redundancy, fleet.minimum),
        needed_p90=np.maximum(fleet.redundancy.total_for(serving), fleet.minimum),
        serving_p90=serving,
        planned=planned,
        runway=fleet_runway(demand.p90_rps, demand.ds, capacity, fleet),
        steps=ordered,
    )


def recommendations(plan: CapacityPlan) -> tuple[str, ...]:
    """The plan in words, one sentence per scale-out step (or why none is needed)."""
    fleet, as_of = plan.fleet, plan.demand.ds[0]
    if not plan.steps:
        peak = int(plan.needed_p90.max())
        spare = "" if peak >= fleet.current_count else f"; P90 needs at most {peak}, {fleet.current_count - peak} could go"
        return (f"no scale-out needed: {fleet.current_count} × {fleet.instance_type} stay under the "
                f"{fleet.trigger_utilization:.0%} trigger through {plan.demand.ds[-1]}{spare}",)
    out = []
    for step in plan.steps:
        late = " (overdue: order now)" if step.order_by_date < as_of else ""
        if step.reason == "minimum":
            out.append(f"add {step.add} × {fleet.instance_type} by {step.order_by_date}{late} — the fleet of "
                       f"{fleet.current_count} is below the minimum of {fleet.minimum}")
            continue
        if step.reason == "risk":  # planned to [fleet] max_breach_probability (capplan.app.risk)
            span = f"for {step.crossing_date}..{step.until_date}" if step.temporary else f"from {step.crossing_date}"
            out.append(f"add {step.add} × {fleet.instance_type} by {step.order_by_date}{late} — needed {span} to "
                       f"keep the monthly breach risk under target (fleet {step.fleet_after})")
            continue
        if step.temporary:
            out.append(f"add {step.add} × {fleet.instance_type} temporarily for {step.crossing_date}..{step.until_date}"
                       f" (known event), ready by {step.crossing_date}, order by {step.order_by_date}{late}")
            continue
        out.append(f"add {step.add} × {fleet.instance_type} by {step.order_by_date}{late} — trigger crossed "
                   f"{step.crossing_date}, lead time {fleet.lead_time_days:g} days (fleet {step.fleet_after})")
    return tuple(out)
