"""Scaling triggers and Prometheus rules: hand-computed thresholds, the SRE-workbook burn rates,
and the real promtool checking the rule file and unit-testing alerts that fire and stay quiet."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from capplan.models.alerts import (
    BURN_RATE_WINDOWS,
    MetricNames,
    ResourceWatch,
    RuleGroup,
    burn_rate_rules,
    error_budget,
    forecast_rules,
    promql_duration,
    rule_groups_as_dict,
    scaling_triggers,
    threshold_rules,
)
from capplan.models.capacity import FleetSpec, InstanceCapacity, Redundancy
from capplan.models.slo import parse_slo, parse_slos

CAPACITY = InstanceCapacity(max_rps=350.0, safe_rps=280.0)
FLEET = FleetSpec("m6i.large", 6, 3, Redundancy(spares=1), 0.8, 14.0)
SLOS = parse_slos(["p95<300ms", "error_rate<0.5%"])
NAMES = MetricNames(selector='job="svc"')
PROMTOOL = shutil.which("promtool")


def test_triggers_hand_computed():
    """req/s: 280 × 0.8 = 224; CPU: 224 × 2.5 ms ÷ 1000 ÷ 2 vCPUs = 0.28; p95: 0.8 × 300 ms = 240 ms."""
    triggers = {t.name: t for t in scaling_triggers(CAPACITY, FLEET, SLOS, cpu_ms_per_request=2.5, vcpus=2)}
    assert triggers["per_instance_rps"].threshold == pytest.approx(224.0)
    assert triggers["cpu_utilization"].threshold == pytest.approx(0.28)
    assert triggers["p95_latency"].threshold == pytest.approx(240.0)
    assert all(t.rationale for t in triggers.values())


def test_cpu_trigger_needs_cpu_per_request_and_vcpus():
    names = [t.name for t in scaling_triggers(CAPACITY, FLEET, SLOS, cpu_ms_per_request=None, vcpus=2)]
    assert "cpu_utilization" not in names


def test_burn_rate_factors_spend_the_workbook_budget_shares_of_a_30_day_window():
    """SRE workbook table 5-8: 2 % of a 30-day budget in 1 h, 5 % in 6 h, 10 % in 3 d → 14.4, 6, 1."""
    period_h = 30 * 24
    expected = [("page", 0.02 * period_h / 1, "1h", "5m"), ("page", 0.05 * period_h / 6, "6h", "30m"),
                ("ticket", 0.10 * period_h / 72, "3d", "6h")]
    assert [(s, pytest.approx(f), lw, sw) for s, f, lw, sw in expected] == list(BURN_RATE_WINDOWS)


def test_error_budgets_of_rate_and_latency_slos():
    assert error_budget(parse_slo("error_rate<0.5%")) == pytest.approx(0.005)
    assert error_budget(parse_slo("p99<1s")) == pytest.approx(0.01)


def test_page_rule_thresholds_are_factor_times_budget():
    page = next(r for r in burn_rate_rules(SLOS, NAMES) if r.alert == "SloErrorRateBudgetBurnFast")
    assert "> 0.072 and" in page.expr and "> 0.03 and" in page.expr and "[1h]" in page.expr and "[5m]" in page.expr
    assert page.severity == "page"


def test_latency_burn_rate_uses_the_bucket_at_the_slo_threshold():
    rules = burn_rate_rules(parse_slos(["p95<300ms"]), NAMES)
    assert {r.alert for r in rules} == {"SloLatencyP95BudgetBurnFast", "SloLatencyP95BudgetBurnSlow"}
    assert 'le="0.3"' in rules[0].expr


def test_promql_durations_use_the_largest_whole_unit():
    assert [promql_duration(s) for s in (900, 3600, 1_209_600, 90, 0.5)] == ["15m", "1h", "14d", "90s", "500ms"]


def _groups() -> tuple[RuleGroup, ...]:
    triggers = scaling_triggers(CAPACITY, FLEET, SLOS, 2.5, 2)
    disk = ResourceWatch("db disk", 'sum(disk_used_gb{job="svc"})', "GB", 1600.0, 2000.0, 30 * 86_400.0)
    capacity = threshold_rules(triggers, NAMES, vcpus=2) + forecast_rules(CAPACITY, FLEET, NAMES, (disk,))
    return (RuleGroup("capacity", 60, capacity), RuleGroup("slo", 60, burn_rate_rules(SLOS, NAMES)))


def _rule(alert: str) -> dict:
    for group in rule_groups_as_dict(_groups())["groups"]:
        for rule in group["rules"]:
            if rule["alert"] == alert:
                return rule
    raise KeyError(alert)


def _write_rules(tmp_path: Path) -> Path:
    path = tmp_path / "rules.yml"
    path.write_text(yaml.safe_dump(rule_groups_as_dict(_groups()), sort_keys=False), encoding="utf-8")
    return path


needs_promtool = pytest.mark.skipif(PROMTOOL is None, reason="promtool not installed (Debian package prometheus)")


@needs_promtool
def test_promtool_accepts_the_generated_rule_file(tmp_path):
    """3 threshold + 1 load forecast + 2 disk (forecast, threshold) + 2 SLOs × (page, ticket) = 10 rules."""
    result = subprocess.run([PROMTOOL, "check", "rules", str(_write_rules(tmp_path))],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS: 10 rules found" in result.stdout


def _expected(alert: str) -> list[dict]:
    rule = _rule(alert)
    return [{"exp_labels": dict(rule["labels"]), "exp_annotations": dict(rule["annotations"])}]


def _alert_test(series: dict[str, str], eval_time: str, alert: str, fires: bool) -> dict:
    return {
        "interval": "1m",
        "input_series": [{"series": name, "values": values} for name, values in series.items()],
        "alert_rule_test": [{"eval_time": eval_time, "alertname": alert, "exp_alerts": _expected(alert) if fires else []}],
    }


@needs_promtool
def test_promtool_unit_tests_show_triggers_firing_and_staying_quiet(tmp_path):
    """Per-minute counters: 900 ok + 100 errors = 10 % errors > 14.4 × 0.5 % = 7.2 % → page fires;
    999 ok + 1 error = 0.1 % → quiet. Two instances at 30,000 req/min = 500 req/s → 250 per instance
    > 224 for 15 min → scale-out fires; 18,000 req/min = 150 per instance → quiet."""
    ok, err = 'http_requests_total{job="svc",code="200"}', 'http_requests_total{job="svc",code="500"}'
    up = {'up{job="svc",instance="a"}': "1+0x120", 'up{job="svc",instance="b"}': "1+0x120"}
    tests = [
        _alert_test({ok: "0+900x120", err: "0+100x120"}, "70m", "SloErrorRateBudgetBurnFast", fires=True),
        _alert_test({ok: "0+999x120", err: "0+1x120"}, "70m", "SloErrorRateBudgetBurnFast", fires=False),
        _alert_test({ok: "0+30000x60", **up}, "30m", "PerInstanceRpsScaleOut", fires=True),
        _alert_test({ok: "0+18000x60", **up}, "30m", "PerInstanceRpsScaleOut", fires=False),
    ]
    rules = _write_rules(tmp_path)
    spec = tmp_path / "rules_test.yml"
    spec.write_text(yaml.safe_dump({"rule_files": [rules.name], "evaluation_interval": "1m", "tests": tests},
                                   sort_keys=False), encoding="utf-8")
    result = subprocess.run([PROMTOOL, "test", "rules", spec.name], cwd=tmp_path,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS" in result.stdout


def _ramp(hours: int) -> str:
    """A counter whose rate climbs by 10 req/s every hour: 10, 20, 30 … req/s (one sample per minute)."""
    values, total = [], 0
    for minute in range(hours * 60 + 1):
        values.append(str(total))
        total += 600 * (minute // 60 + 1)
    return " ".join(values)


@needs_promtool
def test_promtool_forecast_trigger_fires_on_a_steep_trend_only(tmp_path):
    """Two instances. A rate climbing 10 req/s per hour, extrapolated 14 days (336 h) by
    predict_linear, is far above 2 × 224 req/s → fires after its 1 h hold; a flat 10 req/s does not."""
    ok = 'http_requests_total{job="svc",code="200"}'
    up = {'up{job="svc",instance="a"}': "1+0x600", 'up{job="svc",instance="b"}': "1+0x600"}
    tests = [
        _alert_test({ok: _ramp(9), **up}, "9h", "PerInstanceLoadForecastScaleOut", fires=True),
        _alert_test({ok: "0+600x540", **up}, "9h", "PerInstanceLoadForecastScaleOut", fires=False),
    ]
    rules = _write_rules(tmp_path)
    spec = tmp_path / "forecast_test.yml"
    spec.write_text(yaml.safe_dump({"rule_files": [rules.name], "evaluation_interval": "1m", "tests": tests},
                                   sort_keys=False, width=10**9), encoding="utf-8")
    result = subprocess.run([PROMTOOL, "test", "rules", spec.name], cwd=tmp_path,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr


@needs_promtool
def test_promtool_fails_when_a_quiet_case_is_expected_to_fire(tmp_path):
    """The unit-test harness itself can fail: claiming the 0.1 % case pages must be rejected."""
    ok, err = 'http_requests_total{job="svc",code="200"}', 'http_requests_total{job="svc",code="500"}'
    rules = _write_rules(tmp_path)
    spec = tmp_path / "wrong_test.yml"
    wrong = _alert_test({ok: "0+999x120", err: "0+1x120"}, "70m", "SloErrorRateBudgetBurnFast", fires=True)
    spec.write_text(yaml.safe_dump({"rule_files": [rules.name], "tests": [wrong]}), encoding="utf-8")
    result = subprocess.run([PROMTOOL, "test", "rules", spec.name], cwd=tmp_path,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode != 0
