"""Pure: turn :class:`ReportFacts` into what the report shows (verdict, sections, tables).

No I/O and no clock: the generation time comes in the facts. Every section is always
present in the view; a section whose data is missing carries an ``absent`` sentence that
says what is missing and how to get it, so a partial report still reads well.

Verdict rule: with no plan the verdict is *unknown*; when the plan has an ``act_by`` date
the verdict is *act* ("Act by DATE"); otherwise *ok* (capacity lasts the whole horizon).
A breached SLO in any load-test run adds a warning but does not change the date.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date

from capplan.report.facts import ChartSpec, PlanFacts, ReportFacts, ScenarioFacts, facts_as_dict


@dataclass(frozen=True)
class Table:
    """A table: column headers and rows of already formatted cells."""

    columns: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]


@dataclass(frozen=True)
class Section:
    """One report section: key facts, tables and charts, or an ``absent`` explanation.

    ``note`` is a sentence shown with the content (e.g. that part of the data is missing).
    """

    key: str
    title: str
    facts: tuple[tuple[str, str], ...] = ()
    tables: tuple[Table, ...] = ()
    charts: tuple[ChartSpec, ...] = ()
    items: tuple[str, ...] = ()
    absent: str = ""
    note: str = ""

    @property
    def is_empty(self) -> bool:
        """True when the section has nothing to show but its ``absent`` sentence."""
        return not (self.facts or self.tables or self.charts or self.items)


@dataclass(frozen=True)
class Verdict:
    """The one-line answer: ``status`` is ``ok``, ``act`` or ``unknown``."""

    status: str
    headline: str
    act_by: date | None = None


@dataclass(frozen=True)
class ReportView:
    """The whole report ready for a template: title, verdict, summary cards, sections."""

    title: str
    service: str
    generated_at: str
    verdict: Verdict
    cards: tuple[tuple[str, str], ...]
    actions: tuple[str, ...]
    sections: tuple[Section, ...]
    warnings: tuple[str, ...]
    kicker: str = "Capacity report"
    data_json: str = "{}"
    """The facts as JSON (:func:`capplan.report.facts.facts_as_dict`), embedded in the page for tools."""


def build_view(facts: ReportFacts) -> ReportView:
    """Build the report view from facts (pure; safe with any part missing)."""
    warnings = facts.warnings + _breach_warnings(facts.scenarios)
    sections = (
        _slo_section(facts),
        _saturation_section(facts),
        _scenario_section(facts, "spike", "Spike recovery"),
        _scenario_section(facts, "soak", "Soak drift"),
        _forecast_section(facts),
        _instances_section(facts),
        _triggers_section(facts.plan),
        _cost_section(facts),
        Section("provenance", "Assumptions and data provenance", facts=facts.provenance,
                absent="No provenance recorded."),
        Section("warnings", "Warnings", items=warnings, absent="No warnings."),
    )
    return ReportView(
        title=f"Capacity report: {facts.service}",
        service=facts.service,
        generated_at=facts.generated_at.strftime("%Y-%m-%d %H:%M UTC"),
        verdict=decide_verdict(facts.plan, facts.generated_at.date()),
        cards=_summary_cards(facts),
        actions=facts.plan.actions if facts.plan else (),
        sections=sections,
        warnings=warnings,
        data_json=json.dumps(facts_as_dict(facts), allow_nan=False),
    )


def decide_verdict(plan: PlanFacts | None, today: date | None = None) -> Verdict:
    """OK when nothing needs doing within the horizon, else "Act by DATE" ("Act now" when past)."""
    if plan is None:
        return Verdict("unknown", "No capacity plan: configure capplan.toml and run capplan plan")
    if plan.act_by is not None:
        if today is not None and plan.act_by < today:
            return Verdict("act", f"Act now: the order-by date {plan.act_by.isoformat()} has passed", plan.act_by)
        return Verdict("act", f"Act by {plan.act_by.isoformat()}", plan.act_by)
    return Verdict("ok", f"OK: the current {plan.current_instances} instance(s) last the "
                         f"{plan.horizon_days}-day horizon")


def format_rps(value: float | None) -> str:
    """Requests per second with a sensible number of digits (``"1,234 req/s"``)."""
    if value is None:
        return "n/a"
    return f"{value:,.0f} req/s" if abs(value) >= 100 else f"{value:,.1f} req/s"


def format_usd(value: float | None) -> str:
    """US dollars, whole (``"$12,345"``)."""
    return "n/a" if value is None else f"${value:,.0f}"


def format_runway(days: float | None, horizon_days: int) -> str:
    """Runway in days, or "beyond the horizon" when demand never exceeds capacity."""
    if days is None:
        return f"> {horizon_days} days (beyond the horizon)"
    return f"{days:,.0f} days"


def format_observed(slo: str, value: float | None) -> str:
    """An observed SLO value: a percentage for error rates, milliseconds for latency."""
    if value is None:
        return "n/a"
    return f"{value * 100:.2f} %" if slo.startswith("error_rate") else f"{value:,.1f} ms"


def _summary_cards(facts: ReportFacts) -> tuple[tuple[str, str], ...]:
    plan, sat = facts.plan, facts.saturation
    cards = []
    if plan is not None:
        cards.append(("Runway", format_runway(plan.runway_days, plan.horizon_days)))
        cards.append(("Instances now / at peak", f"{plan.current_instances} / {plan.peak_instances}"))
        cards.append(("Monthly cost now", format_usd(plan.cost_usd_month_now)))
    if plan is not None:
        cards.append(("Safe per instance (planned)", format_rps(plan.capacity_per_instance_rps)))
    elif sat is not None:
        cards.append(("Safe per instance (measured)", format_rps(sat.safe_throughput_rps)))
    met = [s.slos_met for s in facts.scenarios if s.slos_met is not None]
    if met:
        cards.append(("Load-test SLOs", f"{sum(met)} of {len(met)} runs met"))
    return tuple(cards)


def _breach_warnings(scenarios: tuple[ScenarioFacts, ...]) -> tuple[str, ...]:
    out = []
    for s in scenarios:
        if s.slos_met is False:
            missed = ", ".join(c.slo for c in s.checks if c.met is False) or "see run"
            out.append(f"The {s.scenario} run {s.run_id} breached its SLOs ({missed}).")
        if not s.complete:
            out.append(f"The {s.scenario} run {s.run_id} is incomplete (status {s.status}); "
                       "its figures cover only the part that ran.")
    return tuple(out)


def _charts(facts: ReportFacts, key: str) -> tuple[ChartSpec, ...]:
    return tuple(c for c in facts.charts if c.section == key)


def _slo_section(facts: ReportFacts) -> Section:
    title = "SLOs and load-test verdicts"
    if not facts.scenarios:
        missing = "No load-test runs were found: run capplan loadtest or capplan demo."
        return Section("slos", title, facts=_slo_facts(facts), absent=missing, note=missing)
    runs = Table(("Scenario", "Run", "Target", "Status", "Verdict"), tuple(
        (s.scenario, s.run_id, s.host, s.status, _verdict_word(s.slos_met)) for s in facts.scenarios))
    checks = Table(("Scenario", "SLO", "Observed", "Met"), tuple(
        (s.scenario, c.slo, format_observed(c.slo, c.observed), _verdict_word(c.met))
        for s in facts.scenarios for c in s.checks))
    tables = (runs, checks) if checks.rows else (runs,)
    return Section("slos", title, facts=_slo_facts(facts), tables=tables)


def _slo_facts(facts: ReportFacts) -> tuple[tuple[str, str], ...]:
    return (("Objectives", ", ".join(facts.slos)),) if facts.slos else ()


def _verdict_word(met: bool | None) -> str:
    return {True: "met", False: "BREACHED", None: "not checked"}[met]


def _saturation_section(facts: ReportFacts) -> Section:
    title = "Throughput and latency against load"
    sat = facts.saturation
    if sat is None:
        return Section("saturation", title, charts=_charts(facts, "saturation"),
                       absent="No saturation estimate: run a stress test (capplan loadtest stress).")
    rows = (
        ("Maximum sustainable throughput", format_rps(sat.max_throughput_rps)),
        (f"Safe throughput (SLOs met at {sat.target_utilization:.0%} utilisation)",
         format_rps(sat.safe_throughput_rps)),
        ("Knee (latency starts to climb)", f"{sat.knee_concurrency:,.1f} concurrent requests"),
        ("USL peak", f"{format_rps(sat.peak_throughput_rps)} at {sat.peak_concurrency:,.1f} concurrent"),
        ("USL parameters", f"σ = {sat.sigma:.4g}, κ = {sat.kappa:.4g}, λ = {sat.lambda_rps:.4g} req/s"),
    )
    return Section("saturation", title, facts=rows, charts=_charts(facts, "saturation"))


def _scenario_section(facts: ReportFacts, scenario: str, title: str) -> Section:
    runs = [s for s in facts.scenarios if s.scenario == scenario]
    charts = _charts(facts, scenario)
    if not runs and not charts:
        return Section(scenario, title, absent=f"No {scenario} run was found: run "
                                               f"capplan loadtest {scenario} --host URL.")
    highlights = tuple(h for s in runs for h in s.highlights)
    return Section(scenario, title, facts=highlights, charts=charts,
                   absent="" if highlights or charts else f"The {scenario} run recorded no summary.")


def _forecast_section(facts: ReportFacts) -> Section:
    title = "Traffic forecast"
    fc = facts.forecast
    if fc is None:
        return Section("forecast", title, charts=_charts(facts, "forecast"),
                       absent="No traffic history or forecast: set [forecast] history in capplan.toml.")
    rows = [("Demand", fc.source)]
    if fc.history_start is not None and fc.history_end is not None:
        rows.append(("History", f"{fc.history_start.isoformat()} to {fc.history_end.isoformat()} "
                                f"({fc.history_points:,} {fc.resolution} points)"))
    if fc.model:
        rows.append(("Model", fc.model))
    rows += [
        ("Horizon", f"{fc.horizon_days} days"),
        ("Forecast peak (P50)", format_rps(fc.peak_p50_rps)),
        (f"Forecast peak (upper bound of the {fc.interval:.0%} interval)", format_rps(fc.peak_upper_rps)),
    ]
    if fc.backtest_mape is not None:
        rows.append(("Backtest accuracy (MAPE)", f"{fc.backtest_mape * 100:.1f} %"))
    return Section("forecast", title, facts=tuple(rows), charts=_charts(facts, "forecast"))


def _instances_section(facts: ReportFacts) -> Section:
    title = "Instances over time"
    plan = facts.plan
    if plan is None:
        return Section("instances", title, charts=_charts(facts, "instances"),
                       absent="No capacity plan: run capplan plan --config capplan.toml.")
    rows = (
        ("Capacity per instance (safe)", format_rps(plan.capacity_per_instance_rps)),
        ("Instances now", str(plan.current_instances)),
        ("Instances needed at the forecast peak", str(plan.peak_instances)),
        ("Runway", format_runway(plan.runway_days, plan.horizon_days)),
    )
    return Section("instances", title, facts=rows, charts=_charts(facts, "instances"))


def _triggers_section(plan: PlanFacts | None) -> Section:
    title = "Scaling triggers"
    if plan is None or not (plan.triggers or plan.alerts):
        return Section("triggers", title, absent="No scaling triggers: the plan is missing or "
                                                 "demand stays below every threshold.")
    dated = Table(("Trigger", "Threshold", "Expected", "Order by", "Action"), tuple(
        (t.name, t.threshold, _date(t.expected_date), _date(t.order_by), t.action) for t in plan.triggers))
    alerts = Table(("Alert on", "Threshold", "Why"), tuple((a.metric, a.threshold, a.rationale)
                                                           for a in plan.alerts))
    return Section("triggers", title, tables=tuple(t for t in (dated, alerts) if t.rows))


def _cost_section(facts: ReportFacts) -> Section:
    title = "Cost projection"
    plan = facts.plan
    if plan is None or (not plan.cost_options and plan.cost_usd_month_now is None):
        return Section("cost", title, charts=_charts(facts, "cost"),
                       absent="No cost data: set [cost] prices in capplan.toml.")
    rows = [("Monthly cost now", format_usd(plan.cost_usd_month_now)),
            ("Monthly cost of the planned fleet at its peak", format_usd(plan.cost_usd_month_peak))]
    if plan.total_cost_planned is not None:
        rows.append(("Budget over the horizon (the planned fleet, on demand)", format_usd(plan.total_cost_planned)))
    if plan.total_cost_p50 is not None and plan.total_cost_p90 is not None:
        rows.append(("What it could shrink to (instances needed at P50 / P90)",
                     f"{format_usd(plan.total_cost_p50)} / {format_usd(plan.total_cost_p90)}"))
    rows = tuple(rows)
    options = Table(("Purchase option", "Per month (avg)", "Over the horizon", "Note"), tuple(
        (o.name, format_usd(o.cost_usd_month), format_usd(o.total_usd), o.note)
        for o in plan.cost_options))
    return Section("cost", title, facts=rows, tables=(options,) if options.rows else (),
                   charts=_charts(facts, "cost"))


def _date(value: date | None) -> str:
    return value.isoformat() if value is not None else "not within the horizon"
