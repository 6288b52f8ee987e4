"""Moving-block bootstrap over per-second rows, with latency quantiles from merged sketches.

A load test's seconds are not independent (a GC pause or a queue that builds up spans
several seconds), so resampling single requests — or even single seconds — understates
the noise. The moving-block bootstrap (Künsch, "The jackknife and the bootstrap for
general stationary observations", Ann. Statist. 17, 1989) draws blocks of ``b``
consecutive seconds with replacement until the resample has as many seconds as the data;
``b = ceil(K^(1/3))`` for ``K`` seconds is the order Hall, Horowitz & Jing (Biometrika 82,
1995) give as optimal for variance estimation.

A resample is a weight vector over the seconds (how often each second was drawn), so a
statistic of the resample is a weighted sum: merged sketch bins are ``W @ bins`` (sketch
merging adds bin counts, so this is exact), throughput is ``W @ requests / W @ seconds``.
All resamples are evaluated at once with numpy.

Quantiles follow DDSketch exactly (:mod:`capplan.models.sketch`): rank ``q (n - 1)``,
the first bin whose cumulative count exceeds it, its representative value
``2 gamma^key / (1 + gamma)``, clamped to the exact min and max of the merged seconds.
"""

from __future__ import annotations

import math
import struct
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from capplan.models.sketch import RELATIVE_ACCURACY

_GAMMA = (1.0 + RELATIVE_ACCURACY) / (1.0 - RELATIVE_ACCURACY)
_HEADER = struct.Struct("<4sBdddddd")  # the documented LatencySketch.to_bytes layout
_STORE = struct.Struct("<iI")


@dataclass(frozen=True, eq=False)
class SketchMatrix:
    """The per-second latency sketches of one window as dense bin counts on one key grid.

    ``counts[i, j]`` is second ``i``'s count in bin ``min_key + j``; ``zeros``, ``mins_ms``
    and ``maxs_ms`` are per second (min/max NaN for an empty second).
    """

    counts: np.ndarray
    min_key: int
    zeros: np.ndarray
    mins_ms: np.ndarray
    maxs_ms: np.ndarray

    @property
    def n_seconds(self) -> int:
        """Number of seconds (rows)."""
        return int(self.counts.shape[0])


def decode_sketches(blobs: Sequence[bytes | None]) -> SketchMatrix | None:
    """Stack serialized :class:`~capplan.models.sketch.LatencySketch` bytes into a matrix.

    Returns None when any second has no sketch (e.g. a run imported from Locust's CSV).
    Raises ``ValueError`` on bytes that are not a capplan sketch.
    """
    decoded = []
    for blob in blobs:
        if blob is None or not isinstance(blob, (bytes, bytearray, memoryview)):
            return None
        data = bytes(blob)
        if len(data) < _HEADER.size + _STORE.size:
            raise ValueError(f"latency sketch encoding too short ({len(data)} bytes)")
        magic, version, alpha, _count, _sum, vmin, vmax, zero = _HEADER.unpack_from(data, 0)
        if magic != b"CPLS" or version != 1 or alpha != RELATIVE_ACCURACY:
            raise ValueError(f"not a capplan latency sketch (magic {magic!r}, version {version})")
        min_key, n_bins = _STORE.unpack_from(data, _HEADER.size)
        bins = np.frombuffer(data, dtype="<f8", count=n_bins, offset=_HEADER.size + _STORE.size)
        decoded.append((min_key, bins, zero, vmin, vmax))
    if not decoded:
        return None
    lo = min((k for k, b, *_ in decoded if len(b)), default=0)
    hi = max((k + len(b) for k, b, *_ in decoded if len(b)), default=lo)
    counts = np.zeros((len(decoded), max(hi - lo, 1)))
    for i, (key, bins, *_rest) in enumerate(decoded):
        counts[i, key - lo: key - lo + len(bins)] = bins
    return SketchMatrix(counts, lo, np.array([d[2] for d in decoded]), np.array([d[3] for d in decoded]),
                        np.array([d[4] for d in decoded]))


FITTED_BLOCKS_MIN_SECONDS = 50
"""Shortest window whose block length is fitted to its series. The fit reads autocorrelations up
to lag ``ceil(sqrt(K)) + 5``, a quarter of a 50-second window; in shorter ones it mostly measures
its own noise (white-noise series of 15 s came out longer than ``ceil(K^(1/3))`` in 40 % of 300
draws, of 120 s in 2 %, while AR(1) series with φ = 0.9 of 120 s always did)."""


def block_length(n_seconds: int, *series: np.ndarray) -> int:
    """Block length in seconds: ``ceil(K^(1/3))`` (at least 1), or longer where one of the window's
    per-second ``series`` is dependent over longer spans (windows of at least
    :data:`FITTED_BLOCKS_MIN_SECONDS`): the largest :func:`politis_white_block_length` of them,
    rounded up."""
    rule = max(1, math.ceil(n_seconds ** (1.0 / 3.0) - 1e-9))
    if n_seconds < FITTED_BLOCKS_MIN_SECONDS:
        return rule
    fitted = [politis_white_block_length(x) for x in series]
    return max([rule] + [math.ceil(b - 1e-9) for b in fitted if math.isfinite(b)])


