"""The report as Markdown (a summary to paste into a ticket or chat) and as JSON.

Markdown escapes the characters that would change its meaning (``|``, ``<``, ``>``, ``*``,
``_``, backticks, brackets) so a name such as ``<script>`` or ``a|b`` stays text and tables
keep their shape. JSON carries the facts (not the chart figures) plus the verdict.
"""

from __future__ import annotations

import json
import re

from capplan.report.facts import ReportFacts, facts_as_dict, jsonable
from capplan.report.view import ReportView, Section, Table

_MD_SPECIAL = re.compile(r"([\\`*_{}\[\]<>|#!])")


def escape_markdown(text: str) -> str:
    """Backslash-escape Markdown/HTML-significant characters; newlines become spaces."""
    return _MD_SPECIAL.sub(r"\\\1", str(text)).replace("\n", " ")


def render_markdown(view: ReportView) -> str:
    """A short Markdown summary: verdict, key figures, actions, triggers, costs, warnings."""
    e = escape_markdown
    lines = [f"## {e(view.title)}", "", f"**{e(view.verdict.headline)}** (generated {view.generated_at})", ""]
    lines += [f"- **{e(label)}:** {e(value)}" for label, value in view.cards]
    if view.actions:
        lines += ["", "### Recommended actions", ""]
        lines += [f"{i}. {e(a)}" for i, a in enumerate(view.actions, 1)]
    for key in ("slos", "triggers", "cost"):
        section = _section(view, key)
        if section is not None and section.tables:
            lines += ["", f"### {e(section.title)}", ""] + _md_table(section.tables[0])
    if view.warnings:
        lines += ["", "### Warnings", ""] + [f"- {e(w)}" for w in view.warnings]
    return "\n".join(lines) + "\n"


def render_review_markdown(view: ReportView, summary: tuple[str, ...]) -> str:
    """The monthly review as Markdown: verdict, what changed since the last plan, the new plan."""
    e = escape_markdown
    lines = [f"## {e(view.title)}", "", f"**{e(view.verdict.headline)}** (generated {view.generated_at})", ""]
    lines += [e(s) for s in summary]
    for section in view.sections:
        if not section.key.startswith("review-") or section.is_empty:
            continue
        lines += ["", f"### {e(section.title)}", ""] + [f"- **{e(k)}:** {e(v)}" for k, v in section.facts]
        for table in section.tables:
            lines += _md_table(table)
    if view.actions:
        lines += ["", "### The new plan", ""] + [f"{i}. {e(a)}" for i, a in enumerate(view.actions, 1)]
    triggers = _section(view, "triggers")
    if triggers is not None and triggers.tables:
        lines += ["", f"### {e(triggers.title)}", ""] + _md_table(triggers.tables[0])
    if view.warnings:
        lines += ["", "### Warnings", ""] + [f"- {e(w)}" for w in view.warnings]
    return "\n".join(lines) + "\n"


def render_json(facts: ReportFacts, view: ReportView) -> str:
    """The report facts and verdict as one JSON object (charts left out)."""
    body = facts_as_dict(facts)
    body["verdict"] = {"status": view.verdict.status, "headline": view.verdict.headline,
                       "act_by": view.verdict.act_by}
    return json.dumps(jsonable(body), indent=2, allow_nan=False) + "\n"


def _section(view: ReportView, key: str) -> Section | None:
    return next((s for s in view.sections if s.key == key), None)


def _md_table(table: Table) -> list[str]:
    e = escape_markdown
    head = "| " + " | ".join(e(c) for c in table.columns) + " |"
    rule = "|" + "---|" * len(table.columns)
    return [head, rule] + ["| " + " | ".join(e(c) for c in row) + " |" for row in table.rows]
