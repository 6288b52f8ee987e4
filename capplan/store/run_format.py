"""The on-disk format of a run directory: column schemas, run.json helpers, secret stripping.

The contract is docs/architecture.md, section "The run directory". Frames are coerced to
the known column types so every part file and every reader sees the same schema; unknown
columns are kept as they are and missing known columns are filled with nulls (NaN once
read back into pandas).
"""

from __future__ import annotations

import json
import os
import platform
import re
import socket
import tempfile
from collections.abc import Mapping
from datetime import datetime, timezone
from importlib import metadata
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from capplan.errors import InputDataError
from capplan.models.sketch import LatencySketch
from capplan.store.atomic import write_bytes_atomic

SCHEMA_VERSION = 1
RUN_JSON = "run.json"
SECONDS_FILE = "seconds.parquet"
SECONDS_PARTS_DIR = "seconds"
STEPS_FILE = "steps.parquet"
STATUSES = ("running", "complete", "interrupted", "failed")

_LATENCY = ["latency_p50_ms", "latency_p90_ms", "latency_p95_ms", "latency_p99_ms", "latency_p999_ms",
            "latency_max_ms", "latency_mean_ms"]
SECOND_COLUMNS: dict[str, pa.DataType] = {
    "t_s": pa.float64(), "ts": pa.timestamp("us", tz="UTC"), "stage": pa.string(), "step": pa.int64(),
    "users": pa.int64(), "offered_rps": pa.float64(), "requests": pa.int64(), "throughput_rps": pa.float64(),
    "errors": pa.int64(), "error_rate": pa.float64(), "errors_by_kind": pa.string(),
    **{name: pa.float64() for name in _LATENCY},
    "gen_lag_ms": pa.float64(), "gen_cpu_pct": pa.float64(), "target_cpu_pct": pa.float64(),
    "target_rss_mb": pa.float64(), "sketch": pa.binary(),
}
"""Per-second columns and their Parquet types (architecture.md)."""

STEP_COLUMNS: dict[str, pa.DataType] = {
    "step": pa.int64(), "stage": pa.string(), "users": pa.int64(), "offered_rps": pa.float64(),
    "start_s": pa.float64(), "end_s": pa.float64(), "steady_start_s": pa.float64(), "duration_s": pa.float64(),
    "requests": pa.int64(), "throughput_rps": pa.float64(), "errors": pa.int64(), "error_rate": pa.float64(),
    **{name: pa.float64() for name in _LATENCY}, "latency_std_ms": pa.float64(),
    "concurrency_little": pa.float64(), "gen_cpu_pct": pa.float64(), "target_cpu_pct": pa.float64(),
    "intended": pa.float64(), "intended_rps": pa.float64(), "achieved_ratio": pa.float64(),
    "sketch": pa.binary(),
}
"""Per-step columns and their Parquet types (architecture.md)."""

_SECRET_KEY = re.compile(r"header|token|password|passwd|secret|authori[sz]ation|cookie|api[_-]?key|credential|"
                         r"private[_-]?key|^auth$", re.IGNORECASE)


def utc_now() -> datetime:
    """The current time, timezone-aware UTC."""
    return datetime.now(timezone.utc)


def iso_utc(moment: datetime) -> str:
    """ISO-8601 UTC with a ``Z`` suffix, millisecond precision."""
    return moment.astimezone(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def parse_iso_utc(text: str) -> datetime:
    """Inverse of :func:`iso_utc` (also accepts ``+00:00``)."""
    return datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(timezone.utc)


def strip_secrets(value: Any) -> Any:
    """A copy of ``value`` without secret-looking keys (headers, tokens, passwords...).

    Mappings lose every key matching header/token/password/secret/authorization/cookie/
    api_key/credential; URLs lose their ``user:password@`` part; lists are cleaned item by
    item. Secrets are never written to a run directory.
    """
    if isinstance(value, Mapping):
        return {str(k): strip_secrets(v) for k, v in value.items() if not _SECRET_KEY.search(str(k))}
    if isinstance(value, (list, tuple)):
        return [strip_secrets(v) for v in value]
    if isinstance(value, str):
        return strip_url_credentials(value)
    return value


def strip_url_credentials(text: str) -> str:
    """``http://user:pw@host/x`` becomes ``http://host/x``; other strings are unchanged."""
    if "://" not in text or "@" not in text:
        return text
    try:
        parts = urlsplit(text)
    except ValueError:
        return text
    if parts.username is None and parts.password is None:
        return text
    netloc = parts.netloc.rsplit("@", 1)[1]
    return urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))


def versions() -> dict[str, str]:
    """Versions of capplan, locust (when installed) and Python, without importing locust."""
    found = {"python": platform.python_version()}
    for dist in ("capplan", "locust"):
        try:
            found[dist] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            found[dist] = "unknown"
    return found


def writer_identity() -> dict[str, Any]:
    """pid, hostname and process start time, so a reader can tell whether the writer is alive."""
    import psutil

    return {"pid": os.getpid(), "hostname": socket.gethostname(),
            "process_started": psutil.Process().create_time()}


def writer_is_alive(writer: Mapping[str, Any] | None) -> bool:
    """True when the process named in run.json's ``writer`` block still runs on this host."""
    import psutil

    if not writer or writer.get("hostname") != socket.gethostname():
        return False
    try:
        process = psutil.Process(int(writer["pid"]))
        started = float(writer.get("process_started", 0.0))
        return abs(process.create_time() - started) < 1.0 and process.status() != psutil.STATUS_ZOMBIE
    except (psutil.Error, KeyError, TypeError, ValueError):
        return False