def politis_white_block_length(x: np.ndarray) -> float:
    """The circular block bootstrap's estimated optimal block length of one series.

    Politis & White, "Automatic block-length selection for the dependent bootstrap",
    Econometric Reviews 23, 2004, with the correction of Patton, Politis & White (Econometric
    Reviews 28, 2009), as ``arch.bootstrap.optimal_block_length`` computes it (its
    ``circular`` column; that package takes seconds to import, this takes none):
    ``b = (2 G² / D)^(1/3) n^(1/3)`` with ``G = Σ h(k/m) |k| γ̂(k)``, ``D = (4/3) (Σ h(k/m) γ̂(k))²``
    over ``|k| <= m``, the flat-top window ``h(x) = min(1, 2 (1 − |x|))``, and ``m`` twice the
    first lag after which ``max(5, log10 n)`` autocorrelations all lie inside
    ``±2 sqrt(log10(n) / n)``; capped at ``ceil(min(3 sqrt(n), n / 3))``. NaN for a series too
    short for its lags, constant, or not finite (missing seconds are set to the series' mean).
    """
    x = np.asarray(x, dtype=float)
    if x.size and not np.all(np.isfinite(x)):
        x = np.where(np.isfinite(x), x, np.nanmean(x)) if np.any(np.isfinite(x)) else x
    n = x.size
    kn = max(5, int(np.log10(n))) if n > 1 else 5
    m_max = int(np.ceil(np.sqrt(n))) + kn if n > 0 else 0
    eps = x - x.mean() if n else x
    if n <= m_max + 1 or not np.all(np.isfinite(eps)) or not np.any(eps != 0):
        return math.nan
    band = 2 * np.sqrt(np.log10(n) / n)
    acv, abs_acorr = np.zeros(m_max + 1), np.zeros(m_max + 1)
    first = None
    for i in range(m_max + 1):
        cross = float(eps[i:] @ eps[:n - i])
        acv[i] = cross / n
        abs_acorr[i] = abs(cross) / math.sqrt(float(eps[i + 1:] @ eps[i + 1:]) * float(eps[:-(i + 1)] @ eps[:-(i + 1)]))
        if first is None and i >= kn and np.all(abs_acorr[i - kn:i] < band):
            first = i - kn
    m = min(2 * max(first, 1) if first is not None else m_max, m_max)
    k = np.arange(1, m + 1)
    window = np.where(k / m <= 0.5, 1.0, 2 * (1 - k / m))
    g = float(np.sum(2 * window * k * acv[1:m + 1]))
    long_run = float(acv[0] + np.sum(2 * window * acv[1:m + 1]))
    if long_run == 0:
        return math.nan
    b = (2 * g ** 2 / (4 / 3 * long_run ** 2)) ** (1 / 3) * n ** (1 / 3)
    return float(min(b, np.ceil(min(3 * np.sqrt(n), n / 3))))


def block_count(n_seconds: int, block_s: int | None = None) -> int:
    """How many blocks of ``block_s`` seconds (default :func:`block_length`) make up ``n_seconds``:
    the window's independent pieces."""
    b = block_s or block_length(n_seconds)
    return math.ceil(n_seconds / b) if n_seconds > 0 else 0


def block_weights(n_seconds: int, n_resamples: int, rng: np.random.Generator,
                  block_s: int | None = None) -> np.ndarray:
    """``(n_resamples, n_seconds)`` counts of how often each second is drawn by a moving-block resample
    (blocks of ``block_s`` seconds, default :func:`block_length`)."""
    b = min(block_s or block_length(n_seconds), max(n_seconds, 1))
    n_blocks = block_count(n_seconds, b)
    starts = rng.integers(0, n_seconds - b + 1, size=(n_resamples, n_blocks))
    index = (starts[:, :, None] + np.arange(b)).reshape(n_resamples, -1)[:, :n_seconds]
    rows = np.repeat(np.arange(n_resamples), n_seconds)
    flat = rows * n_seconds + index.ravel()
    return np.bincount(flat, minlength=n_resamples * n_seconds).reshape(n_resamples, n_seconds).astype(float)


def weighted_quantiles_ms(sketches: SketchMatrix, weights: np.ndarray, quantiles: Sequence[float]) -> np.ndarray:
    """Latency (ms) at each quantile of each weighted merge: shape ``(len(weights), len(quantiles))``.

    NaN where a resample holds no request.
    """
    bins = weights @ sketches.counts
    zeros = weights @ sketches.zeros
    total = bins.sum(axis=1) + zeros
    drawn = weights > 0
    mins = np.where(np.isnan(sketches.mins_ms), np.inf, sketches.mins_ms)  # empty seconds have no min/max
    maxs = np.where(np.isnan(sketches.maxs_ms), -np.inf, sketches.maxs_ms)
    lo = np.where(drawn, mins, np.inf).min(axis=1)
    hi = np.where(drawn, maxs, -np.inf).max(axis=1)
    cumulative = np.cumsum(bins, axis=1)
    values = 2.0 * _GAMMA ** (sketches.min_key + np.arange(bins.shape[1])) / (1.0 + _GAMMA)
    out = np.full((len(weights), len(quantiles)), np.nan)
    for j, q in enumerate(quantiles):
        rank = q * (total - 1.0) - zeros
        key = np.argmax(cumulative > rank[:, None], axis=1)
        value = np.where(rank < 0, 0.0, values[key])
        value = np.where(q >= 1.0, hi, np.minimum(np.maximum(value, lo), hi))
        out[:, j] = np.where(total > 0, value, np.nan)
    return out


def weighted_ratio(numerator: np.ndarray, denominator: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """``(W @ numerator) / (W @ denominator)`` per resample; NaN where the denominator is 0."""
    top, bottom = weights @ numerator, weights @ denominator
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(bottom > 0, top / bottom, np.nan)
