"""Pure drift and spike-recovery statistics for soak and spike runs.

Trend: Theil-Sen slope (median of pairwise slopes; Sen 1968, robust to up to ~29 %
outliers) via :func:`scipy.stats.theilslopes`, with the Mann-Kendall test of a monotonic
trend. Mann-Kendall's S is the numerator of Kendall's tau between the series and time,
so its significance is that of :func:`scipy.stats.kendalltau` (tau-b, which applies the
same tie correction to the variance); we use its two-sided p-value.

A series "degrades" when its trend is significant (p < ``alpha``), upward, and large:
the Theil-Sen change over the observed span exceeds ``min_relative_change`` of the
series' median (p95) or an absolute floor (error rate in fraction points, RSS in MB).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy import stats


RECOVERY_TOLERANCE = 0.2
"""Default spike tolerance: recovered when p95 is back within 20 % of its pre-spike level."""


@dataclass(frozen=True)
class Trend:
    """Theil-Sen slope (units per second) with its Mann-Kendall significance."""

    slope_per_s: float
    slope_low_per_s: float
    slope_high_per_s: float
    change_over_span: float
    median: float
    tau: float
    p_value: float
    n: int

    @property
    def slope_per_hour(self) -> float:
        """The slope in units per hour."""
        return self.slope_per_s * 3600.0

    def is_significant(self, alpha: float = 0.05) -> bool:
        """Mann-Kendall rejects "no monotonic trend" at level ``alpha``."""
        return not math.isnan(self.p_value) and self.p_value < alpha


def trend(t_s: Sequence[float], values: Sequence[float]) -> Trend:
    """Theil-Sen slope and Mann-Kendall test of ``values`` against time ``t_s`` (seconds).

    NaNs are dropped; fewer than 3 points give a NaN trend.
    """
    t = np.asarray(t_s, dtype=float)
    y = np.asarray(values, dtype=float)
    keep = ~(np.isnan(t) | np.isnan(y))
    t, y = t[keep], y[keep]
    if len(y) < 3 or np.ptp(t) == 0:
        nan = math.nan
        return Trend(nan, nan, nan, nan, float(np.median(y)) if len(y) else nan, nan, nan, int(len(y)))
    slope, _intercept, low, high = stats.theilslopes(y, t)
    if np.ptp(y) == 0:
        tau, p_value = 0.0, 1.0
    else:
        tau, p_value = stats.kendalltau(t, y)
    return Trend(float(slope), float(low), float(high), float(slope * np.ptp(t)), float(np.median(y)),
                 float(tau), float(p_value), int(len(y)))


@dataclass(frozen=True)
class DriftAssessment:
    """Soak verdict: "stable" or "degradation/leak suspected", with the numbers behind it."""

    verdict: str
    reasons: tuple[str, ...]
    p95: Trend
    error_rate: Trend
    rss: Trend | None

    @property
    def stable(self) -> bool:
        """True when no series degrades."""
        return not self.reasons


@dataclass(frozen=True)
class DriftThresholds:
    """When a significant upward trend counts as degradation."""

    alpha: float = 0.05
    p95_relative_change: float = 0.10
    error_rate_change: float = 0.005
    rss_change_mb: float = 5.0
    rss_relative_change: float = 0.05


def assess_drift(t_s: Sequence[float], p95_ms: Sequence[float], error_rate: Sequence[float],
                 rss_mb: Sequence[float] | None = None,
                 thresholds: DriftThresholds = DriftThresholds()) -> DriftAssessment:
    """Trend of p95 (ms), error rate (fraction) and target RSS (MB) over a soak."""
    th = thresholds
    p95, err = trend(t_s, p95_ms), trend(t_s, error_rate)
    rss = trend(t_s, rss_mb) if rss_mb is not None and not np.all(np.isnan(np.asarray(rss_mb, float))) else None
    reasons = []
    if p95.is_significant(th.alpha) and p95.change_over_span > th.p95_relative_change * p95.median:
        reasons.append(f"p95 rises {p95.slope_per_hour:+.3g} ms/h ({p95.change_over_span:+.3g} ms over the run, "
                       f"median {p95.median:.3g} ms, Mann-Kendall p={p95.p_value:.2g})")
    if err.is_significant(th.alpha) and err.change_over_span > th.error_rate_change:
        reasons.append(f"error rate rises {err.slope_per_hour:+.3%}/h ({err.change_over_span:+.2%} over the run, "
                       f"Mann-Kendall p={err.p_value:.2g})")
    if rss is not None and rss.is_significant(th.alpha) and rss.change_over_span > max(
            th.rss_change_mb, th.rss_relative_change * rss.median):
        reasons.append(f"target memory grows {rss.slope_per_hour:+.3g} MB/h ({rss.change_over_span:+.3g} MB "
                       f"over the run, Mann-Kendall p={rss.p_value:.2g})")
    verdict = "degradation/leak suspected" if reasons else "stable"
    return DriftAssessment(verdict, tuple(reasons), p95, err, rss)


@dataclass(frozen=True)
class SpikeRecovery:
    """How a service went through a surge (latencies in ms, rates as fractions).

    ``recovery_s`` is the time from the end of the surge until p95 and error rate are
    back within tolerance of the pre-spike level and stay there for ``hold_s`` seconds;
    None when that never happened before the run ended.
    """

    pre_p95_ms: float
    pre_error_rate: float
    peak_p95_ms: float
    peak_latency_ms: float
    peak_error_rate: float
    recovery_s: float | None

    @property
    def recovered(self) -> bool:
        """True when the service came back within tolerance."""
        return self.recovery_s is not None


def spike_recovery(t_s: Sequence[float], p95_ms: Sequence[float], error_rate: Sequence[float],
                   max_ms: Sequence[float], window: tuple[float, float], tolerance: float = RECOVERY_TOLERANCE,
                   hold_s: int = 3) -> SpikeRecovery:
    """Recovery metrics of a spike that ran over ``window`` = (start_s, end_s).

    Pre-spike level: median p95 and mean error rate of the seconds before the surge.
    "Back within tolerance": p95 <= (1 + tolerance) x pre level and error rate <=
    pre level + max(0.5 %, tolerance x pre level); NaN p95 (no completions) is not back.
    """
    t, p95, err, mx = (np.asarray(a, dtype=float) for a in (t_s, p95_ms, error_rate, max_ms))
    start, end = window
    pre = t < start
    pre_p95 = float(np.nanmedian(p95[pre])) if np.any(pre & ~np.isnan(p95)) else math.nan
    pre_err = float(np.nanmean(err[pre])) if np.any(pre) else 0.0
    during = t >= start
    ok = (p95 <= pre_p95 * (1 + tolerance)) & (err <= pre_err + max(0.005, tolerance * pre_err))
    recovery = _first_run(t, ok, end, hold_s)
    return SpikeRecovery(pre_p95, pre_err, _nanmax(p95[during]), _nanmax(mx[during]), _nanmax(err[during]),
                         None if recovery is None else max(0.0, recovery - end))


def _first_run(t: np.ndarray, ok: np.ndarray, from_s: float, hold_s: int) -> float | None:
    """Start time of the first run of ``hold_s`` consecutive ok seconds at or after ``from_s``."""
    idx = np.flatnonzero(t >= from_s)
    run = 0
    for pos, i in enumerate(idx):
        run = run + 1 if ok[i] else 0
        if run >= hold_s:
            return float(t[idx[pos - hold_s + 1]])
    return None


def _nanmax(values: np.ndarray) -> float:
    return float(np.nanmax(values)) if values.size and not np.all(np.isnan(values)) else math.nan
