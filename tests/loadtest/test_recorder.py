"""Recorder: exact per-second buckets, open-model latency from the intended time, step aggregates."""

from __future__ import annotations

import io
import math

import numpy as np
from capplan.loadtest.recorder import (
    INTENDED_TS_KEY,
    LoadState,
    ProcessSample,
    Recorder,
    SecondBucket,
    StepWindow,
    error_kind,
    read_raw_latencies,
    second_row,
)


def test_every_response_time_is_recorded_unrounded():
    rec = Recorder()
    for ms in (1.234567, 2.5, 1234.5678):
        rec.on_request(response_time=ms)
    (bucket,) = rec.take().values()
    assert bucket.requests == 3
    assert bucket.sketch.max_ms == 1234.5678
    assert math.isclose(bucket.sketch.sum_ms, 1.234567 + 2.5 + 1234.5678)


def test_open_model_latency_counts_from_the_intended_send_time():
    rec = Recorder()
    rec.on_request(response_time=10.0, start_time=100.5, context={INTENDED_TS_KEY: 100.0})
    (bucket,) = rec.take().values()
    assert math.isclose(bucket.sketch.max_ms, 510.0)
    assert math.isclose(bucket.lag_ms_sum / bucket.sends, 500.0)


def test_errors_are_counted_by_kind():
    class Resp:
        status_code = 503

    rec = Recorder()
    rec.on_request(response_time=1.0, exception=RuntimeError("boom"), response=Resp())
    rec.on_request(response_time=1.0, exception=ConnectionRefusedError())
    (bucket,) = rec.take().values()
    assert bucket.errors == 2
    assert bucket.errors_by_kind == {"HTTP 503": 1, "ConnectionRefusedError": 1}
    assert error_kind(ValueError("x")) == "ValueError"


def test_take_leaves_the_current_second_in_place():
    rec = Recorder()
    rec.put(10, SecondBucket(requests=1))
    rec.put(11, SecondBucket(requests=2))
    assert list(rec.take(11)) == [10]
    assert list(rec.take()) == [11]


def test_wire_round_trip_then_merge_equals_one_bucket():
    a, b, whole = Recorder(), Recorder(), Recorder()
    rng = np.random.default_rng(4)
    for i, ms in enumerate(rng.exponential(20, size=2000)):
        (a if i % 2 else b).on_request(response_time=ms)
        whole.on_request(response_time=ms)
    merged = SecondBucket()
    for rec in (a, b):
        for bucket in rec.take().values():
            merged.merge(SecondBucket.from_wire(bucket.to_wire()))
    (single,) = whole.take().values()
    assert merged.requests == single.requests == 2000
    assert [merged.sketch.quantile(q) for q in (0.5, 0.99, 0.999)] == \
        [single.sketch.quantile(q) for q in (0.5, 0.99, 0.999)]


def test_raw_audit_file_holds_every_latency(tmp_path):
    raw = io.BytesIO()
    rec = Recorder(raw)
    for ms in (1.0, 2.0, 3.5):
        rec.on_request(response_time=ms)
    (tmp_path / "local.f64").write_bytes(raw.getvalue())
    assert read_raw_latencies(tmp_path / "local.f64") == [1.0, 2.0, 3.5]


def _row_and_bucket(t_s, values):
    bucket = SecondBucket()
    for v in values:
        bucket.sketch.add(v)
        bucket.latency_sq_sum += v * v
    bucket.requests = len(values)
    row = second_row(t_s, 1000 + int(t_s), bucket, LoadState("step", 0, 4, math.nan), ProcessSample())
    return row, bucket


def test_step_window_aggregates_only_whole_seconds_of_the_steady_window():
    window = StepWindow(step=0, stage="step", level=4)
    seconds = {0: [100.0] * 5, 1: [50.0] * 8, 2: [10.0, 20.0], 3: [30.0, 40.0], 4: [999.0]}
    for t, values in seconds.items():
        window.add(*_row_and_bucket(float(t), values))
    row = window.finish(start_s=0.0, steady_start_s=2.0, end_s=4.5)  # second 4 is not whole
    assert row["requests"] == 4 and row["duration_s"] == 2.0
    assert row["throughput_rps"] == 2.0
    assert math.isclose(row["latency_mean_ms"], 25.0)
    assert math.isclose(row["latency_std_ms"], float(np.std([10, 20, 30, 40], ddof=1)))
    assert math.isclose(row["concurrency_little"], 2.0 * 25.0 / 1000)


def test_second_row_has_the_architecture_columns():
    row, _ = _row_and_bucket(3.0, [5.0, 6.0])
    for column in ("t_s", "ts", "stage", "step", "users", "offered_rps", "requests", "throughput_rps", "errors",
                   "error_rate", "errors_by_kind", "latency_p50_ms", "latency_p90_ms", "latency_p95_ms",
                   "latency_p99_ms", "latency_p999_ms", "latency_max_ms", "latency_mean_ms", "gen_lag_ms",
                   "gen_cpu_pct", "target_cpu_pct", "target_rss_mb", "sketch"):
        assert column in row
