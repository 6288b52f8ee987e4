"""Forecast speed: the capplan CLI against bare Prophet on the same data, side by side.

Run: ``.venv/bin/python benchmarks/bench_forecast.py [--quick]``. Data is generated
(capplan.store.samples, seeded) into a temporary folder; nothing is downloaded.

Cases (targets from issue 4):
1. 5 years daily → 1 year ahead, whole CLI process (< 3 s); baseline: a bare Prophet
   fit + predict process (default settings) on the same CSV.
2. 5 years hourly (43,800 rows) → daily-peak forecast, whole CLI process (< 5 s); baseline:
   bare Prophet fit + predict on the 43,800 hourly rows.
3. 10-fold backtest at 90 days (capplan --backtest: Prophet and 3 baselines) (< 30 s);
   baseline: ``prophet.diagnostics.cross_validation`` with the same 10 cutoffs, Prophet only.
4. 50 series in one call (1 year daily each, 90 days ahead) spread over the cores; baselines:
   the same call with ``--jobs 1`` (fold fits still overlap on threads), and the same call
   pinned to one core with ``taskset -c 0``.

With ``--accuracy`` (and ../shared/reference present) it also prints the 10-fold, 90-day
backtest table of the public traffic series, with the coverage of Prophet's own 80 %
interval (uncertainty_samples=1000, seeded) beside capplan's conformal one.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PYTHON = sys.executable
CAPPLAN = [PYTHON, "-c", "from capplan.cli.app import main; main()"]
SOLO = [PYTHON, "-c", "import typer; from capplan.cli.forecast import forecast; typer.run(forecast)"]
"""The forecast command alone, without the import cost of the other commands' modules."""

BARE_PROPHET = """
import logging, sys, pandas as pd
logging.getLogger("cmdstanpy").disabled = True
from prophet import Prophet
frame = pd.read_csv(sys.argv[1]).rename(columns={sys.argv[2]: "ds", sys.argv[3]: "y"})
model = Prophet().fit(frame[["ds", "y"]])
model.predict(model.make_future_dataframe(periods=int(sys.argv[4]), freq=sys.argv[5]))
"""

BARE_CV = """
import logging, sys, pandas as pd
logging.getLogger("cmdstanpy").disabled = True
from prophet import Prophet
from prophet.diagnostics import cross_validation
frame = pd.read_csv(sys.argv[1]).rename(columns={"peak_rps": "y"})
frame["ds"] = pd.to_datetime(frame["ds"])
last = frame["ds"].max() - pd.Timedelta(days=90)
cutoffs = [last - pd.Timedelta(days=45 * k) for k in range(10)][::-1]
cross_validation(Prophet().fit(frame), horizon="90 days", cutoffs=cutoffs, disable_tqdm=True)
"""