def write_json_atomic(path: Path, payload: Mapping[str, Any], durable: bool = False) -> None:
    """Atomically write ``payload`` as indented JSON (NaN written as null)."""
    text = json.dumps(_json_safe(payload), indent=2, sort_keys=False, allow_nan=False)
    write_bytes_atomic(path, (text + "\n").encode(), durable)


def _json_safe(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {str(k): _json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_json_safe(v) for v in value]
    if isinstance(value, float) and value != value:  # NaN
        return None
    if isinstance(value, float) and value in (float("inf"), float("-inf")):
        return None
    if hasattr(value, "item") and not isinstance(value, (str, bytes)):
        return _json_safe(value.item())  # numpy scalars
    if isinstance(value, datetime):
        return iso_utc(value)
    return value


def write_parquet_atomic(path: Path, table: pa.Table, durable: bool = False) -> None:
    """Write a Parquet file to a temp name in the same directory, then rename it into place."""
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    try:
        pq.write_table(table, tmp, compression="zstd")
        if durable:
            with open(tmp, "rb") as fh:
                os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def to_table(frame: pd.DataFrame, columns: Mapping[str, pa.DataType]) -> pa.Table:
    """Coerce ``frame`` to the known ``columns`` (in order, nulls where missing), extras after."""
    arrays, names = [], []
    for name, dtype in columns.items():
        arrays.append(_column_array(frame[name] if name in frame.columns else None, dtype, len(frame), name))
        names.append(name)
    for name in frame.columns:
        if name not in columns:
            arrays.append(_extra_array(frame[name], str(name)))
            names.append(str(name))
    return pa.Table.from_arrays(arrays, names=names)


def _column_array(series: pd.Series | None, dtype: pa.DataType, n: int, name: str) -> pa.Array:
    if series is None:
        return pa.nulls(n, type=dtype)
    try:
        if pa.types.is_floating(dtype):
            return pa.array(pd.to_numeric(series, errors="raise").astype("float64"), type=dtype, from_pandas=True)
        if pa.types.is_integer(dtype):
            numeric = pd.to_numeric(series, errors="raise")
            return pa.array(numeric.round().astype("Int64"), type=dtype, from_pandas=True)
        if pa.types.is_timestamp(dtype):
            stamps = pd.to_datetime(series, utc=True).dt.floor("us")  # Parquet keeps microseconds
            return pa.array(stamps, type=dtype, from_pandas=True)
        if pa.types.is_binary(dtype):
            return pa.array([_as_bytes(v, name) for v in series], type=dtype)
        return pa.array([None if _is_missing(v) else str(v) for v in series], type=dtype)
    except (ValueError, TypeError, pa.ArrowException) as exc:
        raise InputDataError(
            f"run column {name} has values of the wrong type, {series.head(3).tolist()!r}: "
            f"write {dtype} values (or leave the column out)"
        ) from exc


def check_row(row: Mapping[str, Any], columns: Mapping[str, pa.DataType]) -> None:
    """Cheap per-value type check of one row against the known columns (InputDataError)."""
    for name, value in row.items():
        dtype = columns.get(name)
        if dtype is None or _is_missing(value) or _value_fits(value, dtype):
            continue
        raise InputDataError(
            f"run column {name} has a value of the wrong type, {value!r}: write {dtype} values (or leave it out)"
        )


def _value_fits(value: Any, dtype: pa.DataType) -> bool:
    if pa.types.is_floating(dtype):
        return isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, bool)
    if pa.types.is_integer(dtype):
        if isinstance(value, (float, np.floating)):
            return float(value).is_integer()
        return isinstance(value, (int, np.integer)) and not isinstance(value, bool)
    if pa.types.is_binary(dtype):
        return isinstance(value, (bytes, bytearray, memoryview, LatencySketch))
    if pa.types.is_timestamp(dtype):
        return isinstance(value, (datetime, str, np.datetime64))
    return isinstance(value, str)


def _extra_array(series: pd.Series, name: str) -> pa.Array:
    try:
        return pa.array(series, from_pandas=True)
    except (pa.ArrowException, TypeError, ValueError):
        return pa.array([None if _is_missing(v) else str(v) for v in series], type=pa.string())


def _as_bytes(value: Any, name: str) -> bytes | None:
    if _is_missing(value):
        return None
    if isinstance(value, (bytes, bytearray, memoryview)):
        return bytes(value)
    if isinstance(value, LatencySketch):
        return value.to_bytes()
    raise TypeError(f"{name} must hold bytes, got {type(value).__name__}")


def _is_missing(value: Any) -> bool:
    return value is None or (isinstance(value, float) and value != value) or value is pd.NA or value is pd.NaT


def empty_frame(columns: Mapping[str, pa.DataType]) -> pd.DataFrame:
    """An empty DataFrame with the known columns and their pandas dtypes."""
    return to_table(pd.DataFrame(), columns).to_pandas()


def safe_scenario(name: str) -> str:
    """A scenario name usable in a directory name: lower-case letters, digits, ``-`` and ``_``."""
    cleaned = re.sub(r"[^a-z0-9_-]+", "-", name.strip().lower()).strip("-")
    return cleaned or "run"
