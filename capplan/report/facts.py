"""What a capacity report is made of, in the report's own terms (frozen dataclasses).

The report never reads files or fits models: :mod:`capplan.report.sources` turns run
directories, the saturation estimate, the forecast and the capacity plan into these facts,
and :mod:`capplan.report.view` turns the facts into what the templates show. Keeping the
facts small and typed lets the report render when any part is missing (each field that can
be absent is ``None`` or an empty tuple) and lets tests build reports from synthetic facts.

Units live in the names: ``_rps`` requests per second, ``_usd_month`` the plan's currency
per billing month (``[pricing] hours_per_month``), ``_days`` days, ``_s`` seconds,
``_ms`` milliseconds. :func:`facts_as_dict` is the JSON form (``report --format json`` and
the data block embedded in the HTML page).
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any


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
    backtest_mase: float | None = None
    backtest_coverage: float | None = None


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
class MonthFacts:
    """One month of the budget: peak demand (req/s), fleet sizes and costs (the plan's currency).

    ``cost_planned`` is the budget (the fleet the plan runs); ``cost_p50``/``cost_p90``
    price only the instances needed, what the fleet could shrink to.
    """

    month: str
    p50_peak_rps: float
    p90_peak_rps: float
    instances_p50: int
    instances_p90: int
    planned_fleet: int
    cost_planned: float
    cost_p50: float
    cost_p90: float


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
    months: tuple[MonthFacts, ...] = ()
    runway_date: date | None = None
    currency: str = "USD"
    total_cost_planned: float | None = None
    total_cost_p50: float | None = None
    total_cost_p90: float | None = None
    peak_planned_fleet: int | None = None


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


def facts_as_dict(facts: ReportFacts) -> dict[str, Any]:
    """The facts as JSON-ready data (charts left out; dates ISO, non-finite numbers None)."""
    body = {k: v for k, v in dataclasses.asdict(facts).items() if k != "charts"}
    body["provenance"] = {label: value for label, value in facts.provenance}
    return jsonable(body)


def jsonable(value: Any) -> Any:
    """``value`` with dates as ISO strings, tuples as lists and non-finite floats as None."""
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value
