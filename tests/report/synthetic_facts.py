"""Small synthetic report facts for fast report and browser tests (no load test, no Prophet)."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

import numpy as np
import plotly.graph_objects as go

from capplan.report import charts
from capplan.report.facts import (
    AlertThreshold,
    CostOption,
    ForecastFacts,
    PlanFacts,
    ReportFacts,
    SaturationFacts,
    ScenarioFacts,
    SloCheck,
    TriggerFacts,
)

XSS = "<script>alert(1)</script>"


def synthetic_facts(service: str = "checkout-api", endpoint: str = "/cart") -> ReportFacts:
    """A complete report: four scenarios, saturation, forecast, plan with triggers and cost options."""
    start = date(2026, 12, 1)
    dates = [start + timedelta(days=30 * i) for i in range(7)]
    t = np.arange(0, 120.0)
    return ReportFacts(
        service=service,
        generated_at=datetime(2026, 11, 23, 10, 0, tzinfo=timezone.utc),
        slos=("p95<300ms", "error_rate<1%"),
        scenarios=(
            _scenario("baseline", True, 120.0, endpoint),
            _scenario("stress", False, 950.0, endpoint),
            _scenario("spike", True, 210.0, endpoint, (("Recovery time", "9 s"),)),
            _scenario("soak", True, 130.0, endpoint, (("p95 drift", "+0.40 ms/h"),)),
        ),
        saturation=SaturationFacts(max_throughput_rps=390.0, safe_throughput_rps=312.0, knee_concurrency=3.6,
                                   sigma=0.02, kappa=0.0004, lambda_rps=99.0, peak_concurrency=49.0,
                                   peak_throughput_rps=420.0),
        forecast=ForecastFacts(source="forecast of traffic.csv", horizon_days=180, interval=0.8,
                               peak_p50_rps=2400.0, peak_upper_rps=2900.0, history_start=date(2023, 1, 1),
                               history_end=date(2026, 11, 22), history_points=1422, resolution="daily",
                               model="prophet 1.1", backtest_mape=0.071),
        plan=PlanFacts(horizon_days=180, current_instances=8, peak_instances=10, capacity_per_instance_rps=312.0,
                       runway_days=97.0, act_by=date(2027, 2, 12),
                       actions=(f"Add 2 instances of {service} before 2027-02-26",),
                       cost_usd_month_now=1120.0, cost_usd_month_peak=1400.0,
                       triggers=(TriggerFacts("peak load > 80% of fleet", f"2,000 req/s on {endpoint}",
                                              date(2027, 2, 26), "add 2 instances", date(2027, 2, 12)),),
                       alerts=(AlertThreshold("p95 latency", "> 240 ms", "80% of the p95<300ms objective"),),
                       cost_options=(CostOption("on-demand", 1260.0, 7560.0),
                                     CostOption("1-year commitment", 880.0, 10560.0, "12-month term"))),
        charts=(
            charts.chart_spec("saturation", "Throughput against concurrency", _saturation_figure()),
            charts.chart_spec("spike", "Spike", charts.spike_figure(t, 200 + 50 * (t > 60), 20 + 80 * (t > 60),
                                                                      (60.0, 80.0), 300.0)),
            charts.chart_spec("soak", "Soak", charts.soak_figure(t, 20 + 0.01 * t, 100 + 0.1 * t)),
            charts.chart_spec("forecast", "Forecast", charts.demand_figure(
                (dates, [1500 + 80 * i for i in range(7)]), (dates, [1800 + 100 * i for i in range(7)],
                                                             [2100 + 120 * i for i in range(7)]),
                {"trigger": 2000.0, "safe capacity": 2500.0}, act_by=date(2027, 2, 12))),
            charts.chart_spec("instances", "Instances", charts.instances_figure(dates, [8, 8, 9, 9, 10, 10, 10],
                                                                              [8, 9, 9, 10, 10, 11, 11], 8,
                                                                              date(2027, 2, 12))),
            charts.chart_spec("cost", "Cost", charts.cost_figure([d.strftime("%Y-%m") for d in dates],
                                                                {"load": [700] * 7, "headroom": [420] * 7},
                                                                {"planned fleet": [1120] * 7})),
        ),
        provenance=(("Runs used", f"baseline, stress, spike, soak on {endpoint}"), ("capplan", "0.1.0")),
        warnings=("USL fitted on 5 load levels; add steps for a tighter fit.",),
    )


def _scenario(name: str, met: bool, p95: float, endpoint: str,
              highlights: tuple[tuple[str, str], ...] = ()) -> ScenarioFacts:
    return ScenarioFacts(scenario=name, run_id=f"20261123T100000Z-{name}", status="complete", complete=True,
                         slos_met=met, host=f"http://127.0.0.1:8089{endpoint}",
                         checks=(SloCheck("p95<300ms", p95, p95 < 300), SloCheck("error_rate<1%", 0.001, True)),
                         highlights=highlights)


def _saturation_figure() -> go.Figure:
    n = np.arange(1, 33)
    x = 99 * n / (1 + 0.02 * (n - 1) + 0.0004 * n * (n - 1))
    return go.Figure([go.Scatter(x=n, y=x, mode="markers", name="measured")])
