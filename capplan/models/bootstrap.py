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


def block_length(n_seconds: int) -> int:
    """Block length in seconds, ``ceil(K^(1/3))`` (at least 1)."""
    return max(1, math.ceil(n_seconds ** (1.0 / 3.0) - 1e-9))


def block_count(n_seconds: int) -> int:
    """How many blocks of :func:`block_length` make up ``n_seconds``: the window's independent pieces."""
    return math.ceil(n_seconds / block_length(n_seconds)) if n_seconds > 0 else 0


def block_weights(n_seconds: int, n_resamples: int, rng: np.random.Generator) -> np.ndarray:
    """``(n_resamples, n_seconds)`` counts of how often each second is drawn by a moving-block resample."""
    b, n_blocks = block_length(n_seconds), block_count(n_seconds)
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
