"""Per-second recording of every response, exactly, from Locust's request event.

Each generator process has a :class:`Recorder` listening to ``events.request``: every
response time (in ms, as measured by Locust's client with ``perf_counter``, not its
rounded stats) goes into the :class:`SecondBucket` of the wall-clock second in which the
response completed. Only successful responses feed the latency sketch and the throughput
(``requests - errors``): a refused connection answers in microseconds and would read as a
fast, busy service. Failures go to their own sketch and are counted by kind. In the open model the request carries its intended send time in
its context (``capplan_intended_ts``), and the latency is measured from that instant so
coordinated omission does not hide queueing in the generator.

Buckets are mergeable (sketch + counters), so a master can merge what its workers ship
(:meth:`SecondBucket.to_wire`) into exactly the buckets a single process would have had.
:class:`StepWindow` turns a step's seconds into its steady-state aggregates.
"""

from __future__ import annotations

import json
import math
import struct
import time
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

from capplan.models.sketch import LatencySketch

INTENDED_TS_KEY = "capplan_intended_ts"
"""Request-context key carrying the open model's intended send time (epoch seconds)."""

_F64 = struct.Struct("<d")

PERCENTILES = (("p50", 0.5), ("p90", 0.9), ("p95", 0.95), ("p99", 0.99), ("p999", 0.999))


@dataclass
class SecondBucket:
    """Everything recorded for one wall-clock second, mergeable across processes."""

    sketch: LatencySketch = field(default_factory=LatencySketch)
    """Latencies of the successful responses only."""
    requests: int = 0
    """Completed requests, successful or failed."""
    errors: int = 0
    errors_by_kind: Counter = field(default_factory=Counter)
    lag_ms_sum: float = 0.0
    sends: int = 0
    intended: int = 0
    gen_cpu_pct: float = math.nan
    latency_sq_sum: float = 0.0
    error_sketch: LatencySketch = field(default_factory=LatencySketch)
    """Latencies of the failed requests (how long a failure took to arrive)."""

    @property
    def successes(self) -> int:
        """Successful responses: the ones that count as throughput and latency."""
        return self.requests - self.errors

    def merge(self, other: SecondBucket) -> None:
        """Fold ``other`` into this bucket (exact: sketch bins and counters add up)."""
        self.sketch.merge(other.sketch)
        self.requests += other.requests
        self.errors += other.errors
        self.errors_by_kind.update(other.errors_by_kind)
        self.lag_ms_sum += other.lag_ms_sum
        self.sends += other.sends
        self.intended += other.intended
        self.gen_cpu_pct = _nanmax(self.gen_cpu_pct, other.gen_cpu_pct)
        self.latency_sq_sum += other.latency_sq_sum
        self.error_sketch.merge(other.error_sketch)

    def to_wire(self) -> dict[str, Any]:
        """A msgpack-friendly dict for Locust's custom messages."""
        return {"sketch": self.sketch.to_bytes(), "requests": self.requests, "errors": self.errors,
                "kinds": dict(self.errors_by_kind), "lag": self.lag_ms_sum, "sends": self.sends,
                "intended": self.intended, "cpu": self.gen_cpu_pct, "sq": self.latency_sq_sum,
                "err_sketch": self.error_sketch.to_bytes()}

    @classmethod
    def from_wire(cls, data: Mapping[str, Any]) -> SecondBucket:
        """Inverse of :meth:`to_wire`."""
        return cls(LatencySketch.from_bytes(data["sketch"]), int(data["requests"]), int(data["errors"]),
                   Counter(data["kinds"]), float(data["lag"]), int(data["sends"]), int(data["intended"]),
                   float(data["cpu"]), float(data["sq"]),
                   LatencySketch.from_bytes(data["err_sketch"]) if data.get("err_sketch") else LatencySketch())


def _nanmax(a: float, b: float) -> float:
    if math.isnan(a):
        return b
    return a if math.isnan(b) else max(a, b)


def error_kind(exception: BaseException, response: Any = None) -> str:
    """A short, stable label for an error: ``HTTP 503``, ``ConnectionRefusedError``, ..."""
    status = getattr(response, "status_code", None)
    if isinstance(status, int) and status >= 400:
        return f"HTTP {status}"
    if "timed out" in str(exception).lower() or isinstance(exception, TimeoutError):
        return "Timeout"  # --request-timeout passed (geventhttpclient wraps it in RetriesExceeded)
    if status == 0 or status is None:
        inner = getattr(exception, "__context__", None) or exception
        return type(inner).__name__ if not isinstance(inner, str) else "error"
    return type(exception).__name__


