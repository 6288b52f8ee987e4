"""Split-conformal prediction intervals per forecast-horizon bucket.

Scores are scaled errors of held-out rolling-origin forecasts, r = (y − ŷ) / max(ŷ, floor), the
floor a tenth of the series' level (:func:`scale_floor`), so one calibration serves a series whose
level moves. For each horizon bucket the interval
is ŷ·(1 + q_lo) … ŷ·(1 + q_hi) with q_lo, q_hi the empirical (1−α)/2 and (1+α)/2 quantiles
of the bucket's scores, using the finite-sample rank ⌈(n+1)·q⌉ (Vovk et al. 2005; Lei et al.
2018, "Distribution-free predictive inference for regression", §2.2). Horizons beyond the
calibrated range widen by √(h / h_last), the random-walk growth of forecast error.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

HORIZON_EDGES_DAYS = (1, 8, 31, 91, 181, 366, 731, 100_000)
"""Bucket i holds horizons h (days ahead, 1-based) with edges[i] <= h < edges[i+1]."""
MIN_SCORES_PER_BUCKET = 20
FLOOR_SHARE = 0.1
"""The scores' denominator is at least this share of the series' mean level: the relative error of a
forecast near zero is ill-conditioned (a fold trained into an outage forecasts about zero, misses by the
whole level, and its scores of ~100 put the next P90 at a hundred times the series)."""


def scale_floor(level: float) -> float:
    """The least denominator ``max(ŷ, floor)`` of a series whose mean level is ``level``."""
    return FLOOR_SHARE * level


@dataclass(frozen=True)
class ConformalCalibration:
    """Per-bucket score quantiles for a nominal ``interval`` (e.g. 0.8).

    ``starts_days[i]`` is the first horizon (days) of bucket i; ``lower``/``upper`` the
    relative score quantiles; ``last_horizon_days`` the mean horizon of the last bucket's
    scores, used to widen beyond the calibrated range.
    """

    interval: float
    starts_days: tuple[int, ...]
    lower: tuple[float, ...]
    upper: tuple[float, ...]
    counts: tuple[int, ...]
    last_horizon_days: float

    def bounds(self, yhat: np.ndarray, horizon_days: np.ndarray, floor: float) -> tuple[np.ndarray, np.ndarray]:
        """Lower and upper interval bounds for point forecasts ``yhat`` at ``horizon_days`` ahead."""
        yhat = np.asarray(yhat, dtype=float)
        horizon_days = np.asarray(horizon_days, dtype=float)
        index = np.searchsorted(np.asarray(self.starts_days), horizon_days, side="right") - 1
        index = np.clip(index, 0, len(self.starts_days) - 1)
        widen = np.sqrt(np.maximum(horizon_days / self.last_horizon_days, 1.0))
        widen = np.where(index == len(self.starts_days) - 1, widen, 1.0)
        scale = np.maximum(yhat, floor)
        low = yhat + np.asarray(self.lower)[index] * widen * scale
        high = yhat + np.asarray(self.upper)[index] * widen * scale
        return np.minimum(low, yhat), np.maximum(high, yhat)


def scaled_errors(actual: np.ndarray, predicted: np.ndarray, floor: float) -> np.ndarray:
    """r = (y − ŷ) / max(ŷ, floor): the conformity score of each held-out point."""
    predicted = np.asarray(predicted, dtype=float)
    return (np.asarray(actual, dtype=float) - predicted) / np.maximum(predicted, floor)


def calibrate(scores: np.ndarray, horizon_days: np.ndarray, interval: float) -> ConformalCalibration:
    """Quantiles of ``scores`` per horizon bucket; thin buckets are pooled with the previous one."""
    if not 0.0 < interval < 1.0:
        raise ValueError(f"interval must be between 0 and 1, got {interval!r}")
    scores = np.asarray(scores, dtype=float)
    horizon_days = np.asarray(horizon_days, dtype=float)
    keep = np.isfinite(scores)
    scores, horizon_days = scores[keep], horizon_days[keep]
    if len(scores) == 0:
        raise ValueError("no held-out scores to calibrate on")
    groups = _buckets(horizon_days)
    starts, lower, upper, counts = [], [], [], []
    for start, mask in groups:
        lower.append(_rank_quantile(scores[mask], (1.0 - interval) / 2.0))
        upper.append(_rank_quantile(scores[mask], (1.0 + interval) / 2.0))
        starts.append(start)
        counts.append(int(mask.sum()))
    last_mask = groups[-1][1]
    return ConformalCalibration(interval, tuple(starts), tuple(lower), tuple(upper), tuple(counts),
                                float(np.mean(horizon_days[last_mask])))


def _buckets(horizon_days: np.ndarray) -> list[tuple[int, np.ndarray]]:
    groups: list[tuple[int, np.ndarray]] = []
    for low, high in zip(HORIZON_EDGES_DAYS[:-1], HORIZON_EDGES_DAYS[1:]):
        mask = (horizon_days >= low) & (horizon_days < high)
        if not mask.any():
            continue
        if groups and (groups[-1][1].sum() < MIN_SCORES_PER_BUCKET or mask.sum() < MIN_SCORES_PER_BUCKET):
            start, previous = groups.pop()
            groups.append((start, previous | mask))
        else:
            groups.append((low, mask))
    return groups


def _rank_quantile(values: np.ndarray, q: float) -> float:
    """The ⌈(n+1)q⌉-th smallest value (upper) or ⌊(n+1)q⌋-th (lower), clamped to the sample."""
    ordered = np.sort(values)
    n = len(ordered)
    rank = math.ceil((n + 1) * q) if q >= 0.5 else math.floor((n + 1) * q)
    return float(ordered[min(max(rank, 1), n) - 1])
