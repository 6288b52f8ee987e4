"""Import k6's ``--out json=FILE`` (NDJSON points) as a run, optionally with ``--summary-export``.

Each line of k6's JSON output is a ``Metric`` declaration or a ``Point``. What is read:

* ``http_req_duration`` points: one per request, ``value`` in ms at ``time`` (when the
  response completed); the ``expected_response`` tag says whether it succeeded (k6's
  ``http_req_failed``), ``status``/``error_code`` give the failure's kind;
* the ``vus`` gauge (sampled once a second): the closed-model concurrency of the
  requests that follow it;
* for arrival-rate executors (the open model): ``iteration_duration`` points, whose
  ``time − value`` is when k6 started the iteration, and ``dropped_iterations``
  (arrivals k6 could not start for want of VUs); both together are the offered load.

k6's JSON output does not name the executor. ``load_model="auto"`` takes the run as open
when k6 dropped iterations, when the ``vus`` gauge read 0 while requests completed (a
looping executor keeps every VU busy, an arrival-rate one activates VUs per iteration), or
when iterations start on a schedule (:func:`_start_gap_cv` below :data:`SCHEDULED_CV`). A
closed run of one VU against a server of nearly constant latency also starts iterations
regularly: pass ``load_model="closed"`` (or ``"open"``) to say it outright.

Latency percentiles are re-computed from the raw points through capplan's sketch; with
``summary`` (k6's ``--summary-export`` file) k6's own end-of-test figures are kept in
run.json next to them (``summary.k6_summary_ms``) for comparison.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from capplan.errors import ConfigError, InputDataError
from capplan.store.import_samples import ImportOptions, RequestSamples, bad_line, write_samples_run

_WANTED = ("http_req_duration", "vus", "iteration_duration", "dropped_iterations")
_FIX = "re-run k6 with --out json=FILE and keep the whole file"
LOAD_MODELS = ("auto", "closed", "open")


def read_k6_points(path: Path) -> dict[str, list[tuple[str, float, dict[str, Any]]]]:
    """``(time, value, tags)`` of the points k6 wrote for each wanted metric; damaged lines are errors."""
    if not path.is_file():
        raise InputDataError(f"k6 JSON output not found, {str(path)!r}: check the path given to --out json=")
    points: dict[str, list[tuple[str, float, dict[str, Any]]]] = {name: [] for name in _WANTED}
    try:
        with path.open(encoding="utf-8") as handle:
            for number, line in enumerate(handle, start=1):
                _read_line(line, number, path, points)
    except UnicodeDecodeError as exc:
        raise InputDataError(f"k6 JSON output is not UTF-8 text, {str(path)!r}: {_FIX}") from exc
    return points


def _read_line(line: str, number: int, path: Path, points: dict[str, list]) -> None:
    if not line.strip():
        return
    try:
        record = json.loads(line)
    except json.JSONDecodeError as exc:
        raise bad_line("k6", number, path, f"not JSON ({exc.msg}, {line[:60].strip()!r})", _FIX) from exc
    if not isinstance(record, dict) or "type" not in record:
        raise bad_line("k6", number, path, "not a k6 Metric or Point record", _FIX)
    if record.get("type") != "Point" or record.get("metric") not in points:
        return
    data = record.get("data")
    try:
        value = float(data["value"])
        points[record["metric"]].append((str(data["time"]), value, data.get("tags") or {}))
    except (TypeError, KeyError, ValueError) as exc:
        raise bad_line("k6", number, path, "a Point without a numeric value and a time", _FIX) from exc


def _epoch_s(times: list[str], path: Path) -> np.ndarray:
    try:
        stamps = pd.to_datetime(pd.Series(times, dtype=str), utc=True, format="ISO8601")
    except (ValueError, TypeError) as exc:
        raise InputDataError(f"k6 point has an unreadable time, {str(path)!r} ({exc}): {_FIX}") from exc
    return (stamps - pd.Timestamp(0, tz="UTC")).dt.total_seconds().to_numpy(float)


def _requests(points: list, path: Path) -> pd.DataFrame:
    if not points:
        raise InputDataError(f"k6 JSON output has no http_req_duration points, {str(path)!r}: "
                             "the script made no HTTP requests, or k6 ran without --out json")
    tags = [p[2] for p in points]
    ok = np.array([t.get("expected_response", "true") == "true" for t in tags])
    return pd.DataFrame({
        "end_s": _epoch_s([p[0] for p in points], path), "latency_ms": [p[1] for p in points], "ok": ok,
        "kind": [_kind(t) if not good else "" for t, good in zip(tags, ok)]})


def _kind(tags: dict[str, Any]) -> str:
    status = str(tags.get("status", "0"))
    if status not in ("", "0"):
        return f"HTTP {status}"
    return f"k6 error {tags['error_code']}" if tags.get("error_code") else "transport error"


def _vus(points: list, path: Path) -> pd.DataFrame:
    if not points:
        return pd.DataFrame({"t": [0.0], "users": [0.0]})
    return pd.DataFrame({"t": _epoch_s([p[0] for p in points], path), "users": [p[1] for p in points]})


def _with_users(requests: pd.DataFrame, vus: pd.DataFrame) -> pd.DataFrame:
    """Each request gets the last ``vus`` reading before it (the first reading before any)."""
    ordered = requests.sort_values("end_s", kind="stable").reset_index(drop=True)
    merged = pd.merge_asof(ordered, vus.sort_values("t"), left_on="end_s", right_on="t", direction="backward")
    merged["users"] = merged["users"].fillna(float(vus.sort_values("t")["users"].iloc[0]))
    return merged.drop(columns="t")


def _offered(points: dict[str, list], path: Path) -> pd.Series:
    """Arrivals per epoch second: iteration starts plus dropped iterations."""
    started = [p for p in points["iteration_duration"]]
    starts = _epoch_s([p[0] for p in started], path) - np.array([p[1] for p in started]) / 1000.0
    dropped = points["dropped_iterations"]
    drops = np.repeat(_epoch_s([p[0] for p in dropped], path), [max(int(p[1]), 0) for p in dropped])
    seconds = np.floor(np.concatenate([starts, drops])).astype(np.int64)
    return pd.Series(seconds).value_counts().sort_index().astype(float)


SCHEDULED_CV = 0.25
"""Iteration starts whose gaps vary less than this (coefficient of variation) follow a schedule."""


def _is_open(points: dict[str, list], requests: pd.DataFrame, vus: pd.DataFrame, path: Path) -> bool:
    if points["dropped_iterations"]:
        return True
    seconds_with_requests = set(np.floor(requests["end_s"]).astype(np.int64))
    idle = vus[vus["users"] == 0]
    if any(int(math.floor(t)) in seconds_with_requests for t in idle["t"]):
        return True
    return _start_gap_cv(points["iteration_duration"], path) < SCHEDULED_CV


def _start_gap_cv(durations: list, path: Path) -> float:
    """Median over seconds of the coefficient of variation of the gaps between iteration starts.

    An arrival-rate executor starts iterations at exact intervals (CV near 0); looping VUs
    start one whenever one ends, so starts are as irregular as response times (CV near 1).
    """
    if len(durations) < 20:
        return math.inf
    starts = np.sort(_epoch_s([p[0] for p in durations], path) - np.array([p[1] for p in durations]) / 1000.0)
    gaps = pd.Series(np.diff(starts)).groupby(np.floor(starts[1:]))
    stats = gaps.agg(["mean", "std", "count"])
    stats = stats[(stats["count"] >= 5) & (stats["mean"] > 0)]
    return float((stats["std"] / stats["mean"]).median()) if len(stats) else math.inf


def read_k6_summary(path: Path) -> dict[str, float]:
    """k6's own ``http_req_duration`` figures from ``--summary-export`` (ms, keyed as k6 names them)."""
    try:
        metrics = json.loads(path.read_text(encoding="utf-8"))["metrics"]
        trend = metrics.get("http_req_duration{expected_response:true}") or metrics["http_req_duration"]
        trend = trend.get("values", trend)  # handleSummary's data nests the figures under "values"
        return {str(k): float(v) for k, v in trend.items() if isinstance(v, (int, float))}
    except FileNotFoundError as exc:
        raise InputDataError(f"k6 summary not found, {str(path)!r}: pass the --summary-export file") from exc
    except (json.JSONDecodeError, KeyError, TypeError, AttributeError, UnicodeDecodeError) as exc:
        raise InputDataError(f"k6 summary has no http_req_duration trend, {str(path)!r}: "
                             "pass the file k6 wrote with --summary-export") from exc


def import_k6_json(source: Path | str, *, summary: Path | str | None = None, load_model: str = "auto",
                   options: ImportOptions | None = None) -> Path:
    """Import k6's NDJSON output as a finalized run; return the run directory (module docstring)."""
    if load_model not in LOAD_MODELS:
        raise ConfigError(f"k6 load model is unknown, {load_model!r}: use auto, closed or open")
    path = Path(source)
    points = read_k6_points(path)
    requests, vus = _requests(points["http_req_duration"], path), _vus(points["vus"], path)
    model = ("open" if _is_open(points, requests, vus, path) else "closed") if load_model == "auto" else load_model
    frame = _with_users(requests, vus)
    extra: dict[str, Any] = {"k6_load_model": model, "load_model_detected": load_model == "auto"}
    if summary is not None:
        extra["k6_summary_ms"] = read_k6_summary(Path(summary))
    samples = RequestSamples(frame, "k6", str(path), model, _offered(points, path) if model == "open" else None)
    return write_samples_run(samples, options or ImportOptions(), extra)
