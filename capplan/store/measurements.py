"""Read load-test measurements for the saturation estimator: run directories or a CSV.

- A run directory (``datasets/runs/<ts>-<scenario>/``, schema in docs/architecture.md):
  ``steps.parquet`` gives one row per load level in steady state. Closed-model runs use
  ``users`` as the concurrency N; open-model runs use ``concurrency_little`` (X·R, Little's
  law), or X·mean latency when that column is missing.
- A CSV from any tool (JMeter, k6, wrk …): columns ``concurrency`` and ``throughput``
  (aliases ``users``/``threads``/``connections`` and ``throughput_rps``/``rps``), optionally
  ``latency_ms`` (mean), ``latency_p95_ms`` (or ``p95_ms``) and other percentiles,
  ``latency_std_ms`` and ``error_rate``.

Several inputs are merged into one :class:`~capplan.models.steps.Measurements` (their
steps concatenated), as several runs of the same service.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterable
from pathlib import Path

import numpy as np
import pandas as pd

from capplan.errors import InputDataError
from capplan.models.steps import LATENCY_KEYS, Measurements

_CONCURRENCY = ("concurrency", "users", "threads", "connections", "vus", "n")
_THROUGHPUT = ("throughput", "throughput_rps", "rps", "requests_per_s", "x")
_PERCENTILE_COLUMN = re.compile(r"^(?:latency_)?(p\d+(?:\.\d+)?|max|mean)_ms$")
MAX_MEASURED = 1e9
"""Largest value a measurement column takes (users, req/s, ms): above it a value is a typo or
garbage, and the fits (least squares on N and X) lose all precision."""

_STEP_PERCENTILES = {"latency_p50_ms": "p50", "latency_p90_ms": "p90", "latency_p95_ms": "p95",
                     "latency_p99_ms": "p99", "latency_p999_ms": "p99.9", "latency_max_ms": "max",
                     "latency_mean_ms": "mean"}


def load_measurements(paths: Iterable[str | Path]) -> Measurements:
    """Read and merge run directories and/or measurement CSVs into one :class:`Measurements`."""
    parts = [_load_one(Path(p)) for p in paths]
    if not parts:
        raise InputDataError("no measurements given, 0 paths, pass a run directory or a CSV file")
    return _merge(parts)


def _load_one(path: Path) -> Measurements:
    if path.is_dir():
        return read_run_steps(path)
    if path.name == "run.json" and path.is_file():  # the run's own metadata file names its run
        return read_run_steps(path.parent)
    if path.is_file():
        return read_measurements_csv(path)
    raise InputDataError(f"measurements not found, {str(path)!r}, pass a run directory or a CSV file")


def read_measurements_csv(path: Path) -> Measurements:
    """One CSV of per-level measurements (see the module docstring for the columns)."""
    try:
        frame = pd.read_csv(path)
    except (OSError, UnicodeDecodeError, pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
        raise InputDataError(f"cannot read measurements CSV, {str(path)!r} ({exc.__class__.__name__}), "
                             "pass a CSV with columns concurrency,throughput[,latency_ms]") from exc
    frame.columns = [str(c).strip().lower() for c in frame.columns]
    n_col, x_col = _pick(frame, _CONCURRENCY, path), _pick(frame, _THROUGHPUT, path)
    latency = {}
    for column in frame.columns:
        key = "mean" if column == "latency_ms" else _percentile_key(column)
        if key is not None:
            latency[key] = _numeric(frame, column, path)
    return Measurements(
        concurrency=_numeric(frame, n_col, path), throughput_rps=_numeric(frame, x_col, path),
        latency_ms=latency, latency_std_ms=_optional(frame, "latency_std_ms", path),
        error_rate=_optional(frame, "error_rate", path), source=(str(path),) * len(frame),
        load_model="unknown", sources=(str(path),))


def read_run_steps(run_dir: Path) -> Measurements:
    """The per-step table of one run directory.

    A finished run is read through :func:`capplan.store.runs.read_meta` plus only the
    columns needed (steps.parquet, and ``step``/``gen_lag_ms`` of seconds.parquet): reading
    the whole per-second series with its sketches costs over a second for a 24-hour run.
    Anything else goes through :func:`capplan.store.runs.read_run`; an incomplete run is used
    with a note, and when it never wrote steps.parquet its steps are rebuilt from the
    per-second rows (:func:`steps_from_seconds`).
    """
    from capplan.store.runs import read_meta

    meta = read_meta(run_dir)
    if meta.get("status") == "complete" and (run_dir / "steps.parquet").is_file() and (
            run_dir / "seconds.parquet").is_file():
        steps = _read_parquet(run_dir / "steps.parquet")
        lag = _step_lag_ms(_read_parquet(run_dir / "seconds.parquet", ["step", "gen_lag_ms"]), steps)
        if len(steps):
            return _from_steps(steps, meta, run_dir, (), lag)
    return _read_whole_run(run_dir)


def _read_whole_run(run_dir: Path) -> Measurements:
    from capplan.store.runs import read_run

    run = read_run(run_dir)
    notes = list(run.warnings)  # parts skipped, writer gone …: they qualify the numbers
    if not run.complete:
        notes.append(f"run {run_dir.name} is {run.status}: using the steps it finished")
    steps = run.steps
    if len(steps) == 0 and len(run.seconds):
        steps = steps_from_seconds(run.seconds)
        notes.append(f"run {run_dir.name} has no steps.parquet: steps rebuilt from its per-second rows")
    if len(steps) == 0:
        raise InputDataError(f"run has no measured steps, {str(run_dir)!r} (status {run.status}), "
                             "run a stress test long enough to finish at least three steps")
    return _from_steps(steps, run.meta, run_dir, tuple(notes), _step_lag_ms(run.seconds, steps))


def _read_parquet(path: Path, columns: list[str] | None = None) -> pd.DataFrame:
    """Read (some columns of) a Parquet file; corrupt files are an input error."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        schema = pq.read_schema(path)
        wanted = None if columns is None else [c for c in columns if c in schema.names]
        return pq.read_table(path, columns=wanted).to_pandas()
    except (OSError, pa.ArrowException) as exc:
        raise InputDataError(f"run file is not valid Parquet, {str(path)!r} ({exc.__class__.__name__}), "
                             "re-run the test or restore the file") from exc


