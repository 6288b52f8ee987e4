"""Benchmarks of capplan's load-test engine (all traffic to 127.0.0.1 servers started here).

(a) requests/s with capplan's recorder vs bare ``locust`` (same FastHttpUser GET /, no
    think time, same users, one process each), alternated in one run against a fast
    demo target (service 0.01 ms, 1000 slots); target ratio >= 0.95.
(b) sketch percentiles vs exact numpy percentiles of the raw samples, p50..p99.9, on
    synthetic distributions (1e6 samples) and on the raw latencies of run (a); <= 1 %.
(c) recorder memory over a full-speed run: RSS of the capplan process at 1 min and at
    the end (``--duration 600`` for the 10-minute figure).
(d) open model: achieved vs intended arrival rate for rising rates; the rate where it
    falls below 97 %.

Usage: ``python benchmarks/bench_loadtest.py [--part a|b|c|d|all] [--duration 600]``.
"""

from __future__ import annotations

import argparse
import csv
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import psutil

from capplan.loadtest.recorder import read_raw_latencies
from capplan.loadtest.target import TargetSettings, start_target
from capplan.models.sketch import LatencySketch, merge_sketches
from capplan.store.runs import read_run

BIN = Path(sys.executable).parent
CLI = [sys.executable, "-c", "from capplan.cli.app import main; main()"]
BARE_LOCUSTFILE = Path(__file__).with_name("bench_loadtest_locustfile.py")
QUANTILES = (0.5, 0.9, 0.95, 0.99, 0.999)
FAST = TargetSettings(port=0, slots=1000, service_ms=0.01, distribution="constant")


def _run_dir(root: Path) -> Path:
    return next(p for p in sorted(root.iterdir()) if (p / "run.json").exists())


def bare_locust_rps(url: str, users: int, duration_s: int, work: Path) -> float:
    """Requests/s of plain ``locust --headless`` (its own stats) with the same user."""
    prefix = work / f"bare-{time.time_ns()}"
    subprocess.run([str(BIN / "locust"), "-f", str(BARE_LOCUSTFILE), "--headless", "-u", str(users), "-r",
                    str(users), "-t", f"{duration_s}s", "--host", url, "--csv", str(prefix), "--only-summary"],
                   capture_output=True, timeout=duration_s + 60, check=True)
    with open(f"{prefix}_stats.csv", newline="") as fh:
        row = next(r for r in csv.DictReader(fh) if r["Name"] == "Aggregated")
    return float(row["Requests/s"])


def capplan_rps(url: str, users: int, duration_s: int, work: Path, raw_dir: Path | None = None) -> float:
    """Requests/s recorded by ``capplan loadtest baseline`` (no ramp, hold ``duration_s``)."""
    root = work / f"capplan-{time.time_ns()}"
    args = ["loadtest", "baseline", "--host", url, "--users", str(users), "--ramp", "0s", "--hold",
            f"{duration_s}s", "--out", str(root), "--quiet"]
    if raw_dir is not None:
        args += ["--raw-dir", str(raw_dir)]
    subprocess.run([*CLI, *args], capture_output=True, timeout=duration_s + 60, check=True)
    seconds = read_run(_run_dir(root)).seconds
    timed = seconds[seconds["stage"] != "stopping"]  # the partial second after the stop is not a full second
    return float(timed["requests"].sum() / len(timed))


def part_a(work: Path, rounds: int = 5, users: int = 20, duration_s: int = 10) -> Path:
    print(f"(a) recorder overhead: {rounds} alternating rounds of {duration_s}s, {users} users, fast target")
    raw = work / "raw-a"
    bare, ours = [], []
    with start_target(FAST) as target:
        for i in range(rounds):
            bare.append(bare_locust_rps(target.url, users, duration_s, work))
            ours.append(capplan_rps(target.url, users, duration_s, work, raw if i == rounds - 1 else None))
            print(f"    round {i + 1}: bare locust {bare[-1]:8.1f} req/s   capplan {ours[-1]:8.1f} req/s")
    b, c = statistics.median(bare), statistics.median(ours)
    print(f"    median: bare locust {b:.1f} req/s, capplan {c:.1f} req/s, ratio {c / b:.3f} (target >= 0.95)")
    return raw


def _errors(sketch: LatencySketch, samples: np.ndarray, method: str = "lower") -> list[float]:
    """Relative errors vs numpy; "lower" is the sample at rank floor(q(n-1)), the one DDSketch
    bounds; "linear" interpolates between two samples, which differs only across a gap."""
    return [abs(sketch.quantile(q) / float(np.percentile(samples, 100 * q, method=method)) - 1) for q in QUANTILES]


