"""What a capacity report is made of, in the report's own terms (frozen dataclasses).

The report never reads files or fits models: :mod:`capplan.report.sources` turns run
directories, the saturation estimate, the forecast and the capacity plan into these facts,
and :mod:`capplan.report.view` turns the facts into what the templates show. Keeping the
facts small and typed lets the report render when any part is missing (each field that can
be absent is ``None`` or an empty tuple) and lets tests build reports from synthetic facts.

Units live in the names: ``_rps`` requests per second, ``_usd_month`` US dollars per
730-hour month, ``_days`` days, ``_s`` seconds, ``_ms`` milliseconds.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime


@dataclass(frozen=True)
class SloCheck:
    """One SLO checked in one load-test run: observed value in ms (latency) or a fraction."""

    slo: str
    observed: float | None
    met: bool | None


@dataclass(frozen=True)
class ScenarioFacts:
    """The outcome of one load-test run (one scenario) as recorded in its ``run.json``.

    ``highlights`` are scenario-specific figures already formatted for people, e.g.
    ``("Recovery time", "12 s")`` for a spike or ``("p95 drift", "+3.1 ms/h")`` for a soak.
    """

    scenario: str
    run_id: str
    status: str
    complete: bool
    slos_met: bool | None
    host: str = ""
    started_at: datetime | None = None
    checks: tuple[SloCheck, ...] = ()
    highlights: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class SaturationFacts:
    """What one instance takes (from the saturation estimate), in requests per second."""

    max_throughput_rps: float
    safe_throughput_rps: float
    knee_concurrency: float
    sigma: float
    kappa: float
    lambda_rps: float
    peak_concurrency: float
    peak_throughput_rps: float
    target_utilization: float = 0.8


@dataclass(frozen=True)
class ForecastFacts:
    """The demand the plan uses: its source, horizon, forecast peaks and the history behind it.

    ``history_*`` are absent for what-if growth (no history); ``peak_upper_rps`` is the
    upper bound of the ``interval`` band (P90 for an 80 % interval).
    """

    source: str
    horizon_days: int
    interval: float
    peak_p50_rps: float
    peak_upper_rps: float
    history_start: date | None = None
    history_end: date | None = None
    history_points: int = 0
    resolution: str = ""
    model: str = ""
    backtest_mape: float | None = None


@dataclass(frozen=True)
class TriggerFacts:
    """One scaling trigger: when a metric crosses ``threshold``, do ``action`` (by ``order_by``)."""

    name: str
    threshold: str
    expected_date: date | None
    action: str
    order_by: date | None = None


@dataclass(frozen=True)
class AlertThreshold:
    """A metric to alert on (no date: it fires when the live metric crosses ``threshold``)."""

    metric: str
    threshold: str
    rationale: str


@dataclass(frozen=True)
class CostOption:
    """One purchase option over the plan horizon (on-demand, 1-year commitment, ...)."""

    name: str
    cost_usd_month: float
    total_usd: float
    note: str = ""


@dataclass(frozen=True)
class PlanFacts:
    """The capacity plan: runway, the date to act by, actions, instances and cost.

    ``runway_days`` is the number of days until forecast demand (at the plan's
    percentile) exceeds what the current fleet serves within the SLOs; ``None`` when it
    never does within the horizon. ``act_by`` is the earliest order-by date, ``None`` when
    nothing needs doing within the horizon.
    """

    horizon_days: int
    current_instances: int
    peak_instances: int
    capacity_per_instance_rps: float
    runway_days: float | None
    act_by: date | None
    actions: tuple[str, ...] = ()
    cost_usd_month_now: float | None = None
    cost_usd_month_peak: float | None = None
    triggers: tuple[TriggerFacts, ...] = ()
    alerts: tuple[AlertThreshold, ...] = ()
    cost_options: tuple[CostOption, ...] = ()


@dataclass(frozen=True)
class ChartSpec:
    """One chart to embed: the section it belongs to, a title and its plotly JSON."""

    section: str
    title: str
    figure_json: str


@dataclass(frozen=True)
class ReportFacts:
    """Everything one capacity report shows; any part may be absent."""

    service: str
    generated_at: datetime
    slos: tuple[str, ...] = ()
    scenarios: tuple[ScenarioFacts, ...] = ()
    saturation: SaturationFacts | None = None
    forecast: ForecastFacts | None = None
    plan: PlanFacts | None = None
    charts: tuple[ChartSpec, ...] = ()
    provenance: tuple[tuple[str, str], ...] = ()
    warnings: tuple[str, ...] = field(default_factory=tuple)
