"""How much more a set of effect estimates differ than their own standard errors allow.

When one change is measured at several load levels, each level's estimate ``y_i`` carries its
sampling variance ``v_i``, and the levels may differ by more: a whole step that ran slow (a
busier minute on the machine, a load-generator stall), which the seconds inside that step
cannot show. DerSimonian and Laird ("Meta-analysis in clinical trials", Controlled Clinical
Trials 7, 1986) estimate that extra between-estimate variance by the method of moments:

    w_i = 1 / v_i,   ȳ = Σ w_i y_i / Σ w_i,   Q = Σ w_i (y_i − ȳ)²   (Cochran's Q, k − 1 df)
    τ² = max(0, (Q − (k − 1)) / (Σ w_i − Σ w_i² / Σ w_i))

τ² is 0 when the estimates scatter no more than their variances say.

A change may also *differ* from level to level: a lock that only contends under load hurts
the high levels and not the low ones, and that is signal, not noise.
:func:`monotone_heterogeneity` therefore measures the scatter about the best monotone profile
(weighted isotonic regression, rising or falling with the load, whichever fits better): the
same moment estimator within each block of levels the fit pools (levels fitted to one value
are one block), summed over the blocks (Q and its df are additive, as the denominators
are). An effect that grows or shrinks with the load leaves τ² at 0; one level off in the
middle of levels that agree does not.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from scipy.optimize import OptimizeResult


@dataclass(frozen=True)
class Heterogeneity:
    """The between-estimate variance ``tau2`` (in the effects' squared unit), Cochran's ``q`` and its ``df``."""

    tau2: float
    q: float
    df: int


NO_SPREAD = Heterogeneity(0.0, 0.0, 0)
"""No between-estimate spread (what one estimate, or estimates that need not agree, carry)."""


def dersimonian_laird(effects: Sequence[float], variances: Sequence[float]) -> Heterogeneity:
    """DerSimonian–Laird τ² of ``effects`` with within-estimate ``variances`` (see the module docstring).

    Estimates whose variance is not positive and finite are left out; fewer than two left
    give τ² = 0 with 0 df (one estimate cannot show any spread).
    """
    y, w = _usable(effects, variances)
    return _pooled([(y, w)])


def pooled_heterogeneity(groups: Sequence[tuple[Sequence[float], Sequence[float]]]) -> Heterogeneity:
    """τ² of estimates that agree within each group (effects, variances), pooled over the groups.

    Each group has its own mean (the steps of one run about that run's capacity); Q, its df
    and the moment estimator's denominator are summed over the groups.
    """
    return _pooled([_usable(effects, variances) for effects, variances in groups])


def monotone_heterogeneity(effects: Sequence[float], variances: Sequence[float]) -> Heterogeneity:
    """τ² of ``effects`` (in load order) about their best monotone profile (see the module docstring).

    Unusable estimates are left out as in :func:`dersimonian_laird`; the direction whose
    weighted residual sum of squares is smaller is taken.
    """
    from scipy.optimize import isotonic_regression

    y, w = _usable(effects, variances)
    if y.size < 3:
        return NO_SPREAD  # two levels are always monotone
    best = None
    for increasing in (True, False):
        bounds = _distinct_levels(isotonic_regression(y, weights=w, increasing=increasing), w)
        groups = [(y[a:b], w[a:b]) for a, b in zip(bounds[:-1], bounds[1:], strict=True)]
        result = _pooled(groups)
        if best is None or result.q < best.q:
            best = result
    return best


def _distinct_levels(fit: OptimizeResult, w: np.ndarray) -> np.ndarray:
    """The fit's block boundaries with adjacent blocks of one fitted value joined.

    The pool-adjacent-violators fit may leave ties as separate blocks or pool them, as rounding
    falls; the profile's degrees of freedom are its distinct values (Meyer and Woodroofe, "On the
    degrees of freedom in shape-restricted regression", Ann. Statist. 28, 2000), so ties are one.
    Values closer than a millionth of the smallest standard error (or than rounding) are ties:
    a tolerance that does not move with where the effects lie.
    """
    starts = fit.blocks[:-1]
    tolerance = 1e-6 / np.sqrt(np.max(w)) + 16 * np.finfo(float).eps * float(np.max(np.abs(fit.x)))
    keep = [0] + [i for i in range(1, starts.size) if abs(fit.x[starts[i]] - fit.x[starts[i - 1]]) > tolerance]
    return np.append(starts[keep], fit.blocks[-1])


def _usable(effects: Sequence[float], variances: Sequence[float]) -> tuple[np.ndarray, np.ndarray]:
    y, v = np.asarray(effects, dtype=float), np.asarray(variances, dtype=float)
    keep = np.isfinite(y) & np.isfinite(v) & (v > 0)
    return y[keep], 1.0 / v[keep]


def _pooled(groups: Sequence[tuple[np.ndarray, np.ndarray]]) -> Heterogeneity:
    """The moment estimator with Q, df and the denominator summed over groups of (effects, weights)."""
    q = scale = 0.0
    df = 0
    for y, w in groups:
        if y.size < 2:
            continue
        mean = float(np.sum(w * y) / np.sum(w))
        q += float(np.sum(w * (y - mean) ** 2))
        scale += float(np.sum(w) - np.sum(w ** 2) / np.sum(w))
        df += int(y.size - 1)
    if df == 0:
        return NO_SPREAD
    return Heterogeneity(max(0.0, (q - df) / scale), q, df)
