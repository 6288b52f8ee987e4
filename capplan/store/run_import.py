"""Turn measurements taken elsewhere into runs: Locust's ``--csv`` output and generic CSVs.

Locust's ``<prefix>_stats_history.csv`` has one row per second (``CSV_STATS_INTERVAL_SEC``)
with cumulative counters. What can and cannot be recovered from it:

* **Recovered exactly**: per-interval requests, failures and throughput (differences of
  ``Total Request Count`` / ``Total Failure Count`` over the integer ``Timestamp``), and the
  per-interval *mean* latency: ``Total Average Response Time`` is the exact running mean,
  so the interval mean is ``(avg_t*n_t - avg_{t-1}*n_{t-1}) / (n_t - n_{t-1})``.
  The ``Requests/s`` column is ignored: it is a lagging ~10 s rolling average.
* **Not recoverable**: per-interval percentiles in Locust's default mode — the percentile
  columns are *cumulative since the start* (``_percentile_fields(use_current=False)``),
  so they are imported as NaN and only the whole run's final percentiles are kept in the
  summary. With ``--csv-full-history`` they are Locust's "current" percentiles over a
  sliding window of about the last 10 s; they are imported as such (flagged
  ``locust_percentiles: "window_10s"`` in run.json) and a step's percentiles are taken
  from its last row only when the step's steady part is at least 10 s long.
* **Precision**: Locust rounds each response time to 2 significant digits before it
  enters its histogram (e.g. 147 ms -> 150 ms, 1234 ms -> 1200 ms) and prints integer
  ms, so imported percentiles carry up to ~5 % error; there is no sketch to re-merge.
* Requests completed after the last history row (Locust does not write a final row on
  exit) are missing; the run's totals in ``<prefix>_stats.csv`` are noted when present.

Steps are plateaus of constant ``User Count``; the first ``settle_s`` seconds of each are
dropped as ramp transient.
"""

from __future__ import annotations

import math
import shutil
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from capplan.errors import InputDataError
from capplan.store.measurements import check_measured_range
from capplan.store.run_writer import DEFAULT_ROOT, RunWriter

_LOCUST_REQUIRED = ("Timestamp", "User Count", "Name", "Total Request Count", "Total Failure Count",
                    "Total Average Response Time")
_LOCUST_PERCENTILES = {"50%": "latency_p50_ms", "90%": "latency_p90_ms", "95%": "latency_p95_ms",
                       "99%": "latency_p99_ms", "99.9%": "latency_p999_ms"}
_LOCUST_WINDOW_S = 10.0


def resolve_locust_history(source: Path | str) -> Path:
    """``x_stats_history.csv`` itself, or the prefix ``x`` given to ``locust --csv x``."""
    path = Path(source)
    if path.is_file() and path.name.endswith("_stats_history.csv"):
        return path
    candidate = Path(f"{source}_stats_history.csv")
    if candidate.is_file():
        return candidate
    raise InputDataError(
        f"Locust stats history not found, {str(source)!r}: pass the --csv prefix or its _stats_history.csv file"
    )


def read_locust_history(path: Path, name: str = "Aggregated") -> tuple[pd.DataFrame, bool]:
    """The rows of one stats entry (default Aggregated), and whether ``--csv-full-history`` was on."""
    frame = _read_csv(path)
    missing = [c for c in _LOCUST_REQUIRED if c not in frame.columns]
    if missing:
        raise InputDataError(f"Locust history lacks columns {missing}, {str(path)!r}: pass a _stats_history.csv file")
    full_history = bool((frame["Name"].astype(str) != "Aggregated").any())
    rows = frame[frame["Name"].astype(str) == name].copy()
    if rows.empty:
        raise InputDataError(f"Locust history has no rows named {name!r}, {str(path)!r}: use name='Aggregated'")
    for column in _LOCUST_REQUIRED[3:] + ("Timestamp", "User Count"):
        rows[column] = pd.to_numeric(rows[column], errors="coerce")
    for column in ("User Count", "Total Average Response Time"):  # counters of long runs may pass 1e9
        check_measured_range(rows[column].to_numpy(dtype=float), column, str(path))
    bad = rows[list(_LOCUST_REQUIRED[:2] + _LOCUST_REQUIRED[3:])].isna().any(axis=1)
    if bad.any():
        line = int(rows.index[bad][0]) + 2
        raise InputDataError(f"Locust history has a non-numeric counter on line {line}, {str(path)!r}: "
                             "the file is damaged; re-export it")
    rows = rows.drop_duplicates("Timestamp", keep="last").sort_values("Timestamp")
    started = rows["Total Request Count"] > 0
    if not started.any():
        raise InputDataError(f"Locust history has no completed requests, {str(path)!r}: run the test longer")
    first = max(int(np.argmax(started.to_numpy())) - 1, 0)  # keep the row before the first request
    return rows.iloc[first:].reset_index(drop=True), full_history


