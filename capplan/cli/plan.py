"""``capplan plan`` (instances, runway, triggers, cost by month) and ``capplan rules`` (Prometheus alerts)."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import typer

from capplan.config import load_config
from capplan.errors import ConfigError, SloBreached
from capplan.app.risk import risk_summary_lines, with_risk_columns
from capplan.app.planning import PlanReport, budget_rows, build_plan, build_triggers, plan_as_dict, unavoidable_breach

_COLUMNS = (
    ("month", "month", "{}"), ("p50_peak_rps", "P50 rps", "{:,.0f}"), ("p90_peak_rps", "P90 rps", "{:,.0f}"),
    ("planned_fleet", "planned", "{}"), ("cost_planned", "budget", "{:,.0f}"),
    ("instances_p50", "inst P50", "{}"), ("instances_p90", "inst P90", "{}"),
    ("cost_p50", "needs P50", "{:,.0f}"), ("cost_p90", "needs P90", "{:,.0f}"),
    ("cost_headroom", "headroom", "{:,.0f}"), ("cost_redundancy", "redundancy", "{:,.0f}"),
)


def register(app: typer.Typer) -> None:
    """Add ``plan`` and ``rules`` to the root app."""
    app.command("plan")(plan_command)
    app.command("rules")(rules_command)


def plan_command(
    config: Path = typer.Option(Path("capplan.toml"), "--config", "-c", help="Path to capplan.toml."),
    as_json: bool = typer.Option(False, "--json", help="Print the whole plan as JSON."),
    as_csv: bool = typer.Option(False, "--csv", help="Print the month-by-month budget table as CSV."),
    months: int = typer.Option(None, "--months",
                               help="Months to show: 6, 12 or 24 (default: report.months in capplan.toml)."),
    archive: bool = typer.Option(False, "--archive", help="Also archive this plan in [review] archive_dir; "
                                                          "capplan review compares the next month against it."),
) -> None:
    """Instances needed over the horizon, scaling triggers, order-by dates and cost by month.

    Exits 1 when the current fleet's SLO breaks sooner than capacity ordered today can arrive.
    """
    if as_json and as_csv:
        raise ConfigError("--json and --csv both given, --json --csv, choose one output format")
    if months is not None and months not in (6, 12, 24):
        raise ConfigError(f"--months must be 6, 12 or 24, got {months}, pass --months 12")
    cfg = load_config(config)
    report = build_plan(cfg)
    shown = months or cfg.report.months
    if as_json:
        typer.echo(json.dumps(plan_as_dict(report, shown), indent=2))
    elif as_csv:
        typer.echo(render_csv(report, shown), nl=False)
    else:
        typer.echo(render_text(report, shown))
    if archive:
        from datetime import datetime, timezone

        from capplan.app.reviewing import archive_plan

        typer.echo(f"plan archived to {archive_plan(report, datetime.now(timezone.utc))}", err=True)
    breach = unavoidable_breach(report)
    if breach is not None:
        raise SloBreached(breach)


def rules_command(
    config: Path = typer.Option(Path("capplan.toml"), "--config", "-c", help="Path to capplan.toml."),
    out: Path = typer.Option(None, "--out", "-o", help="Write the rule file here (default: print it)."),
) -> None:
    """Prometheus alerting rules: scaling triggers, forecast triggers and SLO burn rates."""
    from capplan.app.rules import dump_rules, rule_groups, write_rules

    cfg = load_config(config)
    groups = rule_groups(cfg, build_triggers(cfg))
    if out is None:
        typer.echo(dump_rules(groups), nl=False)
        return
    written = write_rules(groups, out)
    typer.echo(f"wrote {sum(len(g.rules) for g in groups)} alerting rules to {written}")


def render_csv(report: PlanReport, months: int | None) -> str:
    """The month-by-month budget table as CSV (costs in the plan's currency)."""
    rows = with_risk_columns(budget_rows(report, months), getattr(report, "risk", None))
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=list(rows[0]), lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return buffer.getvalue()


def render_text(report: PlanReport, months: int | None) -> str:
    """The human plan: header, table by month, recommendations, triggers, purchase options."""
    plan, costs = report.plan, report.costs
    cap, fleet = plan.capacity, plan.fleet
    lines = [
        f"capacity plan for {report.service}: {plan.demand.ds[0]} to {plan.demand.ds[-1]} ({report.demand_source})",
        f"per instance: max {cap.max_rps:,.0f} req/s, safe {cap.safe_rps:,.0f} req/s ({cap.source}); fleet "
        f"{fleet.current_count} × {fleet.instance_type}, {fleet.redundancy.describe()}, minimum {fleet.minimum}",
        "", _table(budget_rows(report, months), costs.currency), "", "recommendations:",
    ]
    lines += [f"  - {text}" for text in report.recommendations]
    lines += ["", "scaling triggers:"]
    lines += [f"  - {t.metric} > {_fmt_threshold(t.threshold, t.unit)}: {t.rationale}" for t in report.triggers]
    act_by = "nothing to order within the horizon" if report.act_by is None else report.act_by.isoformat()
    lines += ["", f"act by: {act_by}"]
    lines += ["", f"budget over {len(plan.demand.ds)} days ({costs.currency}, {costs.hourly:g}/h on demand, "
              f"{costs.hours_per_month:g} h a month): planned fleet {costs.total_planned:,.0f}; the instances needed "
              f"would cost P50 {costs.total_p50:,.0f}, P90 {costs.total_p90:,.0f} (headroom {costs.total_headroom:,.0f}, "
              f"redundancy {costs.total_redundancy:,.0f}), what the fleet could shrink to"]
    lines += ["purchase options for the planned fleet:"]
    lines += [f"  - {o.name}: {o.total:,.0f}, saves {o.saving:,.0f} ({o.saving_fraction:.0%}); {o.note}"
              for o in costs.options]
    if getattr(report, "risk", None) is not None:
        lines += ["", *risk_summary_lines(report.risk, costs.currency, months)]
    lines += [f"warning: {w}" for w in report.warnings]
    return "\n".join(lines)


def _fmt_threshold(value: float, unit: str) -> str:
    return f"{value:.0%}" if unit == "fraction" else f"{value:,.0f} {unit}"


def _table(rows: list[dict[str, object]], currency: str) -> str:
    header = [title if not key.startswith("cost") else f"{title} {currency}" for key, title, _ in _COLUMNS]
    body = [[fmt.format(row[key]) for key, _, fmt in _COLUMNS] for row in rows]
    widths = [max(len(h), *(len(r[i]) for r in body)) for i, h in enumerate(header)]
    out = ["  ".join(h.rjust(w) for h, w in zip(header, widths, strict=True))]
    out += ["  ".join(c.rjust(w) for c, w in zip(r, widths, strict=True)) for r in body]
    return "\n".join(out)
