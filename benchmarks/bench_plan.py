"""Benchmark: a 24-month daily capacity plan over 5 resources, after the forecasts are in.

Measures capplan's planner (numpy, vectorised: plan_capacity + project_costs + 5 resource
runways + triggers) against a baseline written the obvious way — a plain pandas loop over
the days (``DataFrame.iterrows``) with a ``groupby`` for the monthly budget — in the same
run, on the same inputs, and checks that both give the same instances and monthly costs.

Target: < 1 s for the planner. Run: ``.venv/bin/python benchmarks/bench_plan.py``.
"""

from __future__ import annotations

import math
import os
import platform
import statistics
import time

import numpy as np
import pandas as pd

from capplan.models.alerts import scaling_triggers
from capplan.models.capacity import DemandSeries, FleetSpec, InstanceCapacity, Redundancy, plan_capacity
from capplan.models.cost import PriceSheet, project_costs
from capplan.models.runway import ResourceSpec, project_compound, project_linear, resource_runway
from capplan.models.slo import parse_slos

DAYS = 730
CAPACITY = InstanceCapacity(max_rps=350.0, safe_rps=280.0)
FLEET = FleetSpec("m6i.large", 6, 3, Redundancy(spares=1), 0.8, 14.0, 90.0)
PRICES = PriceSheet("USD", 0.096, 730.0, 0.37, 0.57, 0.6)
RESOURCES = [
    (ResourceSpec("disk", "GB", 2000.0, 0.8, 30.0), "linear", 1150.0, 10.0),
    (ResourceSpec("connections", "conn", 500.0, 0.8, 14.0), "compound", 180.0, 0.04),
    (ResourceSpec("memory", "GiB", 512.0, 0.8, 14.0), "linear", 200.0, 0.3),
    (ResourceSpec("cores", "cores", 256.0, 0.8, 30.0), "compound", 64.0, 0.05),
    (ResourceSpec("queue", "msgs", 1e6, 0.8, 7.0), "linear", 2e5, 900.0),
]


def _demand() -> DemandSeries:
    ds = np.arange(np.datetime64("2027-01-01"), np.datetime64("2027-01-01") + DAYS)
    t = np.arange(DAYS, dtype=float)
    p50 = 1200.0 * 1.06 ** (t / (730 / 24)) * (1 + 0.1 * np.sin(2 * np.pi * t / 7))
    return DemandSeries(ds, p50, p50 * 1.2)


def capplan_plan(demand: DemandSeries) -> tuple:
    """The planner under test: vectorised models."""
    plan = plan_capacity(demand, CAPACITY, FLEET)
    costs = project_costs(plan, PRICES)
    runways = []
    for spec, kind, current, growth in RESOURCES:
        proj = project_linear(current, growth, DAYS) if kind == "linear" else project_compound(current, growth, DAYS)
        runways.append(resource_runway(spec, demand.ds, proj))
    triggers = scaling_triggers(CAPACITY, FLEET, parse_slos(["p95<300ms"]), 2.5, 2)
    return plan, costs, runways, triggers


def pandas_loop_plan(demand: DemandSeries) -> tuple[pd.DataFrame, list]:
    """Baseline: the same instances, monthly costs and resource dates with a per-day pandas loop."""
    frame = pd.DataFrame({"ds": pd.to_datetime(demand.ds), "p50": demand.p50_rps, "p90": demand.p90_rps})
    rows = []
    for _, row in frame.iterrows():
        n50 = max(math.ceil(row.p50 / CAPACITY.safe_rps - 1e-9) + 1, FLEET.minimum)
        n90 = max(math.ceil(row.p90 / CAPACITY.safe_rps - 1e-9) + 1, FLEET.minimum)
        days_in_month = row.ds.days_in_month
        rate = PRICES.hourly * PRICES.hours_per_month / days_in_month
        rows.append({"month": row.ds.strftime("%Y-%m"), "n50": n50, "n90": n90, "c50": n50 * rate, "c90": n90 * rate})
    monthly = pd.DataFrame(rows).groupby("month").agg(n90=("n90", "max"), c50=("c50", "sum"), c90=("c90", "sum"))
    dates = []
    for spec, kind, current, growth in RESOURCES:
        found = None
        for t, day in enumerate(frame.ds):
            value = current + growth * t if kind == "linear" else current * (1 + growth) ** (t / (730 / 24))
            if value > spec.limit:
                found = np.datetime64(day.date())
                break
        dates.append(found)
    return monthly, dates


def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as handle:
            for line in handle:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _time(fn, *args, repeat: int) -> tuple[float, object]:
    samples, result = [], None
    for _ in range(repeat):
        start = time.perf_counter()
        result = fn(*args)
        samples.append(time.perf_counter() - start)
    return statistics.median(samples), result


def main() -> None:
    demand = _demand()
    capplan_plan(demand)  # warm-up (imports, numpy first calls)
    fast_s, (plan, costs, runways, _) = _time(capplan_plan, demand, repeat=20)
    slow_s, (monthly, dates) = _time(pandas_loop_plan, demand, repeat=3)
    assert [m.instances_p90 for m in costs.months] == monthly["n90"].tolist(), "instances disagree"
    assert np.allclose([m.cost_p90 for m in costs.months], monthly["c90"].to_numpy()), "monthly costs disagree"
    assert [r.exhaustion_date for r in runways] == dates, "exhaustion dates disagree"
    print(f"bench_plan: {DAYS}-day daily plan, {len(costs.months)} months, {len(RESOURCES)} resources, "
          f"{len(plan.steps)} scale-out steps")
    print(f"machine: {_cpu_model()}, nproc {os.cpu_count()}, "
          f"load average {os.getloadavg()[0]:.2f}")
    print(f"capplan planner (numpy, vectorised):   {fast_s * 1000:8.2f} ms (median of 20)")
    print(f"baseline: plain pandas loop (iterrows): {slow_s * 1000:8.2f} ms (median of 3)")
    print(f"speed-up: {slow_s / fast_s:.1f}x; target < 1000 ms: {'met' if fast_s < 1.0 else 'MISSED'}")
    end_to_end_s, _ = _time(_sample_build_plan, repeat=5)
    print(f"for context, build_plan on the sample capplan.toml (what-if demand, config parse included): "
          f"{end_to_end_s * 1000:.1f} ms (median of 5)")


def _sample_build_plan() -> object:
    from pathlib import Path

    from capplan.config import load_config
    from capplan.app.planning import build_plan

    return build_plan(load_config(Path(__file__).resolve().parents[1] / "capplan.toml"))


if __name__ == "__main__":
    main()