def locust_seconds(rows: pd.DataFrame, full_history: bool) -> pd.DataFrame:
    """Per-interval rows (run-store columns) from cumulative Locust counters."""
    count = rows["Total Request Count"].to_numpy(float)
    fails = rows["Total Failure Count"].to_numpy(float)
    total_ms = rows["Total Average Response Time"].to_numpy(float) * count
    reset = np.diff(count, prepend=0.0) < 0  # stats were reset (e.g. --reset-stats): restart from zero
    d_req = np.where(reset, count, np.diff(count, prepend=count[0]))
    d_fail = np.where(reset, fails, np.diff(fails, prepend=fails[0]))
    d_ms = np.where(reset, total_ms, np.diff(total_ms, prepend=total_ms[0]))
    stamps = rows["Timestamp"].to_numpy(float)
    dt = np.diff(stamps, prepend=stamps[0] - 1.0)
    with np.errstate(invalid="ignore", divide="ignore"):
        out = pd.DataFrame({
            "t_s": stamps - stamps[0],
            "ts": pd.to_datetime(stamps, unit="s", utc=True),
            "stage": "imported",
            "users": rows["User Count"].astype(int).to_numpy(),
            "requests": d_req.astype(int),
            "throughput_rps": d_req / dt,
            "errors": d_fail.astype(int),
            "error_rate": np.where(d_req > 0, d_fail / d_req, np.nan),
            "latency_mean_ms": np.where(d_req > 0, d_ms / d_req, np.nan),
            "interval_s": dt,
        })
    for column, target in _LOCUST_PERCENTILES.items():
        values = pd.to_numeric(rows[column], errors="coerce") if column in rows.columns else np.nan
        out[target] = values if full_history else np.nan
    out["step"] = _plateau_ids(out["users"].to_numpy())
    return out


def _plateau_ids(users: np.ndarray) -> np.ndarray:
    starts = np.concatenate([[True], users[1:] != users[:-1]]) & (users > 0)
    return np.where(users > 0, np.cumsum(starts) - 1, -1)


def locust_steps(seconds: pd.DataFrame, full_history: bool, settle_s: float) -> pd.DataFrame:
    """One row per plateau of constant users, over its steady part (after ``settle_s``)."""
    rows = []
    for step, group in seconds[seconds["step"] >= 0].groupby("step", sort=True):
        start_s = float(group["t_s"].iloc[0] - group["interval_s"].iloc[0])
        steady = group[group["t_s"] - start_s > settle_s]
        if steady.empty or steady["requests"].sum() == 0:
            continue
        rows.append(_step_row(int(step), steady, start_s, full_history))
    return pd.DataFrame(rows)


def _step_row(step: int, steady: pd.DataFrame, start_s: float, full_history: bool) -> dict[str, Any]:
    duration_s = float(steady["interval_s"].sum())
    requests = int(steady["requests"].sum())
    errors = int(steady["errors"].sum())
    mean_ms = float((steady["latency_mean_ms"].fillna(0) * steady["requests"]).sum() / requests)
    throughput = requests / duration_s
    row: dict[str, Any] = {
        "step": step, "stage": "imported", "users": int(steady["users"].iloc[0]), "offered_rps": math.nan,
        "start_s": start_s, "end_s": float(steady["t_s"].iloc[-1]),
        "steady_start_s": float(steady["t_s"].iloc[0] - steady["interval_s"].iloc[0]),
        "duration_s": duration_s, "requests": requests, "throughput_rps": throughput, "errors": errors,
        "error_rate": errors / requests, "latency_mean_ms": mean_ms,
        "concurrency_little": throughput * mean_ms / 1000.0,
    }
    window_fits = full_history and duration_s >= _LOCUST_WINDOW_S
    for target in _LOCUST_PERCENTILES.values():
        row[target] = float(steady[target].iloc[-1]) if window_fits else math.nan
    return row


def import_locust_csv(source: Path | str, *, root: Path | str = DEFAULT_ROOT, scenario: str = "locust-import",
                      host: str = "unknown", name: str = "Aggregated", settle_s: float = 2.0) -> Path:
    """Import Locust ``--csv`` output as a finalized run; returns the run directory.

    ``source`` is the ``--csv`` prefix or the ``_stats_history.csv`` path; ``name`` the
    stats entry (``Aggregated`` unless ``--csv-full-history`` recorded per-endpoint rows).
    See the module docstring for what is recovered exactly and what is not.
    """
    path = resolve_locust_history(source)
    rows, full_history = read_locust_history(path, name)
    seconds = locust_seconds(rows, full_history)
    steps = locust_steps(seconds, full_history, settle_s)
    mode = "window_10s" if full_history else "cumulative"
    summary = {"imported_from": str(path), "locust_percentiles": mode,
               "final_cumulative_percentiles_ms": _final_percentiles(rows),
               "history_requests": int(rows["Total Request Count"].iloc[-1]), **_stats_totals(path, name)}
    started = datetime.fromtimestamp(float(rows["Timestamp"].iloc[0]), tz=timezone.utc)
    writer = RunWriter(scenario, host, root=root, started_at=started,
                       parameters={"source": "locust-csv", "name": name, "settle_s": settle_s,
                                   "locust_percentiles": mode})
    return _write_or_remove(writer, seconds.drop(columns=["interval_s"]), steps, summary)


