"""Runway: when a growing quantity crosses a threshold, and the order-by date that follows.

Pure functions over daily series (``ds`` as ``numpy.datetime64[D]``). Used for the fleet
(demand against the fleet's trigger, safe and maximum capacity) and for any other limited
resource (disk GB, connections, cores) projected to its limit.

Order-by date = crossing date − lead time (rounded up to whole days), so that the new
capacity is in service on the day it is needed.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from capplan.errors import InputDataError

from capplan.models.billing import DAYS_PER_MONTH as _DAYS_PER_MONTH


def first_crossing(ds: np.ndarray, values: np.ndarray, threshold: float) -> np.datetime64 | None:
    """First day whose value is strictly above ``threshold``; None when it never is."""
    above = values > threshold
    if not above.any():
        return None
    return ds[int(np.argmax(above))]


def order_by(crossing: np.datetime64 | None, lead_time_days: float) -> np.datetime64 | None:
    """The last day to order so capacity is ready at ``crossing``: crossing − ceil(lead time)."""
    if crossing is None:
        return None
    return crossing - np.timedelta64(math.ceil(lead_time_days), "D")


@dataclass(frozen=True)
class ResourceSpec:
    """A limited resource: ``limit`` in ``unit``, act at ``trigger`` × limit, ``lead_time_days`` to add more."""

    name: str
    unit: str
    limit: float
    trigger: float
    lead_time_days: float


@dataclass(frozen=True)
class ResourceRunway:
    """When a resource crosses its trigger and its limit.

    Dates are ``numpy.datetime64[D]`` or None when not reached within the projection;
    ``days_to_exhaustion`` counts from the first projected day (None: not within it).
    """

    spec: ResourceSpec
    current: float
    value_at_end: float
    trigger_date: np.datetime64 | None
    exhaustion_date: np.datetime64 | None
    order_by_date: np.datetime64 | None
    days_to_exhaustion: int | None

    @property
    def trigger_value(self) -> float:
        """The value at which to act (``trigger`` × ``limit``, in the resource's unit)."""
        return self.spec.trigger * self.spec.limit


def project_linear(current: float, per_day: float, days: int) -> np.ndarray:
    """``current + per_day × t`` for t = 0 … days−1 (the resource's unit)."""
    return current + per_day * np.arange(days, dtype=float)


def project_compound(current: float, fraction_per_month: float, days: int) -> np.ndarray:
    """``current × (1 + g)^(t / 30.4167)``: compounding monthly growth over 730-hour months."""
    return current * (1.0 + fraction_per_month) ** (np.arange(days, dtype=float) / _DAYS_PER_MONTH)


def fit_linear_trend(day_offsets: np.ndarray, values: np.ndarray) -> tuple[float, float]:
    """Least-squares line through a history: returns (value at the last day, slope per day).

    Needs at least two distinct days; raises :class:`InputDataError` otherwise.
    """
    x = np.asarray(day_offsets, dtype=float)
    y = np.asarray(values, dtype=float)
    mask = np.isfinite(x) & np.isfinite(y)
    x, y = x[mask], y[mask]
    if x.size < 2 or np.ptp(x) == 0:
        raise InputDataError(f"a resource trend needs >= 2 distinct days of history, got {x.size} usable rows, "
                             "add more history or give current and growth instead")
    slope, intercept = np.polyfit(x, y, 1)
    return float(intercept + slope * x.max()), float(slope)


def resource_runway(spec: ResourceSpec, ds: np.ndarray, projected: np.ndarray) -> ResourceRunway:
    """Trigger, exhaustion and order-by dates of one resource over its daily projection."""
    trigger_date = first_crossing(ds, projected, spec.trigger * spec.limit)
    exhaustion = first_crossing(ds, projected, spec.limit)
    days_left = None if exhaustion is None else int((exhaustion - ds[0]) / np.timedelta64(1, "D"))
    return ResourceRunway(
        spec=spec,
        current=float(projected[0]),
        value_at_end=float(projected[-1]),
        trigger_date=trigger_date,
        exhaustion_date=exhaustion,
        order_by_date=order_by(trigger_date, spec.lead_time_days),
        days_to_exhaustion=days_left,
    )


def describe_resource(runway: ResourceRunway, as_of: np.datetime64) -> str:
    """One sentence for a resource: what to do by when, or that it lasts the horizon."""
    spec = runway.spec
    if runway.trigger_date is None:
        return (f"{spec.name}: stays below {spec.trigger:.0%} of {spec.limit:g} {spec.unit} over the horizon "
                f"(reaches {runway.value_at_end:,.0f} {spec.unit})")
    late = " (overdue)" if runway.order_by_date is not None and runway.order_by_date < as_of else ""
    exhausted = (f", exhausted {runway.exhaustion_date} in {runway.days_to_exhaustion} days"
                 if runway.exhaustion_date is not None else ", not exhausted within the horizon")
    return (f"{spec.name}: add capacity by {runway.order_by_date}{late} — {spec.trigger:.0%} of "
            f"{spec.limit:g} {spec.unit} crossed {runway.trigger_date}{exhausted}, "
            f"lead time {spec.lead_time_days:g} days")
