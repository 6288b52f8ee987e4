"""Show a run comparison: a terminal table, Markdown for a pull-request comment, JUnit XML,
and an HTML page (the report's templates) with the two latency-vs-load curves overlaid.

Every figure comes from the one :class:`~capplan.app.compare.RunComparison`; these
functions only format it.
"""

from __future__ import annotations

import math
import xml.etree.ElementTree as ET

from capplan.models.compare import (
    ACROSS_LEVELS,
    CAPACITY_WEIGHT,
    REGRESSED,
    Comparison,
    MetricComparison,
    RunComparison,
    hold_longer_text,
)
from capplan.report.facts import ChartSpec
from capplan.report.view import ReportView, Section, Table, Verdict

COLUMNS = ("level", "metric", "base", "new", "change", "95% interval", "p (Holm)", "allowed", "verdict")


def headline(result: RunComparison) -> str:
    """One line: the overall verdict and what fails the gate."""
    c = result.comparison
    text = f"{result.scenario}: {c.verdict}"
    if c.fails:
        names = ", ".join(f"{m.metric} at {m.level}" for m in c.failing)
        return f"{text}, beyond the allowed amount: {names}"
    unresolved = [m for m in c.metrics if m.unresolved]
    if unresolved:
        names = ", ".join(f"{m.metric} at {m.level} {_effect(m.effect, m)} (allowed {_allowed(m)})" for m in unresolved)
        longer = hold_longer_text(max(m.hold_longer for m in unresolved))
        return (f"{text}, not shown beyond the allowed amounts: {names}, whose intervals reach back inside "
                f"them; {longer} to tell")
    if c.verdict == REGRESSED:
        return f"{text}, within the allowed amounts"
    return text


def metric_row(m: MetricComparison) -> tuple[str, ...]:
    """One table row of formatted cells (see :data:`COLUMNS`)."""
    verdict = m.verdict + (" (beyond allowed)" if m.fails else " (not shown beyond allowed)" if m.unresolved
                           else " (allowed)" if m.verdict == REGRESSED else "")
    lo, hi = m.effect_ci
    return (m.level, m.metric, _value(m.base, m.unit), _value(m.new, m.unit), _effect(m.effect, m),
            f"{_effect(lo, m)} … {_effect(hi, m)}", _p(m.p_adjusted), _allowed(m), verdict)


