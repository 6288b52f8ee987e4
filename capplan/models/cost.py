"""Cost of a capacity plan: month-by-month budget and purchase options compared.

Billing convention: a month is ``hours_per_month`` hours (``[pricing] hours_per_month``,
:data:`capplan.config.units.HOURS_PER_MONTH` by default, as AWS/GCP/Azure bill).
A day ``d`` of a month with ``m`` days costs ``count_d × hourly × hours_per_month / m``,
so a full month costs ``mean(count) × hourly × hours_per_month`` and a partial month is prorated.

The budget is the fleet the plan runs (``CapacityPlan.planned``: N+k or zones, scaled out a
step ahead): ``cost_planned`` per month, ``total_planned`` and the purchase options. The
instances *needed* at P50 and P90 are priced beside it (``cost_p50``, ``cost_p90``) as what
the fleet could shrink to with perfect just-in-time scaling.

The P90 cost is split into three parts that add up to it (instance units per day):

* load       ``P50_d / max_rps`` — the median demand at 100 % of what an instance takes;
* redundancy ``total_for(serving_d) − serving_d`` — N+k spares or the extra zone;
* headroom   the rest: target-utilisation margin, P90-over-P50 uncertainty, rounding
  up to whole instances and the fleet minimum.

Purchase options (on the planned fleet ``F_d``, per commitment block of 365 or 1,095 days
from the first day): the steady baseline ``B = min(F_d)`` over the block is reserved at
``(1 − discount)`` and the rest, ``F_d − B``, is paid on demand or on spot.
A reservation is owed for its whole term, so a term running past the horizon is charged
in full (the comparison never flatters reservations).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from capplan.models.billing import HOURS_PER_MONTH
from capplan.models.capacity import CapacityPlan

_BLOCK_DAYS = {"1y": 365, "3y": 1095}


@dataclass(frozen=True)
class PriceSheet:
    """Prices of the fleet's instance type: ``hourly`` on demand; discounts as fractions off it."""

    currency: str
    hourly: float
    hours_per_month: float = HOURS_PER_MONTH
    reserved_1y_discount: float = 0.0
    reserved_3y_discount: float = 0.0
    spot_discount: float = 0.0


@dataclass(frozen=True)
class MonthBudget:
    """One calendar month of the plan (costs in the sheet's currency, on-demand prices).

    Counts are the month's maximum daily value; ``days`` is the number of planned days in
    the month (a partial first or last month is prorated).
    """

    month: str
    days: int
    p50_peak_rps: float
    p90_peak_rps: float
    instances_p50: int
    instances_p90: int
    planned_fleet: int
    cost_p50: float
    cost_p90: float
    cost_load: float
    cost_headroom: float
    cost_redundancy: float
    cost_planned: float


@dataclass(frozen=True)
class PurchaseOption:
    """A way to pay for the planned fleet over the horizon, and its saving against all on-demand."""

    name: str
    reserved_instances: tuple[int, ...]
    total: float
    saving: float
    saving_fraction: float
    note: str


@dataclass(frozen=True)
class CostProjection:
    """Month-by-month budget and purchase options for a :class:`CapacityPlan`.

    ``total_planned`` is the budget (the planned fleet on demand); ``total_p50`` and
    ``total_p90`` price only the instances needed; ``options`` are for the planned fleet.
    """

    currency: str
    hourly: float
    months: tuple[MonthBudget, ...]
    options: tuple[PurchaseOption, ...]
    total_p50: float
    total_p90: float
    total_headroom: float
    total_redundancy: float
    total_planned: float = 0.0
    hours_per_month: float = HOURS_PER_MONTH


def day_rates(ds: np.ndarray, prices: PriceSheet) -> np.ndarray:
    """Cost of one instance on each day: ``hourly × hours_per_month / days in that month``."""
    month = ds.astype("datetime64[M]")
    days_in_month = ((month + 1).astype("datetime64[D]") - month.astype("datetime64[D]")).astype(float)
    return prices.hourly * prices.hours_per_month / days_in_month


