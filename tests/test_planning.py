"""build_plan end to end: config → capacity (explicit or estimated) → demand (what-if or forecast) → plan."""

from __future__ import annotations

import datetime as dt
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from capplan.config import config_from_mapping, load_config
from capplan.models.saturation import estimate_saturation
from capplan.app.planning import budget_rows, build_plan, plan_as_dict
from capplan.store.measurements import load_measurements

REPO_ROOT = Path(__file__).resolve().parents[1]


def _config(tmp_path: Path, **sections):
    raw = {"capacity": {"per_instance_rps": 250.0},
           "demand": {"from_rate": 1000.0, "growth": "0%/month", "start": dt.date(2027, 1, 1), "horizon": "90d"},
           "fleet": {"current_count": 6, "minimum": 3, "n_plus": 1, "lead_time": "14d"}}
    for name, values in sections.items():
        raw[name] = values if isinstance(values, list) else {**raw.get(name, {}), **values}
    return config_from_mapping(raw, base_dir=tmp_path)


def test_flat_what_if_demand_plan_hand_computed(tmp_path):
    """1000 req/s flat, 250 × 0.8 = 200 safe → 5 serving + 1 = 6 instances every day; fleet 6 has
    5 usable × 160 = 800 < 1000 at the trigger, so the first day crosses it and 1000 / 160 = 6.25 → 7 + 1 = 8."""
    report = build_plan(_config(tmp_path))
    assert set(report.plan.needed_p90.tolist()) == {6}
    assert report.plan.runway.trigger_date == np.datetime64("2027-01-01")
    assert report.plan.runway.safe_exceeded_date is None  # 1000 is not above 5 × 200
    assert [(s.add, s.fleet_after) for s in report.plan.steps] == [(2, 8)]
    assert report.recommendations[0].startswith("add 2 × m6i.large by 2026-12-18 (overdue: order now)")


def test_january_budget_row_costs_six_instances_at_the_sample_price(tmp_path):
    """6 × 0.096 $/h × 730 h = 420.48 $ for the full month of January."""
    row = budget_rows(build_plan(_config(tmp_path)), months=1)[0]
    assert row["month"] == "2027-01" and row["instances_p90"] == 6
    assert row["cost_p90"] == pytest.approx(420.48)


def test_launch_multiplier_steps_demand_up_from_its_date(tmp_path):
    events = [{"name": "launch", "start": dt.date(2027, 2, 1), "multiplier": 1.5}]
    report = build_plan(_config(tmp_path, demand={"events": events}))
    p50 = report.plan.demand.p50_rps
    assert p50[30] == pytest.approx(1000.0) and p50[31] == pytest.approx(1500.0)
    assert not report.plan.demand.event.any()


def test_one_day_event_gets_temporary_capacity(tmp_path):
    events = [{"name": "Black Friday", "date": dt.date(2027, 1, 20), "multiplier": 2.0}]
    report = build_plan(_config(tmp_path, demand={"events": events}))
    temporary = [s for s in report.plan.steps if s.temporary]
    assert len(temporary) == 1 and temporary[0].crossing_date == np.datetime64("2027-01-20")
    assert report.plan.planned[19] > report.plan.planned[20]


def test_zones_redundancy_from_config(tmp_path):
    """5 serving instances over 3 zones surviving one loss: 3 × ceil(5 / 2) = 9."""
    report = build_plan(_config(tmp_path, fleet={"n_plus": None, "zones": 3}))
    assert set(report.plan.needed_p90.tolist()) == {9}


def test_resource_history_trend_gives_exhaustion_date(tmp_path):
    """A disk at 10 GB on 2026-12-02 growing 3 GB/day reaches 97 GB on 2026-12-31. Above 160 GB
    (80 % of 200) when 97 + 3 t > 160, t = 22 → 2027-01-22; above 200 GB at t = 35 → 2027-02-04."""
    days = pd.date_range("2026-12-02", "2026-12-31", freq="D")
    pd.DataFrame({"ds": days, "used_gb": 10.0 + 3.0 * np.arange(len(days))}).to_csv(tmp_path / "disk.csv", index=False)
    resource = {"name": "disk", "unit": "GB", "limit": 200.0, "history": "disk.csv", "value_column": "used_gb"}
    report = build_plan(_config(tmp_path, resources=[resource]))
    (runway,) = report.resources
    assert runway.trigger_date == np.datetime64("2027-01-22")
    assert runway.exhaustion_date == np.datetime64("2027-02-04")
    assert runway.current == pytest.approx(97.0 + 3.0)  # the first planned day, 2027-01-01