def comparison_text(result: RunComparison) -> str:
    """A plain aligned table for the terminal, then the verdict line."""
    rows = [COLUMNS, *(metric_row(m) for m in result.comparison.metrics)]
    widths = [max(len(r[i]) for r in rows) for i in range(len(COLUMNS))]
    lines = [f"compare {result.base_run_id} (base) -> {result.new_run_id} (new)"]
    lines += ["  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip() for row in rows]
    lines += [f"warning: {w}" for w in result.comparison.warnings]
    lines.append(f"Verdict: {headline(result)}")
    return "\n".join(lines) + "\n"


def comparison_markdown(result: RunComparison) -> str:
    """A Markdown summary fit for a pull-request comment: verdict, changed metrics, then all."""
    c = result.comparison
    icon = ":x:" if c.fails else ":warning:" if c.verdict == REGRESSED else ":white_check_mark:"
    out = [f"### {icon} Load test comparison: {headline(result)}", "",
           f"Base `{result.base_run_id}` → new `{result.new_run_id}`. Intervals: 95 % moving-block bootstrap over "
           f"seconds ({c.n_resamples} resamples); p-values Holm-adjusted over {len(c.metrics)} metrics{_weighting(c)}, "
           f"significant below {c.alpha:g}.", ""]
    changed = [m for m in c.metrics if m.verdict != "no significant change"]
    out += _md_table(changed) if changed else ["No metric changed significantly."]
    out += ["", "<details><summary>All metrics</summary>", "", *_md_table(list(c.metrics)), "", "</details>"]
    out += [f"> warning: {w}" for w in c.warnings]
    return "\n".join(out) + "\n"


def _md_table(metrics: list[MetricComparison]) -> list[str]:
    lines = ["| " + " | ".join(COLUMNS) + " |", "|" + "---|" * len(COLUMNS)]
    return lines + ["| " + " | ".join(cell.replace("|", "\\|") for cell in metric_row(m)) + " |" for m in metrics]


def comparison_junit(result: RunComparison) -> str:
    """JUnit XML: one testsuite, one testcase per metric; a failure for each regression beyond
    its allowance, a ``system-out`` with the figures for every case."""
    c = result.comparison
    suite = ET.Element("testsuite", name=f"capplan compare {result.scenario}", tests=str(len(c.metrics)),
                       failures=str(len(c.failing)), errors="0", skipped="0")
    for m in c.metrics:
        case = ET.SubElement(suite, "testcase", classname=f"capplan.compare.{result.scenario}",
                             name=f"{m.metric} @ {m.level}")
        text = "; ".join(f"{k}: {v}" for k, v in zip(COLUMNS, metric_row(m), strict=True))
        if m.fails:
            failure = ET.SubElement(case, "failure", type="regression",
                                    message=f"{m.metric} at {m.level} regressed {_effect(m.effect, m)}, "
                                            f"allowed {_allowed(m)}")
            failure.text = text
        ET.SubElement(case, "system-out").text = text
    root = ET.Element("testsuites", name="capplan compare", tests=suite.get("tests", "0"),
                      failures=suite.get("failures", "0"))
    root.append(suite)
    ET.indent(root)
    return '<?xml version="1.0" encoding="utf-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"


def comparison_section(result: RunComparison) -> Section:
    """The report section: the metrics table and the overlaid latency-vs-load chart."""
    table = Table(COLUMNS, tuple(metric_row(m) for m in result.comparison.metrics))
    facts = (("base run", result.base_run_id), ("new run", result.new_run_id),
             ("verdict", headline(result)))
    chart = ChartSpec("comparison", "Latency against load: base and new, 95 % bootstrap intervals",
                      latency_figure(result).to_json())
    return Section("comparison", "Run comparison", facts=facts, tables=(table,), charts=(chart,),
                   note="; ".join(result.comparison.warnings))


def comparison_view(result: RunComparison, generated_at: str) -> ReportView:
    """A whole page holding the comparison section (rendered with the report's templates)."""
    c = result.comparison
    status = "act" if c.verdict == REGRESSED else "ok"
    cards = tuple((f"{m.metric} @ {m.level}", _effect(m.effect, m)) for m in c.metrics
                  if m.metric in ("capacity", "p95") and m.verdict != "no significant change")[:6]
    return ReportView(title=f"Run comparison: {result.scenario}", service=result.scenario,
                      generated_at=generated_at, verdict=Verdict(status, headline(result)), cards=cards,
                      actions=(), sections=(comparison_section(result),), warnings=(), kicker="Run comparison")


def latency_figure(result: RunComparison):
    """p95 against load for both runs, with each run's 95 % interval as error bars."""
    import plotly.graph_objects as go

    fig = go.Figure()
    p95 = [m for m in result.comparison.metrics if m.metric == "p95" and m.level != ACROSS_LEVELS]
    for name, pick, ci in (("base", lambda m: m.base, lambda m: m.base_ci), ("new", lambda m: m.new, lambda m: m.new_ci)):
        ys = [pick(m) for m in p95]
        fig.add_trace(go.Scatter(
            x=[m.level for m in p95], y=ys, mode="lines+markers", name=f"{name} p95",
            error_y={"type": "data", "symmetric": False, "array": [ci(m)[1] - y for m, y in zip(p95, ys, strict=True)],
                     "arrayminus": [y - ci(m)[0] for m, y in zip(p95, ys, strict=True)]}))
    fig.update_layout(xaxis_title="load level", yaxis_title="p95 latency (ms)", template="plotly_white",
                      margin={"l": 60, "r": 20, "t": 30, "b": 50})
    return fig


def _value(value: float, unit: str) -> str:
    if not math.isfinite(value):
        return "-"
    if unit == "fraction":
        return f"{value:.3%}"
    return f"{value:.4g} {unit}".strip()


def _effect(value: float, m: MetricComparison) -> str:
    if not math.isfinite(value):
        return "-"
    if m.relative:
        return f"{value:+.1%}"
    if m.unit == "fraction":
        return f"{100 * value:+.3f} pp"
    return f"{value:+.3g}"


def _weighting(c: Comparison) -> str:
    """How the Holm weights are split, when a capacity is among the metrics."""
    return (f" (the capacity at {CAPACITY_WEIGHT:.0%} of the weight)" if any(m.metric == "capacity" for m in c.metrics)
            else "")


def _allowed(m: MetricComparison) -> str:
    if m.allowed is None:
        return "-"
    return f"{m.allowed:.1%}" if m.relative else f"{100 * m.allowed:.2f} pp" if m.unit == "fraction" else f"{m.allowed:g}"


def _p(value: float) -> str:
    return "-" if not math.isfinite(value) else "<0.001" if value < 0.001 else f"{value:.3f}"