def _month_groups(ds: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Distinct months, the index of each month's first day, and each day's month number."""
    months, starts, inverse = np.unique(ds.astype("datetime64[M]"), return_index=True, return_inverse=True)
    return months, starts, inverse


def project_costs(plan: CapacityPlan, prices: PriceSheet) -> CostProjection:
    """Monthly budget rows and purchase options for ``plan`` (see the module formulas)."""
    ds = plan.demand.ds
    rate = day_rates(ds, prices)
    redundancy = plan.fleet.redundancy.total_for(plan.serving_p90) - plan.serving_p90
    # Never more than the serving instances: a demand below ceil()'s tolerance needs none.
    load = np.minimum(np.maximum(plan.demand.p50_rps, 0.0) / plan.capacity.max_rps, plan.needed_p90 - redundancy)
    headroom = np.maximum(plan.needed_p90 - redundancy - load, 0.0)
    daily = {
        "p50": plan.needed_p50 * rate, "p90": plan.needed_p90 * rate, "load": load * rate,
        "headroom": headroom * rate, "redundancy": redundancy * rate, "planned": plan.planned * rate,
    }
    months, starts, inverse = _month_groups(ds)
    sums = {k: np.bincount(inverse, weights=v, minlength=len(months)) for k, v in daily.items()}
    peak = {k: np.maximum.reduceat(np.asarray(v), starts) for k, v in (
        ("p50_rps", plan.demand.p50_rps), ("p90_rps", plan.demand.p90_rps), ("n50", plan.needed_p50),
        ("n90", plan.needed_p90), ("planned", plan.planned))}
    counts = np.bincount(inverse, minlength=len(months))
    rows = tuple(
        MonthBudget(
            month=str(months[i]), days=int(counts[i]),
            p50_peak_rps=float(peak["p50_rps"][i]), p90_peak_rps=float(peak["p90_rps"][i]),
            instances_p50=int(peak["n50"][i]), instances_p90=int(peak["n90"][i]),
            planned_fleet=int(peak["planned"][i]),
            cost_p50=float(sums["p50"][i]), cost_p90=float(sums["p90"][i]), cost_load=float(sums["load"][i]),
            cost_headroom=float(sums["headroom"][i]), cost_redundancy=float(sums["redundancy"][i]),
            cost_planned=float(sums["planned"][i]),
        )
        for i in range(len(months))
    )
    return CostProjection(
        currency=prices.currency, hourly=prices.hourly, months=rows,
        options=purchase_options(plan.planned, prices, rate),
        total_p50=float(daily["p50"].sum()), total_p90=float(daily["p90"].sum()),
        total_headroom=float(daily["headroom"].sum()), total_redundancy=float(daily["redundancy"].sum()),
        total_planned=float(daily["planned"].sum()), hours_per_month=prices.hours_per_month,
    )


def _reserved_cost(fleet: np.ndarray, prices: PriceSheet, rate: np.ndarray, term: str,
                   discounts: tuple[float, float]) -> tuple[float, tuple[int, ...]]:
    """Reserve each block's baseline (its least daily ``fleet``) at ``discounts[0]`` off, pay the rest at ``discounts[1]`` off.

    The last reservation is owed for its full term, so the days it runs past the horizon
    are charged too (at ``hourly × 24`` per instance-day, discounted).
    """
    block_days = _BLOCK_DAYS[term]
    block = np.arange(len(rate)) // block_days
    baseline_by_block = np.minimum.reduceat(fleet, np.flatnonzero(np.diff(block, prepend=-1)))
    baseline = baseline_by_block[block]
    peaks = np.maximum(fleet - baseline, 0)
    tail_days = (-len(rate)) % block_days
    tail = baseline_by_block[-1] * tail_days * prices.hourly * 24.0 * (1 - discounts[0])
    total = float((baseline * (1 - discounts[0]) * rate).sum() + (peaks * (1 - discounts[1]) * rate).sum() + tail)
    return total, tuple(int(b) for b in baseline_by_block)


def purchase_options(fleet: np.ndarray, prices: PriceSheet, rate: np.ndarray) -> tuple[PurchaseOption, ...]:
    """All on-demand, then 1y / 3y reserved baselines with on-demand or spot peaks, for ``fleet``
    (instances run on each day) at ``rate`` (one instance's cost on each day, :func:`day_rates`)."""
    fleet = np.asarray(fleet, dtype=np.int64)
    on_demand = float((fleet * rate).sum())
    horizon_days = len(rate)
    options = [PurchaseOption("all on-demand", (), on_demand, 0.0, 0.0, "no commitment; pays list price")]
    for term, discount in (("1y", prices.reserved_1y_discount), ("3y", prices.reserved_3y_discount)):
        tail_days = (-horizon_days) % _BLOCK_DAYS[term]
        commit = f"; includes {tail_days} days of the last term past the horizon" if tail_days else ""
        for peak_name, peak_discount in (("on-demand", 0.0), ("spot", prices.spot_discount)):
            total, reserved = _reserved_cost(fleet, prices, rate, term, (discount, peak_discount))
            risk = "; spot capacity can be reclaimed at short notice" if peak_name == "spot" else ""
            options.append(PurchaseOption(
                name=f"{term} reserved baseline + {peak_name} peaks", reserved_instances=reserved, total=total,
                saving=on_demand - total, saving_fraction=(on_demand - total) / on_demand if on_demand else 0.0,
                note=f"reserve {'/'.join(map(str, reserved))} instance(s) per {term} block{commit}{risk}",
            ))
    return tuple(options)
