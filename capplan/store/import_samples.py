"""Per-request samples from any load generator, turned into a run directory.

k6 (``--out json``), JMeter (JTL) and hey (``-o csv``) all write one record per request,
so, unlike Locust's cumulative CSV, everything the run store holds can be rebuilt exactly:
each second's counts and a :class:`~capplan.models.sketch.LatencySketch` of its successful
responses, and each load level's steady-state aggregate re-merged from those sketches.

Rules shared by the three importers:

* a request belongs to the second in which it *completed* (seconds since the first
  completion); only successful responses count as throughput and latency, failures are
  counted by kind;
* a step is a plateau of constant load: ``users`` (threads, VUs, connections) in the
  closed model, the offered arrival rate in the open model. Its steady window drops the
  first ``settle_s`` seconds (ramp transient) and its last second (the level changed, or the
  tool stopped, somewhere inside it: in the open model a second that holds only part of the new
  rate can still fall within the plateau's tolerance). A plateau of one second is a transition,
  not a load level.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from capplan.errors import InputDataError
from capplan.models.sketch import LatencySketch, merge_sketches
from capplan.store.run_import import _write_or_remove  # the one write-or-leave-nothing path of imports
from capplan.store.run_writer import DEFAULT_ROOT, RunWriter

_QUANTILES = (("p50", 0.5), ("p90", 0.9), ("p95", 0.95), ("p99", 0.99), ("p999", 0.999))
OPEN_STEP_TOLERANCE = 0.02
"""Open model: a second whose offered rate differs from its step's median by more than 2 % (+1.5) starts a step.

k6's arrival-rate executors start iterations at exact intervals, so a second of a plateau at
rate r holds floor(r) or ceil(r) arrivals; a second in which the rate changed or the test
stopped holds visibly fewer or more, and becomes a one-second plateau (not a level)."""


@dataclass(frozen=True)
class RequestSamples:
    """One row per completed request, as an importer read it.

    ``frame`` columns: ``end_s`` (completion time, seconds since the Unix epoch),
    ``latency_ms``, ``ok`` (bool), ``kind`` (error kind, ``""`` for a success) and
    ``users`` (the closed-model load level when the request completed). ``offered_rps``
    maps a whole epoch second to the arrivals the generator scheduled in it (open model).
    """

    frame: pd.DataFrame
    tool: str
    source: str
    load_model: str = "closed"
    offered_rps: pd.Series | None = None


@dataclass(frozen=True)
class ImportOptions:
    """Where and how an imported run is written."""

    root: Path | str = DEFAULT_ROOT
    scenario: str | None = None
    host: str = "unknown"
    settle_s: float = 1.0


def write_samples_run(samples: RequestSamples, options: ImportOptions, summary: dict[str, Any]) -> Path:
    """Write ``samples`` as a finalized run directory and return its path (nothing left on failure)."""
    frame = samples.frame.sort_values("end_s", kind="stable").reset_index(drop=True)
    if frame.empty:
        raise InputDataError(f"{samples.tool} file has no requests, {samples.source!r}: run the test longer")
    start_s = math.floor(float(frame["end_s"].iloc[0]))
    seconds = seconds_from_samples(frame, start_s, samples)
    steps = steps_from_seconds(seconds, samples.load_model, options.settle_s)
    started = datetime.fromtimestamp(start_s, tz=timezone.utc)
    writer = RunWriter(options.scenario or f"{samples.tool}-import", options.host, root=options.root,
                       started_at=started, load_model=samples.load_model,
                       parameters={"source": samples.tool, "settle_s": options.settle_s})
    full = merge_sketches(LatencySketch.from_bytes(b) for b in seconds["sketch"])
    summary = {"imported_from": samples.source, "requests": int(len(frame)), "errors": int((~frame["ok"]).sum()),
               "latency_ms": exact_percentiles(frame.loc[frame["ok"], "latency_ms"].to_numpy(float)),
               "latency_ms_sketch": sketch_percentiles(full), "steps": int(len(steps)), **summary}
    return _write_or_remove(writer, seconds, steps, summary)


def sketch_percentiles(sketch: LatencySketch) -> dict[str, float]:
    """p50 … p99.9, max and mean (ms) of a sketch, keyed like the run store's columns."""
    out = {f"latency_{name}_ms": sketch.quantile(q) for name, q in _QUANTILES}
    out["latency_max_ms"], out["latency_mean_ms"] = sketch.max_ms, sketch.mean_ms
    return out


def exact_percentiles(latencies_ms: np.ndarray) -> dict[str, float]:
    """The whole run's percentiles from every raw latency (ms), linear between closest ranks.

    That is numpy's default and k6's own definition (rank ``q × (n − 1)``), so an imported
    k6 run's figures match k6's end-of-test summary; per-second and per-step figures come
    from the sketches instead (mergeable, within 0.5 % of a sample at that rank).
    """
    if len(latencies_ms) == 0:
        return {f"latency_{name}_ms": math.nan for name, _ in _QUANTILES} | {"latency_max_ms": math.nan,
                                                                             "latency_mean_ms": math.nan}
    out = {f"latency_{name}_ms": float(np.percentile(latencies_ms, 100 * q)) for name, q in _QUANTILES}
    out["latency_max_ms"], out["latency_mean_ms"] = float(latencies_ms.max()), float(latencies_ms.mean())
    return out


