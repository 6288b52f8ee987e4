"""The review's risk check: last month's predicted breach and trigger risk against what happened.

An archived plan keeps, per month, its planned fleet's predicted probabilities and the
demand at which that fleet breaks its SLO (``usable × per-instance SLO rate``, the point
estimate) and crosses its trigger. Per month with actual daily peaks, the review says
whether the actual peak passed either, beside the probability the plan gave it. Over many
months, the Brier score ``mean((p − outcome)²)`` measures how well the risks were
calibrated (0 perfect; always saying 50 % scores 0.25).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date


@dataclass(frozen=True)
class RiskSnapshotMonth:
    """One archived month: planned fleet, predicted probabilities and the thresholds (req/s)."""

    month: str
    fleet: int
    breach_probability: float
    trigger_probability: float
    breach_capacity_rps: float
    trigger_capacity_rps: float


@dataclass(frozen=True)
class RiskCheck:
    """One month of the review: what the plan predicted, what the actual peak did."""

    month: str
    days: int
    actual_peak_rps: float
    breach_probability: float
    breached: bool
    trigger_probability: float
    crossed: bool


def risk_checks(months: tuple[RiskSnapshotMonth, ...], actual: dict[date, float]) -> tuple[RiskCheck, ...]:
    """Each archived month with at least one actual day: predicted risk beside the outcome."""
    out = []
    for m in months:
        peaks = [v for d, v in actual.items() if d.strftime("%Y-%m") == m.month and math.isfinite(v)]
        if not peaks:
            continue
        peak = max(peaks)
        out.append(RiskCheck(m.month, len(peaks), peak, m.breach_probability, peak > m.breach_capacity_rps,
                             m.trigger_probability, peak > m.trigger_capacity_rps))
    return tuple(out)


def brier_score(checks: tuple[RiskCheck, ...]) -> float | None:
    """Mean squared gap between predicted breach probability and outcome (None: no months)."""
    if not checks:
        return None
    return sum((c.breach_probability - float(c.breached)) ** 2 for c in checks) / len(checks)
