"""The capacity report's facts from the one plan result (``capplan report``, ``review``, ``demo``).

:func:`collect_results` plans with the runs (:func:`capplan.app.planning.build_plan` with
``with_runs=True``: the latest run of each scenario under ``[loadtest] out_dir``, their
stored summaries, the saturation estimate, the history and the forecast, each read or
computed once). :func:`report_facts` turns that result into :class:`ReportFacts` with the
report layer's adapters; nothing is re-read or re-fitted. Missing runs or history leave
their report sections empty (they say so); unusable data raises the usual CapplanError.
"""

from __future__ import annotations

import platform
from datetime import date, datetime, timezone
from importlib import metadata

from capplan.app.planning import PlanReport, build_plan
from capplan.config import CapplanConfig
from capplan.report import adapters, run_facts
from capplan.report.facts import ChartSpec, ReportFacts

ReportResults = PlanReport
"""The results one report is made from: the plan result read with its runs."""


def collect_results(config: CapplanConfig, today: date | None = None) -> PlanReport:
    """Plan ``config`` with its load-test runs (see the module docstring)."""
    return build_plan(config, today, with_runs=True)


def report_facts(results: PlanReport, generated_at: datetime | None = None) -> ReportFacts:
    """All report facts and charts from the plan result."""
    cfg = results.config
    forecast = adapters.forecast_facts(results.demand_source, results.plan.demand, cfg.demand.interval,
                                       results.history, results.forecast)
    return ReportFacts(
        service=cfg.service.name,
        generated_at=generated_at or datetime.now(timezone.utc),
        slos=tuple(cfg.service.slos),
        scenarios=tuple(run_facts.scenario_facts(r) for r in results.runs),
        saturation=adapters.saturation_facts(results.saturation) if results.saturation else None,
        forecast=forecast,
        plan=adapters.plan_facts(results.decision),
        charts=_charts(results),
        provenance=provenance(results, forecast.backtest_mape),
        warnings=tuple(dict.fromkeys(results.warnings)),
    )


def provenance(results: PlanReport, backtest_mape: float | None = None) -> tuple[tuple[str, str], ...]:
    """Where every number came from: runs, capacity, demand, prices, model versions."""
    cfg, plan = results.config, results.plan
    runs = ", ".join(f"{r.run_id} ({r.status})" for r in results.runs) or "none"
    rows = [("Load-test runs used", runs),
            ("Per-instance capacity from", plan.capacity.source),
            ("Demand", results.demand_source),
            ("Fleet", f"{cfg.fleet.current_count} × {cfg.fleet.instance_type}, "
                      f"{plan.fleet.redundancy.describe()}, lead time {cfg.fleet.lead_time.text}"),
            ("Prices", f"{cfg.pricing.currency} {cfg.instance_price.hourly:g}/h for {cfg.fleet.instance_type}, "
                       f"{cfg.pricing.hours_per_month:g} h a month, as of {cfg.pricing.as_of.isoformat()} "
                       f"({cfg.pricing.source})")]
    if backtest_mape is not None:
        rows.append(("Forecast backtest (rolling origin)", f"{results.forecast.model}: MAPE {backtest_mape * 100:.1f} %"))
    versions = ", ".join(f"{name} {_version(name)}" for name in ("capplan", "prophet", "locust", "plotly"))
    rows.append(("Versions", f"{versions}, Python {platform.python_version()}"))
    return tuple(rows)


def _charts(results: PlanReport) -> tuple[ChartSpec, ...]:
    out: list[ChartSpec] = []
    if results.saturation is not None:
        from capplan.report import saturation_plot

        out.append(sized_chart("saturation", "Throughput against concurrency: measured steps and USL fit",
                               saturation_plot.throughput_figure(results.saturation)))
        out.append(sized_chart("saturation", "Latency against throughput: measured steps and queueing model",
                               saturation_plot.latency_figure(results.saturation)))
    p95 = next((s.threshold_ms for s in results.config.service.objectives if s.metric == "p95"), None)
    for run in results.runs:
        chart = {"spike": lambda r: run_facts.spike_chart(r, p95), "soak": run_facts.soak_chart}.get(
            run.scenario, lambda r: None)(run)
        if chart is not None:
            out.append(chart)
    out.extend(adapters.plan_charts(results.decision, results.history, results.config.demand.interval))
    if getattr(results, "risk", None) is not None:  # issue 12: fleet-size fan and risk per month
        from capplan.report.risk_plot import risk_chart

        out.append(risk_chart(results))
    return tuple(out)


def sized_chart(section: str, title: str, figure) -> ChartSpec:
    """A figure from another module's builder, sized like the report's own charts."""
    from capplan.report.charts import chart_spec

    figure.update_layout(title=None, height=380, margin=dict(l=60, r=30, t=30, b=50))
    return chart_spec(section, title, figure)


def _version(name: str) -> str:
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return "not installed"
