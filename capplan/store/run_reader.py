"""Read run directories: finalized runs, live runs, and runs whose writer was killed."""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa

from capplan.errors import InputDataError
from capplan.store.run_format import (
    RUN_JSON,
    SECOND_COLUMNS,
    SECONDS_FILE,
    STEP_COLUMNS,
    STEPS_FILE,
    empty_frame,
    writer_is_alive,
)
from capplan.store.run_parts import merge_parts, read_parquet_frame

log = logging.getLogger(__name__)

_REQUIRED_KEYS = ("run_id", "scenario", "status", "started_at")


@dataclass(frozen=True, eq=False)
class Run:
    """One run read from disk.

    ``meta`` is run.json as written; ``seconds`` the per-second rows, ``steps`` the
    per-step rows (empty frames with the schema's columns when absent); ``complete``
    is True only for a finalized run with status ``complete``; ``live`` is True while
    the writer process is still running; ``warnings`` lists what was skipped or doubtful.
    """

    path: Path
    meta: dict[str, Any]
    seconds: pd.DataFrame
    steps: pd.DataFrame
    complete: bool
    live: bool
    warnings: tuple[str, ...]

    @property
    def run_id(self) -> str:
        """The directory name, ``<UTC>-<scenario>``."""
        return str(self.meta["run_id"])

    @property
    def scenario(self) -> str:
        """baseline, stress, spike, soak, or the importer's name."""
        return str(self.meta["scenario"])

    @property
    def status(self) -> str:
        """run.json's status, or ``incomplete`` for a ``running`` run whose writer is gone."""
        status = str(self.meta["status"])
        return "incomplete" if status == "running" and not self.live else status


@dataclass(frozen=True)
class RunSummary:
    """One line of :func:`list_runs`: what run.json says, without reading the Parquet data."""

    path: Path
    run_id: str
    scenario: str
    started_at: str
    status: str
    complete: bool


def read_meta(path: Path | str) -> dict[str, Any]:
    """Parse and check ``run.json`` of a run directory."""
    run_dir = Path(path)
    if run_dir.name == RUN_JSON and run_dir.is_file():
        run_dir = run_dir.parent
    meta_path = run_dir / RUN_JSON
    if not run_dir.is_dir():
        raise InputDataError(f"run directory does not exist, {str(run_dir)!r}: pass a directory under datasets/runs/")
    if not meta_path.is_file():
        raise InputDataError(f"not a run directory (no run.json), {str(run_dir)!r}: pass a directory under datasets/runs/")
    try:
        meta = json.loads(meta_path.read_text())
    except (OSError, ValueError) as exc:
        raise InputDataError(f"run.json is not valid JSON, {str(meta_path)!r}: {exc}; the run cannot be read") from exc
    missing = [k for k in _REQUIRED_KEYS if not isinstance(meta, dict) or k not in meta]
    if missing:
        raise InputDataError(f"run.json lacks {', '.join(missing)}, {str(meta_path)!r}: it was not written by capplan")
    return meta


def read_run(path: Path | str) -> Run:
    """Read a run directory: finalized (seconds.parquet) or partial (seconds/part-*.parquet)."""
    run_dir = Path(path)
    run_dir = run_dir.parent if run_dir.name == RUN_JSON and run_dir.is_file() else run_dir
    meta = read_meta(run_dir)
    warnings: list[str] = list(meta.get("warnings", []))
    seconds = _read_seconds(run_dir, warnings)
    steps = _read_optional(run_dir / STEPS_FILE, STEP_COLUMNS, warnings)
    live = meta["status"] == "running" and writer_is_alive(meta.get("writer"))
    complete = meta["status"] == "complete" and bool(meta.get("complete", True))
    if meta["status"] == "running" and not live:
        last = float(seconds["t_s"].max()) if len(seconds) else 0.0
        warnings.append(f"run {meta['run_id']} was not finalized (its writer is gone): "
                        f"incomplete, data up to t={last:.0f} s")
    for text in warnings:
        log.warning(text)
    return Run(run_dir, meta, seconds, steps, complete, live, tuple(warnings))


def _read_seconds(run_dir: Path, warnings: list[str]) -> pd.DataFrame:
    if (run_dir / SECONDS_FILE).is_file():
        return _read_optional(run_dir / SECONDS_FILE, SECOND_COLUMNS, warnings)
    merged = merge_parts(run_dir)
    if merged.warnings and (run_dir / SECONDS_FILE).is_file():  # finalized while we read its parts
        return _read_optional(run_dir / SECONDS_FILE, SECOND_COLUMNS, warnings)
    warnings.extend(merged.warnings)
    return merged.frame


def _read_optional(path: Path, columns: dict[str, pa.DataType], warnings: list[str]) -> pd.DataFrame:
    if not path.is_file():
        return empty_frame(columns)
    try:
        frame = read_parquet_frame(path)
    except (OSError, pa.ArrowException) as exc:
        raise InputDataError(
            f"run file is not valid Parquet, {str(path)!r}: {exc.__class__.__name__}; "
            "the file is corrupt — re-run the test or restore the file"
        ) from exc
    for name in columns:
        if name not in frame.columns:
            frame[name] = pd.NA if name in ("stage", "errors_by_kind", "sketch") else float("nan")
    return frame


def list_runs(root: Path | str) -> list[RunSummary]:
    """Every run directory directly under ``root``, oldest first; other directories are skipped."""
    root_dir = Path(root)
    if not root_dir.is_dir():
        return []
    found = []
    for child in sorted(root_dir.iterdir()):
        if not (child / RUN_JSON).is_file():
            continue
        try:
            meta = read_meta(child)
        except InputDataError as exc:
            log.warning("skipping %s: %s", child, exc)
            continue
        live = meta["status"] == "running" and writer_is_alive(meta.get("writer"))
        status = "incomplete" if meta["status"] == "running" and not live else str(meta["status"])
        found.append(RunSummary(child, str(meta["run_id"]), str(meta["scenario"]), str(meta["started_at"]),
                                status, meta["status"] == "complete"))
    return sorted(found, key=lambda r: (r.started_at, r.run_id))


def read_latest_runs(root: Path | str, scenarios: Sequence[str]) -> tuple[tuple[Run, ...], tuple[str, ...]]:
    """The latest readable run of each of ``scenarios`` under ``root`` (complete ones preferred), and warnings.

    A run whose files cannot be read (a torn ``seconds.parquet``, a corrupt run.json) is
    skipped with a warning naming it, and the next most recent run of that scenario is used:
    one damaged run never takes a whole report down.
    """
    by_scenario: dict[str, list[RunSummary]] = {s: [] for s in scenarios}
    for summary in list_runs(root):
        if summary.scenario in by_scenario:
            by_scenario[summary.scenario].append(summary)
    runs: list[Run] = []
    warnings: list[str] = []
    for scenario in scenarios:
        # newest complete runs first, then the newest incomplete ones
        candidates = sorted(by_scenario[scenario], key=lambda r: (r.complete, r.started_at, r.run_id), reverse=True)
        for summary in candidates:
            try:
                runs.append(read_run(summary.path))
                break
            except InputDataError as exc:
                warnings.append(f"skipped run {summary.run_id}: {exc}")
    return tuple(runs), tuple(warnings)
