"""Benchmark: the HTML capacity report built from stored results, as a whole CLI process.

Inputs are what ``make demo`` leaves behind: the latest baseline/stress/spike/soak runs in
``datasets/runs`` and the bundled sample history (4 years daily). A temporary config is the
root ``capplan.toml`` with ``[capacity] runs`` set to the latest stress run and ``[demand]
source`` set to the history, so the report fits the saturation model and a Prophet forecast.

Measured side by side in one run:

* capplan: ``capplan report --config <tmp> --out <tmp>/report.html`` (whole process:
  imports, reading runs, USL fit, Prophet fit, plan, 7 charts, one HTML file with
  plotly.js embedded once);
* baseline: how a notebook usually exports the same charts, one
  ``Figure.write_html(include_plotlyjs=True)`` file per chart (plotly.js in each).

Targets (issue 6): < 5 s for the report; HTML ≤ 6 MB, nearly all of it plotly.js.
Run: ``make demo`` once, then ``.venv/bin/python benchmarks/bench_report.py``.
"""

from __future__ import annotations

import json
import os
import platform
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import plotly.io as pio
from plotly.offline import get_plotlyjs

REPO = Path(__file__).resolve().parents[1]
HISTORY = REPO / "datasets" / "sample_traffic_daily.csv"
REPEATS = 3


def report_config(folder: Path) -> Path:
    """The root capplan.toml, measuring capacity from the latest stress run and forecasting the history."""
    from capplan.store.runs import list_runs

    stress = [r.path for r in list_runs(REPO / "datasets" / "runs") if r.scenario == "stress" and r.complete]
    if not stress:
        sys.exit("no complete stress run in datasets/runs: run `make demo` first")
    text = (REPO / "capplan.toml").read_text()
    replaced = {
        r"(?m)^per_instance_rps = .*$": f"runs = [{json.dumps(str(stress[-1]))}]",
        r"(?m)^from_rate = .*$": f"source = {json.dumps(str(HISTORY))}",
        r"(?m)^growth = .*$": "", r"(?m)^start = .*$": "",
        r'(?m)^out_dir = "datasets/runs".*$': f"out_dir = {json.dumps(str(REPO / 'datasets' / 'runs'))}",
    }
    for pattern, value in replaced.items():
        text, count = re.subn(pattern, value, text, count=1)
        if count != 1:
            sys.exit(f"capplan.toml changed: {pattern!r} not found, update benchmarks/bench_report.py")
    path = folder / "capplan.toml"
    path.write_text(text)
    return path


def time_capplan(config: Path, out: Path) -> float:
    started = time.perf_counter()
    subprocess.run([str(Path(sys.executable).with_name("capplan")), "report", "--config", str(config), "--out", str(out)],
                   check=True, capture_output=True)
    return time.perf_counter() - started


def time_baseline(config: Path, folder: Path) -> tuple[float, int, int]:
    """Per-chart write_html files for the same charts; returns (seconds, files, total bytes)."""
    from capplan.config import load_config
    from capplan.app.reporting import collect_results, report_facts

    facts = report_facts(collect_results(load_config(config)))
    started = time.perf_counter()
    total = 0
    for i, chart in enumerate(facts.charts):
        path = folder / f"chart-{i}.html"
        pio.from_json(chart.figure_json).write_html(path, include_plotlyjs=True, full_html=True)
        total += path.stat().st_size
    return time.perf_counter() - started, len(facts.charts), total


def main() -> None:
    cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")), platform.machine()) if Path("/proc/cpuinfo").exists() else ""
    print(f"machine: {cpu or platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}")
    with tempfile.TemporaryDirectory(prefix="capplan-bench-report-") as tmp:
        folder = Path(tmp)
        config = report_config(folder)
        out = folder / "report.html"
        times = sorted(time_capplan(config, out) for _ in range(REPEATS))
        size = out.stat().st_size
        plotly_js = len(get_plotlyjs().encode())
        base_s, charts, base_bytes = time_baseline(config, folder)
        print(f"capplan report (whole CLI process, median of {REPEATS}): {times[REPEATS // 2]:.2f} s "
              f"(min {times[0]:.2f} s); target < 5 s")
        print(f"report HTML: {size / 1e6:.2f} MB, of which plotly.js {plotly_js / 1e6:.2f} MB "
              f"({plotly_js / size:.0%}); target <= 6 MB")
        print(f"baseline, {charts} charts each written with write_html(include_plotlyjs=True): "
              f"{base_bytes / 1e6:.1f} MB in {charts} files, {base_s:.2f} s for the writes alone")
        print(f"ratio: one capplan report is {base_bytes / size:.1f}x smaller than the per-chart export")


if __name__ == "__main__":
    main()
