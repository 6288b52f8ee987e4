"""The end-to-end demo behind ``capplan demo`` (a library: no printing, progress via callbacks).

1. start the bundled target on 127.0.0.1 (4 slots, 10 ms mean service time: ≈ 400 req/s
   nominal, with a little USL contention);
2. run baseline, stress, spike and soak against it, compressed (≈ 2½ minutes; ``quick``
   ≈ 1 minute);
3. plan with the root ``capplan.toml``, its per-instance capacity replaced by the
   saturation estimate of the stress run and its demand by a forecast of the bundled
   sample history;
4. write the HTML report and archive the plan for the monthly review.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field, replace
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from capplan.config import CapplanConfig, load_config
from capplan.errors import ConfigError
from capplan.loadtest.settings import LoadTestSettings
from capplan.loadtest.target import TargetSettings, start_target
from capplan.app.reporting import collect_results, report_facts
from capplan.app.reviewing import archive_plan
from capplan.report.render import render_report, write_text_atomic
from capplan.report.view import Verdict, decide_verdict

SAMPLE_HISTORY = Path("datasets/sample_traffic_daily.csv")


@dataclass(frozen=True)
class ScenarioTiming:
    """Durations (s) of the compressed scenarios."""

    baseline_hold_s: float
    stress_step_s: float
    stress_max_step_s: float
    spike_pre_s: float
    spike_window_s: float
    spike_post_s: float
    soak_s: float


FULL = ScenarioTiming(20.0, 6.0, 10.0, 12.0, 10.0, 20.0, 45.0)
"""≈ 2½ minutes of load in total."""
QUICK = ScenarioTiming(6.0, 3.0, 5.0, 5.0, 5.0, 8.0, 12.0)
"""≈ 1 minute of load in total."""


@dataclass(frozen=True)
class DemoSettings:
    """Where the demo reads and writes, and the target it measures."""

    out: Path = Path("reports/demo.html")
    config: Path = Path("capplan.toml")
    history: Path = SAMPLE_HISTORY
    runs_dir: Path = Path("datasets/runs")
    quick: bool = False
    target: TargetSettings = field(default_factory=lambda: TargetSettings(
        slots=4, service_ms=10.0, sigma=0.02, kappa=0.0005, port=0, seed=7))
    users: int = 8
    archive: bool = True


@dataclass(frozen=True)
class DemoResult:
    """What the demo produced: the report, its verdict, the runs and the archived plan."""

    report_path: Path
    verdict: Verdict
    run_dirs: tuple[Path, ...]
    safe_throughput_rps: float | None
    max_throughput_rps: float | None
    archive_path: Path | None
    duration_s: float


class DemoProgress:
    """Callbacks the CLI overrides to show progress; the defaults ignore everything."""

    def stage(self, name: str, index: int, total: int) -> None:
        """A stage ("baseline", "stress", …, "report") starts; ``index`` counts from 1."""

    def on_second(self, row: dict[str, Any]) -> None:
        """One per-second row of the running load test."""

    def on_step(self, row: dict[str, Any]) -> None:
        """One finished load step of the running load test."""


STAGES = ("baseline", "stress", "spike", "soak", "analyze, forecast and plan", "report")


def run_demo(settings: DemoSettings, progress: DemoProgress | None = None) -> DemoResult:
    """Run the whole demo (see the module docstring) and return what it produced."""
    import capplan.loadtest.runner  # noqa: F401  # Locust's gevent patching must precede any thread

    progress = progress or DemoProgress()
    started = time.monotonic()
    config = load_config(settings.config)
    if not settings.history.is_file():
        raise ConfigError(f"demo sample history not found, {str(settings.history)!r}, "
                          "run from the repository root or regenerate it with make samples")
    timing = QUICK if settings.quick else FULL
    with start_target(settings.target) as target:
        run_dirs = tuple(_run(name, i, target.url, target.pid, settings, timing, config, progress)
                         for i, name in enumerate(STAGES[:4], 1))
    progress.stage(STAGES[4], 5, len(STAGES))
    demo_config = demo_configuration(config, run_dirs[1], settings.history, settings.runs_dir)
    results = collect_results(demo_config)
    facts = report_facts(results)
    progress.stage(STAGES[5], 6, len(STAGES))
    path = write_text_atomic(settings.out, render_report(facts, "html"))
    archive = archive_plan(results, datetime.now(timezone.utc)) if settings.archive else None
    sat = results.saturation
    return DemoResult(path, decide_verdict(facts.plan, facts.generated_at.date()), run_dirs,
                      None if sat is None else float(sat.safe_throughput_rps),
                      None if sat is None else float(sat.max_throughput_rps), archive,
                      time.monotonic() - started)


def scenario_settings(name: str, url: str, settings: DemoSettings, timing: ScenarioTiming,
                      slos: tuple[str, ...]) -> LoadTestSettings:
    """The compressed settings of one demo scenario against ``url``."""
    common: dict[str, Any] = dict(scenario=name, host=url, slos=slos, out_dir=settings.runs_dir,
                                  ramp_s=2.0, settle_s=1.0, seed=7)
    if name == "baseline":
        return LoadTestSettings(**common, users=settings.users, hold_s=timing.baseline_hold_s)
    if name == "stress":
        return LoadTestSettings(**common, users=1, step_s=timing.stress_step_s,
                                max_step_s=timing.stress_max_step_s, max_level=64.0, max_duration_s=120.0)
    if name == "spike":
        return LoadTestSettings(**common, users=settings.users // 2, spike_multiplier=4.0,
                                spike_pre_s=timing.spike_pre_s, spike_window_s=timing.spike_window_s,
                                spike_post_s=timing.spike_post_s)
    return LoadTestSettings(**common, users=settings.users, soak_s=timing.soak_s)


def demo_configuration(config: CapplanConfig, stress_dir: Path, history: Path, runs_dir: Path) -> CapplanConfig:
    """``config`` with capacity from the stress run and demand forecast from ``history``."""
    capacity = config.capacity.model_copy(update={"per_instance_rps": None, "runs": (str(stress_dir.resolve()),)})
    demand = config.demand.model_copy(update={"source": str(history.resolve()), "from_rate": None,
                                              "growth": None, "start": None})
    loadtest = config.loadtest.model_copy(update={"out_dir": str(runs_dir.resolve())})
    return config.model_copy(update={"capacity": capacity, "demand": demand, "loadtest": loadtest})


def _run(name: str, index: int, url: str, pid: int, settings: DemoSettings, timing: ScenarioTiming,
         config: CapplanConfig, progress: DemoProgress) -> Path:
    from capplan.loadtest.runner import run_scenario

    progress.stage(name, index, len(STAGES))
    scenario = replace(scenario_settings(name, url, settings, timing, tuple(config.service.slos)), target_pid=pid)
    return run_scenario(scenario, progress).run_dir