def part_b(raw_dir: Path | None) -> None:
    print("(b) sketch vs exact percentiles (relative error at p50, p90, p95, p99, p99.9)")
    rng = np.random.default_rng(42)
    cases = {"lognormal(3,1)": rng.lognormal(3.0, 1.0, 1_000_000),
             "exponential(10ms)": rng.exponential(10.0, 1_000_000),
             "pareto(a=1.5)+1": rng.pareto(1.5, 1_000_000) + 1.0,
             "bimodal 5ms/200ms": np.concatenate([rng.normal(5, 0.5, 900_000).clip(0.01),
                                                  rng.normal(200, 20, 100_000).clip(0.01)]),
             "uniform 1..1000ms, n=1000": rng.uniform(1, 1000, 1000)}
    if raw_dir is not None and any(raw_dir.glob("*.f64")):
        cases["real run (a) raw"] = np.concatenate([np.asarray(read_raw_latencies(f)) for f in raw_dir.glob("*.f64")])
    for name, samples in cases.items():
        sketch = LatencySketch()
        sketch.add_many(samples.tolist())
        errs, linear = _errors(sketch, samples), _errors(sketch, samples, "linear")
        print(f"    {name:20s} n={len(samples):8d}  " + "  ".join(f"{e:.3%}" for e in errs)
              + f"  max {max(errs):.3%} ({'ok' if max(errs) <= 0.01 else 'OVER 1%'}); "
              f"vs linear interpolation max {max(linear):.3%}")
    parts = [LatencySketch() for _ in range(8)]
    samples = cases["lognormal(3,1)"]
    for i, part in enumerate(parts):
        part.add_many(samples[i::8].tolist())
    errs = _errors(merge_sketches(parts), samples)
    print(f"    8 merged sketches of lognormal: max error {max(errs):.3%}")


def part_c(work: Path, duration_s: int, users: int = 20) -> None:
    print(f"(c) recorder memory over a {duration_s}s full-speed run ({users} users, fast target)")
    root = work / "mem"
    with start_target(FAST) as target:
        proc = subprocess.Popen([*CLI, "loadtest", "baseline", "--host", target.url, "--users", str(users),
                                 "--ramp", "0s", "--hold", f"{duration_s}s", "--out", str(root), "--quiet"],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        me, started, samples = psutil.Process(proc.pid), time.time(), []
        while proc.poll() is None:
            try:
                samples.append((time.time() - started, me.memory_info().rss / 1e6))
            except psutil.Error:
                break
            time.sleep(5)
        proc.wait()
    at = (lambda t: min(samples, key=lambda s: abs(s[0] - t))[1])
    totals = read_run(_run_dir(root)).meta["summary"]["totals"]
    print(f"    {totals['requests']} requests at {totals['throughput_rps']:.0f} req/s")
    for t in sorted({10, 60, 300, duration_s - 5}):
        if 0 < t <= duration_s:
            print(f"    RSS at {t:4d}s: {at(t):7.1f} MB")


def part_d(work: Path, rates: list[float], duration_s: int = 8) -> None:
    print(f"(d) open model: achieved / intended arrivals, {duration_s}s per rate, fast target")
    below = None
    with start_target(FAST) as target:
        for rate in rates:
            root = work / f"open-{rate:g}"
            subprocess.run([*CLI, "loadtest", "baseline", "--host", target.url, "--rate", str(rate), "--ramp",
                            "0s", "--hold", f"{duration_s}s", "--out", str(root), "--quiet", "--seed", "1"],
                           capture_output=True, timeout=duration_s + 60, check=False)
            summary = read_run(_run_dir(root)).meta["summary"]
            om, cpu = summary["open_model"], len(summary["generator_cpu_over_90pct_s"])
            print(f"    intended {rate:7.0f} req/s: achieved {om['achieved_ratio']:.1%}, mean lag "
                  f"{om['mean_gen_lag_ms'] or 0:.1f} ms, generator CPU>90% in {cpu} s")
            if below is None and om["achieved_ratio"] < 0.97:
                below = rate
    print(f"    achieved falls below 97 % at {below:g} req/s" if below else "    never below 97 % in this range")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--part", default="all", choices=["a", "b", "c", "d", "all"])
    parser.add_argument("--duration", type=int, default=90, help="(c) run length in seconds (600 = 10 min)")
    parser.add_argument("--rates", default="100,200,400,800,1200,1600,2000,2500,3000")
    args = parser.parse_args()
    cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")), platform.processor())
    print(f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}  nproc={os.cpu_count()}  cpu={cpu}  "
          f"load={os.getloadavg()[0]:.2f}")
    with tempfile.TemporaryDirectory(prefix="bench_loadtest_") as tmp:
        work = Path(tmp)
        raw = part_a(work) if args.part in ("a", "all") else None
        if args.part in ("b", "all"):
            part_b(raw)
        if args.part in ("c", "all"):
            part_c(work, args.duration)
        if args.part in ("d", "all"):
            part_d(work, [float(r) for r in args.rates.split(",")])


if __name__ == "__main__":
    main()