def timed(command: list[str]) -> float:
    """Wall-clock seconds of one process (its output discarded); raises if it fails."""
    start = time.perf_counter()
    subprocess.run(command, check=True, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    return time.perf_counter() - start


def best_of(command: list[str], runs: int) -> float:
    """Fastest of ``runs`` wall-clock timings (the least disturbed by other load)."""
    return min(timed(command) for _ in range(runs))


def report(label: str, ours: float, baseline: float, baseline_name: str, target: str) -> None:
    print(f"{label:<44} capplan {ours:6.2f} s | {baseline_name} {baseline:6.2f} s | "
          f"ratio {ours / baseline:5.2f}x | target {target}")


def make_data(folder: Path, series: int) -> dict[str, Path]:
    """The benchmark inputs, generated with fixed seeds."""
    sys.path.insert(0, str(ROOT))
    from capplan.store.samples import (
        SampleSpec,
        generate_hourly_history,
        generate_sample_history,
    )

    paths = {"daily": folder / "daily5y.csv", "hourly": folder / "hourly5y.csv"}
    generate_sample_history(SampleSpec(days=5 * 365)).to_csv(paths["daily"], index=False)
    generate_hourly_history(SampleSpec(days=5 * 365)).to_csv(paths["hourly"], index=False)
    many = folder / "many"
    many.mkdir()
    for seed in range(series):
        spec = SampleSpec(days=365, seed=seed, base_rps=50.0 + 10 * seed)
        generate_sample_history(spec).to_csv(many / f"service{seed:02d}.csv", index=False)
    paths["many"] = many
    return paths


def main() -> None:
    quick = "--quick" in sys.argv
    runs = 1 if quick else 3
    series = 10 if quick else 50
    cpu = _cpu_model()
    print(f"bench_forecast: {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, nproc {os.cpu_count()}, {cpu}, "
          f"load {os.getloadavg()[0]:.2f}, best of {runs}")
    with tempfile.TemporaryDirectory() as tmp:
        data = make_data(Path(tmp), series)
        daily, hourly = str(data["daily"]), str(data["hourly"])
        ours = best_of([*CAPPLAN, "forecast", daily, "--horizon", "1y", "--json"], runs)
        bare = best_of([PYTHON, "-c", BARE_PROPHET, daily, "ds", "peak_rps", "365", "D"], runs)
        report("5y daily -> 1y ahead (whole process)", ours, bare, "bare Prophet", "< 3 s")
        solo = best_of([*SOLO, daily, "--horizon", "1y", "--json"], runs)
        report("  same, forecast command alone", solo, bare, "bare Prophet", "< 3 s")
        ours = best_of([*CAPPLAN, "forecast", hourly, "--horizon", "1y", "--json"], runs)
        bare = best_of([PYTHON, "-c", BARE_PROPHET, hourly, "ds", "rps", str(365 * 24), "h"], 1)
        report("5y hourly (43,800 rows) -> daily peaks, 1y", ours, bare, "bare Prophet", "< 5 s")
        ours = best_of([*CAPPLAN, "forecast", daily, "--backtest", "--folds", "10", "--horizon", "90d"], 1)
        bare = best_of([PYTHON, "-c", BARE_CV, daily], 1)
        report("10-fold backtest, 90 days (4 models)", ours, bare, "Prophet cross_validation", "< 30 s")
        folder = str(data["many"])
        ours = best_of([*CAPPLAN, "forecast", folder, "--horizon", "90d", "--json"], 1)
        serial = best_of([*CAPPLAN, "forecast", folder, "--horizon", "90d", "--json", "--jobs", "1"], 1)
        report(f"{series} series in one call (all cores)", ours, serial, "--jobs 1", "spread over cores")
        if shutil.which("taskset"):
            # --jobs 1 still overlaps fold fits on threads; pinned to one core it shows the one-core time.
            one_core = best_of(["taskset", "-c", "0", *CAPPLAN, "forecast", folder, "--horizon", "90d", "--json"], 1)
            report(f"{series} series in one call (all cores)", ours, one_core, "one core", "spread over cores")


def accuracy() -> None:
    """Backtest table per reference series: capplan's models and Prophet's own interval coverage."""
    sys.path.insert(0, str(ROOT))
    reference = ROOT.parent / "shared" / "reference" / "traffic"
    if not reference.is_dir():
        print(f"accuracy: {reference} not found, skipped")
        return
    from capplan.models.backtest import backtest, rolling_origins
    from capplan.models.forecast import (
        MIN_HISTORY_DAYS,
        DemandForecaster,
        ForecastSettings,
    )
    from capplan.store.history import read_history

    for name in ("appserver_traffic_stats_DAILY_CHs", "appserver_traffic_stats_HOURLY_CHs",
                 "prophet_example_wp_log_peyton_manning"):
        history = read_history(reference / f"{name}.csv")
        daily = history.daily.loc[history.daily.first_valid_index():history.daily.last_valid_index()]
        origins = rolling_origins(len(daily), 90, 10, max(MIN_HISTORY_DAYS, len(daily) // 3))
        candidates = DemandForecaster(ForecastSettings(model="auto")).candidates()
        result = backtest(daily, candidates, 90, origins, 0.8, threads=2)
        print(f"\n{name}: {len(origins)} folds x 90 days, 80 % interval")
        print("| model | MAPE % | MASE | coverage (conformal) |\n|---|---|---|---|")
        for score in sorted(result.scores, key=lambda s: s.mase):
            print(f"| {score.model} | {score.mape_pct:.2f} | {score.mase:.3f} | {score.coverage:.1%} |")
        print(f"| prophet, its own interval | | | {_native_coverage(daily, origins):.1%} |")


def _native_coverage(daily, origins: list[int]) -> float:
    """Coverage of bare Prophet's 80 % interval (default settings) over the same folds."""
    import logging

    import numpy as np
    import pandas as pd

    logging.getLogger("cmdstanpy").disabled = True
    from prophet import Prophet

    covered = total = 0
    for origin in origins:
        train = daily.iloc[:origin].dropna()
        test = daily.iloc[origin:origin + 90].dropna()
        np.random.seed(0)
        model = Prophet(interval_width=0.8).fit(pd.DataFrame({"ds": train.index, "y": train.to_numpy()}))
        predicted = model.predict(pd.DataFrame({"ds": test.index}))
        inside = (test.to_numpy() >= predicted["yhat_lower"].to_numpy()) & (
            test.to_numpy() <= predicted["yhat_upper"].to_numpy())
        covered += int(inside.sum())
        total += len(test)
    return covered / total


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return "unknown CPU"


if __name__ == "__main__":
    if "--accuracy-only" not in sys.argv:
        main()
    if "--accuracy" in sys.argv or "--accuracy-only" in sys.argv:
        accuracy()
