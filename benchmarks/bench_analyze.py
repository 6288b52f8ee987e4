"""Benchmark for issue 3 (`capplan analyze`): whole-CLI analysis time and USL fit time.

1. A run directory with 100 steps and a 24-hour per-second series (86,400 rows, each with
   a latency sketch) is written with the run store's RunWriter; then the whole process
   ``capplan analyze RUN --json`` is timed (best of 3). Target: < 2 s.
   Baseline measured side by side: ``capplan --version`` (the same interpreter and CLI
   import, doing nothing), so the ratio shows what the analysis itself adds. Also timed:
   the same command in a process whose typer app registers only ``analyze`` (what the
   command costs without the other commands' imports).
2. A USL fit on 1,000 noisy points (best of 5). Target: < 100 ms.
   Baseline measured side by side: one unbounded ``scipy.optimize.curve_fit`` from a
   single starting point on the same points (what a hand-rolled fit would do).

Run: ``.venv/bin/python benchmarks/bench_analyze.py``
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

from capplan.models.sketch import LatencySketch
from capplan.models.usl import UslModel
from capplan.store.runs import RunWriter

CLI_TARGET_S = 2.0
FIT_TARGET_S = 0.100
CAPPLAN = Path(sys.executable).with_name("capplan")


def write_big_run(root: Path) -> Path:
    """100 steps of 864 s each: a closed-loop test of a 16-slot, 10 ms service."""
    seconds = np.arange(86_400, dtype=float)
    step = (seconds // 864).astype(int)
    users = np.geomspace(1, 200, 100).round()[step]
    x = np.minimum(users, 16) * 100.0 / (1 + 0.01 * (np.minimum(users, 16) - 1))
    r = 1000.0 * users / x
    sketch = LatencySketch()
    sketch.add_many(np.random.default_rng(1).exponential(10.0, 2000))
    blob = sketch.to_bytes()
    frame = pd.DataFrame({"t_s": seconds, "stage": "step", "step": step, "users": users.astype(int),
                          "offered_rps": np.nan, "requests": x.astype(int), "throughput_rps": x, "errors": 0,
                          "error_rate": 0.0, "latency_p50_ms": r * 0.7, "latency_p95_ms": r * 3,
                          "latency_p99_ms": r * 4.6, "latency_mean_ms": r, "gen_cpu_pct": 30.0, "sketch": [blob] * 86_400})
    writer = RunWriter("stress", "http://127.0.0.1:8089", root=root, slos=["p95<300ms"])
    writer.append_seconds(frame)
    steps = frame.groupby("step").agg(users=("users", "first"), throughput_rps=("throughput_rps", "mean"),
                                      latency_mean_ms=("latency_mean_ms", "mean"),
                                      latency_p95_ms=("latency_p95_ms", "mean")).reset_index()
    steps["latency_std_ms"] = steps["latency_mean_ms"]
    writer.write_steps(steps)
    return writer.finalize("complete")


def best_of(runs: int, action) -> float:
    """Fastest wall time (s) of ``runs`` calls."""
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        action()
        times.append(time.perf_counter() - start)
    return min(times)


def run_cli(*args: str) -> None:
    """Run the capplan CLI as its own process; fail loudly on a non-zero exit."""
    subprocess.run([str(CAPPLAN), *args], check=True, stdout=subprocess.DEVNULL, env=dict(os.environ))


_ANALYZE_ONLY = (
    "import typer\n"
    "from capplan.cli import analyze\n"
    "app = typer.Typer()\n"
    "app.callback()(lambda: None)\n"
    "analyze.register(app)\n"
    "app()\n"
)


def run_analyze_only(run_dir: Path) -> None:
    """``analyze RUN --json`` in a process that imports only the analyze command."""
    subprocess.run([sys.executable, "-c", _ANALYZE_ONLY, "analyze", str(run_dir), "--json"], check=True,
                   stdout=subprocess.DEVNULL)


def usl_points() -> tuple[np.ndarray, np.ndarray]:
    """1,000 noisy points of σ = 0.03, κ = 0.0001, λ = 90 (specsdm91-like)."""
    rng = np.random.default_rng(7)
    n = rng.uniform(1, 250, 1000)
    x = 90 * n / (1 + 0.03 * (n - 1) + 0.0001 * n * (n - 1))
    return n, x * (1 + 0.03 * rng.standard_normal(n.size))


def curve_fit_baseline(n: np.ndarray, x: np.ndarray) -> None:
    """The hand-rolled baseline: one unbounded curve_fit from one starting point."""
    from scipy.optimize import curve_fit

    curve_fit(lambda n, s, k, lam: lam * n / (1 + s * (n - 1) + k * n * (n - 1)), n, x, p0=[0.1, 0.001, 50.0],
              maxfev=20000)


def main() -> None:
    """Print each figure, its ratio to the target and to the named baseline."""
    with tempfile.TemporaryDirectory() as tmp:
        start = time.perf_counter()
        run_dir = write_big_run(Path(tmp))
        print(f"wrote run with 86,400 s rows and 100 steps in {time.perf_counter() - start:.1f} s: {run_dir.name}")
        cli_s = best_of(3, lambda: run_cli("analyze", str(run_dir), "--json"))
        base_s = best_of(3, lambda: run_cli("--version"))
        only_s = best_of(3, lambda: run_analyze_only(run_dir))
    print(f"capplan analyze (whole process): {cli_s:.3f} s; target {CLI_TARGET_S:.1f} s -> "
          f"{cli_s / CLI_TARGET_S:.2f} of target")
    print(f"  baseline `capplan --version` process: {base_s:.3f} s -> analyze costs {cli_s / base_s:.1f}x "
          f"the bare CLI start ({cli_s - base_s:.3f} s of analysis)")
    print(f"  analyze-only process (no other commands imported): {only_s:.3f} s -> "
          f"{only_s / CLI_TARGET_S:.2f} of target")
    n, x = usl_points()
    fit_s = best_of(5, lambda: UslModel().fit(n, x))
    base_fit_s = best_of(5, lambda: curve_fit_baseline(n, x))
    print(f"USL fit, 1,000 points, multi-start bounded: {1000 * fit_s:.1f} ms; target {1000 * FIT_TARGET_S:.0f} ms "
          f"-> {fit_s / FIT_TARGET_S:.2f} of target")
    print(f"  baseline single-start unbounded curve_fit: {1000 * base_fit_s:.1f} ms -> "
          f"{fit_s / base_fit_s:.1f}x the baseline")


if __name__ == "__main__":
    main()
