"""``capplan compare BASE NEW``: did latency or capacity regress between two runs, beyond noise."""

from __future__ import annotations

from pathlib import Path

import typer


def register(app: typer.Typer) -> None:
    """Add ``compare`` to the root app."""

    @app.command("compare")
    def compare(
        base: Path = typer.Argument(..., metavar="BASE_RUN", help="Run directory of the baseline (current release)."),
        new: Path = typer.Argument(..., metavar="NEW_RUN", help="Run directory of the candidate, same scenario."),
        max_regression: list[str] = typer.Option([], "--max-regression", metavar="METRIC=PCT",
                                                 help="Allowed regression, e.g. p95=10% or capacity=5%; repeat. "
                                                      "Defaults: latency and throughput 10%, capacity 5%, "
                                                      "error_rate 0.1% (points)."),
        as_json: bool = typer.Option(False, "--json", help="Print one JSON object."),
        as_md: bool = typer.Option(False, "--md", help="Print Markdown for a pull-request comment."),
        junit: Path | None = typer.Option(None, "--junit", metavar="FILE", help="Also write JUnit XML here."),
        html: Path | None = typer.Option(None, "--html", metavar="FILE", help="Also write an offline HTML page."),
    ) -> None:
        """Compare two runs of one scenario; exit 1 when a metric regressed significantly beyond its allowance."""
        from capplan.app.compare import compare_command

        text, fails = compare_command(base, new, max_regression, "json" if as_json else "md" if as_md else "text",
                                      junit, html)
        typer.echo(text, nl=False)
        if fails:
            raise typer.Exit(1)


def print_comparison(base: Path, new: Path) -> bool:
    """Print the comparison of ``new`` with ``base`` (``capplan loadtest --compare-to``); True when it fails."""
    from capplan.app.compare import compare_command

    text, fails = compare_command(base, new, [], "text")
    typer.echo(text, nl=False)
    return fails
