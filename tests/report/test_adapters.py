"""Plan results become report facts with the documented definitions (runway, act-by, cost now)."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from capplan.config import config_from_mapping
from capplan.app.planning import build_plan
from capplan.report.adapters import plan_charts, plan_facts

START = date(2027, 1, 1)


def _config(current: int, from_rate: float, growth: str = "0%/month", resources: tuple = ()) -> dict:
    return {
        "service": {"name": "svc", "slos": ["p95<300ms"]},
        "capacity": {"per_instance_rps": 100.0, "target_utilization": 0.8},
        "fleet": {"instance_type": "m6i.large", "current_count": current, "minimum": 1, "n_plus": 0,
                  "trigger_utilization": 0.5, "lead_time": "10d"},
        "demand": {"from_rate": from_rate, "growth": growth, "start": START, "horizon": "60d"},
        "pricing": {"instance_types": {"m6i.large": {"hourly": 0.1}}},
        "resources": list(resources),
    }


@pytest.fixture
def growing():
    # 4 instances x 80 req/s safe = 320 safe, 160 trigger; 150 req/s growing 10 %/month.
    return build_plan(config_from_mapping(_config(4, 150.0, "10%/month")))


def test_runway_counts_days_until_demand_passes_the_fleets_safe_capacity(growing):
    facts = plan_facts(growing.decision)
    safe = growing.plan.runway.safe_exceeded_date
    expected = None if safe is None else (safe.astype(object) - START).days
    assert facts.runway_days == expected


def test_act_by_is_the_trigger_crossing_minus_the_lead_time(growing):
    crossing = growing.plan.demand.ds[growing.plan.demand.p90_rps > 160.0][0].astype(object)
    assert plan_facts(growing.decision).act_by == crossing - timedelta(days=10)


def test_flat_demand_far_below_capacity_needs_no_action():
    facts = plan_facts(build_plan(config_from_mapping(_config(4, 50.0))).decision)
    assert facts.act_by is None and facts.runway_days is None


def test_monthly_cost_now_is_fleet_times_hourly_times_730_hours(growing):
    assert plan_facts(growing.decision).cost_usd_month_now == pytest.approx(4 * 0.1 * 730)


def test_a_resource_order_by_date_earlier_than_the_fleets_wins():
    disk = {"name": "disk", "unit": "GB", "limit": 100, "current": 79, "growth": "1GB/day", "trigger": 0.8,
            "lead_time": "5d"}
    facts = plan_facts(build_plan(config_from_mapping(_config(4, 50.0, resources=(disk,)))).decision)
    assert facts.act_by == START + timedelta(days=2) - timedelta(days=5)  # 81 GB > 80 GB on day 2
    assert any(t.name == "Resource: disk" for t in facts.triggers)


def test_alert_thresholds_are_listed_apart_from_dated_triggers(growing):
    facts = plan_facts(growing.decision)
    assert {a.metric for a in facts.alerts} >= {"requests per second per instance", "p95 latency"}
    assert all(not t.name.startswith("Alert") for t in facts.triggers)


def test_plan_charts_cover_forecast_instances_and_cost(growing):
    assert [c.section for c in plan_charts(growing.decision)] == ["forecast", "instances", "cost"]
