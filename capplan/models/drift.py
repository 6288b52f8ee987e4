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
from collections.abc import Mapping
from dataclasses import asdict, dataclass, fields
from typing import Any

import numpy as np


SUMMARY_VERSION = 2
"""run.json ``summary_version`` of summaries computed by :func:`spike_summary` / :func:`soak_summary`;
runs written before (no version) are recomputed with the same functions when read."""

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
    intercept: float = math.nan
    start_s: float = math.nan
    end_s: float = math.nan

    @property
    def slope_per_hour(self) -> float:
        """The slope in units per hour."""
        return self.slope_per_s * 3600.0

    def is_significant(self, alpha: float = 0.05) -> bool:
        """Mann-Kendall rejects "no monotonic trend" at level ``alpha``."""
        return not math.isnan(self.p_value) and self.p_value < alpha

    def line(self) -> tuple[tuple[float, float], tuple[float, float]] | None:
        """End points ``((start_s, y), (end_s, y))`` of the Theil-Sen line over the observed span."""
        if not all(math.isfinite(v) for v in (self.slope_per_s, self.intercept, self.start_s, self.end_s)):
            return None
        return tuple((t, self.intercept + self.slope_per_s * t) for t in (self.start_s, self.end_s))  # type: ignore

    def to_dict(self) -> dict[str, float | int]:
        """The fields plus ``slope_per_hour`` (what run.json stores)."""
        return {**asdict(self), "slope_per_hour": self.slope_per_hour}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Trend:
        """Inverse of :meth:`to_dict`; None (JSON null) reads as NaN, missing newer fields as NaN."""
        return cls(**{f.name: _number(data.get(f.name)) if f.name != "n" else int(data.get("n") or 0)
                      for f in fields(cls)})


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
    from scipy import stats  # here, not at the top: importing it costs about a second (capplan compare reads runs)

    slope, intercept, low, high = stats.theilslopes(y, t)
    if np.ptp(y) == 0:
        tau, p_value = 0.0, 1.0
    else:
        tau, p_value = stats.kendalltau(t, y)
    return Trend(float(slope), float(low), float(high), float(slope * np.ptp(t)), float(np.median(y)),
                 float(tau), float(p_value), int(len(y)), float(intercept), float(t.min()), float(t.max()))


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

    def to_dict(self) -> dict[str, Any]:
        """run.json's ``summary.soak`` block."""
        trends = {"p95": self.p95, "error_rate": self.error_rate, "rss": self.rss}
        return {"verdict": self.verdict, "reasons": list(self.reasons),
                "trends": {k: None if v is None else v.to_dict() for k, v in trends.items()}}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> DriftAssessment:
        """Inverse of :meth:`to_dict`."""
        trends = data.get("trends") or {}
        rss = trends.get("rss")
        return cls(str(data["verdict"]), tuple(data.get("reasons") or ()), Trend.from_dict(trends.get("p95") or {}),
                   Trend.from_dict(trends.get("error_rate") or {}), None if rss is None else Trend.from_dict(rss))


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
    window_s: tuple[float, float] = (math.nan, math.nan)
    tolerance: float = RECOVERY_TOLERANCE

    @property
    def recovered(self) -> bool:
        """True when the service came back within tolerance."""
        return self.recovery_s is not None

    def to_dict(self) -> dict[str, Any]:
        """run.json's ``summary.spike`` block (plus ``recovered``)."""
        return {**asdict(self), "window_s": list(self.window_s), "recovered": self.recovered}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> SpikeRecovery:
        """Inverse of :meth:`to_dict`."""
        window = data.get("window_s") or (math.nan, math.nan)
        rec = data.get("recovery_s")
        return cls(_number(data.get("pre_p95_ms")), _number(data.get("pre_error_rate")),
                   _number(data.get("peak_p95_ms")), _number(data.get("peak_latency_ms")),
                   _number(data.get("peak_error_rate")), None if rec is None else float(rec),
                   (_number(window[0]), _number(window[1])),
                   float(data.get("tolerance") or RECOVERY_TOLERANCE))


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
                         None if recovery is None else max(0.0, recovery - end), (float(start), float(end)),
                         float(tolerance))


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


def _number(value: Any) -> float:
    return math.nan if value is None else float(value)


NOT_LOADED = ("stopping", "init")
"""Stages of seconds that are not under the scenario's load (partial shutdown / start seconds)."""


def spike_summary(t_s: Sequence[float], stage: Sequence[str], p95_ms: Sequence[float],
                  error_rate: Sequence[float], max_ms: Sequence[float], window: tuple[float, float],
                  tolerance: float = RECOVERY_TOLERANCE) -> SpikeRecovery:
    """:func:`spike_recovery` over the loaded seconds of a run (the one computation of a spike summary).

    Seconds labelled ``stopping`` or ``init`` are left out; ``error_rate`` is NaN for a
    second without completed requests.
    """
    keep = np.array([s not in NOT_LOADED for s in stage], dtype=bool)
    cols = (np.asarray(a, dtype=float)[keep] for a in (t_s, p95_ms, error_rate, max_ms))
    return spike_recovery(*cols, window, tolerance=tolerance)


def soak_summary(t_s: Sequence[float], stage: Sequence[str], p95_ms: Sequence[float],
                 error_rate: Sequence[float], rss_mb: Sequence[float], steady_s: tuple[float, float] | None,
                 thresholds: DriftThresholds = DriftThresholds()) -> DriftAssessment:
    """:func:`assess_drift` over the soak step's steady window ``steady_s`` = [start, end) in run seconds.

    Without a recorded step (a run cut short) the loaded seconds of stage ``soak`` are used.
    """
    t = np.asarray(t_s, dtype=float)
    stages = np.asarray(list(stage), dtype=object)
    if steady_s is not None:
        keep = (t >= steady_s[0]) & (t < steady_s[1]) & ~np.isin(stages, NOT_LOADED)
    else:
        keep = stages == "soak"
    pick = (lambda col: np.asarray(col, dtype=float)[keep])
    return assess_drift(pick(t_s), pick(p95_ms), pick(error_rate), pick(rss_mb), thresholds)


def format_slope(trend_: Trend | None, unit: str) -> str:
    """``+1.23 ms/h (Mann-Kendall p = 0.04)``: how every output shows a soak slope."""
    if trend_ is None or not math.isfinite(trend_.slope_per_s):
        return "not measured"
    p = f"{trend_.p_value:.2g}" if math.isfinite(trend_.p_value) else "n/a"
    return f"{trend_.slope_per_hour:+.4g} {unit}/h (Mann-Kendall p = {p})"


def format_recovery(rec: SpikeRecovery) -> str:
    """``3 s after the surge`` or ``not recovered``: how every output shows a spike's recovery."""
    return "not recovered before the run ended" if rec.recovery_s is None else f"{rec.recovery_s:g} s after the surge"
