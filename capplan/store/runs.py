"""The run store: one directory per load-test run (docs/architecture.md, "The run directory").

This module is the public face of the store; the parts live in ``run_format`` (schemas,
atomic writes, secret stripping), ``run_writer`` (:class:`RunWriter`), ``run_parts``
(part files), ``run_reader`` (:func:`read_run`, :func:`list_runs`) and ``run_import``
(Locust CSV and generic measurement CSV importers).

It also answers two questions every reader of a run asks: which runs a path names
(:func:`runs_named`: a run directory, or a run store's newest run or all of them), and
what the run found (:func:`run_findings`: the spike recovery and soak drift that the run
stored in run.json when it ended, recomputed with the same functions only for runs written
before summaries carried a ``summary_version``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from capplan.errors import InputDataError
from capplan.models.drift import (
    RECOVERY_TOLERANCE,
    SUMMARY_VERSION,
    DriftAssessment,
    SpikeRecovery,
    soak_summary,
    spike_summary,
)
from capplan.store.run_format import RUN_JSON, SECOND_COLUMNS, STEP_COLUMNS, strip_secrets
from capplan.store.run_import import import_locust_csv, import_measurements_csv
from capplan.store.run_reader import Run, RunSummary, list_runs, read_meta, read_run
from capplan.store.run_writer import DEFAULT_ROOT, RunWriter

__all__ = [
    "DEFAULT_ROOT",
    "SECOND_COLUMNS",
    "STEP_COLUMNS",
    "Run",
    "RunFindings",
    "RunSummary",
    "RunWriter",
    "import_locust_csv",
    "import_measurements_csv",
    "list_runs",
    "read_meta",
    "read_run",
    "run_findings",
    "runs_named",
    "strip_secrets",
]


@dataclass(frozen=True)
class RunFindings:
    """What a spike or soak run found: ``source`` is ``run.json`` or ``recomputed`` (older runs)."""

    run_id: str
    scenario: str
    spike: SpikeRecovery | None
    soak: DriftAssessment | None
    source: str

    def to_dict(self) -> dict:
        """JSON form, the same blocks as run.json's summary."""
        return {"run_id": self.run_id, "scenario": self.scenario, "source": self.source,
                "spike": None if self.spike is None else self.spike.to_dict(),
                "soak": None if self.soak is None else self.soak.to_dict()}


def run_findings(run: Run) -> RunFindings:
    """The run's stored spike/soak summary; recomputed from its seconds only when it predates them."""
    summary = run.meta.get("summary") or {}
    stored = int(summary.get("summary_version") or 0) >= SUMMARY_VERSION
    spike = soak = None
    if run.scenario == "spike":
        spike = SpikeRecovery.from_dict(summary["spike"]) if stored and summary.get("spike") else _spike(run)
    if run.scenario == "soak":
        soak = DriftAssessment.from_dict(summary["soak"]) if stored and summary.get("soak") else _soak(run)
    return RunFindings(run.run_id, run.scenario, spike, soak, "run.json" if stored else "recomputed")


def _columns(run: Run) -> tuple[np.ndarray, list[str], np.ndarray]:
    sec = run.seconds
    requests = sec["requests"].to_numpy(dtype=float)
    with np.errstate(invalid="ignore", divide="ignore"):
        error_rate = np.where(requests > 0, sec["errors"].to_numpy(dtype=float) / requests, np.nan)
    return sec["t_s"].to_numpy(dtype=float), [str(s) for s in sec["stage"]], error_rate


def _spike(run: Run) -> SpikeRecovery | None:
    params = run.meta.get("parameters") or {}
    if run.seconds.empty or params.get("spike_pre_s") is None:
        return None
    t, stage, err = _columns(run)
    start = float(params["spike_pre_s"])
    window = (start, start + float(params["spike_window_s"]))
    tolerance = float(params.get("recovery_tolerance") or RECOVERY_TOLERANCE)
    sec = run.seconds
    return spike_summary(t, stage, sec["latency_p95_ms"], err, sec["latency_max_ms"], window, tolerance)


def _soak(run: Run) -> DriftAssessment | None:
    if run.seconds.empty:
        return None
    t, stage, err = _columns(run)
    steps = run.steps[run.steps["stage"] == "soak"]
    window = (float(steps["steady_start_s"].iloc[0]), float(steps["end_s"].iloc[0])) if len(steps) else None
    sec = run.seconds
    return soak_summary(t, stage, sec["latency_p95_ms"], err, sec["target_rss_mb"], window)


def runs_named(paths: Sequence[Path], all_runs: bool = False) -> list[Path]:
    """Run directories and CSV files as given; a run store (a directory of runs) becomes its newest
    run, or every run with ``all_runs``. InputDataError for a store with no run in it."""
    out: list[Path] = []
    for path in map(Path, paths):
        if not path.is_dir() or (path / RUN_JSON).is_file():
            out.append(path)
            continue
        runs = list_runs(path)
        if not runs:
            raise InputDataError(f"not a run directory nor a run store (no run.json in it or in its "
                                 f"subdirectories), {str(path)!r}: pass a run directory, or write runs there first (capplan loadtest stress --out {path})")
        out.extend(r.path for r in runs) if all_runs else out.append(runs[-1].path)
    return out
