"""The monthly capacity review (``capplan review``): today's plan against the last archived one.

Plans today exactly as ``capplan report`` does, finds the latest plan of the same service
archived under ``[review] archive_dir`` (or the one named), compares its forecast with
the daily peaks that came in since (read from ``[demand] source``), and archives today's
plan for next month. The comparison itself is pure (:mod:`capplan.models.review`).
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from datetime import date, datetime, timezone
from pathlib import Path

from capplan.app.planning import PlanReport
from capplan.app.reporting import collect_results, report_facts
from capplan.app.risk import risk_snapshot
from capplan.config import CapplanConfig
from capplan.models.decision import to_date
from capplan.models.review import PlanSnapshot, Review, SnapshotTrigger, review_plans
from capplan.report.facts import ChartSpec, ReportFacts
from capplan.report.review_view import ReviewFacts, build_review_view, review_summary
from capplan.report.view import ReportView, build_view
from capplan.store.history import History
from capplan.store.reviews import previous_snapshot, read_snapshot, write_snapshot

CONTEXT_DAYS = 28
"""Days of actual traffic before the archived forecast shown for context in the chart."""


@dataclass(frozen=True, eq=False)
class ReviewOutcome:
    """A finished review: what it found, the document view, and where today's plan went."""

    review: Review | None
    current: PlanSnapshot
    facts: ReportFacts
    view: ReportView
    archive_path: Path | None

    @property
    def summary(self) -> tuple[str, ...]:
        """The review in a few sentences."""
        return review_summary(self.review)


def run_review(config: CapplanConfig, now: datetime | None = None, previous: Path | None = None,
               archive: bool = True) -> ReviewOutcome:
    """Plan today, compare with ``previous`` (default: the latest archived plan), archive today's."""
    now = now or datetime.now(timezone.utc)
    results = collect_results(config, today=now.date())
    facts = report_facts(results, now)
    current = snapshot_of(results, now)
    archive_dir = config.resolve(config.review.archive_dir)
    before = read_snapshot(previous) if previous is not None else previous_snapshot(
        archive_dir, config.service.name, before=now)
    actual = actual_daily_peaks(results.history)  # the history the plan read: files and prometheus:// alike
    review = None if before is None else review_plans(before, current, actual, now.date())
    chart = _chart(before, actual) if review is not None and review.forecast_error is not None else None
    view = build_review_view(build_view(facts), ReviewFacts(review, str(archive_dir), chart))
    outcome = ReviewOutcome(review, current, facts, view, None)
    return archive_current(config, outcome) if archive else outcome


def snapshot_of(report: PlanReport, archived_at: datetime) -> PlanSnapshot:
    """What ``report`` says today, as a snapshot to archive: its forecast, dates and triggers.

    The triggers and the act-by date are the plan's own (``report.decision``), the same the
    report shows; the monthly cost is the planned fleet's first month (the budget).
    """
    plan, costs = report.plan, report.costs
    triggers = tuple(SnapshotTrigger(t.name, t.threshold_rps, t.expected, t.order_by)
                     for t in report.dated_triggers)
    return PlanSnapshot(
        service=report.service, archived_at=archived_at, as_of=to_date(plan.demand.ds[0]),
        days=tuple(to_date(d) for d in plan.demand.ds),
        p50_rps=tuple(float(v) for v in plan.demand.p50_rps), p90_rps=tuple(float(v) for v in plan.demand.p90_rps),
        current_instances=plan.fleet.current_count, safe_capacity_rps=float(plan.runway.safe_capacity_rps),
        runway_date=to_date(plan.runway.safe_exceeded_date), act_by=report.act_by, triggers=triggers,
        recommendations=tuple(report.recommendations),
        cost_usd_month=plan.fleet.current_count * costs.hourly * costs.hours_per_month,
        demand_source=report.demand_source, total_cost=costs.total_planned, risk_months=risk_snapshot(report))


def archive_plan(report: PlanReport, archived_at: datetime) -> Path:
    """Archive ``report`` under its config's ``[review] archive_dir``; returns the file written."""
    config = report.config
    return write_snapshot(snapshot_of(report, archived_at), config.resolve(config.review.archive_dir))


def archive_current(config: CapplanConfig, outcome: ReviewOutcome) -> ReviewOutcome:
    """Archive the review's plan of today in ``[review] archive_dir``; the outcome with its path."""
    path = write_snapshot(outcome.current, config.resolve(config.review.archive_dir))
    return ReviewOutcome(outcome.review, outcome.current, outcome.facts, outcome.view, path)


def actual_daily_peaks(history: History | None) -> dict[date, float]:
    """Daily peak req/s as the planner sees them (the planning series × peak req/s per unit)."""
    if history is None:
        return {}
    daily = history.daily.dropna() * float(history.peak_rps_per_unit)
    return {ts.date(): float(v) for ts, v in daily.items()}


def review_json(outcome: ReviewOutcome, report_json: str) -> str:
    """The review (comparison, summary, archive path) and today's report facts as one JSON object."""
    review = outcome.review
    body: dict[str, object] = {"summary": list(outcome.summary),
                               "archived_to": None if outcome.archive_path is None else str(outcome.archive_path)}
    if review is not None:
        prev = review.previous
        body.update(previous={"archived_at": prev.archived_at.isoformat(), "as_of": prev.as_of.isoformat(),
                              "runway_date": _iso(prev.runway_date), "act_by": _iso(prev.act_by),
                              "current_instances": prev.current_instances},
                    forecast_error=None if review.forecast_error is None else asdict(review.forecast_error),
                    runway_change_days=review.runway_change_days,
                    crossed=[{"name": c.name, "when": c.when.isoformat(), "basis": c.basis} for c in review.crossed])
    body["current"] = {"runway_date": _iso(outcome.current.runway_date), "act_by": _iso(outcome.current.act_by),
                       "current_instances": outcome.current.current_instances}
    return json.dumps({"review": body, "report": json.loads(report_json)}, indent=2, allow_nan=False) + "\n"


def _chart(previous: PlanSnapshot, actual: dict[date, float]) -> ChartSpec:
    from capplan.report.charts import chart_spec, forecast_vs_actual_figure

    last_actual = max(actual)
    shown = [i for i, d in enumerate(previous.days) if d <= last_actual]
    days = [previous.days[i] for i in shown]
    context = sorted(d for d in actual if (previous.as_of - d).days <= CONTEXT_DAYS)
    figure = forecast_vs_actual_figure(days, [previous.p50_rps[i] for i in shown], [previous.p90_rps[i] for i in shown],
                                       (context, [actual[d] for d in context]), previous.as_of)
    return chart_spec("review-forecast", "Last plan's forecast (P50, P90 band) against actual daily peaks", figure)


def _iso(value: date | None) -> str | None:
    return None if value is None else value.isoformat()
