"""``capplan demo``: the end-to-end run with a rich progress bar on stderr."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer


class RichDemoProgress:
    """Demo progress on stderr with rich: one bar over the stages, live load-test figures.

    Implements the callbacks of :class:`capplan.app.demo.DemoProgress` (stage, on_second, on_step).
    """

    def __enter__(self) -> RichDemoProgress:
        from rich.console import Console
        from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

        self._bar = Progress(TextColumn("[bold]{task.description}"), BarColumn(), TextColumn("{task.fields[live]}"),
                             TimeElapsedColumn(), console=Console(stderr=True), transient=False)
        self._bar.__enter__()
        self._task = self._bar.add_task("starting the demo target", total=6, live="")
        return self

    def __exit__(self, *exc: object) -> None:
        self._bar.__exit__(*exc)

    def stage(self, name: str, index: int, total: int) -> None:
        label = f"[{index}/{total}] {name}" + (" load test" if index <= 4 else "")
        self._bar.update(self._task, description=label, completed=index - 1, total=total, live="")

    def on_second(self, row: dict[str, Any]) -> None:
        users, rps, p95 = row.get("users"), row.get("throughput_rps"), row.get("latency_p95_ms")
        if isinstance(rps, (int, float)) and isinstance(p95, (int, float)):
            self._bar.update(self._task, live=f"{users} users  {rps:,.0f} req/s  p95 {p95:,.1f} ms")

    def on_step(self, row: dict[str, Any]) -> None:
        """Steps are summarised in the report; the bar shows seconds only."""


def register(app: typer.Typer) -> None:
    """Add ``demo`` to the root app."""

    @app.command("demo")
    def demo_command(
        out: Path = typer.Option(Path("reports/demo.html"), "--out", "-o", help="Where to write the HTML report."),
        quick: bool = typer.Option(False, "--quick", help="About one minute of load instead of about three."),
        config: Path = typer.Option(Path("capplan.toml"), "--config", "-c",
                                    help="The plan to use (its capacity and demand are replaced by the demo's)."),
    ) -> None:
        """Start the demo service, run the four scenarios, analyze, forecast, plan, write the report."""
        # Locust monkey-patches the process with gevent when imported: import it before any
        # thread (rich's refresh thread, the target's log reader) exists.
        import capplan.loadtest.runner  # noqa: F401
        from capplan.app.demo import DemoSettings, run_demo

        with RichDemoProgress() as progress:
            result = run_demo(DemoSettings(out=out, quick=quick, config=config), progress)
        typer.echo(f"Verdict: {result.verdict.headline}")
        if result.safe_throughput_rps is not None and result.max_throughput_rps is not None:
            typer.echo(f"Measured per instance: max {result.max_throughput_rps:,.0f} req/s, "
                       f"safe {result.safe_throughput_rps:,.0f} req/s")
        if result.archive_path is not None:
            typer.echo(f"Plan archived for the monthly review: {result.archive_path}")
        typer.echo(f"Report: {result.report_path}  ({result.duration_s:.0f} s)")
