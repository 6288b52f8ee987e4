"""The monthly capacity review, pure: last month's plan against what actually happened.

Inputs are two :class:`PlanSnapshot` (the archived plan and today's) and the actual daily
peak traffic since the archived plan was made. Outputs (:class:`Review`):

* forecast error over the days both cover, with A the actual and F the forecast P50
  daily peak (req/s): MAPE = mean(|A − F| / A) and bias MPE = mean((A − F) / A) over days
  with A > 0 (Hyndman & Koehler, "Another look at measures of forecast accuracy", 2006);
  positive bias means traffic came in above the forecast. ``upper_coverage`` is the share
  of days with A ≤ the forecast upper bound (P90): a calibrated P90 covers about 90 %;
* runway change: today's runway date − the archived one, in days (negative: sooner);
* triggers crossed since: a demand trigger (a threshold in req/s) is crossed on the first
  day actual traffic exceeded it; a dated trigger is due when its expected date fell
  between the archived plan and today.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date, datetime

import numpy as np

from capplan.errors import InputDataError
from capplan.models.risk_review import RiskCheck, RiskSnapshotMonth, risk_checks


@dataclass(frozen=True)
class SnapshotTrigger:
    """A trigger as planned: demand threshold in req/s (None for non-demand triggers), dates."""

    name: str
    threshold_rps: float | None
    expected: date | None
    order_by: date | None = None


@dataclass(frozen=True)
class PlanSnapshot:
    """What a plan said when it was made: the demand forecast, runway, act-by date, triggers.

    ``days``, ``p50_rps`` and ``p90_rps`` are the daily peak demand forecast (req/s);
    ``runway_date`` the first day P90 demand passes the fleet's safe capacity (None: not
    within the horizon); ``act_by`` the earliest order-by date (None: nothing to do).
    """

    service: str
    archived_at: datetime
    as_of: date
    days: tuple[date, ...]
    p50_rps: tuple[float, ...]
    p90_rps: tuple[float, ...]
    current_instances: int
    safe_capacity_rps: float
    runway_date: date | None
    act_by: date | None
    triggers: tuple[SnapshotTrigger, ...] = ()
    recommendations: tuple[str, ...] = ()
    cost_usd_month: float | None = None
    demand_source: str = ""
    total_cost: float | None = None
    """The budget over the horizon: the planned fleet on demand, in the plan's currency."""
    risk_months: tuple[RiskSnapshotMonth, ...] = ()  # predicted monthly risk (capplan.models.risk_review)

    def __post_init__(self) -> None:
        if not len(self.days) == len(self.p50_rps) == len(self.p90_rps):
            raise InputDataError(f"plan snapshot columns differ in length, {len(self.days)} days, "
                                 f"{len(self.p50_rps)} P50 and {len(self.p90_rps)} P90 values, "
                                 "re-archive the plan with capplan review")


@dataclass(frozen=True)
class ForecastError:
    """Accuracy of the archived forecast over ``days`` compared days (fractions, req/s)."""

    days: int
    mape: float
    bias: float
    upper_coverage: float
    actual_peak_rps: float
    forecast_peak_rps: float


@dataclass(frozen=True)
class CrossedTrigger:
    """A trigger crossed since the archived plan: when, and whether by traffic or by date."""

    name: str
    when: date
    basis: str


@dataclass(frozen=True)
class Review:
    """The review: forecast error (None with no overlapping actuals), runway change, crossings."""

    previous: PlanSnapshot
    current: PlanSnapshot
    forecast_error: ForecastError | None
    runway_change_days: int | None
    crossed: tuple[CrossedTrigger, ...]
    risk: tuple[RiskCheck, ...] = ()  # last plan's predicted monthly risk against the actual peaks


def forecast_error(days: tuple[date, ...], p50_rps: tuple[float, ...], p90_rps: tuple[float, ...],
                   actual: dict[date, float]) -> ForecastError | None:
    """MAPE, bias and P90 coverage over the days with both a forecast and an actual > 0."""
    rows = [(actual[d], f50, f90) for d, f50, f90 in zip(days, p50_rps, p90_rps)
            if d in actual and math.isfinite(actual[d]) and actual[d] > 0]
    if not rows:
        return None
    a, f50, f90 = (np.array(col, dtype=float) for col in zip(*rows))
    return ForecastError(days=len(rows), mape=float(np.mean(np.abs(a - f50) / a)),
                         bias=float(np.mean((a - f50) / a)), upper_coverage=float(np.mean(a <= f90)),
                         actual_peak_rps=float(a.max()), forecast_peak_rps=float(f50.max()))


def runway_change_days(previous: PlanSnapshot, current: PlanSnapshot) -> int | None:
    """Today's runway date minus the archived one, in days; None when either is open-ended."""
    if previous.runway_date is None or current.runway_date is None:
        return None
    return (current.runway_date - previous.runway_date).days


def crossed_triggers(previous: PlanSnapshot, actual: dict[date, float], today: date) -> tuple[CrossedTrigger, ...]:
    """Triggers of the archived plan crossed since it was made (see the module docstring)."""
    since = sorted(d for d in actual if previous.as_of <= d <= today and math.isfinite(actual[d]))
    out = []
    for trigger in previous.triggers:
        if trigger.threshold_rps is not None:
            first = next((d for d in since if actual[d] > trigger.threshold_rps), None)
            if first is not None:
                out.append(CrossedTrigger(trigger.name, first, f"actual traffic above {trigger.threshold_rps:,.0f} req/s"))
        elif trigger.expected is not None and previous.as_of <= trigger.expected <= today:
            out.append(CrossedTrigger(trigger.name, trigger.expected, "expected date passed"))
    return tuple(sorted(out, key=lambda c: c.when))


def review_plans(previous: PlanSnapshot, current: PlanSnapshot, actual: dict[date, float], today: date) -> Review:
    """The whole review of ``current`` against ``previous`` given actual daily peaks (req/s)."""
    return Review(previous=previous, current=current,
                  forecast_error=forecast_error(previous.days, previous.p50_rps, previous.p90_rps, actual),
                  runway_change_days=runway_change_days(previous, current),
                  crossed=crossed_triggers(previous, actual, today),
                  risk=risk_checks(previous.risk_months, actual))
