"""The pure view: verdicts, sections present whether or not their data is, formatting."""

from __future__ import annotations

import dataclasses
from datetime import date, datetime, timezone

from hypothesis import given
from hypothesis import strategies as st

from capplan.report.facts import PlanFacts, ReportFacts
from capplan.report.view import build_view, decide_verdict, format_rps, format_usd
from synthetic_facts import synthetic_facts

SECTION_KEYS = ["slos", "saturation", "spike", "soak", "forecast", "instances", "triggers", "cost",
                "provenance", "warnings"]


def _plan(act_by: date | None) -> PlanFacts:
    return PlanFacts(horizon_days=180, current_instances=4, peak_instances=6, capacity_per_instance_rps=100.0,
                     runway_days=None if act_by is None else 40.0, act_by=act_by)


def test_verdict_is_act_by_the_plans_date_when_something_must_be_done():
    verdict = decide_verdict(_plan(date(2027, 1, 15)))
    assert (verdict.status, verdict.headline) == ("act", "Act by 2027-01-15")


def test_verdict_says_act_now_when_the_order_by_date_has_passed():
    verdict = decide_verdict(_plan(date(2027, 1, 15)), today=date(2027, 2, 1))
    assert verdict.headline == "Act now: the order-by date 2027-01-15 has passed"


def test_verdict_is_ok_when_capacity_lasts_the_horizon():
    verdict = decide_verdict(_plan(None))
    assert verdict.status == "ok" and "180-day horizon" in verdict.headline


def test_verdict_is_unknown_without_a_plan():
    assert decide_verdict(None).status == "unknown"


def test_every_section_is_present_and_says_so_when_its_data_is_absent():
    empty = ReportFacts(service="svc", generated_at=datetime(2026, 1, 1, tzinfo=timezone.utc))
    view = build_view(empty)
    assert [s.key for s in view.sections] == SECTION_KEYS
    for section in view.sections:
        assert section.is_empty and section.absent, section.key


def test_full_facts_fill_every_section():
    view = build_view(synthetic_facts())
    assert [s.key for s in view.sections if s.is_empty] == []


def test_breached_and_incomplete_runs_become_warnings():
    facts = synthetic_facts()
    spike = dataclasses.replace(facts.scenarios[2], complete=False, status="interrupted")
    facts = dataclasses.replace(facts, scenarios=facts.scenarios[:2] + (spike,) + facts.scenarios[3:])
    warnings = build_view(facts).warnings
    assert any("stress run" in w and "p95<300ms" in w for w in warnings)
    assert any("spike run" in w and "incomplete" in w for w in warnings)


def test_trigger_without_a_date_reads_not_within_the_horizon():
    facts = synthetic_facts()
    trigger = dataclasses.replace(facts.plan.triggers[0], expected_date=None, order_by=None)
    facts = dataclasses.replace(facts, plan=dataclasses.replace(facts.plan, triggers=(trigger,)))
    row = next(s for s in build_view(facts).sections if s.key == "triggers").tables[0].rows[0]
    assert row[2] == row[3] == "not within the horizon"


@given(st.floats(min_value=0, max_value=1e9, allow_nan=False))
def test_formatted_rps_reads_back_within_rounding(value):
    text = format_rps(value).removesuffix(" req/s").replace(",", "")
    assert abs(float(text) - value) <= 0.5 + 1e-9 * value


@given(st.floats(min_value=0, max_value=1e12, allow_nan=False))
def test_formatted_usd_reads_back_within_a_dollar(value):
    assert abs(float(format_usd(value)[1:].replace(",", "")) - value) <= 0.5 + 1e-9 * value
