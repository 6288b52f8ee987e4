"""``capplan report`` (the capacity report), ``capplan demo`` (end to end) and ``capplan review``."""

from __future__ import annotations

from pathlib import Path

import typer

from capplan.config import load_config


def register(app: typer.Typer) -> None:
    """Add ``report``, ``demo`` and ``review`` to the root app."""

    @app.command("report")
    def report_command(
        config: Path = typer.Option(Path("capplan.toml"), "--config", "-c", help="Path to capplan.toml."),
        out: Path = typer.Option(None, "--out", "-o", help="Write here (default: [report] output for html, "
                                                           "stdout for md and json)."),
        fmt: str = typer.Option("html", "--format", "-f", help="html (offline page), md (ticket summary) or json."),
    ) -> None:
        """The capacity report: verdict, SLOs, saturation, forecast, instances, triggers, cost."""
        from capplan.report.build import collect_results, report_facts
        from capplan.report.render import check_format, render_report, write_text_atomic

        check_format(fmt)
        cfg = load_config(config)
        text = render_report(report_facts(collect_results(cfg)), fmt)
        if out is None and fmt != "html":
            typer.echo(text, nl=False)
            return
        path = write_text_atomic(out or cfg.resolve(cfg.report.output), text)
        typer.echo(f"Report written to {path}")
