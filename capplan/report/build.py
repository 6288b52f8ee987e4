"""Gather everything a capacity report shows, from capplan.toml and the stored results.

Reads (never writes): the latest run of each scenario under ``[loadtest] out_dir`` (or
the runs named in ``[capacity] runs``), the saturation estimate of the stress runs, the
traffic history named in ``[demand] source``, and the capacity plan
(:func:`capplan.app.planning.build_plan`). Missing runs or history leave their report
sections empty (they say so); unusable data raises the usual :class:`CapplanError`.
"""

from __future__ import annotations

import platform
from dataclasses import dataclass
from datetime import date, datetime, timezone
from importlib import metadata
from pathlib import Path

from capplan.config import CapplanConfig
from capplan.errors import CapplanError
from capplan.models.saturation import SaturationEstimate, estimate_saturation
from capplan.app.planning import PlanReport, build_plan
from capplan.report import adapters, run_facts
from capplan.report.facts import ChartSpec, ReportFacts
from capplan.store.history import History
from capplan.store.measurements import load_measurements
from capplan.store.run_reader import read_latest_runs
from capplan.store.runs import Run

SCENARIO_ORDER = ("baseline", "stress", "spike", "soak")


@dataclass(frozen=True, eq=False)
class ReportResults:
    """The results one report is made from; ``runs`` are the latest run of each scenario."""

    config: CapplanConfig
    plan: PlanReport
    runs: tuple[Run, ...] = ()
    saturation: SaturationEstimate | None = None
    history: History | None = None
    warnings: tuple[str, ...] = ()


def collect_results(config: CapplanConfig, today: date | None = None, plan: PlanReport | None = None) -> ReportResults:
    """Read runs, estimate saturation, read the history and plan (or reuse ``plan``)."""
    runs, run_warnings = read_latest_runs(config.resolve(config.loadtest.out_dir), SCENARIO_ORDER)
    stress_dirs = [config.resolve(p) for p in config.capacity.runs] or [r.path for r in runs if r.scenario == "stress"]
    saturation, warnings = _saturation(config, stress_dirs)
    warnings = list(run_warnings) + list(warnings)  # a damaged run is skipped, never fatal
    history = read_demand_history(config)
    plan_report = plan if plan is not None else build_plan(config, today)
    warnings += _capacity_mismatch(config, plan_report, saturation)
    return ReportResults(config, plan_report, runs, saturation, history, tuple(warnings))


def latest_runs(root: Path) -> tuple[Run, ...]:
    """The most recent run of each scenario under ``root`` (complete runs preferred), in scenario order."""
    return read_latest_runs(root, SCENARIO_ORDER)[0]  # unreadable runs are skipped (store warns)


def report_facts(results: ReportResults, generated_at: datetime | None = None) -> ReportFacts:
    """All report facts and charts from gathered results."""
    cfg, plan = results.config, results.plan
    forecast = getattr(plan, "forecast", None)  # exposed by newer planners; gives backtest accuracy
    model = f"{getattr(forecast, 'model', 'prophet')} (prophet {_version('prophet')})" if cfg.demand.source else ""
    facts_fc = adapters.forecast_facts(plan, cfg.demand.interval, results.history, model)
    mape = _backtest_mape(forecast)
    if mape is not None:
        facts_fc = type(facts_fc)(**{**facts_fc.__dict__, "backtest_mape": mape})
    return ReportFacts(
        service=cfg.service.name,
        generated_at=generated_at or datetime.now(timezone.utc),
        slos=tuple(cfg.service.slos),
        scenarios=tuple(run_facts.scenario_facts(r) for r in results.runs),
        saturation=adapters.saturation_facts(results.saturation) if results.saturation else None,
        forecast=facts_fc,
        plan=adapters.plan_facts(plan, cfg.pricing.hours_per_month),
        charts=_charts(results),
        provenance=provenance(results, mape),
        warnings=tuple(dict.fromkeys(results.warnings + plan.warnings)),
    )