def test_capacity_from_a_measurements_csv_uses_the_saturation_estimator(tmp_path, reference_dir):
    """Published SPEC SDM91 curve as measurements: the planner plans at the estimator's safe throughput."""
    frame = pd.read_csv(reference_dir / "usl" / "usl_specsdm91.csv")
    csv = tmp_path / "measurements.csv"
    frame.rename(columns={"load": "concurrency"}).to_csv(csv, index=False)
    report = build_plan(_config(tmp_path, capacity={"per_instance_rps": None, "runs": ["measurements.csv"]},
                                demand={"from_rate": 5000.0}))
    estimate = estimate_saturation(load_measurements([csv]), (), 0.8)
    assert report.plan.capacity.safe_rps == pytest.approx(estimate.safe_throughput_rps)
    serving = math.ceil(5000.0 / estimate.safe_throughput_rps)
    assert report.plan.needed_p90[0] == max(serving + 1, 3)


def test_json_has_the_documented_top_level_keys(tmp_path):
    data = plan_as_dict(build_plan(_config(tmp_path)), months=2)["plan"]
    assert {"capacity", "fleet", "runway", "steps", "recommendations", "triggers", "months", "cost",
            "resources"} <= set(data)
    assert len(data["months"]) == 2
    assert data["cost"]["options"][0]["name"] == "all on-demand"


def test_sample_capplan_toml_plans(tmp_path):
    report = build_plan(load_config(REPO_ROOT / "capplan.toml"))
    assert len(report.plan.demand.ds) == 730
    assert len(report.resources) == 2 and report.costs.total_p90 > 0


@pytest.mark.slow
def test_history_forecast_feeds_the_plan_with_p90_above_p50(tmp_path):
    """Prophet on 150 days of growing traffic with a weekly cycle: the plan covers the horizon,
    P90 ≥ P50 every day, and a growing series needs at least as many instances at the end."""
    days = pd.date_range("2026-06-01", periods=150, freq="D")
    rng = np.random.default_rng(7)
    level = 800.0 + 2.0 * np.arange(150) + 60.0 * (days.dayofweek < 5) + rng.normal(0, 15, 150)
    pd.DataFrame({"ds": days, "peak_rps": level}).to_csv(tmp_path / "traffic.csv", index=False)
    config = _config(tmp_path, demand={"from_rate": None, "growth": None, "start": dt.date(2030, 1, 1),
                                       "source": "traffic.csv", "horizon": "60d"})
    report = build_plan(config)
    demand = report.plan.demand
    assert len(demand.ds) == 60 and demand.ds[0] == np.datetime64("2026-10-29")
    assert np.all(demand.p90_rps >= demand.p50_rps)
    assert report.plan.needed_p90[-7:].max() >= report.plan.needed_p90[:7].min()
    assert report.demand_source.startswith(f"{report.forecast.model} forecast of traffic.csv")
    assert any("demand.start = 2030-01-01 is ignored" in w for w in report.warnings)


def test_run_directory_cpu_demand_enables_the_cpu_trigger(tmp_path):
    """Steps whose target CPU is 0.5 % per req/s: utilisation law D = U / X = 10 × 0.5 = 5 ms CPU per
    request; the CPU trigger is then T × 5 ms ÷ 1000 ÷ 2 vCPUs with T = 0.8 × safe req/s."""
    from capplan.store.run_writer import RunWriter

    x = [100.0, 195.0, 370.0, 480.0, 500.0, 500.0]
    latency = [10.0, 10.3, 10.8, 16.7, 32.0, 64.0]
    steps = pd.DataFrame({"step": range(6), "stage": "stress", "users": [1, 2, 4, 8, 16, 32], "throughput_rps": x,
                          "latency_mean_ms": latency, "latency_p95_ms": [3 * v for v in latency], "error_rate": 0.0,
                          "target_cpu_pct": [0.5 * v for v in x], "requests": [int(20 * v) for v in x],
                          "duration_s": 20.0})
    writer = RunWriter("stress", "http://127.0.0.1:1", root=tmp_path / "runs", slos=["p95<300ms"])
    writer.write_steps(steps)
    writer.finalize()
    report = build_plan(_config(tmp_path, capacity={"per_instance_rps": None, "runs": [str(writer.path)],
                                                    "cpu_ms_per_request": None}))
    assert report.plan.capacity.cpu_ms_per_request == pytest.approx(5.0)
    cpu = next(t for t in report.triggers if t.name == "cpu_utilization")
    assert cpu.threshold == pytest.approx(0.8 * report.plan.capacity.safe_rps * 5.0 / 1000 / 2)
