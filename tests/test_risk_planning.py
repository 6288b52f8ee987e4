"""capplan.app.risk: capplan.toml → risk per month, the risk-target plan, reservations, instance types.

The slow test closes the loop on the demo target: a real stress run, a plan at a 1 % monthly
breach target, and a real open-model baseline run holding the per-instance load that plan
allows in its worst 1 % of demand — it must meet the SLO.
"""

from __future__ import annotations

import datetime as dt
import textwrap

import numpy as np
import pytest

from capplan.app.capacity import fleet_spec, resolve_capacity
from capplan.app.demand import forecast_demand
from capplan.app.risk import assess_risk, risk_as_dict
from capplan.config import load_config
from capplan.errors import ConfigError
from capplan.models.capacity import plan_capacity, recommendations
from capplan.models.risk import per_day

TODAY = dt.date(2027, 1, 1)


def _config(tmp_path, fleet: str = "", capacity: str = "per_instance_rps = 350", demand: str = "", extra: str = ""):
    demand = demand or 'from_rate = 1200\ngrowth = "6%/month"\nstart = 2027-01-01\nhorizon = "12mo"'
    path = tmp_path / "capplan.toml"
    path.write_text(textwrap.dedent(f"""\
        [service]
        slos = ["p95<300ms"]
        [capacity]
        {capacity}
        [fleet]
        instance_type = "m6i.large"
        current_count = 4
        minimum = 2
        {fleet}
        [demand]
        {demand}
        [risk]
        paths = 500
        seed = 3
        {extra}
        """), encoding="utf-8")
    return load_config(path)


def _assess(config):
    capacity, estimate = resolve_capacity(config)
    demand = forecast_demand(config, TODAY)
    plan = plan_capacity(demand.series, capacity, fleet_spec(config))
    return plan, *assess_risk(config, plan, demand.forecast, estimate)


def _history(tmp_path, days: int = 120, level: float = 150.0):
    """Daily peaks with weekly rhythm and noise, so the forecast has a calibrated interval."""
    rng = np.random.default_rng(0)
    ds = np.arange(np.datetime64("2026-08-01"), np.datetime64("2026-08-01") + days)
    y = level * (1 + 0.1 * np.sin(2 * np.pi * np.arange(days) / 7)) * rng.lognormal(0, 0.08, days)
    path = tmp_path / "history.csv"
    path.write_text("ds,y\n" + "".join(f"{d},{v:.2f}\n" for d, v in zip(ds, y, strict=True)), encoding="utf-8")
    return path


def test_without_a_target_the_p90_plan_is_kept_and_its_risk_reported(tmp_path):
    before, plan, risk = _assess(_config(tmp_path))
    assert np.array_equal(plan.planned, before.planned) and risk.target is None
    assert len(risk.months) == 12
    assert risk.capacity.lower_rps == risk.capacity.upper_rps == 350.0  # a configured number is exact
    # what-if growth has no interval and the capacity is exact: every probability is 0 or 1
    assert {m.risk.breach_probability for m in risk.months} <= {0.0, 1.0}


def test_a_risk_target_replaces_the_schedule_and_says_why(tmp_path):
    _, plan, risk = _assess(_config(tmp_path, fleet="max_breach_probability = 0.01"))
    at_target = np.array([m.fleet_at_target for m in risk.months])
    assert np.array_equal(plan.planned, np.maximum(per_day_of(plan, risk, at_target), 4))
    assert all(s.reason == "risk" for s in plan.steps) and plan.steps
    assert "breach risk under target" in recommendations(plan)[0]
    assert risk.worst_breach_probability <= 0.01


def per_day_of(plan, risk, monthly):
    months = plan.demand.ds.astype("datetime64[M]")
    return np.array([monthly[list(np.unique(months)).index(m)] for m in months])


def test_the_same_inputs_and_seed_give_the_same_plan(tmp_path):
    history = _history(tmp_path, level=900.0)
    demand = f'source = "{history}"\nmodel = "seasonal_naive"\nhorizon = "90d"'
    runs = [_assess(_config(tmp_path, fleet="max_breach_probability = 0.05", demand=demand))[2] for _ in range(2)]
    assert risk_as_dict(runs[0]) == risk_as_dict(runs[1])
    assert 0 < max(m.risk.trigger_probability for m in runs[0].months) < 1  # the forecast interval is sampled


def test_every_priced_type_is_compared_and_vcpu_estimates_say_so(tmp_path):
    config = _config(tmp_path, capacity='per_instance_rps = 350\n[capacity.shapes."m6i.xlarge"]\n'
                                         'per_instance_rps = 800')
    _, _, risk = _assess(config)
    shapes = {o.name: o for o in risk.shapes.outcomes}
    assert set(shapes) == {"m6i.large", "m6i.xlarge", "c6i.large"}
    assert shapes["m6i.xlarge"].basis == "explicit"
    assert "by vCPUs (2/2), not measured" in shapes["c6i.large"].assumption
    assert risk.shapes.recommended == "c6i.large"  # same estimated capacity, cheaper per hour
    assert "not measured" in risk.shapes.reason


def test_an_unpriced_shape_is_a_config_error(tmp_path):
    with pytest.raises(ConfigError, match="no price"):
        _config(tmp_path, capacity='per_instance_rps = 350\n[capacity.shapes."x9.huge"]\nper_instance_rps = 9')