def _from_steps(steps: pd.DataFrame, meta: dict, run_dir: Path, notes: tuple[str, ...],
                lag_ms: np.ndarray) -> Measurements:
    load_model = str(meta.get("load_model") or "closed")
    x = _column(steps, "throughput_rps")
    latency = {key: _column(steps, col) for col, key in _STEP_PERCENTILES.items() if col in steps}
    concurrency = _column(steps, "users")
    if load_model == "open":
        little = _column(steps, "concurrency_little")
        concurrency = np.where(np.isfinite(little), little, x * latency.get("mean", np.nan) / 1000.0)
    return Measurements(
        concurrency=concurrency, throughput_rps=x, latency_ms=latency,
        latency_std_ms=_column(steps, "latency_std_ms"), error_rate=_column(steps, "error_rate"),
        offered_rps=_column(steps, "offered_rps"), gen_cpu_pct=_column(steps, "gen_cpu_pct"),
        target_cpu_pct=_column(steps, "target_cpu_pct"), gen_lag_ms=lag_ms,
        source=(run_dir.name,) * len(steps), load_model=load_model, think_time_s=_think_time_s(meta),
        sources=(str(run_dir),), notes=notes, slo_texts=tuple(str(t) for t in meta.get("slos") or ()))


def steps_from_seconds(seconds: pd.DataFrame) -> pd.DataFrame:
    """Per-step rows rebuilt from per-second rows (for a run killed before it wrote steps).

    Steady state is taken as the second half of each step's seconds; percentiles come from
    the merged per-second sketches when present, else the request-weighted mean of the
    per-second values (an approximation, noted by the caller).
    """
    step = pd.to_numeric(seconds.get("step"), errors="coerce")
    rows = []
    for number, group in seconds[step >= 0].groupby(step[step >= 0]):
        steady = group.iloc[len(group) // 2:]
        requests = pd.to_numeric(steady["requests"], errors="coerce").fillna(0)
        total = float(requests.sum())
        row = {"step": int(number), "users": float(pd.to_numeric(steady["users"], errors="coerce").median()),
               "offered_rps": float(pd.to_numeric(steady["offered_rps"], errors="coerce").mean()),
               "throughput_rps": float(pd.to_numeric(steady["throughput_rps"], errors="coerce").mean()),
               "error_rate": float(pd.to_numeric(steady["errors"], errors="coerce").sum() / total) if total else np.nan,
               "gen_cpu_pct": float(pd.to_numeric(steady["gen_cpu_pct"], errors="coerce").mean()),
               "target_cpu_pct": float(pd.to_numeric(steady["target_cpu_pct"], errors="coerce").mean())}
        row.update(_steady_latency(steady, requests))
        rows.append(row)
    return pd.DataFrame(rows)


def _steady_latency(steady: pd.DataFrame, requests: pd.Series) -> dict[str, float]:
    from capplan.models.sketch import LatencySketch, merge_sketches

    blobs = [b for b in steady.get("sketch", pd.Series(dtype=object)) if isinstance(b, (bytes, bytearray))]
    if blobs:
        merged = merge_sketches(LatencySketch.from_bytes(bytes(b)) for b in blobs)
        quantiles = {"latency_p50_ms": 0.5, "latency_p90_ms": 0.9, "latency_p95_ms": 0.95,
                     "latency_p99_ms": 0.99, "latency_p999_ms": 0.999, "latency_max_ms": 1.0}
        out = {col: merged.quantile(q) for col, q in quantiles.items()}
        out["latency_mean_ms"] = merged.mean_ms
        return out
    weights = requests.to_numpy(dtype=float)
    out = {}
    for col in _STEP_PERCENTILES:
        values = pd.to_numeric(steady[col], errors="coerce").to_numpy(dtype=float)
        ok = np.isfinite(values) & (weights > 0)
        out[col] = float(np.average(values[ok], weights=weights[ok])) if ok.any() else np.nan
    return out


def _step_lag_ms(seconds: pd.DataFrame, steps: pd.DataFrame) -> np.ndarray:
    """Mean generator lateness (ms) per step from the per-second rows; NaN when not recorded."""
    if "gen_lag_ms" not in seconds.columns or "step" not in seconds.columns or "step" not in steps.columns:
        return np.full(len(steps), np.nan)
    by_step = pd.to_numeric(seconds["gen_lag_ms"], errors="coerce").groupby(seconds["step"]).mean()
    return pd.to_numeric(steps["step"], errors="coerce").map(by_step).to_numpy(dtype=float)


def _think_time_s(meta: dict) -> float:
    """Mean think time from the run parameters (``think_time_s`` or ``wait_time_s``), else 0."""
    params = meta.get("parameters") or {}
    if isinstance(params, str):
        params = json.loads(params)
    for key in ("think_time_s", "wait_time_s"):
        value = params.get(key)
        if isinstance(value, (int, float)) and math.isfinite(value):
            return float(value)
        if isinstance(value, (list, tuple)) and len(value) == 2:  # (min, max) of a uniform pause
            return float(sum(value)) / 2.0
    return 0.0


def _merge(parts: list[Measurements]) -> Measurements:
    if len(parts) == 1:
        return parts[0]
    keys = sorted({k for p in parts for k in p.latency_ms})
    cat = lambda name: np.concatenate([p.column(name) for p in parts])
    models = {p.load_model for p in parts}
    return Measurements(
        concurrency=cat("concurrency"), throughput_rps=cat("throughput_rps"),
        latency_ms={k: np.concatenate([p.latency(k) for p in parts]) for k in keys},
        latency_std_ms=cat("latency_std_ms"), error_rate=cat("error_rate"), offered_rps=cat("offered_rps"),
        gen_cpu_pct=cat("gen_cpu_pct"), target_cpu_pct=cat("target_cpu_pct"), gen_lag_ms=cat("gen_lag_ms"),
        source=tuple(s for p in parts for s in p.source), load_model=models.pop() if len(models) == 1 else "mixed",
        think_time_s=max(p.think_time_s for p in parts), sources=tuple(s for p in parts for s in p.sources),
        notes=tuple(n for p in parts for n in p.notes),
        slo_texts=tuple(dict.fromkeys(t for p in parts for t in p.slo_texts)))


def _pick(frame: pd.DataFrame, names: tuple[str, ...], path: Path) -> str:
    for name in names:
        if name in frame.columns:
            return name
    raise InputDataError(f"measurements CSV lacks a {names[0]} column, {str(path)!r} has "
                         f"{', '.join(frame.columns) or 'no columns'}, add columns concurrency,throughput[,latency_ms]")


def _percentile_key(column: str) -> str | None:
    match = _PERCENTILE_COLUMN.match(column)
    if match is None:
        return None
    key = match[1]
    return "p99.9" if key == "p999" else key if key in LATENCY_KEYS or key.startswith("p") else None


def _numeric(frame: pd.DataFrame, column: str, path: Path) -> np.ndarray:
    values = pd.to_numeric(frame[column], errors="coerce")
    bad = values.isna() & frame[column].notna()
    if bad.any():
        row = int(np.flatnonzero(bad.to_numpy())[0])
        raise InputDataError(f"non-numeric {column} in measurements CSV row {row + 2}, "
                             f"{frame[column].iloc[row]!r} in {str(path)!r}, write plain numbers")
    out = values.to_numpy(dtype=float)
    check_measured_range(out, column, str(path))
    return out


def check_measured_range(values: np.ndarray, column: str, where: str) -> None:
    """InputDataError for an infinite value or one above :data:`MAX_MEASURED` in magnitude (NaN is missing)."""
    with np.errstate(invalid="ignore"):
        bad = np.isinf(values) | (np.abs(np.nan_to_num(values)) > MAX_MEASURED)
    if bad.any():
        row = int(np.flatnonzero(bad)[0])
        raise InputDataError(f"{column} out of range in row {row + 2} of {where!r}, {float(values[row])!r}, "
                             f"write values up to {MAX_MEASURED:g}")


def _optional(frame: pd.DataFrame, column: str, path: Path) -> np.ndarray | None:
    return _numeric(frame, column, path) if column in frame.columns else None


def _column(frame: pd.DataFrame, column: str) -> np.ndarray:
    if column not in frame.columns:
        return np.full(len(frame), np.nan)
    return pd.to_numeric(frame[column], errors="coerce").to_numpy(dtype=float)
