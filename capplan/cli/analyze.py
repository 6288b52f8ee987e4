"""``capplan analyze``: the saturation estimate of one service from runs or a measurements CSV."""

from __future__ import annotations

import json
import math
from pathlib import Path

import typer

from capplan.errors import ConfigError


def register(app: typer.Typer) -> None:
    """Add ``analyze`` to the root app."""

    @app.command("analyze")
    def analyze(
        inputs: list[Path] = typer.Argument(..., metavar="RUN_DIR_OR_CSV...",
                                            help="Run directories, a run store (its newest run; --all: every run) "
                                                 "and/or a CSV (concurrency,throughput[,latency_ms])."),
        all_runs: bool = typer.Option(False, "--all", help="A run store stands for every run in it, not the newest."),
        as_json: bool = typer.Option(False, "--json", help="Print one JSON object instead of the table."),
        plot: Path | None = typer.Option(None, "--plot", help="Write an offline HTML plot to this path."),
        slo: list[str] = typer.Option([], "--slo", help='SLO such as "p95<300ms" (default: the runs\' SLOs).'),
        target_utilization: float = typer.Option(0.8, "--target-utilization", help="Utilisation cap, 0-1."),
    ) -> None:
        """Saturation estimate (max and safe throughput per instance, knee, USL and queueing fits) and the
        spike recovery and soak drift the runs stored."""
        from capplan.store.runs import runs_named

        if not 0 < target_utilization <= 1:
            raise ConfigError(f"--target-utilization must be in (0, 1], got {target_utilization}, pass e.g. 0.8")
        paths = runs_named(inputs, all_runs)
        findings = _findings(paths)
        estimate = _estimate(paths, findings, slo, target_utilization)
        if plot is not None and estimate is not None:
            from capplan.report.saturation_plot import saturation_figure, write_figure_html

            write_figure_html(saturation_figure(estimate), plot)
        if as_json:
            typer.echo(json.dumps({"saturation": None if estimate is None else estimate.to_dict()["saturation"],
                                   "runs": [f.to_dict() for f in findings]}, allow_nan=False))
        else:
            _print_human(estimate, findings, plot)


def _findings(paths: list[Path]) -> list:
    """Stored spike/soak findings of the run directories among ``paths``."""
    from capplan.store.runs import read_run, run_findings

    runs = [read_run(p) for p in paths if p.is_dir()]
    return [run_findings(r) for r in runs if r.scenario in ("spike", "soak")]


def _estimate(paths: list[Path], findings: list, slo: list[str], target_utilization: float):
    """The saturation estimate, or None when every input is a spike or soak run (they have findings instead)."""
    from capplan.models.saturation import estimate_saturation
    from capplan.models.slo import parse_slos
    from capplan.store.measurements import load_measurements

    if findings and len(findings) == len(paths):
        return None
    measurements = load_measurements(paths)
    return estimate_saturation(measurements, parse_slos(slo or measurements.slo_texts), target_utilization)


def _print_human(estimate, findings: list, plot: Path | None) -> None:
    from rich.console import Console

    console = Console(highlight=False)
    if not console.is_terminal:
        console = Console(highlight=False, width=120)
    for table in _findings_tables(findings):
        console.print(table)
    if estimate is None:
        return
    console.print(_steps_table(estimate))
    console.print(_numbers_table(estimate))
    for warning in estimate.warnings:
        console.print(f"[yellow]warning:[/yellow] {warning}")
    console.print()
    console.print(verdict(estimate))
    if plot is not None:
        console.print(f"plot: {plot}")


def _findings_tables(findings: list) -> list:
    """One table per spike or soak run: what the run stored when it ended."""
    from rich.table import Table

    from capplan.models.drift import format_recovery, format_slope

    tables = []
    for f in findings:
        table = Table(title=f"{f.scenario} run {f.run_id} ({f.source})", show_header=False)
        table.add_column("what")
        table.add_column("value")
        if f.spike is not None:
            table.add_row("spike recovery", f"{format_recovery(f.spike)} (p95 within {f.spike.tolerance:.0%} of "
                          f"before); peak p95 {_fmt(f.spike.peak_p95_ms)} ms")
        if f.soak is not None:
            table.add_row("soak drift", f.soak.verdict)
            table.add_row("p95 trend", format_slope(f.soak.p95, "ms"))
            if f.soak.rss is not None:
                table.add_row("target memory trend", format_slope(f.soak.rss, "MB"))
        tables.append(table)
    return tables


