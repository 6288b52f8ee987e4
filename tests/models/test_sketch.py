"""LatencySketch: relative error against exact numpy percentiles, exact merge and encoding."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from capplan.models.sketch import LatencySketch, merge_sketches

QUANTILES = (0.5, 0.9, 0.95, 0.99, 0.999)
latencies = st.lists(st.floats(min_value=0.01, max_value=60_000, allow_nan=False), min_size=1, max_size=400)


def _sketch_of(values) -> LatencySketch:
    sketch = LatencySketch()
    sketch.add_many(values)
    return sketch


def _within_one_percent_of_rank(sketch: LatencySketch, values, q: float) -> bool:
    """The sketch answers within 1 % of the sample numpy's "lower" percentile picks."""
    exact = float(np.percentile(np.asarray(values), 100 * q, method="lower"))
    return math.isclose(sketch.quantile(q), exact, rel_tol=0.01)


@settings(max_examples=150, deadline=None)
@given(latencies)
def test_quantiles_are_within_one_percent_of_exact_percentiles(values):
    sketch = _sketch_of(values)
    for q in QUANTILES:
        assert _within_one_percent_of_rank(sketch, values, q)


@settings(max_examples=100, deadline=None)
@given(latencies, latencies)
def test_merging_two_sketches_equals_sketching_all_samples(a, b):
    left, right = _sketch_of(a), _sketch_of(b)
    left.merge(right)
    whole = _sketch_of(a + b)
    for q in QUANTILES:
        assert left.quantile(q) == whole.quantile(q)
    assert left.count == len(a) + len(b)
    assert left.max_ms == max(a + b)


@settings(max_examples=100, deadline=None)
@given(latencies)
def test_bytes_round_trip_is_exact(values):
    sketch = _sketch_of(values)
    decoded = LatencySketch.from_bytes(sketch.to_bytes())
    assert decoded == sketch
    assert decoded.count == len(values)
    assert decoded.sum_ms == sketch.sum_ms
    assert [decoded.quantile(q) for q in QUANTILES] == [sketch.quantile(q) for q in QUANTILES]


def test_decoded_sketch_keeps_accepting_samples_outside_its_range():
    sketch = LatencySketch.from_bytes(_sketch_of([10.0, 11.0]).to_bytes())
    sketch.add_many([0.001, 50_000.0])
    assert sketch.count == 4
    assert math.isclose(sketch.quantile(1.0), 50_000.0)
    assert sketch.min_ms == 0.001


def test_heavy_tailed_samples_meet_the_error_budget_against_linear_percentiles():
    rng = np.random.default_rng(7)
    values = rng.lognormal(mean=3.0, sigma=1.0, size=200_000)
    sketch = _sketch_of(values)
    for q in QUANTILES:
        exact = float(np.percentile(values, 100 * q))
        assert abs(sketch.quantile(q) / exact - 1) <= 0.01


def test_merge_of_many_sketches_matches_one_sketch():
    rng = np.random.default_rng(1)
    parts = [rng.exponential(10.0, size=500) for _ in range(8)]
    merged = merge_sketches(_sketch_of(p) for p in parts)
    whole = _sketch_of(np.concatenate(parts))
    assert merged.count == whole.count
    assert [merged.quantile(q) for q in QUANTILES] == [whole.quantile(q) for q in QUANTILES]
    assert merged.max_ms == whole.max_ms


def test_empty_sketch_reports_nan_and_round_trips():
    sketch = LatencySketch()
    assert sketch.count == 0
    assert math.isnan(sketch.quantile(0.95)) and math.isnan(sketch.mean_ms) and math.isnan(sketch.max_ms)
    assert LatencySketch.from_bytes(sketch.to_bytes()).count == 0


def test_zero_latency_is_counted_exactly():
    sketch = _sketch_of([0.0, 0.0, 5.0])
    assert sketch.quantile(0.0) == 0.0
    assert sketch.count == 3


@pytest.mark.parametrize("bad", [-1.0, math.nan, math.inf])
def test_invalid_latency_is_rejected(bad):
    with pytest.raises(ValueError, match="latency must be"):
        LatencySketch().add(bad)


def test_garbage_bytes_are_rejected_not_unpickled():
    with pytest.raises(ValueError):
        LatencySketch.from_bytes(b"\x80\x04not a sketch at all, definitely not" * 2)


def test_encoding_is_compact():
    rng = np.random.default_rng(3)
    sketch = _sketch_of(rng.lognormal(3.0, 0.5, size=10_000))
    assert len(sketch.to_bytes()) < 8 * 1_000
