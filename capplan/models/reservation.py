"""What to reserve, priced against uncertain demand: the newsvendor rule and options compared.

Newsvendor rule. Reserving the k-th instance for a term costs ``(1 − δ)`` of on-demand for
every hour of the term; it saves the price of the overflow (on-demand: 1, spot: ``1 − π``)
in every hour it is needed. It pays off when ``P(N ≥ k) ≥ (1 − δ) / (1 − π)``, ``N`` the
fleet size over the term's hours and the demand paths, so the cost-minimising count is
``k* = max{k : P(N ≥ k) ≥ (1 − δ)/(1 − π)}`` — with on-demand overflow, the δ-quantile of the
simulated fleet-size distribution. Days of a term past the planning horizon count as
hours with no known need (N = 0) and are paid in full, as :mod:`capplan.models.cost` does
(the comparison never flatters reservations). Fleets are sized per day on the day's peak,
so an hour is a day's hour (a day weighs its 24 hours).

Options, each priced on every demand path (expected = mean over paths, P90 = the 90th
percentile): all on-demand; today's recipe (reserve each block's ``min(needed_P50)``,
cost.py); the newsvendor count; each reservation with on-demand or spot overflow.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from capplan.errors import ModelError
from capplan.models.cost import PriceSheet

TERM_DAYS = {"1y": 365, "3y": 1095}
"""Days of a reservation term, blocks counted from the first planned day."""


@dataclass(frozen=True)
class PricedOption:
    """One way to pay for the fleet, costed over the demand paths (sheet currency).

    ``reserved`` is the reserved count per term block; ``regret_probability`` the share of
    paths on which it costs more than all on-demand; ``idle_fraction`` the expected share
    of reserved instance-hours with no demand for them.
    """

    name: str
    term: str | None
    reserved: tuple[int, ...]
    expected_cost: float
    p90_cost: float
    saving_expected: float
    saving_fraction: float
    regret_probability: float
    idle_fraction: float
    spot: bool
    note: str


@dataclass(frozen=True)
class ReservationAdvice:
    """The priced options and the recommendation (cheapest expected cost without spot)."""

    options: tuple[PricedOption, ...]
    recommended: str
    reason: str


def critical_ratio(discount: float, overflow_discount: float = 0.0) -> float:
    """Probability of need at which a reservation pays off: ``(1 − δ) / (1 − π)``."""
    if not (0.0 <= discount < 1.0 and 0.0 <= overflow_discount < 1.0):
        raise ModelError(f"discounts must be in [0, 1), got reserved {discount!r} and overflow {overflow_discount!r}, "
                         "check [pricing]")
    return (1.0 - discount) / (1.0 - overflow_discount)


def newsvendor_count(need: np.ndarray, ratio: float, slots: int | None = None) -> int:
    """Largest ``k`` with ``P(N ≥ k) ≥ ratio`` over ``need`` (``slots`` ≥ need.size counts zero-need hours)."""
    flat = np.asarray(need).ravel()
    slots = flat.size if slots is None else slots
    if slots < flat.size or slots == 0:
        raise ModelError(f"newsvendor needs at least one hour and slots ≥ observed hours, got slots={slots} "
                         f"for {flat.size} observations, pass the term's hours")
    if ratio > 1.0:
        return 0  # cheaper overflow than the reservation: never reserve
    m = max(1, math.ceil(ratio * slots - 1e-9))
    if m > flat.size:
        return 0
    return max(int(np.partition(flat, flat.size - m)[flat.size - m]), 0)


def _blocks(days: int, term_days: int) -> np.ndarray:
    return np.arange(days) // term_days


def path_costs(sizes: np.ndarray, day_rate: np.ndarray, reserved: tuple[int, ...], term_days: int,
               prices: tuple[float, float, float]) -> tuple[np.ndarray, float]:
    """Per-path cost of reserving ``reserved[b]`` in block ``b``, and the expected idle share.

    ``prices`` = (hourly, reserved discount, overflow discount); ``day_rate`` the on-demand
    cost of one instance per day. The last term's days past the horizon are charged in full
    (and are idle).
    """
    hourly, discount, overflow = prices
    sizes = np.asarray(sizes, dtype=float)
    if not reserved:
        return (sizes @ day_rate) * (1 - overflow), 0.0
    r = np.asarray(reserved, dtype=float)[_blocks(sizes.shape[1], term_days)]
    tail_days = (-sizes.shape[1]) % term_days
    covered = np.minimum(sizes, r)  # reserved instances in use; the overflow is sizes − covered
    fixed = (float(r @ day_rate) + reserved[-1] * tail_days * hourly * 24.0) * (1 - discount)
    cost = fixed + (sizes @ day_rate - covered @ day_rate) * (1 - overflow)
    reserved_days = float(r.sum() + reserved[-1] * tail_days)
    idle_days = reserved_days - float(covered.sum(axis=1).mean())
    return cost, (idle_days / reserved_days if reserved_days else 0.0)


def newsvendor_reserved(sizes: np.ndarray, term_days: int, ratio: float) -> tuple[int, ...]:
    """The newsvendor count per term block over every path's days in it (tail days count as no need)."""
    starts = range(0, sizes.shape[1], term_days)
    return tuple(newsvendor_count(sizes[:, s:s + term_days], ratio, sizes.shape[0] * term_days) for s in starts)


