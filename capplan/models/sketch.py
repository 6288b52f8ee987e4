"""A mergeable latency sketch with bounded relative error, and its exact byte encoding.

:class:`LatencySketch` wraps ddsketch's :class:`~ddsketch.DDSketch` (Masson, Rim & Lee,
"DDSketch: a fast and fully-mergeable quantile sketch with relative-error guarantees",
VLDB 2019). Values are bucketed by ``ceil(log_gamma(x))`` with
``gamma = (1 + alpha) / (1 - alpha)``; the value returned for a rank lies within a
relative error ``alpha`` of the sample at that rank. We use ``alpha = 0.005`` (0.5 %),
half the 1 % budget, so a quantile is within 1 % of the sample DDSketch picks
(rank ``floor(q * (n - 1))``, numpy's ``method="lower"``).

Merging adds bin counts, so it is exact: merging the sketches of several processes or
seconds gives the same bins as one sketch fed every sample.

The byte encoding is our own (no pickle, safe to read from disk)::

    magic "CPLS" | u8 version=1 | f64 alpha | f64 count | f64 sum | f64 min | f64 max
    | f64 zero_count | i32 min_key | u32 n_bins | n_bins x f64 bin counts

all little-endian; the bins are the dense store's counts from ``min_key`` upwards.
"""

from __future__ import annotations

import math
import struct
import sys
from array import array
from collections.abc import Iterable

from ddsketch import DDSketch

RELATIVE_ACCURACY = 0.005
"""DDSketch alpha: the relative error bound of each quantile (0.5 %)."""

_MAGIC = b"CPLS"
_VERSION = 1
_HEADER = struct.Struct("<4sBdddddd")
_STORE = struct.Struct("<iI")


class LatencySketch:
    """Response times in milliseconds, mergeable, quantiles within 0.5 % relative error.

    Negative latencies are rejected; zero is counted exactly.
    """

    __slots__ = ("_sketch",)

    def __init__(self) -> None:
        self._sketch = DDSketch(RELATIVE_ACCURACY)

    def add(self, latency_ms: float) -> None:
        """Record one response time in milliseconds (must be >= 0 and finite)."""
        if not latency_ms >= 0 or latency_ms == math.inf:
            raise ValueError(f"latency must be a finite value >= 0 ms, got {latency_ms!r}")
        self._sketch.add(latency_ms)

    def add_many(self, latencies_ms: Iterable[float]) -> None:
        """Record several response times in milliseconds."""
        for value in latencies_ms:
            self.add(value)

    def merge(self, other: LatencySketch) -> None:
        """Add every sample of ``other`` into this sketch (exact: bin counts add up)."""
        self._sketch.merge(other._sketch)

    def copy(self) -> LatencySketch:
        """An independent copy of this sketch."""
        return LatencySketch.from_bytes(self.to_bytes())

    @property
    def count(self) -> int:
        """Number of samples recorded."""
        return int(round(self._sketch.count))

    @property
    def sum_ms(self) -> float:
        """Exact sum of the recorded latencies in ms."""
        return float(self._sketch.sum)

    @property
    def mean_ms(self) -> float:
        """Exact mean latency in ms (NaN when empty)."""
        return self._sketch.sum / self._sketch.count if self._sketch.count else math.nan

    @property
    def max_ms(self) -> float:
        """Exact maximum latency in ms (NaN when empty)."""
        return float(self._sketch._max) if self._sketch.count else math.nan

    @property
    def min_ms(self) -> float:
        """Exact minimum latency in ms (NaN when empty)."""
        return float(self._sketch._min) if self._sketch.count else math.nan

    def quantile(self, q: float) -> float:
        """Latency in ms at quantile ``q`` in [0, 1] (NaN when empty).

        Within 0.5 % of the sample at rank ``floor(q * (n - 1))``; clamped to the exact
        min and max so q=0 and q=1 return the true extremes.
        """
        if not 0.0 <= q <= 1.0:
            raise ValueError(f"quantile must be within [0, 1], got {q!r}")
        if self._sketch.count == 0:
            return math.nan
        if q == 1.0:
            return self.max_ms
        value = float(self._sketch.get_quantile_value(q))
        return min(max(value, self.min_ms), self.max_ms)

    def to_bytes(self) -> bytes:
        """Exact, compact, pickle-free encoding (see the module docstring)."""
        sk = self._sketch
        store = sk._store
        zero = float(sk._zero_count)
        header = _HEADER.pack(_MAGIC, _VERSION, RELATIVE_ACCURACY, float(sk.count), float(sk.sum),
                              float(sk._min) if sk.count else math.nan, float(sk._max) if sk.count else math.nan,
                              zero)
        if store.count == 0:
            return header + _STORE.pack(0, 0)
        lo, hi = store.min_key, store.max_key
        bins = array("d", store.bins[lo - store.offset: hi - store.offset + 1])
        if bins.itemsize != 8:  # pragma: no cover - every CPython has 8-byte doubles
            raise RuntimeError("array('d') is not 8 bytes on this platform")
        return header + _STORE.pack(lo, len(bins)) + _little_endian(bins).tobytes()

    @classmethod
    def from_bytes(cls, data: bytes) -> LatencySketch:
        """Decode :meth:`to_bytes` output; raise ``ValueError`` on anything else."""
        if len(data) < _HEADER.size + _STORE.size:
            raise ValueError(f"latency sketch encoding too short ({len(data)} bytes)")
        magic, version, alpha, count, total, vmin, vmax, zero = _HEADER.unpack_from(data, 0)
        if magic != _MAGIC or version != _VERSION or alpha != RELATIVE_ACCURACY:
            raise ValueError(f"not a capplan latency sketch (magic {magic!r}, version {version}, alpha {alpha})")
        min_key, n_bins = _STORE.unpack_from(data, _HEADER.size)
        body = data[_HEADER.size + _STORE.size:]
        if len(body) != 8 * n_bins:
            raise ValueError(f"latency sketch has {len(body)} bytes of bins, expected {8 * n_bins}")
        bins = array("d")
        bins.frombytes(body)
        sketch = cls()
        _restore(sketch._sketch, min_key, _little_endian(bins), (count, total, vmin, vmax, zero))
        return sketch

    def __eq__(self, other: object) -> bool:
        return isinstance(other, LatencySketch) and self.to_bytes() == other.to_bytes()

    def __repr__(self) -> str:
        return f"LatencySketch(count={self.count}, p50={self.quantile(0.5):.3f}ms, max={self.max_ms:.3f}ms)"


def merge_sketches(sketches: Iterable[LatencySketch]) -> LatencySketch:
    """One sketch holding every sample of ``sketches`` (an empty sketch for none)."""
    merged = LatencySketch()
    for sketch in sketches:
        merged.merge(sketch)
    return merged


def _little_endian(bins: array) -> array:
    if sys.byteorder != "little":  # pragma: no cover - exercised only on big-endian hosts
        bins = array("d", bins)
        bins.byteswap()
    return bins


def _restore(sk: DDSketch, min_key: int, bins: array, stats: tuple[float, ...]) -> None:
    count, total, vmin, vmax, zero = stats
    store = sk._store
    if len(bins):
        store.bins = list(bins)
        store.offset = min_key
        store.min_key = min_key
        store.max_key = min_key + len(bins) - 1
        store.count = math.fsum(bins)
    sk._zero_count = zero
    sk._count = count
    sk._sum = total
    if count:
        sk._min, sk._max = vmin, vmax
