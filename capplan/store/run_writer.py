"""Write a run directory while a load test runs: run.json, per-second parts, steps, finalize.

Crash safety: every file is written to a temp name and renamed into place; a buffered
per-second row reaches ``seconds/part-NNNNN.parquet`` within ``flush_interval_s`` (5 s by
default) — checked on every append and by a small background thread, so it also holds
when appends stall; run.json names the writer's pid, host and process start time so a
reader can tell a live run from one whose writer was killed.

Write faults (disk full, read-only store) surface as one
:class:`~capplan.errors.RecordingError` (exit 5) naming the run directory; a run whose
very first file cannot be written leaves no directory behind.
"""

from __future__ import annotations

import shutil
import threading
import time
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from types import TracebackType
from typing import Any

import pandas as pd

from capplan.errors import CapplanError, ConfigError, InputDataError, RecordingError
from capplan.store.run_format import (
    RUN_JSON,
    SCHEMA_VERSION,
    SECOND_COLUMNS,
    SECONDS_FILE,
    SECONDS_PARTS_DIR,
    STATUSES,
    STEP_COLUMNS,
    check_row,
    iso_utc,
    safe_scenario,
    strip_secrets,
    to_table,
    utc_now,
    versions,
    write_json_atomic,
    write_parquet_atomic,
    writer_identity,
)
from capplan.store.run_parts import merge_parts

DEFAULT_ROOT = Path("datasets/runs")
"""Where runs are written unless a root is given (relative to the working directory)."""


