"""Tests and intervals for proportions and normal statistics, without importing scipy.stats.

scipy.stats takes over a second to import, more than the whole of ``capplan compare`` may
take; these few formulas are checked against scipy in the tests.
"""

from __future__ import annotations

import math

import numpy as np

Z95 = 1.959963984540054
"""The standard normal's 97.5 % quantile (two-sided 95 % intervals)."""


def normal_two_sided_p(z: float) -> float:
    """Two-sided p-value of a standard normal statistic, ``erfc(|z| / sqrt 2)``."""
    return math.erfc(abs(z) / math.sqrt(2.0))


def t_two_sided_p(t: float, df: float) -> float:
    """Two-sided p-value of a Student-t statistic with ``df`` degrees of freedom (normal when infinite)."""
    if math.isinf(df):
        return normal_two_sided_p(t)
    from scipy.special import stdtr  # scipy.special, not scipy.stats (see the module docstring)

    return float(2.0 * stdtr(df, -abs(t)))


def t_crit95(df: float) -> float:
    """The 97.5 % quantile of Student's t with ``df`` degrees of freedom (:data:`Z95` when infinite)."""
    if math.isinf(df):
        return Z95
    from scipy.special import stdtrit

    return float(stdtrit(df, 0.975))


def fisher_exact_p(x1: int, n1: int, x2: int, n2: int) -> float:
    """Two-sided Fisher exact p-value of ``x1`` of ``n1`` against ``x2`` of ``n2``.

    The sum of the hypergeometric probabilities no larger than the observed table's (the
    rule of R's ``fisher.test`` and ``scipy.stats.fisher_exact``, relative tolerance 1e-7).
    Computed here with ``math.lgamma`` because importing scipy.stats costs over a second.
    """
    total = x1 + x2
    if total == 0 or total == n1 + n2:
        return 1.0
    lo, hi = max(0, total - n2), min(total, n1)
    ks = np.arange(lo, hi + 1)
    log_c = _log_choose
    log_p = np.array([log_c(n1, k) + log_c(n2, total - k) for k in ks.tolist()]) - log_c(n1 + n2, total)
    observed = log_p[x1 - lo]
    return float(min(1.0, np.exp(log_p[log_p <= observed + 1e-7]).sum()))


def _log_choose(n: int, k: int) -> float:
    return math.lgamma(n + 1) - math.lgamma(k + 1) - math.lgamma(n - k + 1)


def wilson_interval(successes: int, n: int, z: float = Z95) -> tuple[float, float]:
    """Wilson score interval of a binomial proportion (Wilson, JASA 22, 1927)."""
    if n == 0:
        return (0.0, 1.0)
    p = successes / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return (max(0.0, centre - half), min(1.0, centre + half))


def newcombe_interval(x1: int, n1: int, x2: int, n2: int, z: float = Z95) -> tuple[float, float]:
    """95 % interval of ``x1/n1 - x2/n2`` from the two Wilson intervals (Newcombe 1998, method 10)."""
    p1, p2 = x1 / n1, x2 / n2
    l1, u1 = wilson_interval(x1, n1, z)
    l2, u2 = wilson_interval(x2, n2, z)
    d = p1 - p2
    return (d - math.sqrt((p1 - l1) ** 2 + (u2 - p2) ** 2), d + math.sqrt((u1 - p1) ** 2 + (p2 - l2) ** 2))