def seconds_from_samples(frame: pd.DataFrame, start_s: int, samples: RequestSamples) -> pd.DataFrame:
    """Per-second rows (run-store columns) from per-request rows."""
    second = np.floor(frame["end_s"].to_numpy(float) - start_s).astype(np.int64)
    rows = []
    for index, group in frame.groupby(second, sort=True):
        rows.append(_second_row(int(index), group, start_s, samples))
    return pd.DataFrame(rows)


def _second_row(index: int, group: pd.DataFrame, start_s: int, samples: RequestSamples) -> dict[str, Any]:
    ok = group["ok"].to_numpy(bool)
    sketch = LatencySketch()
    sketch.add_many(group["latency_ms"].to_numpy(float)[ok])
    errors = int((~ok).sum())
    kinds = group.loc[~ok, "kind"].value_counts().sort_index()
    offered = math.nan
    if samples.offered_rps is not None:
        offered = float(samples.offered_rps.get(start_s + index, 0.0))
    row: dict[str, Any] = {
        "t_s": float(index), "ts": pd.Timestamp(start_s + index, unit="s", tz="UTC"), "stage": "imported",
        "users": int(round(float(group["users"].median()))), "offered_rps": offered,
        "requests": int(len(group)), "throughput_rps": float(ok.sum()), "errors": errors,
        "error_rate": errors / len(group), "errors_by_kind": json.dumps({str(k): int(v) for k, v in kinds.items()}),
        "sketch": sketch.to_bytes(), "latency_sq_sum": float(np.square(group["latency_ms"].to_numpy(float)[ok]).sum()),
    }
    row.update(sketch_percentiles(sketch))
    return row


def step_ids(seconds: pd.DataFrame, load_model: str) -> np.ndarray:
    """Plateau number of each second (-1 outside any load level)."""
    if load_model == "open":
        return _open_step_ids(seconds["offered_rps"].to_numpy(float))
    users = seconds["users"].to_numpy()
    gap = np.concatenate([[True], np.diff(seconds["t_s"].to_numpy(float)) > 1.0])  # a silent second ends a step
    starts = (np.concatenate([[True], users[1:] != users[:-1]]) | gap) & (users > 0)
    return np.where(users > 0, np.cumsum(starts) - 1, -1)


def _open_step_ids(offered: np.ndarray) -> np.ndarray:
    ids, current, members = np.full(len(offered), -1), -1, []
    for i, rate in enumerate(offered):
        if not rate > 0:
            members = []
            continue
        level = float(np.median(members)) if members else math.nan
        if not members or abs(rate - level) > OPEN_STEP_TOLERANCE * level + 1.5:
            current, members = current + 1, []
        members.append(rate)
        ids[i] = current
    return ids


def steps_from_seconds(seconds: pd.DataFrame, load_model: str, settle_s: float) -> pd.DataFrame:
    """One steps.parquet row per plateau, over its steady window."""
    seconds = seconds.assign(step=step_ids(seconds, load_model))
    rows = []
    for step, group in seconds[seconds["step"] >= 0].groupby("step", sort=True):
        start_s, last_s = float(group["t_s"].iloc[0]), float(group["t_s"].iloc[-1])
        steady = group[(group["t_s"] >= start_s + settle_s) & (group["t_s"] < last_s)]
        if len(group) >= 2 and steady["throughput_rps"].sum() > 0:  # one second is a transition, not a level
            rows.append(_step_row(len(rows), steady, start_s, float(group["t_s"].iloc[-1]) + 1.0, load_model))
    seconds.drop(columns="step", inplace=True)
    return pd.DataFrame(rows)


def _step_row(step: int, steady: pd.DataFrame, start_s: float, end_s: float, load_model: str) -> dict[str, Any]:
    sketch = merge_sketches(LatencySketch.from_bytes(b) for b in steady["sketch"])
    duration_s = float(len(steady))
    requests, errors, ok = int(steady["requests"].sum()), int(steady["errors"].sum()), sketch.count
    throughput = ok / duration_s
    intended = float(steady["offered_rps"].sum()) if load_model == "open" else math.nan
    row: dict[str, Any] = {
        "step": step, "stage": "imported", "users": int(round(float(steady["users"].median()))),
        "offered_rps": intended / duration_s, "start_s": start_s, "end_s": end_s,
        "steady_start_s": float(steady["t_s"].iloc[0]), "duration_s": duration_s, "requests": requests,
        "throughput_rps": throughput, "errors": errors, "error_rate": errors / requests if requests else 0.0,
        **sketch_percentiles(sketch), "latency_std_ms": _std_ms(sketch, float(steady["latency_sq_sum"].sum())),
        "concurrency_little": throughput * sketch.mean_ms / 1000.0 if ok else math.nan,
        "intended": intended, "intended_rps": intended / duration_s,
        "achieved_ratio": requests / intended if intended > 0 else math.nan, "sketch": sketch.to_bytes(),
    }
    return row


def _std_ms(sketch: LatencySketch, sq_sum: float) -> float:
    n = sketch.count
    if n < 2:
        return math.nan
    mean = sketch.sum_ms / n
    return math.sqrt(max(0.0, (sq_sum - n * mean * mean) / (n - 1)))


def bad_line(tool: str, line: int, source: Path | str, what: str, fix: str) -> InputDataError:
    """The one error a damaged or truncated file gets: the tool, the line, what is wrong, the fix."""
    return InputDataError(f"{tool} file is damaged on line {line}, {what} in {str(source)!r}: {fix}")
