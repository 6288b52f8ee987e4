"""`capplan loadtest {baseline,stress,spike,soak,import}`: run a scenario with Locust, record it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer

from capplan.errors import SloBreached

SCENARIO_HELP = {
    "baseline": "Ramp up, then hold the expected load (--users or --rate) for --hold; records reference "
                "latency and throughput. SLO verdict on the hold.",
    "stress": "Find the saturation point by itself: steps of load (x --growth from --users/--rate), each "
              "held until steady; stops when throughput stops rising, an SLO or the error ceiling breaks, "
              "or --max-duration; then refines near the knee. Prints the per-step table. Exit 0 when at "
              "least one step met every SLO.",
    "spike": "Base load for --spike-before, a sudden --multiplier x surge for --spike-window, base load for "
             "--spike-after; reports recovery time (p95 and errors back within tolerance), peak error rate and "
             "latency. SLO verdict on the post-spike step, and the service must recover.",
    "soak": "Steady load for --soak-duration; detects drift: Theil-Sen slope of p95, error rate and target RSS "
            "(--target-pid) with a Mann-Kendall test; verdict 'stable' or 'degradation/leak suspected'.",
}
SHORT_HELP = {
    "baseline": "Hold the expected load; reference latency/throughput and SLO verdict.",
    "stress": "Find the saturation point by itself (adaptive steps, knee refinement).",
    "spike": "Sudden surge x multiplier, then back; recovery time and peaks.",
    "soak": "Steady load for long; drift of p95, errors and target memory.",
}
_EPILOG = ("Durations: 120s, 2m, 1h. Exit codes: 0 SLOs met, 1 SLO breached, 2 usage/config error, "
           "5 target or load-generator failure, 130 interrupted (run finalized, summary printed).")


def _options_command(scenario: str):
    def command(
        host: str | None = typer.Option(None, "--host", help="Target base URL, e.g. http://127.0.0.1:8089."),
        locustfile: Path | None = typer.Option(None, "--locustfile", help="Locust user classes (default: GET --path)."),
        path: str | None = typer.Option(None, "--path", help="Path the default user GETs (default /)."),
        slo: list[str] = typer.Option([], "--slo", help='SLO such as "p95<300ms" or "error_rate<0.5%"; repeat.'),
        users: int | None = typer.Option(None, "--users", help="Closed model: concurrent users (stress: start)."),
        rate: float | None = typer.Option(None, "--rate", help="Open model: arrival rate req/s (stress: start)."),
        workers: int | None = typer.Option(None, "--workers", help="Local Locust worker processes (0: one process); "
                                     "with --master: how many remote workers to wait for."),
        max_duration: str | None = typer.Option(None, "--max-duration", help="Hard cap on the run (stress: 10m)."),
        out: Path | None = typer.Option(None, "--out", help="Run store root (default datasets/runs)."),
        target_pid: int | None = typer.Option(None, "--target-pid", help="Record this process's CPU and RSS."),
        target_rss_query: str | None = typer.Option(
            None, "--target-rss-query", help="Target RSS from Prometheus: prometheus://host:9090?query=<gauge in "
            "bytes>, e.g. process_resident_memory_bytes (soak drift for a remote target)."),
        allow_host: list[str] = typer.Option([], "--allow-host", help="Allow load to this non-loopback host."),
        config: Path | None = typer.Option(None, "--config", help="capplan.toml: [service] slos, [loadtest]."),
        ramp: str | None = typer.Option(None, "--ramp", help="Ramp-up time (baseline, soak; default 5s)."),
        hold: str | None = typer.Option(None, "--hold", help="Baseline hold time (default 30s)."),
        step_duration: str | None = typer.Option(None, "--step-duration", help="Stress: minimum step (10s)."),
        max_step_duration: str | None = typer.Option(None, "--max-step-duration",
                                                     help="Stress: longest wait for steady state (20s)."),
        growth: float | None = typer.Option(None, "--growth", help="Stress: load factor per step (2)."),
        max_users: float | None = typer.Option(None, "--max-users", help="Stress: highest level (users or req/s)."),
        refine_steps: int | None = typer.Option(None, "--refine-steps", help="Stress: extra steps at the knee (2)."),
        error_ceiling: float | None = typer.Option(None, "--error-ceiling", help="Stress: stop above this error "
                                                   "rate, fraction (0.05)."),
        multiplier: float | None = typer.Option(None, "--multiplier", help="Spike: surge factor (5)."),
        spike_before: str | None = typer.Option(None, "--spike-before", help="Spike: base load before (15s)."),
        spike_window: str | None = typer.Option(None, "--spike-window", help="Spike: surge length (15s)."),
        spike_after: str | None = typer.Option(None, "--spike-after", help="Spike: base load after (30s)."),
        recovery_tolerance: float | None = typer.Option(None, "--recovery-tolerance",
                                                        help="Spike: p95 within this fraction of before (0.2)."),
        soak_duration: str | None = typer.Option(None, "--soak-duration", help="Soak: steady time (5m)."),
        max_in_flight: int | None = typer.Option(None, "--max-in-flight", help="Open model: request pool (256)."),
        master: bool = typer.Option(False, "--master", help="Multi-machine: be the master, await --workers N."),
        worker: bool = typer.Option(False, "--worker", help="Multi-machine: be a worker of --master-host."),
        master_host: str | None = typer.Option(None, "--master-host", help="Master address for --worker."),
        master_port: int | None = typer.Option(None, "--master-port", help="Master port (5557)."),
        raw_dir: Path | None = typer.Option(None, "--raw-dir", help="Also write every raw latency here (audit)."),
        seed: int | None = typer.Option(None, "--seed", help="Seed of the open model's arrival draws."),
        quiet: bool = typer.Option(False, "--quiet", help="No live progress, only the summary."),
    ) -> None:
        flags = dict(locals())
        _run(scenario, flags)

    command.__doc__ = SCENARIO_HELP[scenario]
    return command


def _run(scenario: str, flags: dict[str, Any]) -> None:
    from rich.console import Console

    from capplan.loadtest.options import build_settings
    from capplan.loadtest.settings import check_reachable

    settings = build_settings(scenario, flags, flags.pop("config"))
    console = Console() if Console().is_terminal else Console(width=140)
    if settings.role == "worker":
        from capplan.loadtest.worker import run_worker

        console.print(f"worker: connecting to {settings.master_host}:{settings.master_port}")
        run_worker(settings)
        return
    check_reachable(settings.host)  # before importing Locust (it monkey-patches the process with gevent)
    from capplan.loadtest.runner import run_scenario
    from capplan.loadtest.view import steps_table, summary_table

    with _LiveProgress(console, scenario, quiet=flags["quiet"]) as progress:
        outcome = run_scenario(settings, progress)
    if outcome.steps and scenario == "stress":
        console.print(steps_table(outcome.steps, settings.open_model))
    console.print(summary_table(outcome))
    if outcome.status == "interrupted":
        raise typer.Exit(130)
    if outcome.verdict.slos_met is False:
        failed = [r["slo"] for r in outcome.verdict.results if not r["met"]] or ["the scenario's basis"]
        raise SloBreached(f"SLO breached, {', '.join(failed)} ({outcome.verdict.basis}), see {outcome.run_dir}")


class _LiveProgress:
    """Rich live status line on a terminal; step lines only otherwise."""

    def __init__(self, console: Any, scenario: str, quiet: bool) -> None:
        from rich.live import Live

        self.console, self.scenario, self.quiet = console, scenario, quiet
        self.live = Live(console=console, transient=True) if console.is_terminal and not quiet else None

    def __enter__(self) -> _LiveProgress:
        if self.live is not None:
            self.live.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        if self.live is not None:
            self.live.__exit__(*exc)

    def on_second(self, row: dict[str, Any]) -> None:
        from capplan.loadtest.view import status_line

        if self.live is not None:
            self.live.update(status_line(row, self.scenario))

    def on_step(self, row: dict[str, Any]) -> None:
        from capplan.loadtest.view import step_line

        if not self.quiet:
            self.console.print(step_line(row))


def _import_command(
    source: Path = typer.Argument(..., help="Locust --csv prefix or *_stats_history.csv, or a measurements CSV."),
    kind: str = typer.Option("auto", "--format", help="auto, locust or measurements (concurrency,throughput"
                             "[,latency_ms])."),
    out: Path = typer.Option(Path("datasets/runs"), "--out", help="Run store root."),
    host: str = typer.Option("unknown", "--host", help="The host the data was measured against (recorded only)."),
) -> None:
    """Import existing measurements as a run: Locust's --csv output or a generic measurements CSV."""
    from capplan.loadtest.importing import import_run

    run_dir = import_run(source, kind, out, host)
    typer.echo(f"imported {source} as run {run_dir}")


def register(app: typer.Typer) -> None:
    """Add the ``loadtest`` command group to the root app."""
    group = typer.Typer(name="loadtest", no_args_is_help=True, epilog=_EPILOG,
                        help="Run a load-test scenario with Locust against --host and record it in a run "
                             "directory (datasets/runs/<UTC>-<scenario>/). " + _EPILOG)
    for scenario in ("baseline", "stress", "spike", "soak"):
        group.command(scenario, help=SCENARIO_HELP[scenario] + " " + _EPILOG,
                      short_help=SHORT_HELP[scenario])(_options_command(scenario))
    group.command("import", short_help="Import Locust --csv output or a measurements CSV as a run.")(
        _import_command)
    app.add_typer(group, name="loadtest")