def _final_percentiles(rows: pd.DataFrame) -> dict[str, float | None]:
    last = rows.iloc[-1]
    values = {}
    for column, target in _LOCUST_PERCENTILES.items():
        value = pd.to_numeric(pd.Series([last.get(column)]), errors="coerce").iloc[0]
        values[target] = None if pd.isna(value) else float(value)
    return values


def _stats_totals(history: Path, name: str) -> dict[str, Any]:
    stats = history.with_name(history.name.replace("_stats_history.csv", "_stats.csv"))
    if not stats.is_file():
        return {}
    try:
        frame = pd.read_csv(stats)
        row = frame[frame["Name"].astype(str) == name].iloc[-1]
        return {"stats_csv_requests": int(row["Request Count"]), "stats_csv_failures": int(row["Failure Count"])}
    except (OSError, ValueError, KeyError, IndexError, pd.errors.ParserError):
        return {}


def import_measurements_csv(path: Path | str, *, root: Path | str = DEFAULT_ROOT, scenario: str = "measurements",
                            host: str = "unknown") -> Path:
    """Import a CSV of ``concurrency, throughput[, latency_ms]`` (one step per row) as a run.

    ``throughput`` is in requests/s and ``latency_ms`` the mean response time (ms) at that
    concurrency, measured with any tool. Returns the run directory.
    """
    source = Path(path)
    frame = _read_csv(source)
    columns = {str(c).strip().lower(): c for c in frame.columns}
    for required in ("concurrency", "throughput"):
        if required not in columns:
            raise InputDataError(f"measurements CSV lacks a {required} column, {list(frame.columns)}: "
                                 "use columns concurrency, throughput[, latency_ms]")
    data = pd.DataFrame({key: _numeric_column(frame[col], key, source) for key, col in columns.items()
                         if key in ("concurrency", "throughput", "latency_ms")})
    _check_measurements(data, source)
    steps = _measurement_steps(data)
    writer = RunWriter(scenario, host, root=root, parameters={"source": "measurements-csv"})
    return _write_or_remove(writer, None, steps, {"imported_from": str(source), "steps": len(steps)})


def _write_or_remove(writer: RunWriter, seconds: pd.DataFrame | None, steps: pd.DataFrame,
                     summary: dict[str, Any]) -> Path:
    """Write and finalize an imported run; on any failure remove it, so no half run is left."""
    try:
        if seconds is not None:
            writer.append_seconds(seconds)
        writer.write_steps(steps)
        return writer.finalize("complete", summary=summary)
    except BaseException:
        shutil.rmtree(writer.path, ignore_errors=True)
        raise


def _measurement_steps(data: pd.DataFrame) -> pd.DataFrame:
    latency = data["latency_ms"] if "latency_ms" in data.columns else pd.Series(np.nan, index=data.index)
    return pd.DataFrame({
        "step": np.arange(len(data)), "stage": "imported",
        "users": data["concurrency"].round().astype(int), "concurrency": data["concurrency"].astype(float),
        "throughput_rps": data["throughput"].astype(float), "latency_mean_ms": latency.astype(float),
        "concurrency_little": data["throughput"] * latency / 1000.0,
    })


def _numeric_column(series: pd.Series, name: str, source: Path) -> pd.Series:
    values = pd.to_numeric(series, errors="coerce")
    bad = values.isna() & series.notna() | ~np.isfinite(values.fillna(0))
    if bad.any():
        line = int(series.index[bad][0]) + 2
        raise InputDataError(f"measurements CSV has a non-numeric {name} on line {line}, "
                             f"{series[bad].iloc[0]!r} in {str(source)!r}: write plain numbers")
    check_measured_range(values.to_numpy(dtype=float), name, str(source))
    return values


def _check_measurements(data: pd.DataFrame, source: Path) -> None:
    if data.empty:
        raise InputDataError(f"measurements CSV has no rows, {str(source)!r}: add one row per load level")
    checks = [("concurrency", data["concurrency"] > 0, "must be > 0"),
              ("throughput", data["throughput"] >= 0, "must be >= 0")]
    if "latency_ms" in data.columns:
        checks.append(("latency_ms", data["latency_ms"].isna() | (data["latency_ms"] >= 0), "must be >= 0"))
    for name, ok, rule in checks:
        ok = ok & data[name].notna() if name != "latency_ms" else ok
        if not ok.all():
            line = int(data.index[~ok][0]) + 2
            raise InputDataError(f"measurements CSV {name} {rule} on line {line}, "
                                 f"{data[name][~ok].iloc[0]!r} in {str(source)!r}: fix or drop that row")


def _read_csv(path: Path) -> pd.DataFrame:
    if not path.is_file():
        raise InputDataError(f"CSV file not found, {str(path)!r}: check the path")
    try:
        return pd.read_csv(path)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
        raise InputDataError(f"CSV file cannot be parsed, {str(path)!r}: {exc}; save it as comma-separated text") from exc