def _steps_table(estimate):
    from rich.table import Table

    key = estimate.steps[0].latency_key if estimate.steps else "mean"
    table = Table(title="Measured steps against the models")
    for header in ("N", "X req/s", "USL X", "USL err", f"{key} ms", f"model {key}", "X·(R+Z)/N", "flags"):
        table.add_column(header, justify="left" if header == "flags" else "right")
    for step in estimate.steps:
        table.add_row(f"{step.concurrency:.4g}", f"{step.throughput_rps:.1f}", f"{step.usl_throughput_rps:.1f}",
                      _pct(step.usl_error), _fmt(step.latency_ms), _fmt(step.model_latency_ms),
                      _fmt(step.little_ratio, "{:.2f}"), "; ".join(step.flags))
    return table


def _numbers_table(estimate):
    from rich.table import Table

    usl = estimate.usl
    lo, hi = estimate.max_throughput_ci_rps
    table = Table(title="Saturation estimate", show_header=False)
    table.add_column("quantity")
    table.add_column("value", justify="right")
    table.add_column("basis")
    table.add_row("max throughput", f"{estimate.max_throughput_rps:.1f} req/s",
                  f"{estimate.max_throughput_basis}, 95% CI {_fmt(lo)}-{_fmt(hi)}")
    capacity = 1000.0 * estimate.effective_servers / estimate.slo_service_time_ms  # what the safe rate assumes
    table.add_row("safe throughput", f"{estimate.safe_throughput_rps:.1f} req/s",
                  f"{estimate.safe_basis}, utilisation <= {estimate.target_utilization:g} "
                  f"of {_fmt(capacity)} req/s")
    table.add_row("knee concurrency", f"{estimate.knee_concurrency:.1f}", "X_max x (latency floor + think time)")
    table.add_row("USL", f"σ={usl.sigma:.4g} κ={usl.kappa:.3g} λ={usl.lambda_rps:.4g}",
                  f"N*={_fmt(usl.peak_concurrency)}, X(N*)={_fmt(usl.peak_throughput_rps)} req/s")
    table.add_row("queue", f"G/G/{estimate.effective_servers}",
                  f"service {estimate.service_time_ms:.2f} ms ({estimate.slo_service_time_ms:.2f} ms for SLOs), "
                  f"CV {estimate.service_cv:.2f}, floor {estimate.latency_floor_ms:.2f} ms")
    if math.isfinite(estimate.service_demand_cpu_ms):
        table.add_row("CPU demand", f"{estimate.service_demand_cpu_ms:.2f} ms/request",
                      "utilisation law D = U/X (target CPU), median over steps")
    return table


def verdict(estimate) -> str:
    """One paragraph a team can act on."""
    slos = ", ".join(estimate.slos) or "no SLO given"
    text = (f"One instance sustains at most {estimate.max_throughput_rps:.1f} req/s "
            f"({estimate.max_throughput_basis}); latency starts to climb past about "
            f"{estimate.knee_concurrency:.1f} concurrent requests. Plan on {estimate.safe_throughput_rps:.1f} req/s "
            f"per instance ({slos}, utilisation <= {estimate.target_utilization:.0%}; limited by "
            f"{estimate.safe_basis}).")
    if estimate.warnings:
        text += f" {len(estimate.warnings)} warning(s) above qualify these numbers."
    return text


def _fmt(value: float, pattern: str = "{:.1f}") -> str:
    return pattern.format(value) if value is not None and math.isfinite(value) else "-"


def _pct(value: float) -> str:
    return f"{value:+.0%}" if math.isfinite(value) else "-"