def provenance(results: ReportResults, backtest_mape: float | None = None) -> tuple[tuple[str, str], ...]:
    """Where every number came from: runs, capacity, demand, prices, model versions."""
    cfg, plan = results.config, results.plan
    runs = ", ".join(f"{r.run_id} ({r.status})" for r in results.runs) or "none"
    rows = [("Load-test runs used", runs),
            ("Per-instance capacity from", plan.plan.capacity.source),
            ("Demand", plan.demand_source),
            ("Fleet", f"{cfg.fleet.current_count} × {cfg.fleet.instance_type}, "
                      f"{plan.plan.fleet.redundancy.describe()}, lead time {cfg.fleet.lead_time.text}"),
            ("Prices", f"{cfg.pricing.currency} {cfg.instance_price.hourly:g}/h for {cfg.fleet.instance_type}, "
                       f"as of {cfg.pricing.as_of.isoformat()} ({cfg.pricing.source})")]
    if backtest_mape is not None:
        rows.append(("Forecast backtest (rolling origin)", f"MAPE {backtest_mape * 100:.1f} %"))
    versions = ", ".join(f"{name} {_version(name)}" for name in ("capplan", "prophet", "locust", "plotly"))
    rows.append(("Versions", f"{versions}, Python {platform.python_version()}"))
    return tuple(rows)


def _charts(results: ReportResults) -> tuple[ChartSpec, ...]:
    out: list[ChartSpec] = []
    if results.saturation is not None:
        from capplan.report import saturation_plot

        out.append(adapters_chart("saturation", "Throughput against concurrency: measured steps and USL fit",
                                  saturation_plot.throughput_figure(results.saturation)))
        out.append(adapters_chart("saturation", "Latency against throughput: measured steps and queueing model",
                                  saturation_plot.latency_figure(results.saturation)))
    p95 = next((s.threshold_ms for s in results.config.service.objectives if s.metric == "p95"), None)
    for run in results.runs:
        chart = {"spike": lambda r: run_facts.spike_chart(r, p95), "soak": run_facts.soak_chart}.get(
            run.scenario, lambda r: None)(run)
        if chart is not None:
            out.append(chart)
    out.extend(adapters.plan_charts(results.plan, results.history, results.config.demand.interval))
    return tuple(out)


def adapters_chart(section: str, title: str, figure) -> ChartSpec:
    """A figure from another module's builder, sized like the report's own charts."""
    from capplan.report.charts import chart_spec

    figure.update_layout(title=None, height=380, margin=dict(l=60, r=30, t=30, b=50))
    return chart_spec(section, title, figure)


def _saturation(config: CapplanConfig, stress_dirs: list[Path]) -> tuple[SaturationEstimate | None, list[str]]:
    if not stress_dirs:
        return None, []
    try:
        estimate = estimate_saturation(load_measurements(stress_dirs), config.service.objectives,
                                       config.capacity.target_utilization)
    except CapplanError as exc:
        return None, [f"No saturation estimate from {', '.join(p.name for p in stress_dirs)}: {exc}"]
    return estimate, list(estimate.warnings)


def _capacity_mismatch(config: CapplanConfig, plan: PlanReport, saturation: SaturationEstimate | None) -> list[str]:
    """A warning when the plan's configured capacity and the measured one differ by more than 10 %."""
    planned = float(plan.plan.capacity.safe_rps)
    if saturation is None or config.capacity.per_instance_rps is None or planned <= 0:
        return []
    measured = float(saturation.safe_throughput_rps)
    if abs(measured - planned) <= 0.1 * planned:
        return []
    return [f"The plan uses [capacity] per_instance_rps = {config.capacity.per_instance_rps:g} req/s (safe "
            f"{planned:,.0f} req/s), but the latest stress run measured a safe {measured:,.0f} req/s per instance; "
            "set [capacity] runs to plan with the measurement."]


def read_demand_history(config: CapplanConfig, remote: bool = False) -> History | None:
    """The ``[demand] source`` history as the planner reads it; None for what-if demand.

    A ``prometheus://`` source is queried only with ``remote`` (the plan already fetched it once).
    """
    source = config.demand.source
    if source is None or (source.startswith("prometheus://") and not remote):
        return None
    from capplan.store.history import HistoryOptions, read_history

    demand = config.demand
    history = read_history(str(config.resolve(source)), HistoryOptions(
        time_col=demand.time_column, value_col=demand.value_column, unit=demand.unit,
        peak_quantile=demand.peak_quantile, peak_to_mean=demand.peak_to_mean))
    return history


def _backtest_mape(forecast: object | None) -> float | None:
    scores = getattr(forecast, "candidates", ()) or ()
    model = getattr(forecast, "model", None)
    score = next((s for s in scores if s.model == model), None)
    return None if score is None else float(score.mape_pct) / 100.0


def _version(name: str) -> str:
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return "not installed"
