"""`capplan loadtest {baseline,stress,spike,soak,import}`: run a scenario with Locust, record it."""

from __future__ import annotations

import inspect
from pathlib import Path
from typing import Any, Optional

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
           "5 target, load-generator or recording failure, 130 interrupted by Ctrl-C / 143 by SIGTERM (run finalized "
           "as interrupted, summary printed); see docs/faults.md.")


# Command-line-only options (not settings knobs). A knob of the run itself is declared once,
# in capplan.loadtest.settings.LoadTestSettings, and appears here by itself.
_CLI_OPTIONS: tuple[tuple[str, Any, Any], ...] = (
    ("config", Optional[Path],  # noqa: UP007
     typer.Option(None, "--config", help="capplan.toml: [service] slos, [loadtest] and "
                                         "[loadtest.<scenario>] defaults.")),
    ("master", bool, typer.Option(False, "--master", help="Multi-machine: be the master, await --workers N.")),
    ("worker", bool, typer.Option(False, "--worker", help="Multi-machine: be a worker of --master-host.")),
    ("quiet", bool, typer.Option(False, "--quiet", help="No live progress, only the summary.")),
    ("compare_to", Optional[Path],  # noqa: UP007
     typer.Option(None, "--compare-to", metavar="RUN", help="Then compare this run with RUN (as capplan compare "
                  "RUN NEW, default allowances) and print the verdict; exit 1 on a regression beyond them.")),
)


def _knob_parameters(scenario: str) -> list[inspect.Parameter]:
    from capplan.loadtest.knob import default_text, knobs_of
    from capplan.loadtest.settings import LoadTestSettings

    params = []
    for spec, field in knobs_of(LoadTestSettings).values():
        if scenario not in spec.scenarios:
            continue
        where = f" capplan.toml: [{'loadtest' if spec.section == 'loadtest' else 'loadtest.' + scenario}] " \
                f"{spec.key}." if spec.key else ""
        help_text = f"{spec.help} Default: {default_text(spec, field)}.{where}"
        if spec.kind == "list":
            kind, option = list[str], typer.Option([], spec.flag, help=help_text, show_default=False, metavar="TEXT")
        else:
            kind, metavar = (Optional[str], "DURATION") if spec.kind == "duration" else _flag_type(field)  # noqa: UP007
            option = typer.Option(None, spec.flag, help=help_text, show_default=False, metavar=metavar)
        params.append(inspect.Parameter(spec.param, inspect.Parameter.KEYWORD_ONLY, default=option, annotation=kind))
    return params


def _flag_type(field: Any) -> tuple[Any, str]:
    """(annotation, metavar) of a settings field; its type is a string under postponed annotations."""
    text = str(field.type)
    for name, kind, metavar in (("Path", Path, "PATH"), ("int", int, "INTEGER"), ("float", float, "NUMBER")):
        if text.startswith(name):
            return Optional[kind], metavar  # noqa: UP007
    return Optional[str], "TEXT"  # noqa: UP007


def _scenario_command(scenario: str):
    """A typer command whose options are exactly the scenario's knobs plus the CLI-only options."""
    def command(**flags: Any) -> None:
        _run(scenario, flags)

    params = _knob_parameters(scenario) + [
        inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, default=option, annotation=kind)
        for name, kind, option in _CLI_OPTIONS]
    command.__signature__ = inspect.Signature(params)  # type: ignore[attr-defined]
    command.__annotations__ = {p.name: p.annotation for p in params}
    command.__doc__ = SCENARIO_HELP[scenario]
    return command


def _run(scenario: str, flags: dict[str, Any]) -> None:
    from rich.console import Console

    from capplan.app.loadtest_options import build_settings
    from capplan.loadtest.settings import check_reachable

    compare_to = flags.pop("compare_to", None)
    settings = build_settings(scenario, flags, flags.pop("config"))
    if compare_to is not None:
        from capplan.app.compare import check_baseline_run

        check_baseline_run(compare_to, scenario)  # before the run, not after minutes of load
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
        from capplan.loadtest.faults import EXIT_CODE_BY_SIGNAL

        raise typer.Exit(EXIT_CODE_BY_SIGNAL.get((outcome.summary.get("interrupted") or {}).get("signal"), 130))
    regressed = False
    if compare_to is not None:
        from capplan.cli.compare import print_comparison

        regressed = print_comparison(compare_to, outcome.run_dir)
    if outcome.verdict.slos_met is False:
        failed = [r["slo"] for r in outcome.verdict.results if not r["met"]] or ["the scenario's basis"]
        raise SloBreached(f"SLO breached, {', '.join(failed)} ({outcome.verdict.basis}), see {outcome.run_dir}")
    if regressed:
        raise typer.Exit(1)


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
    source: list[Path] = typer.Argument(..., help="Locust --csv prefix or *_stats_history.csv, a measurements CSV, "
                                        "k6 --out json file, JMeter .jtl, or hey -o csv files (one per -c)."),
    kind: str = typer.Option("auto", "--format", help="auto, locust, measurements (concurrency,throughput"
                             "[,latency_ms]), k6, jmeter or hey."),
    out: Path = typer.Option(Path("datasets/runs"), "--out", help="Run store root."),
    host: str = typer.Option("unknown", "--host", help="The host the data was measured against (recorded only)."),
    concurrency: list[int] = typer.Option([], "--concurrency", help="hey: the -c of each file, in order "
                                          "(default: from names like hey-c8.csv)."),
    summary: Path | None = typer.Option(None, "--summary", help="k6: its --summary-export file (kept beside)."),
    load_model: str = typer.Option("auto", "--load-model", help="k6: auto, closed (VUs) or open (arrival rate)."),
) -> None:
    """Import existing measurements as a run: Locust, k6, JMeter or hey output, or a generic measurements CSV."""
    from capplan.loadtest.importing import import_run

    run_dir = import_run(list(source), kind, out, host, concurrency=tuple(concurrency), summary=summary,
                         load_model=load_model)
    typer.echo(f"imported {', '.join(map(str, source))} as run {run_dir}")


def register(app: typer.Typer) -> None:
    """Add the ``loadtest`` command group to the root app."""
    group = typer.Typer(name="loadtest", no_args_is_help=True, epilog=_EPILOG,
                        help="Run a load-test scenario with Locust against --host and record it in a run "
                             "directory (datasets/runs/<UTC>-<scenario>/). " + _EPILOG)
    for scenario in ("baseline", "stress", "spike", "soak"):
        group.command(scenario, help=SCENARIO_HELP[scenario] + " " + _EPILOG,
                      short_help=SHORT_HELP[scenario])(_scenario_command(scenario))
    group.command("import", short_help="Import Locust, k6, JMeter or hey output, or a measurements CSV, as a run.")(
        _import_command)
    app.add_typer(group, name="loadtest")
