"""What ``capplan compare`` does without the CLI: read two runs, match their load levels, compare.

Levels are the rows of steps.parquet (one per load level in steady state), keyed by the
offered load: users in the closed model, the arrival rate in the open model, plus the
stage for scenarios with several phases (spike before/surge/after). Each level's window
is its per-second rows from ``steady_start_s`` to ``end_s``. Baseline, spike and soak
runs must have the same levels; stress runs choose their own refinement levels, so the
levels both reached are compared and the capacity comes from each run's own saturation
estimate. Anything that cannot be matched is an :class:`InputDataError` (exit 3) naming it.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd

from capplan.errors import InputDataError
from capplan.models.bootstrap import decode_sketches
from capplan.models.compare import (
    CapacityInput,
    Comparison,
    CompareSettings,
    LevelWindow,
    RunComparison,
    compare_runs,
)
from capplan.store.run_reader import Run, read_run

_MATCHED_PARAMETERS = ("load_model", "users", "rate_rps", "growth", "path", "think_time_s", "wait_time_s")


def compare_run_dirs(base: Path | str, new: Path | str, settings: CompareSettings | None = None) -> RunComparison:
    """Read, match and compare two run directories (see the module docstring)."""
    base_run, new_run = read_run(base), read_run(new)
    _check_same_scenario(base_run, new_run)
    pairs, extra = match_levels(base_run, new_run)
    capacity = None
    if base_run.scenario == "stress":
        capacity = (_capacity(base_run), _capacity(new_run))
    result = compare_runs(pairs, capacity, settings, one_curve=base_run.scenario == "stress")
    if extra:
        result = _with_warning(result, extra)
    return RunComparison(str(base_run.path), str(new_run.path), base_run.run_id, new_run.run_id, base_run.scenario,
                         result)


def _check_same_scenario(base: Run, new: Run) -> None:
    if base.scenario != new.scenario:
        raise InputDataError(f"runs are of different scenarios, {base.scenario!r} ({base.run_id}) vs "
                             f"{new.scenario!r} ({new.run_id}): compare two runs of the same scenario")
    pb, pn = base.meta.get("parameters") or {}, new.meta.get("parameters") or {}
    pb.setdefault("load_model", base.meta.get("load_model"))
    pn.setdefault("load_model", new.meta.get("load_model"))
    for key in _MATCHED_PARAMETERS:
        if key in pb and key in pn and pb[key] != pn[key]:
            raise InputDataError(f"runs differ in {key}, {pb[key]!r} ({base.run_id}) vs {pn[key]!r} "
                                 f"({new.run_id}): compare runs recorded with the same load settings")


def _level_keys(run: Run) -> dict[tuple, int]:
    """(stage, level) -> row index of steps.parquet; stress levels ignore the stage (step vs refine)."""
    steps = run.steps
    if len(steps) == 0:
        raise InputDataError(f"run has no measured load levels (empty steps.parquet), {run.run_id}: "
                             "compare finished runs that held at least one level")
    open_model = run.meta.get("load_model") == "open"
    keys: dict[tuple, int] = {}
    for i, row in enumerate(steps.itertuples(index=False)):
        level = round(float(row.offered_rps), 3) if open_model else int(row.users)
        stage = "" if run.scenario == "stress" else str(row.stage)
        keys.setdefault((stage, level), i)
    return keys


def _label(key: tuple, open_model: bool) -> str:
    stage, level = key
    load = f"{level:g} req/s" if open_model else f"{level} users"
    return f"{stage} {load}".strip()


def match_levels(base: Run, new: Run) -> tuple[list[tuple[LevelWindow, LevelWindow]], str]:
    """Pairs of matched level windows, and a note on levels only one stress run reached."""
    kb, kn = _level_keys(base), _level_keys(new)
    open_model = base.meta.get("load_model") == "open"
    only_b = [_label(k, open_model) for k in kb if k not in kn]
    only_n = [_label(k, open_model) for k in kn if k not in kb]
    common = [k for k in kb if k in kn]
    if (only_b or only_n) and (base.scenario != "stress" or not common):
        raise InputDataError(
            f"runs have different load levels, base only: {', '.join(only_b) or 'none'}; new only: "
            f"{', '.join(only_n) or 'none'} ({base.run_id} vs {new.run_id}): re-run with the same load settings")
    pairs = [(window(base, kb[k], _label(k, open_model)), window(new, kn[k], _label(k, open_model)))
             for k in sorted(common, key=lambda k: (k[1], k[0]))]
    note = ""
    if only_b or only_n:
        note = (f"levels reached by one stress run only are not compared (base: {', '.join(only_b) or 'none'}; "
                f"new: {', '.join(only_n) or 'none'})")
    return pairs, note


def window(run: Run, step_index: int, label: str) -> LevelWindow:
    """The steady per-second rows of one step as a :class:`LevelWindow`."""
    step = run.steps.iloc[step_index]
    seconds = run.seconds
    rows = seconds[(seconds["step"] == step["step"]) & (seconds["t_s"] >= float(step["steady_start_s"]) - 1e-6)
                   & (seconds["t_s"] <= float(step["end_s"]) + 1e-6)]
    rows = _trim_to_step(rows, step)
    if len(rows) == 0:
        raise InputDataError(f"level {label} has no per-second rows in its steady window, {run.run_id}: "
                             "the run directory is incomplete; re-run the test")
    requests = pd.to_numeric(rows["requests"], errors="coerce").fillna(0).to_numpy(float)
    rate = pd.to_numeric(rows["throughput_rps"], errors="coerce").to_numpy(float)
    with np.errstate(invalid="ignore", divide="ignore"):
        seconds_s = np.where((rate > 0) & np.isfinite(rate), requests / rate, 1.0)
    mean = pd.to_numeric(rows["latency_mean_ms"], errors="coerce").to_numpy(float)
    latency_sum = np.where(requests > 0, mean * requests, 0.0)
    try:
        sketches = decode_sketches(list(rows["sketch"])) if "sketch" in rows.columns else None
    except ValueError as exc:
        raise InputDataError(f"per-second sketch is damaged in {run.run_id}, level {label}: {exc}; "
                             "re-run the test") from exc
    errors = pd.to_numeric(rows["errors"], errors="coerce").fillna(0).to_numpy(float)
    return LevelWindow(label, requests, errors, seconds_s, latency_sum, sketches)


def _trim_to_step(rows: pd.DataFrame, step: pd.Series) -> pd.DataFrame:
    """Drop a leading row when that makes the window's requests equal the step's (imported runs
    stamp a row at the end of its interval, recorded runs at its start)."""
    total = float(pd.to_numeric(rows["requests"], errors="coerce").fillna(0).sum())
    expected = float(step["requests"]) if pd.notna(step["requests"]) else math.nan
    if len(rows) > 1 and total != expected:
        first = float(pd.to_numeric(rows["requests"], errors="coerce").fillna(0).iloc[0])
        if total - first == expected:
            return rows.iloc[1:]
    return rows


def _capacity(run: Run) -> CapacityInput:
    from capplan.models.saturation import estimate_saturation
    from capplan.store.measurements import read_run_steps

    estimate = estimate_saturation(read_run_steps(run.path))
    x = pd.to_numeric(run.steps["throughput_rps"], errors="coerce").to_numpy(float)
    top = np.flatnonzero(np.isin(x, estimate.plateau_rps))  # the very steps the estimate averaged
    plateau = tuple(window(run, int(i), f"plateau step {i}") for i in top)
    floor = _lowest_load_window(run)
    usl = estimate.usl
    return CapacityInput(estimate.max_throughput_rps, estimate.max_throughput_ci_rps, estimate.knee_concurrency,
                         usl.sigma, usl.sigma_ci, usl.kappa, usl.kappa_ci, plateau, floor,
                         _saturated_windows(run, estimate.knee_concurrency))


def _step_load(run: Run) -> np.ndarray | None:
    """Each step's load: users (closed model), else Little's-law concurrency (open model)."""
    for column in ("users", "concurrency_little"):
        load = pd.to_numeric(run.steps[column], errors="coerce").to_numpy(float) if column in run.steps else None
        if load is not None and np.any(np.isfinite(load) & (load > 0)):
            return load
    return None


def _saturated_windows(run: Run, knee: float) -> tuple[LevelWindow, ...]:
    """The steps at or past the knee: all of them measure the capacity, selected or not."""
    load = _step_load(run)
    if load is None or not knee > 0:
        return ()
    windows = []
    for i in np.flatnonzero(np.isfinite(load) & (load >= knee)):
        try:
            windows.append(window(run, int(i), f"saturated step {i}"))
        except InputDataError:
            continue  # a step without steady seconds says nothing of the noise
    return tuple(windows)


def _lowest_load_window(run: Run) -> LevelWindow | None:
    """The step at the lowest load (users; Little's-law concurrency in the open model): the latency floor."""
    load = _step_load(run)
    if load is None:
        return None
    lowest = int(np.nanargmin(np.where(load > 0, load, np.nan)))
    try:
        return window(run, lowest, f"lowest-load step {lowest}")
    except InputDataError:
        return None  # no steady seconds at that step: the knee keeps the capacity's interval


def _with_warning(result: Comparison, text: str) -> Comparison:
    from dataclasses import replace

    return replace(result, warnings=(*result.warnings, text))


def compare_command(base: Path, new: Path, max_regression: list[str], fmt: str, junit: Path | None = None,
                    html: Path | None = None) -> tuple[str, bool]:
    """What ``capplan compare`` prints (``fmt`` text, md or json) and whether the gate fails;
    writes the JUnit and HTML files atomically when asked."""
    import json
    from datetime import datetime, timezone

    from capplan.models.compare import parse_max_regression
    from capplan.report import compare_view
    from capplan.store.atomic import write_text_atomic

    settings = CompareSettings(max_regression=parse_max_regression(max_regression))
    result = compare_run_dirs(base, new, settings)
    if junit is not None:
        write_text_atomic(junit, compare_view.comparison_junit(result))
    if html is not None:
        from capplan.report.render import render_html

        stamp = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
        write_text_atomic(html, render_html(compare_view.comparison_view(result, stamp)))
    if fmt == "json":
        text = json.dumps(result.to_dict(), allow_nan=False) + "\n"
    elif fmt == "md":
        text = compare_view.comparison_markdown(result)
    else:
        text = compare_view.comparison_text(result)
    return text, result.comparison.fails


def check_baseline_run(path: Path, scenario: str) -> None:
    """Before a run with ``--compare-to``: the baseline exists and is of the same scenario (InputDataError)."""
    from capplan.store.run_reader import read_meta

    meta = read_meta(path)
    if meta["scenario"] != scenario:
        raise InputDataError(f"--compare-to run is a {meta['scenario']} run, {str(path)!r}: compare a {scenario} "
                             f"run with an earlier {scenario} run")