class RunWriter:
    """Creates ``<root>/<UTC %Y%m%dT%H%M%SZ>-<scenario>/`` and writes the run into it.

    ``append_seconds`` buffers per-second rows and writes a Parquet part when
    ``flush_interval_s`` (s) has passed since the last flush; ``write_steps`` replaces
    steps.parquet; ``finalize`` merges the parts into seconds.parquet and marks the run.
    Usable as a context manager: leaving on an exception finalizes as ``interrupted``
    (KeyboardInterrupt) or ``failed``.
    """

    def __init__(self, scenario: str, host: str, *, root: Path | str = DEFAULT_ROOT,
                 parameters: Mapping[str, Any] | None = None, slos: Sequence[str] = (),
                 load_model: str = "closed", flush_interval_s: float = 5.0,
                 started_at: datetime | None = None) -> None:
        if load_model not in ("closed", "open"):
            raise ConfigError(f"run load model is unknown, {load_model!r}: use 'closed' or 'open'")
        if not 0 < flush_interval_s <= 5.0:
            raise ConfigError(f"run flush interval must be in (0, 5] s, got {flush_interval_s!r}: use 5 or less")
        self.started_at = started_at or utc_now()
        self.path = _create_run_dir(Path(root), self.started_at, scenario)
        self.run_id = self.path.name
        self.flush_interval_s = flush_interval_s
        self._buffer: list[pd.DataFrame | dict[str, Any]] = []
        self._oldest_buffered: float | None = None
        self._part_index = 0
        self._rows_flushed = 0
        self._finalized = False
        self._lock = threading.RLock()
        self._stop_autoflush = threading.Event()
        self._autoflush: threading.Thread | None = None
        self.meta: dict[str, Any] = {
            "schema_version": SCHEMA_VERSION, "run_id": self.run_id, "scenario": scenario,
            "host": strip_secrets(host), "load_model": load_model,
            "parameters": strip_secrets(dict(parameters or {})), "slos": [str(s) for s in slos],
            "versions": versions(), "started_at": iso_utc(self.started_at), "ended_at": None,
            "status": "running", "complete": False,
            "verdict": {"slos_met": None, "results": []}, "summary": {},
            "writer": writer_identity(), "seconds_rows": 0, "updated_at": iso_utc(utc_now()),
        }
        try:
            self._write_meta()
        except RecordingError:
            shutil.rmtree(self.path, ignore_errors=True)  # no empty run directory is left behind
            raise

    def append_seconds(self, rows: pd.DataFrame | Iterable[Mapping[str, Any]]) -> None:
        """Buffer per-second rows (columns as in architecture.md; extras are kept).

        A missing ``ts`` is filled from ``started_at + t_s``. Flushes when due.
        """
        self._check_open("append_seconds")
        # Check now, on the caller's rows, not at flush time; dict rows cheaply, value by value.
        if isinstance(rows, pd.DataFrame):
            pieces: list[pd.DataFrame | dict[str, Any]] = [rows.copy()]
            to_table(pieces[0], SECOND_COLUMNS)
        else:
            pieces = [dict(row) for row in rows]
            for row in pieces:
                check_row(row, SECOND_COLUMNS)
        if not pieces or (isinstance(pieces[0], pd.DataFrame) and pieces[0].empty):
            return
        with self._lock:
            self._buffer.extend(pieces)
            if self._oldest_buffered is None:
                self._oldest_buffered = time.monotonic()
            self._flush_if_due()
        if self._autoflush is None:
            self._autoflush = threading.Thread(target=self._autoflush_loop, name="run-autoflush", daemon=True)
            self._autoflush.start()

    def flush(self) -> None:
        """Write the buffered rows as the next part file and refresh run.json."""
        with self._lock:
            if not self._buffer:
                return
            frame = self._buffered_frame()
            parts_dir = self.path / SECONDS_PARTS_DIR
            table = to_table(frame, SECOND_COLUMNS)
            with recording(self.path):
                parts_dir.mkdir(exist_ok=True)
                write_parquet_atomic(parts_dir / f"part-{self._part_index:05d}.parquet", table)
            self._part_index += 1
            self._rows_flushed += len(frame)
            self._buffer, self._oldest_buffered = [], None
            self.meta["seconds_rows"] = self._rows_flushed
            self._write_meta()

    def _buffered_frame(self) -> pd.DataFrame:
        frames, rows = [], []
        for piece in self._buffer + [pd.DataFrame()]:  # the empty frame closes the last run of dicts
            if isinstance(piece, dict):
                rows.append(piece)
                continue
            if rows:
                frames.append(pd.DataFrame(rows))
                rows = []
            frames.append(piece)
        frame = pd.concat([f for f in frames if not f.empty], ignore_index=True)
        if "t_s" in frame.columns and ("ts" not in frame.columns or frame["ts"].isna().any()):
            computed = pd.Timestamp(self.started_at) + pd.to_timedelta(frame["t_s"].astype(float), unit="s")
            frame["ts"] = frame["ts"].fillna(computed) if "ts" in frame.columns else computed
        return frame

    def _flush_if_due(self) -> None:
        # Flush a little early so the oldest row never waits longer than flush_interval_s.
        margin_s = min(0.5, self.flush_interval_s / 2)
        oldest = self._oldest_buffered
        if oldest is not None and time.monotonic() - oldest >= self.flush_interval_s - margin_s:
            self.flush()

    def _autoflush_loop(self) -> None:
        period_s = min(0.25, self.flush_interval_s / 4)
        while not self._stop_autoflush.wait(period_s):
            try:
                with self._lock:
                    if not self._finalized:
                        self._flush_if_due()
            except Exception:  # noqa: BLE001 - the next append or finalize reports it
                return

    def write_steps(self, steps: pd.DataFrame | Iterable[Mapping[str, Any]]) -> None:
        """Replace steps.parquet with ``steps`` (one row per load level, architecture.md columns)."""
        self._check_open("write_steps")
        frame = steps if isinstance(steps, pd.DataFrame) else pd.DataFrame(list(steps))
        with recording(self.path):
            write_parquet_atomic(self.path / "steps.parquet", to_table(frame, STEP_COLUMNS))

    def update(self, **fields: Any) -> None:
        """Merge extra run.json fields (e.g. ``summary`` so far) and rewrite run.json."""
        self._check_open("update")
        with self._lock:
            for key, value in fields.items():
                self.meta[key] = strip_secrets(value) if key == "parameters" else value
            self._write_meta()

    def finalize(self, status: str = "complete", verdict: Mapping[str, Any] | None = None,
                 summary: Mapping[str, Any] | None = None) -> Path:
        """Flush, merge parts into seconds.parquet atomically, and mark the run ended.

        ``status`` is ``complete``, ``interrupted`` or ``failed``. Returns the run directory.
        """
        if status not in STATUSES or status == "running":
            raise ConfigError(f"run final status is unknown, {status!r}: use complete, interrupted or failed")
        self._check_open("finalize")
        self._stop_autoflush.set()
        if self._autoflush is not None and self._autoflush is not threading.current_thread():
            self._autoflush.join(timeout=5)
        self.flush()
        merged = merge_parts(self.path)
        with recording(self.path):
            write_parquet_atomic(self.path / SECONDS_FILE, to_table(merged.frame, SECOND_COLUMNS), durable=True)
        ended = utc_now()
        self.meta.update(
            status=status, complete=status == "complete", ended_at=iso_utc(ended),
            duration_s=round((ended - self.started_at).total_seconds(), 3), seconds_rows=len(merged.frame),
        )
        if verdict is not None:
            self.meta["verdict"] = dict(verdict)
        if summary is not None:
            self.meta["summary"] = dict(summary)
        if merged.warnings:
            self.meta["warnings"] = list(merged.warnings)
        self._write_meta(durable=True)
        shutil.rmtree(self.path / SECONDS_PARTS_DIR, ignore_errors=True)
        self._finalized = True
        return self.path

    @property
    def finalized(self) -> bool:
        """True once :meth:`finalize` has run."""
        return self._finalized

    def mark_failed(self) -> bool:
        """Best effort after a write fault: mark run.json ``failed`` (its parts stay readable).

        Never raises; returns whether run.json could be written. A reader of a run whose
        run.json still says ``running`` sees a dead writer and reports it incomplete.
        """
        if self._finalized:
            return True
        self._stop_autoflush.set()
        ended = utc_now()
        self.meta.update(status="failed", complete=False, ended_at=iso_utc(ended),
                         duration_s=round((ended - self.started_at).total_seconds(), 3))
        try:
            self._write_meta()
        except (RecordingError, OSError, ValueError):
            return False
        return True

    def _write_meta(self, durable: bool = False) -> None:
        with self._lock, recording(self.path):
            self.meta["updated_at"] = iso_utc(utc_now())
            write_json_atomic(self.path / RUN_JSON, self.meta, durable)

    def _check_open(self, what: str) -> None:
        if self._finalized:
            raise CapplanError(f"run {what} after finalize, {self.run_id}: start a new RunWriter")

    def __enter__(self) -> RunWriter:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        if self._finalized:
            return
        if exc_type is None:
            self.finalize("complete")
        else:
            self.finalize("interrupted" if issubclass(exc_type, KeyboardInterrupt) else "failed")


@contextmanager
def recording(run_dir: Path) -> Iterator[None]:
    """Turn an OS write failure into one RecordingError naming the run directory."""
    try:
        yield
    except OSError as exc:
        raise RecordingError(f"cannot write the run directory, {str(run_dir)!r} ({exc.strerror or exc}), "
                             "free space there or choose another --out") from exc


def _create_run_dir(root: Path, started_at: datetime, scenario: str) -> Path:
    try:
        root.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise InputDataError(f"run root cannot be created, {str(root)!r}: {exc.strerror}; choose another --out") from exc
    base = f"{started_at.strftime('%Y%m%dT%H%M%SZ')}-{safe_scenario(scenario)}"
    for attempt in range(1, 1000):
        candidate = root / (base if attempt == 1 else f"{base}-{attempt}")  # runs started in the same second
        try:
            candidate.mkdir()
            return candidate
        except FileExistsError:
            continue
        except OSError as exc:
            raise InputDataError(f"run directory cannot be created, {str(candidate)!r}: {exc.strerror}") from exc
    raise InputDataError(f"no free run directory name under {str(root)!r}: remove old runs or choose another --out")
