"""Pure: the monthly review document, last month's plan against what happened, then the new plan.

The review is the capacity report of today with three sections in front of it: the
forecast against actual traffic, the runway change and the triggers crossed since the
archived plan. With no archived plan yet those sections say so, and the rest is the report.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date

from capplan.models.review import Review
from capplan.models.risk_review import brier_score
from capplan.report.facts import ChartSpec
from capplan.report.view import ReportView, Section, Table, format_rps, format_usd


@dataclass(frozen=True)
class ReviewFacts:
    """What the review adds to the report: the comparison (None: nothing archived yet)."""

    review: Review | None
    archive_dir: str
    chart: ChartSpec | None = None


def build_review_view(report: ReportView, facts: ReviewFacts) -> ReportView:
    """The review document: review sections, then every section of today's ``report``."""
    review = facts.review
    sections = (_forecast_section(facts), _runway_section(review), _crossed_section(review), _risk_section(review))
    return replace(report, title=f"Monthly capacity review: {report.service}", kicker="Monthly capacity review",
                   cards=_cards(review) + report.cards[:3], sections=sections + report.sections)


def review_summary(review: Review | None) -> tuple[str, ...]:
    """The review in a few plain sentences (for the terminal and the ticket summary)."""
    if review is None:
        return ("No archived plan to compare with yet: this plan is archived and next month's review "
                "compares against it.",)
    prev, err = review.previous, review.forecast_error
    lines = [f"Compared with the plan archived {prev.archived_at:%Y-%m-%d} (forecast from {prev.as_of.isoformat()})."]
    if err is None:
        lines.append("No actual traffic since then in the demand history yet, so no forecast error.")
    else:
        lines.append(f"Forecast error over {err.days} day(s): MAPE {err.mape:.1%}, bias {err.bias:+.1%} "
                     f"({_bias_words(err.bias)}), {err.upper_coverage:.0%} of days at or under the forecast P90.")
    lines.append(f"Runway: {_runway_change(review)}.")
    lines.append(f"Triggers crossed since: {len(review.crossed)}." if review.crossed else "No trigger crossed since.")
    return tuple(lines)


def _cards(review: Review | None) -> tuple[tuple[str, str], ...]:
    if review is None:
        return (("Last plan", "none archived yet"),)
    err = review.forecast_error
    return (("Last plan", f"{review.previous.archived_at:%Y-%m-%d}"),
            ("Forecast error (MAPE)", "n/a" if err is None else f"{err.mape:.1%}"),
            ("Runway change", _days(review.runway_change_days)),
            ("Triggers crossed since", str(len(review.crossed))))


def _forecast_section(facts: ReviewFacts) -> Section:
    review = facts.review
    if review is None:
        return Section("review-forecast", "Forecast against actual",
                       absent=f"No archived plan in {facts.archive_dir} yet. Today's plan has been archived; "
                              "next month's review compares its forecast with the traffic that came in.")
    prev, err = review.previous, review.forecast_error
    if err is None:
        return Section("review-forecast", "Forecast against actual",
                       absent=f"No actual traffic after {prev.as_of.isoformat()} (the start of the archived "
                              "forecast) in the demand history yet: add the latest days to [demand] source.")
    return Section("review-forecast", "Forecast against actual", facts=(
        ("Archived plan", f"{prev.archived_at:%Y-%m-%d %H:%M} UTC, forecast from {prev.as_of.isoformat()}"),
        ("Days compared", str(err.days)),
        ("MAPE (P50 against actual)", f"{err.mape:.1%}"),
        ("Bias", f"{err.bias:+.1%} ({_bias_words(err.bias)})"),
        ("Days at or under the forecast P90", f"{err.upper_coverage:.0%} (a calibrated P90 covers about 90%)"),
        ("Highest actual / forecast peak", f"{format_rps(err.actual_peak_rps)} / {format_rps(err.forecast_peak_rps)}"),
    ), charts=() if facts.chart is None else (facts.chart,))


def _runway_section(review: Review | None) -> Section:
    if review is None:
        return Section("review-runway", "Runway change", absent="No archived plan to compare the runway with.")
    prev, now = review.previous, review.current
    return Section("review-runway", "Runway change", facts=(
        ("Runway (P90 demand over safe capacity)",
         f"{_date(prev.runway_date)} → {_date(now.runway_date)}: {_runway_change(review)}"),
        ("Act by", f"{_date(prev.act_by)} → {_date(now.act_by)}"),
        ("Fleet", f"{prev.current_instances} → {now.current_instances} instance(s)"),
        ("Fleet safe capacity", f"{format_rps(prev.safe_capacity_rps)} → {format_rps(now.safe_capacity_rps)}"),
        ("Monthly cost now", f"{format_usd(prev.cost_usd_month)} → {format_usd(now.cost_usd_month)}"),
    ))


def _crossed_section(review: Review | None) -> Section:
    if review is None:
        return Section("review-triggers", "Triggers crossed since the last plan",
                       absent="No archived plan, so no triggers to check.")
    rows = tuple((c.name, c.when.isoformat(), c.basis) for c in review.crossed)
    return Section("review-triggers", "Triggers crossed since the last plan",
                   tables=(Table(("trigger", "crossed on", "how"), rows),) if rows else (),
                   absent=f"No trigger of the plan archived {review.previous.archived_at:%Y-%m-%d} "
                          "has been crossed since.")


def _risk_section(review: Review | None) -> Section:
    """Last plan's predicted monthly breach and trigger risk beside what the actual peaks did (issue 12)."""
    title = "Predicted risk against what happened"
    if review is None or not review.risk:
        return Section("review-risk", title, absent="No archived monthly risk with actual traffic to compare yet.")
    rows = tuple((c.month, str(c.days), format_rps(c.actual_peak_rps), f"{c.breach_probability:.1%}",
                  "yes" if c.breached else "no", f"{c.trigger_probability:.1%}", "yes" if c.crossed else "no")
                 for c in review.risk)
    score = brier_score(review.risk)
    return Section("review-risk", title, tables=(Table(
        ("month", "days", "actual peak", "predicted P(breach)", "breached", "predicted P(trigger)", "crossed"),
        rows),), note=f"Brier score of the breach risk over these months: {score:.3f} (0 is perfect).")


def _runway_change(review: Review) -> str:
    prev, now, change = review.previous, review.current, review.runway_change_days
    if change is not None:
        return "unchanged" if change == 0 else f"{_days(change)} ({'later' if change > 0 else 'sooner'})"
    if prev.runway_date is None and now.runway_date is None:
        return "beyond the horizon, as before"
    if now.runway_date is None:
        return "now beyond the horizon"
    return f"now ends {now.runway_date.isoformat()} (was beyond the horizon)"


def _bias_words(bias: float) -> str:
    return "traffic above the forecast" if bias > 0 else "traffic below the forecast" if bias < 0 else "no bias"


def _days(value: int | None) -> str:
    return "n/a" if value is None else f"{value:+d} days"


def _date(value: date | None) -> str:
    return "none within the horizon" if value is None else value.isoformat()