def recipe_reserved(needed_p50: np.ndarray, term_days: int) -> tuple[int, ...]:
    """Today's recipe: each block's steady baseline ``min(needed_P50)`` (cost.py)."""
    blocks = _blocks(len(needed_p50), term_days)
    return tuple(int(np.min(needed_p50[blocks == b])) for b in range(int(blocks[-1]) + 1))


def _option(name: str, term: str | None, reserved: tuple[int, ...], costs: np.ndarray, idle: float,
            base: np.ndarray, spot: bool) -> PricedOption:
    expected, on_demand = float(costs.mean()), float(base.mean())
    note = "no commitment; pays list price" if term is None else (
        f"reserve {'/'.join(map(str, reserved))} instance(s) per {term} block")
    if spot:
        note += "; spot capacity can be reclaimed at short notice"
    return PricedOption(name, term, reserved, expected, float(np.quantile(costs, 0.9)), on_demand - expected,
                        (on_demand - expected) / on_demand if on_demand else 0.0,
                        float(np.mean(costs > base + 1e-9)), idle, spot, note)


def price_options(sizes: np.ndarray, day_rate: np.ndarray, needed_p50: np.ndarray,
                  sheet: PriceSheet) -> ReservationAdvice:
    """All on-demand, recipes and newsvendor reservations, priced on every path (see module)."""
    sizes = np.asarray(sizes, dtype=float)
    on_demand = sizes @ day_rate
    options = [_option("all on-demand", None, (), on_demand, 0.0, on_demand, False)]
    for term, discount in (("1y", sheet.reserved_1y_discount), ("3y", sheet.reserved_3y_discount)):
        days = TERM_DAYS[term]
        for overflow_name, overflow in (("on-demand", 0.0), ("spot", sheet.spot_discount)):
            prices = (sheet.hourly, discount, overflow)
            rules = (("recipe baseline", recipe_reserved(needed_p50, days)),
                     ("newsvendor", newsvendor_reserved(sizes, days, critical_ratio(discount, overflow))))
            for rule, reserved in rules:
                costs, idle = path_costs(sizes, day_rate, reserved, days, prices)
                options.append(_option(f"{term} {rule} + {overflow_name} peaks", term, reserved, costs, idle,
                                       on_demand, overflow_name == "spot"))
    return recommend(tuple(options), sheet.currency)


def recommend(options: tuple[PricedOption, ...], currency: str) -> ReservationAdvice:
    """Cheapest expected cost among options without spot; the spot alternative is named if cheaper."""
    safe = min((o for o in options if not o.spot), key=lambda o: o.expected_cost)
    spot = min((o for o in options if o.spot), key=lambda o: o.expected_cost, default=None)
    reason = (f"{safe.name}: expected {currency} {safe.expected_cost:,.0f}, saves {currency} "
              f"{safe.saving_expected:,.0f} ({safe.saving_fraction:.0%}) against all on-demand; "
              f"risks: P90 cost {currency} {safe.p90_cost:,.0f}")
    if safe.term is not None:
        reason += (f", costs more than all on-demand on {safe.regret_probability:.0%} of demand paths, "
                   f"{safe.idle_fraction:.0%} of reserved hours expected idle")
    if spot is not None and spot.expected_cost < safe.expected_cost:
        reason += (f"; {spot.name} would save {currency} {safe.expected_cost - spot.expected_cost:,.0f} more "
                   "but spot capacity can be reclaimed at short notice")
    return ReservationAdvice(options, safe.name, reason)