def test_json_has_the_risk_months_reservations_and_shapes(tmp_path):
    _, _, risk = _assess(_config(tmp_path, fleet="zones = 3\nmax_breach_probability = 0.01"))
    data = risk_as_dict(risk, 6)
    assert len(data["months"]) == 6 and data["zones"] == 3 and data["planned_to"] == "risk target"
    assert {"breach_probability", "trigger_probability", "fleet_at_target", "fleet_p90"} <= set(data["months"][0])
    assert data["reservations"]["recommended"] in {o["name"] for o in data["reservations"]["options"]}
    assert data["instance_types"]["recommended"] is not None


@pytest.mark.slow
@pytest.mark.timeout(180)
def test_a_plan_at_one_percent_risk_holds_its_per_instance_load_within_the_slo(tmp_path):
    from capplan.loadtest.runner import run_scenario
    from capplan.loadtest.settings import LoadTestSettings
    from capplan.loadtest.target import TargetSettings, start_target
    from capplan.models.slo import parse_slo

    slo = "p95<80ms"  # near the knee: 10 ms exponential service has a p95 of 30 ms alone
    with start_target(TargetSettings(slots=4, service_ms=10.0, port=0)) as target:
        stress = run_scenario(LoadTestSettings(
            scenario="stress", host=target.url, slos=("p95<1s",), out_dir=tmp_path / "runs", users=2, step_s=2.0,
            max_step_s=4.0, max_duration_s=60.0, target_pid=target.pid, seed=1))
        history = _history(tmp_path, level=900.0)
        config = _config(tmp_path, fleet="n_plus = 1\nmax_breach_probability = 0.01",
                         capacity=f'runs = ["{stress.run_dir}"]',
                         demand=f'source = "{history}"\nmodel = "seasonal_naive"\nhorizon = "60d"')
        config = config.model_copy(update={"service": config.service.model_copy(update={"slos": (slo,)})})
        _, plan, risk = _assess(config)
        assert risk.worst_breach_probability <= 0.01
        load = _per_instance_load_at_risk(plan, risk, config)
        baseline = run_scenario(LoadTestSettings(
            scenario="baseline", host=target.url, slos=(slo,), out_dir=tmp_path / "runs", rate_rps=load, ramp_s=2.0,
            hold_s=8.0, target_pid=target.pid, seed=1))
    hold = [s for s in baseline.steps if s.get("stage") == "hold"] or list(baseline.steps)
    p95_ms = max(float(s["latency_p95_ms"]) for s in hold)
    print(f"\nrisk loop: capacity {risk.capacity_basis}; plan peak {int(plan.planned.max())} instances; "
          f"held {load:.1f} req/s per instance; baseline p95 {p95_ms:.1f} ms vs {slo}")
    assert load > 0.5 * risk.capacity.max_rps  # the plan does load its instances, not idle them
    assert parse_slo(slo).is_met_by(p95_ms), (load, p95_ms, baseline.verdict)
    assert baseline.verdict.slos_met is True, baseline.verdict


def _per_instance_load_at_risk(plan, risk, config) -> float:
    """The worst month's 99th-percentile demand peak per usable instance of the planned fleet."""
    from capplan.app.risk import demand_paths

    paths = demand_paths(config, plan, forecast_demand(config, TODAY).forecast)
    usable = per_day(paths, np.array([m.risk.fleet for m in risk.months])) - plan.fleet.redundancy.spares
    per_instance = np.maximum.reduceat(paths.rps / usable, paths.month_starts, axis=1)
    return float(np.quantile(per_instance, 0.99, axis=0).max())


def test_the_report_chart_has_the_fleet_fan_and_a_risk_line_per_month(tmp_path):
    import json
    from types import SimpleNamespace

    from capplan.report.risk_plot import risk_chart

    _, plan, risk = _assess(_config(tmp_path, fleet="max_breach_probability = 0.01"))
    spec = risk_chart(SimpleNamespace(plan=plan, risk=risk))
    traces = {t.get("name"): t for t in json.loads(spec.figure_json)["data"]}
    assert spec.section == "instances"
    assert {"fleet following demand, P10–P90", "planned fleet", "P(breach) per month", "P(trigger) per month",
            "risk target 1%"} <= set(traces)
    assert len(traces["P(breach) per month"]["y"]) == 12


def test_plan_text_and_csv_show_the_risk(tmp_path):
    from capplan.app.risk import CSV_COLUMNS, risk_summary_lines, with_risk_columns

    _, _, risk = _assess(_config(tmp_path, fleet="zones = 3"))
    text = "\n".join(risk_summary_lines(risk, "USD", 6))
    assert "P(breach)" in text and "losing one of 3 zones" in text and "newsvendor" in text
    rows = with_risk_columns([{"month": "2027-01", "cost_p90": 1.0}], risk)
    assert set(CSV_COLUMNS) <= set(rows[0]) and rows[0]["fleet_at_target"] == risk.months[0].fleet_at_target


def test_the_review_archive_keeps_the_monthly_risk(tmp_path):
    from datetime import datetime, timezone
    from types import SimpleNamespace

    from capplan.app.risk import risk_snapshot
    from capplan.models.review import PlanSnapshot
    from capplan.store.reviews import read_snapshot, write_snapshot

    _, plan, risk = _assess(_config(tmp_path))
    months = risk_snapshot(SimpleNamespace(plan=plan, risk=risk))
    assert months[0].breach_capacity_rps == (risk.months[0].risk.fleet - 1) * 350.0  # N+1: one instance down
    snapshot = PlanSnapshot("svc", datetime(2027, 1, 1, tzinfo=timezone.utc), TODAY, (TODAY,), (1.0,), (1.0,), 4,
                            1.0, None, None, risk_months=months)
    assert read_snapshot(write_snapshot(snapshot, tmp_path / "archive")).risk_months == months