class Recorder:
    """Buckets every response of this process by completion second (epoch seconds).

    ``raw_file``, when given, receives every latency as a little-endian float64 (an
    audit trail used by tests and benchmarks to compare the sketches with raw data).
    """

    def __init__(self, raw_file: BinaryIO | None = None) -> None:
        self._buckets: dict[int, SecondBucket] = {}
        self._raw = raw_file

    def on_request(self, response_time: float | None = None, exception: BaseException | None = None,
                   context: Mapping[str, Any] | None = None, start_time: float | None = None,
                   response: Any = None, **_: Any) -> None:
        """Listener for Locust's ``events.request``."""
        now = time.time()
        latency_ms = float(response_time or 0.0)
        bucket = self._bucket(int(now))
        intended = context.get(INTENDED_TS_KEY) if context else None
        if intended is not None and start_time is not None:
            lag_ms = max(0.0, (start_time - intended) * 1000.0)
            latency_ms += lag_ms
            bucket.lag_ms_sum += lag_ms
            bucket.sends += 1
        latency_ms = max(latency_ms, 0.0)
        bucket.requests += 1
        if exception is not None:
            bucket.errors += 1
            bucket.errors_by_kind[error_kind(exception, response)] += 1
            bucket.error_sketch.add(latency_ms)
        else:
            bucket.sketch.add(latency_ms)
            bucket.latency_sq_sum += latency_ms * latency_ms
        if self._raw is not None:
            self._raw.write(_F64.pack(latency_ms))

    def count_intended(self, epoch_s: float) -> None:
        """Count one intended arrival (open model) in the second it was due."""
        self._bucket(int(epoch_s)).intended += 1

    def take(self, before_epoch_s: int | None = None) -> dict[int, SecondBucket]:
        """Remove and return the buckets of seconds before ``before_epoch_s`` (all if None)."""
        keys = [k for k in self._buckets if before_epoch_s is None or k < before_epoch_s]
        return {k: self._buckets.pop(k) for k in sorted(keys)}

    def put(self, epoch_s: int, bucket: SecondBucket) -> None:
        """Merge a bucket (e.g. shipped by a worker) into this recorder."""
        self._bucket(epoch_s).merge(bucket)

    def _bucket(self, epoch_s: int) -> SecondBucket:
        bucket = self._buckets.get(epoch_s)
        if bucket is None:
            bucket = self._buckets[epoch_s] = SecondBucket()
        return bucket


