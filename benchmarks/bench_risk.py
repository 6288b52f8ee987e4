"""Benchmark: risk per month over 24 months daily × 2,000 demand paths × 5 instance types.

Measures capplan's vectorised risk models (numpy: sample the demand paths and capacities,
plan every shape to a 1 % breach target, each plan's monthly breach and trigger
probabilities, the fleet-size fan, and the newsvendor pricing of the purchase options)
against a baseline written the obvious way — a Python loop over shapes, paths and months
with numpy only inside one path — in the same run, on the same samples, and checks that
both give the same plans and probabilities.

Target (issue 12): < 2 s for capplan. Run: ``.venv/bin/python benchmarks/bench_risk.py``.
"""

from __future__ import annotations

import math
import os
import platform
import statistics
import time

import numpy as np

from capplan.models.capacity import DemandSeries, Redundancy
from capplan.models.cost import PriceSheet, day_rates
from capplan.models.instance_types import ShapeSpec, compare_shapes
from capplan.models.reservation import price_options
from capplan.models.risk import (
    CapacityInterval,
    RiskSettings,
    fleet_quantiles,
    fleet_risk,
    fleet_sizes,
    per_day,
    plan_to_risk,
    sample_capacity,
    sample_demand_paths,
)

DAYS, PATHS, TARGET = 730, 2000, 0.01
REDUNDANCY, MINIMUM, TRIGGER = Redundancy(spares=1), 3, 0.8
MEASURED = CapacityInterval(362.8, 296.5, 429.0, 0.95, 0.8)  # the demo target's stress run (issue 12)
SHAPES = tuple(ShapeSpec(name, hourly, MEASURED.scaled(vcpus / 2), "scaled by vCPUs")
               for name, hourly, vcpus in (("m6i.large", 0.096, 2), ("c6i.large", 0.085, 2), ("m6i.xlarge", 0.192, 4),
                                           ("c6i.xlarge", 0.170, 4), ("m6i.2xlarge", 0.384, 8)))
SHEET = PriceSheet("USD", 0.096, 730.0, 0.37, 0.57, 0.6)


def _demand() -> DemandSeries:
    ds = np.arange(np.datetime64("2027-01-01"), np.datetime64("2027-01-01") + DAYS)
    t = np.arange(DAYS, dtype=float)
    p50 = 1200.0 * 1.06 ** (t / (730 / 24)) * (1 + 0.1 * np.sin(2 * np.pi * t / 7))
    return DemandSeries(ds, p50, p50 * (1.15 + 0.15 * t / DAYS))


def capplan_risk(demand: DemandSeries) -> dict:
    """The models under test, end to end for one plan and five shapes."""
    paths = sample_demand_paths(demand, RiskSettings(paths=PATHS, seed=12, day_correlation=1.0))
    hours = day_rates(demand.ds, PriceSheet("USD", 1.0, 730.0))
    shapes = compare_shapes(paths, SHAPES, (REDUNDANCY, MINIMUM, TARGET), hours, "m6i.large")
    plans = {s.name: plan_to_risk(paths, s.capacity, REDUNDANCY, MINIMUM, TARGET) for s in SHAPES}
    risks = {s.name: fleet_risk(paths, s.capacity, per_day(paths, plans[s.name]), REDUNDANCY, TRIGGER)
             for s in SHAPES}
    sizes = fleet_sizes(paths, MEASURED, REDUNDANCY, MINIMUM)
    fan = fleet_quantiles(sizes)
    advice = price_options(sizes, day_rates(demand.ds, SHEET), fan[1].astype(np.int64), SHEET)
    return {"paths": paths, "plans": plans, "risks": risks, "shapes": shapes, "advice": advice}


def loop_risk(paths, shape: ShapeSpec) -> tuple[np.ndarray, list[tuple[float, float]]]:
    """The obvious way: for each path, for each month, the peak; sort per month; loop again for risk."""
    capacity = sample_capacity(shape.capacity, paths.capacity_z)
    bounds = list(zip(paths.month_starts, list(paths.month_starts[1:]) + [paths.rps.shape[1]], strict=True))
    need = np.empty((len(bounds), paths.paths))
    for p in range(paths.paths):
        for m, (a, b) in enumerate(bounds):
            need[m, p] = paths.rps[p, a:b].max() / capacity[p]
    allowed = math.floor(TARGET * paths.paths + 1e-9)
    plan = []
    for m in range(len(bounds)):
        usable = math.ceil(sorted(need[m])[paths.paths - 1 - allowed] - 1e-9)
        plan.append(max(usable + 1 if usable > 0 else 0, MINIMUM))
    risk = []
    for m, (a, b) in enumerate(bounds):
        usable = plan[m] - 1
        breach = trigger = 0
        for p in range(paths.paths):
            peak = paths.rps[p, a:b].max()
            breach += peak > usable * capacity[p]
            trigger += peak > usable * capacity[p] * shape.capacity.safe_fraction * TRIGGER
        risk.append((breach / paths.paths, trigger / paths.paths))
    return np.array(plan), risk


def _time(fn, repeats: int) -> tuple[float, object]:
    times, out = [], None
    for _ in range(repeats):
        start = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times), out


def main() -> None:
    demand = _demand()
    capplan_s, result = _time(lambda: capplan_risk(demand), 5)
    paths = result["paths"]
    loop_s, loops = _time(lambda: [loop_risk(paths, s) for s in SHAPES], 1)
    for shape, (plan, risk) in zip(SHAPES, loops, strict=True):
        mine = result["risks"][shape.name]
        assert np.array_equal(plan, result["plans"][shape.name]), shape.name
        assert all(abs(a - r.breach_probability) < 1e-12 and abs(b - r.trigger_probability) < 1e-12
                   for (a, b), r in zip(risk, mine, strict=True)), shape.name
    print(f"machine: {os.cpu_count()} cores, {platform.processor() or platform.machine()}, "
          f"Python {platform.python_version()}, load {os.getloadavg()[0]:.2f}")
    print(f"inputs: {DAYS} days ({len(paths.months)} months) × {PATHS} paths × {len(SHAPES)} shapes, "
          f"target {TARGET:.0%} per month")
    print(f"capplan (vectorised, whole pipeline incl. sampling, fan and reservation pricing): "
          f"{capplan_s:.3f} s median of 5   target < 2 s: {'PASS' if capplan_s < 2 else 'FAIL'}")
    print(f"baseline (Python loops over shapes × paths × months, plan + risk only): {loop_s:.3f} s   "
          f"ratio {loop_s / capplan_s:.1f}×; same plans and probabilities: yes")
    worst = max(r.breach_probability for r in result["risks"]["m6i.large"])
    print(f"m6i.large plan peak {int(result['plans']['m6i.large'].max())} instances, worst month breach "
          f"{worst:.4f}; recommended shape: {result['shapes'].reason}")
    print(f"reservations: {result['advice'].reason}")


if __name__ == "__main__":
    main()
