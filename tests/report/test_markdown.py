"""Markdown and JSON renderings of the report."""

from __future__ import annotations

import json

from hypothesis import given
from hypothesis import strategies as st

from capplan.report.markdown import escape_markdown, render_json, render_markdown
from capplan.report.view import build_view
from synthetic_facts import XSS, synthetic_facts


def test_markdown_leads_with_the_verdict_and_lists_actions():
    md = render_markdown(build_view(synthetic_facts()))
    assert md.splitlines()[2].startswith("**Act by 2027-02-12**")
    assert "### Recommended actions" in md and "1. Add 2 instances" in md


def test_markdown_escapes_html_and_table_pipes():
    md = render_markdown(build_view(synthetic_facts(service=XSS, endpoint="a|b")))
    assert "<script>" not in md and "a\\|b" in md


@given(st.text())
def test_escaped_markdown_never_contains_a_raw_tag_or_pipe(text):
    out = escape_markdown(text)
    assert "\n" not in out
    for ch in "<>|":
        assert out.count(ch) == out.count("\\" + ch)


def test_json_has_verdict_plan_and_no_chart_payload():
    facts = synthetic_facts()
    body = json.loads(render_json(facts, build_view(facts)))
    assert body["verdict"] == {"status": "act", "headline": "Act by 2027-02-12", "act_by": "2027-02-12"}
    assert body["plan"]["runway_days"] == 97.0 and "charts" not in body
    assert body["saturation"]["safe_throughput_rps"] == 312.0
