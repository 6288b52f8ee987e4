"""``capplan report`` (the capacity report) and ``capplan review`` (the monthly review)."""

from __future__ import annotations

from pathlib import Path

import typer

from capplan.config import load_config


def register(app: typer.Typer) -> None:
    """Add ``report`` and ``review`` to the root app."""

    @app.command("report")
    def report_command(
        config: Path = typer.Option(Path("capplan.toml"), "--config", "-c", help="Path to capplan.toml."),
        out: Path = typer.Option(None, "--out", "-o", help="Write here (default: [report] output for html, "
                                                           "stdout for md and json)."),
        fmt: str = typer.Option("html", "--format", "-f", help="html (offline page), md (ticket summary) or json."),
    ) -> None:
        """The capacity report: verdict, SLOs, saturation, forecast, instances, triggers, cost."""
        from capplan.app.reporting import collect_results, report_facts
        from capplan.report.render import check_format, render_report, write_text_atomic

        check_format(fmt)
        cfg = load_config(config)
        text = render_report(report_facts(collect_results(cfg)), fmt)
        if out is None and fmt != "html":
            typer.echo(text, nl=False)
            return
        path = write_text_atomic(out or cfg.resolve(cfg.report.output), text)
        typer.echo(f"Report written to {path}")

    @app.command("review")
    def review_command(
        config: Path = typer.Option(Path("capplan.toml"), "--config", "-c", help="Path to capplan.toml."),
        out: Path = typer.Option(None, "--out", "-o", help="Write here (default: [review] output for html, "
                                                           "stdout for md and json)."),
        fmt: str = typer.Option("html", "--format", "-f", help="html (offline page), md (ticket summary) or json."),
        previous: Path = typer.Option(None, "--previous", help="Compare with this archived plan JSON "
                                                               "(default: the latest in [review] archive_dir)."),
        archive: bool = typer.Option(True, "--archive/--no-archive", help="Archive today's plan for next month."),
    ) -> None:
        """The monthly capacity review: last plan's forecast against actual traffic, runway change,
        triggers crossed since, and the new plan."""
        from capplan.report.markdown import render_json, render_review_markdown
        from capplan.report.render import check_format, render_html, write_text_atomic
        from capplan.app.reviewing import archive_current, review_json, run_review

        check_format(fmt)
        cfg = load_config(config)
        outcome = run_review(cfg, previous=previous, archive=False)  # archived once the review is out
        if fmt == "html":
            text = render_html(outcome.view)
        elif fmt == "md":
            text = render_review_markdown(outcome.view, outcome.summary)
        else:
            text = review_json(outcome, render_json(outcome.facts, outcome.view))
        if out is None and fmt != "html":
            typer.echo(text, nl=False)
        else:
            path = write_text_atomic(out or cfg.resolve(cfg.review.output), text)
            typer.echo(f"Verdict: {outcome.view.verdict.headline}")
            for line in outcome.summary:
                typer.echo(line)
            typer.echo(f"Review written to {path}")
        if archive:
            typer.echo(f"Today's plan archived to {archive_current(cfg, outcome).archive_path}", err=True)