def read_raw_latencies(path: Path) -> list[float]:
    """Read a raw latency file written by :class:`Recorder` (float64 little-endian, ms)."""
    data = Path(path).read_bytes()
    return [v for (v,) in _F64.iter_unpack(data[: len(data) // 8 * 8])]


@dataclass(frozen=True)
class LoadState:
    """What the generator was asked to do during a second."""

    stage: str
    step: int
    users: int
    offered_rps: float


@dataclass(frozen=True)
class ProcessSample:
    """CPU % and RSS of the target process for one second (NaN when unknown)."""

    target_cpu_pct: float = math.nan
    target_rss_mb: float = math.nan


def second_row(t_s: float, epoch_s: int, bucket: SecondBucket, state: LoadState,
               target: ProcessSample) -> dict[str, Any]:
    """One per-second row with the run directory's column names (docs/architecture.md)."""
    sketch = bucket.sketch
    row: dict[str, Any] = {
        "t_s": float(t_s), "ts": float(epoch_s), "stage": state.stage, "step": int(state.step),
        "users": int(state.users), "offered_rps": float(state.offered_rps),
        "requests": bucket.requests, "throughput_rps": float(bucket.successes), "errors": bucket.errors,
        "error_rate": bucket.errors / bucket.requests if bucket.requests else 0.0,
        "errors_by_kind": json.dumps(dict(sorted(bucket.errors_by_kind.items()))),
    }
    row.update(error_columns(bucket.error_sketch, bucket.errors, 1.0))
    for name, q in PERCENTILES:
        row[f"latency_{name}_ms"] = sketch.quantile(q)
    row["latency_max_ms"] = sketch.max_ms
    row["latency_mean_ms"] = sketch.mean_ms
    row["gen_lag_ms"] = bucket.lag_ms_sum / bucket.sends if bucket.sends else math.nan
    row["gen_cpu_pct"] = bucket.gen_cpu_pct
    row["target_cpu_pct"] = target.target_cpu_pct
    row["target_rss_mb"] = target.target_rss_mb
    row["intended"] = bucket.intended
    row["sketch"] = sketch.to_bytes()
    return row


def error_columns(error_sketch: LatencySketch, errors: int, duration_s: float) -> dict[str, float]:
    """The failures' own rate (per s) and latency (ms; NaN without failures)."""
    return {"error_rps": errors / duration_s if duration_s else 0.0,
            "error_latency_mean_ms": error_sketch.mean_ms if errors else math.nan,
            "error_latency_p95_ms": error_sketch.quantile(0.95) if errors else math.nan}


def observed_from_sketch(sketch: LatencySketch, requests: int, errors: int) -> dict[str, float]:
    """The ``observed`` mapping :func:`capplan.models.slo.evaluate_slos` reads."""
    observed = {"p50": sketch.quantile(0.5), "p90": sketch.quantile(0.9), "p95": sketch.quantile(0.95),
                "p99": sketch.quantile(0.99), "p99.9": sketch.quantile(0.999), "max": sketch.max_ms,
                "mean": sketch.mean_ms, "error_rate": errors / requests if requests else 0.0}
    for pct in range(1, 100):  # any integer percentile an SLO may name, e.g. p75
        observed.setdefault(f"p{pct}", sketch.quantile(pct / 100))
    return _SketchObserved(sketch, observed)


class _SketchObserved(dict):
    """The observed mapping, answering any other percentile an SLO names (``p99.99``) from the sketch."""

    def __init__(self, sketch: LatencySketch, values: dict[str, float]) -> None:
        super().__init__(values)
        self._sketch = sketch

    def __contains__(self, key: object) -> bool:
        return super().__contains__(key) or _percentile(key) is not None

    def __missing__(self, key: str) -> float:
        q = _percentile(key)
        if q is None:
            raise KeyError(key)
        return self._sketch.quantile(q)


def _percentile(key: object) -> float | None:
    """``"p99.99"`` -> 0.9999; None for anything that is not a percentile key."""
    if not isinstance(key, str) or not key.startswith("p"):
        return None
    try:
        value = float(key[1:])
    except ValueError:
        return None
    return value / 100 if 0 < value < 100 else None


@dataclass
class StepWindow:
    """Collects a step's seconds and aggregates the steady part of it.

    With ``steady_from_s`` known up front (fixed schedules) seconds are merged as they
    come; otherwise (stress) they wait in ``pending`` — bounded by the step length —
    until :meth:`finish` names the steady window.
    """

    step: int
    stage: str
    level: float
    steady_from_s: float | None = None
    pending: list[tuple[dict[str, Any], SecondBucket]] = field(default_factory=list)
    merged: SecondBucket = field(default_factory=SecondBucket)
    rows: list[dict[str, float]] = field(default_factory=list)

    def add(self, row: Mapping[str, Any], bucket: SecondBucket) -> None:
        """Offer one recorded second of this step."""
        light = {k: row[k] for k in ("t_s", "users", "offered_rps", "throughput_rps", "gen_cpu_pct",
                                     "target_cpu_pct", "latency_mean_ms")}
        if self.steady_from_s is None:
            self.pending.append((light, bucket))
        elif light["t_s"] >= self.steady_from_s:
            self.merged.merge(bucket)
            self.rows.append(light)

    def throughput_from(self, t_s: float) -> list[float]:
        """Per-second throughput of the pending seconds from ``t_s`` on (for steady detection)."""
        return [r["throughput_rps"] for r, _ in self.pending if r["t_s"] >= t_s]

    def finish(self, start_s: float, steady_start_s: float, end_s: float) -> dict[str, Any]:
        """The step's row for steps.parquet (docs/architecture.md column names)."""
        for light, bucket in self.pending:
            if steady_start_s <= light["t_s"] and light["t_s"] + 1 <= end_s + 1e-6:  # whole seconds only
                self.merged.merge(bucket)
                self.rows.append(light)
        self.pending.clear()
        return step_row(self, start_s, steady_start_s, end_s)


def _mean(rows: list[dict[str, float]], key: str) -> float:
    values = [r[key] for r in rows if not math.isnan(r[key])]
    return sum(values) / len(values) if values else math.nan


def step_row(window: StepWindow, start_s: float, steady_start_s: float, end_s: float) -> dict[str, Any]:
    """Aggregate a finished :class:`StepWindow` into one steps.parquet row."""
    b, rows = window.merged, window.rows
    duration_s = float(len(rows))
    thr = b.successes / duration_s if duration_s else 0.0
    sk = b.sketch
    row: dict[str, Any] = {
        "step": window.step, "stage": window.stage, "users": int(round(_mean(rows, "users"))) if rows else 0,
        "offered_rps": _mean(rows, "offered_rps") if rows else math.nan, "start_s": start_s, "end_s": end_s,
        "steady_start_s": steady_start_s, "duration_s": duration_s, "requests": b.requests,
        "throughput_rps": thr, "errors": b.errors, "error_rate": b.errors / b.requests if b.requests else 0.0,
    }
    for name, q in PERCENTILES:
        row[f"latency_{name}_ms"] = sk.quantile(q)
    row["latency_max_ms"], row["latency_mean_ms"] = sk.max_ms, sk.mean_ms
    row["latency_std_ms"] = _std_ms(b)
    row["concurrency_little"] = thr * sk.mean_ms / 1000.0 if b.successes else math.nan
    row.update(error_columns(b.error_sketch, b.errors, duration_s))
    row["gen_cpu_pct"] = _mean(rows, "gen_cpu_pct") if rows else math.nan
    row["target_cpu_pct"] = _mean(rows, "target_cpu_pct") if rows else math.nan
    # Open model only (closed runs draw no arrivals): arrivals due in the steady window.
    row["intended"] = b.intended
    row["intended_rps"] = b.intended / duration_s if duration_s and b.intended else math.nan
    row["achieved_ratio"] = b.requests / b.intended if b.intended else math.nan
    row["sketch"] = sk.to_bytes()
    row["level"] = window.level
    return row


def _std_ms(bucket: SecondBucket) -> float:
    """Exact standard deviation of the latencies from their sum and sum of squares (ms)."""
    n = bucket.sketch.count
    if n < 2:
        return math.nan
    mean = bucket.sketch.sum_ms / n
    return math.sqrt(max(0.0, (bucket.latency_sq_sum - n * mean * mean) / (n - 1)))
