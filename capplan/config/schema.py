"""Pydantic models of ``capplan.toml``: every section, strict (unknown fields are errors).

The annotated ``capplan.toml`` at the repository root documents each field for users;
this module is the single definition of names, defaults, units and bounds.
Values with units (durations, growth rates) are strings parsed by
:mod:`capplan.config.units` into :class:`Duration` / :class:`Growth`.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, Field, PrivateAttr, field_validator, model_validator

from capplan.config.base import Count, DurationField, Fraction, GrowthField, _Section
from capplan.config.loadtest import LoadTestConfig
from capplan.config.units import HOURS_PER_MONTH, growth_in, parse_duration, parse_growth, parse_quantity
from capplan.errors import ConfigError
from capplan.models.alerts import MetricNames
from capplan.models.forecast import MODELS
from capplan.models.slo import Slo, parse_slos

ForecastModel = Literal[("auto", *MODELS)]  # type: ignore[valid-type]
"""``[demand] model``: ``auto`` or a forecaster capplan.models.forecast names."""


def _slo_texts(value: tuple[str, ...]) -> tuple[str, ...]:
    try:
        parse_slos(value)
    except ConfigError as exc:
        raise ValueError(str(exc)) from exc
    return value


class ServiceConfig(_Section):
    """``[service]``: what is planned for and the objectives it must meet."""

    name: str = "service"
    slos: Annotated[tuple[str, ...], AfterValidator(_slo_texts)] = ("p95<300ms", "error_rate<0.5%")

    @property
    def objectives(self) -> tuple[Slo, ...]:
        """The SLO expressions parsed (latency thresholds in ms, error rates as fractions)."""
        return parse_slos(self.slos)


class ShapeCapacityConfig(_Section):
    """``[capacity.shapes."<type>"]``: what one instance of another priced type takes (issue 12).

    Either its own load-test ``runs`` or an explicit ``per_instance_rps``; a priced type
    with neither is estimated from the measured one by vCPUs (stated in the output).
    """

    per_instance_rps: Annotated[float, Field(gt=0.0)] | None = None
    runs: tuple[str, ...] = ()

    @model_validator(mode="after")
    def _one_source(self) -> ShapeCapacityConfig:
        if (self.per_instance_rps is None) == (not self.runs):
            raise ValueError(f"a shape needs exactly one capacity source, got per_instance_rps="
                             f"{self.per_instance_rps!r} and runs={list(self.runs)!r}, "
                             'set either per_instance_rps = 700 or runs = ["datasets/runs/<run>"]')
        return self


class CapacityConfig(_Section):
    """``[capacity]``: what one instance takes — an explicit number or measured runs.

    ``per_instance_rps`` is the maximum sustainable throughput of one instance (req/s);
    the planner plans at ``per_instance_rps × target_utilization``. With ``runs`` the
    saturation estimator gives both figures from load-test run directories or a
    measurements CSV.
    """

    per_instance_rps: Annotated[float, Field(gt=0.0)] | None = None
    runs: tuple[str, ...] = ()
    target_utilization: Fraction = 0.8
    cpu_ms_per_request: Annotated[float, Field(gt=0.0)] | None = None
    shapes: dict[str, ShapeCapacityConfig] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _one_source(self) -> CapacityConfig:
        if (self.per_instance_rps is None) == (not self.runs):
            raise ValueError(
                "capacity needs exactly one source, got "
                f"per_instance_rps={self.per_instance_rps!r} and runs={list(self.runs)!r}, "
                'set either per_instance_rps = 350 or runs = ["datasets/runs/<run>"]'
            )
        return self


class FleetConfig(_Section):
    """``[fleet]``: the instances running today and how they must be provisioned.

    Redundancy is either ``n_plus`` (k spare instances) or ``zones`` (spread evenly over
    that many zones, sized so that losing any one zone still carries the peak).
    ``trigger_utilization`` is the fraction of the fleet's safe capacity at which to
    scale out; ``step_ahead`` is how much future demand each scale-out step buys for.
    """

    instance_type: str = "m6i.large"
    current_count: Count = 2
    minimum: Count = 2
    n_plus: Count | None = None
    zones: Annotated[int, Field(ge=2)] | None = None
    trigger_utilization: Fraction = 0.8
    lead_time: DurationField = parse_duration("14d")
    step_ahead: DurationField = parse_duration("90d")
    max_breach_probability: Annotated[float, Field(gt=0.0, lt=1.0)] | None = None

    @model_validator(mode="after")
    def _one_redundancy(self) -> FleetConfig:
        if self.n_plus is not None and self.zones is not None:
            raise ValueError(
                f"fleet redundancy is set twice, n_plus={self.n_plus} and zones={self.zones}, "
                "keep only one of n_plus (spare instances) or zones (survive the loss of one zone)"
            )
        return self

    @property
    def spare_instances(self) -> int:
        """N+k spares (1 when neither ``n_plus`` nor ``zones`` is set, 0 with zones)."""
        if self.zones is not None:
            return 0
        return 1 if self.n_plus is None else self.n_plus


class DemandEvent(_Section):
    """``[[demand.events]]``: demand × ``multiplier`` on a known day, a span, or from a date on.

    ``date`` — one day (Black Friday); ``start`` and ``end`` — a span (a campaign), both
    temporary peaks covered by temporary capacity; ``start`` alone — a lasting step
    from that day on (a launch ×1.5), covered by permanent scale-out.
    """

    name: str
    date: dt.date | None = None
    start: dt.date | None = None
    end: dt.date | None = None
    multiplier: Annotated[float, Field(gt=0.0)]

    @model_validator(mode="after")
    def _one_span(self) -> DemandEvent:
        if (self.date is None) == (self.start is None) or (self.end is not None and self.start is None):
            raise ValueError(
                f"event {self.name!r} needs either date, or start (with an optional end), got date={self.date}, "
                f"start={self.start}, end={self.end}, write date = 2027-11-26 or start = 2027-03-15 [end = ...]"
            )
        if self.start is not None and self.end is not None and self.end < self.start:
            raise ValueError(f"event {self.name!r} ends before it starts, {self.start}..{self.end}, swap them")
        return self

    @property
    def is_permanent(self) -> bool:
        """True for a lasting step (``start`` without ``end``)."""
        return self.start is not None and self.end is None

    @property
    def first_day(self) -> dt.date:
        """First day of the event."""
        return self.date if self.date is not None else self.start  # type: ignore[return-value]

    @property
    def last_day(self) -> dt.date | None:
        """Last day of the event (inclusive); None for a lasting step."""
        return self.date if self.date is not None else self.end


class DemandConfig(_Section):
    """``[demand]``: where future traffic comes from — a history to forecast, or what-if growth.

    History options map onto :class:`capplan.store.history.HistoryOptions`: ``unit`` is
    ``auto``, ``rps`` (a rate) or ``count`` (requests per sample interval); sub-daily data
    is reduced to a daily peak (the maximum, or ``peak_quantile``); ``peak_to_mean`` is the
    peak/mean ratio assumed for daily totals with no intra-day data.
    """

    source: str | None = None
    time_column: str | None = None
    value_column: str | None = None
    unit: Literal["auto", "rps", "count"] = "auto"
    peak_quantile: Annotated[float, Field(gt=0.0, le=1.0)] | None = None
    peak_to_mean: Annotated[float, Field(ge=1.0)] | None = None
    from_rate: Annotated[float, Field(gt=0.0)] | None = None
    growth: GrowthField | None = None
    start: dt.date | None = None
    horizon: DurationField = parse_duration("24mo")
    interval: Annotated[float, Field(gt=0.0, lt=1.0)] = 0.8
    model: ForecastModel = "auto"
    trend: Literal["linear", "logistic", "flat"] = "linear"
    cap: Annotated[float, Field(gt=0.0)] | None = None
    country: str | None = None
    events: tuple[DemandEvent, ...] = ()

    @field_validator("country")
    @classmethod
    def _known_country(cls, value: str | None) -> str | None:
        import holidays

        if value is not None and value.upper() not in holidays.list_supported_countries():
            raise ValueError(f"demand.country is not a supported holiday calendar, got {value!r}, "
                             'give an ISO 3166 code such as "US", "GB", "DE" or "FR"')
        return value

    @model_validator(mode="after")
    def _one_source(self) -> DemandConfig:
        what_if = self.from_rate is not None or self.growth is not None
        if (self.source is None) == (not what_if):
            raise ValueError(
                f"demand needs exactly one source, got source={self.source!r}, from_rate={self.from_rate!r}, "
                f"growth={self.growth and self.growth.text!r}, "
                'set source = "datasets/sample_traffic_daily.csv" or from_rate = 1200 with growth = "15%/month"'
            )
        if what_if and (self.from_rate is None or self.growth is None or not self.growth.is_relative):
            raise ValueError(
                f"what-if demand needs from_rate and a percentage growth, got from_rate={self.from_rate!r}, "
                f"growth={self.growth and self.growth.text!r}, write from_rate = 1200 and growth = \"15%/month\""
            )
        if self.trend == "logistic" and self.cap is None:
            raise ValueError('demand trend "logistic" needs a cap, got cap=None, set cap = <saturation level>')
        if self.trend != "linear" and self.source is None:
            raise ValueError(f"demand trend {self.trend!r} needs a history source, got what-if demand, "
                             'remove trend or set source = "<history>.csv"')
        return self

    @property
    def horizon_days(self) -> int:
        """The planning horizon in whole days (``"24mo"`` → 730 days)."""
        return max(1, round(self.horizon.days))


class InstancePrice(_Section):
    """One ``[pricing.instance_types."<type>"]`` entry: on-demand list price and size."""

    hourly: Annotated[float, Field(gt=0.0)]
    vcpus: Annotated[int, Field(ge=1)] | None = None
    memory_gib: Annotated[float, Field(gt=0.0)] | None = None


def _default_catalog() -> dict[str, InstancePrice]:
    return {
        "m6i.large": InstancePrice(hourly=0.096, vcpus=2, memory_gib=8),
        "m6i.xlarge": InstancePrice(hourly=0.192, vcpus=4, memory_gib=16),
        "c6i.large": InstancePrice(hourly=0.085, vcpus=2, memory_gib=4),
    }


class PricingConfig(_Section):
    """``[pricing]``: dated list prices and purchase-option discounts (fractions off on-demand)."""

    currency: Annotated[str, Field(pattern=r"^[A-Z]{3}$")] = "USD"
    hours_per_month: Annotated[float, Field(gt=0.0)] = HOURS_PER_MONTH
    as_of: dt.date = dt.date(2025, 1, 1)
    source: str = "AWS EC2 on-demand pricing, us-east-1, Linux"
    reserved_1y_discount: Annotated[float, Field(ge=0.0, lt=1.0)] = 0.37
    reserved_3y_discount: Annotated[float, Field(ge=0.0, lt=1.0)] = 0.57
    spot_discount: Annotated[float, Field(ge=0.0, lt=1.0)] = 0.60
    instance_types: dict[str, InstancePrice] = Field(default_factory=_default_catalog)


class ResourceConfig(_Section):
    """``[[resources]]``: another limited resource (disk GB, connections, cores, …).

    Either a ``history`` file (a linear trend is fitted) or ``current`` with ``growth``
    (``"10GB/day"`` or ``"3%/month"``). ``limit`` and ``current`` are numbers in ``unit`` or
    sizes such as ``"2TB"``; byte sizes (B, KB … PB, KiB … PiB) are converted to ``unit``,
    other units must match it. ``metric`` is an optional PromQL expression of the current
    value (in ``unit``), used for forecast alert rules.
    """

    name: str
    unit: str
    limit: Annotated[float, Field(gt=0.0)]
    current: Annotated[float, Field(ge=0.0)] | None = None
    growth: GrowthField | None = None
    history: str | None = None
    time_column: str | None = None
    value_column: str | None = None
    trigger: Fraction = 0.8
    lead_time: DurationField | None = None
    metric: str | None = None

    @model_validator(mode="before")
    @classmethod
    def _in_own_unit(cls, data: Any) -> Any:
        """Sizes with units ("2TB", "10GB/day") become numbers in the resource's ``unit``."""
        if not isinstance(data, dict) or not isinstance(data.get("unit"), str):
            return data
        data, unit = dict(data), data["unit"]
        for key in ("limit", "current"):
            if data.get(key) is not None:
                try:
                    data[key] = parse_quantity(data[key], unit)
                except ValueError as exc:
                    raise ValueError(f"{key} {exc}") from None
        if isinstance(data.get("growth"), str):
            try:
                data["growth"] = growth_in(parse_growth(data["growth"]), unit)
            except ValueError as exc:
                raise ValueError(f"growth {exc}") from None
        return data

    @model_validator(mode="after")
    def _one_source(self) -> ResourceConfig:
        direct = self.current is not None and self.growth is not None
        if direct == (self.history is not None):
            raise ValueError(
                f"resource {self.name!r} needs either history or current with growth, got history={self.history!r}, "
                f"current={self.current!r}, growth={self.growth and self.growth.text!r}, "
                f'set history = "<file>.csv" or current = 1200 and growth = "10{self.unit}/day"'
            )
        if self.growth is not None and not self.growth.is_relative and self.growth.unit != self.unit:
            raise ValueError(
                f"resource {self.name!r} growth is in a different unit from the resource's {self.unit!r}, "
                f"{self.growth.text!r}, write the growth in {self.unit} per period, e.g. \"10{self.unit}/day\""
            )
        if self.growth is not None and self.growth.is_range:
            raise ValueError(
                f"resource {self.name!r} growth must be one rate, got the range {self.growth.text!r}, "
                "write e.g. \"15%/month\" (ranges are for [demand] what-if growth)"
            )
        return self


class AlertsConfig(_Section):
    """``[alerts]``: metric names and windows used by ``capplan rules``."""

    # The defaults are the rule builders' own (capplan.models.alerts.MetricNames): one source.
    selector: str = MetricNames.selector
    requests_metric: str = MetricNames.requests_metric
    code_label: str = MetricNames.code_label
    error_code_regex: str = MetricNames.error_code_regex
    latency_histogram: str | None = MetricNames.latency_histogram
    cpu_metric: str = MetricNames.cpu_metric
    up_metric: str = MetricNames.up_metric
    hold: DurationField = parse_duration("15m")
    forecast_window: DurationField = parse_duration("7d")


class RiskConfig(_Section):
    """``[risk]``: the Monte-Carlo simulation behind breach probabilities and reservations.

    ``paths`` demand paths (each with its own per-instance capacity draw), ``seed`` for
    reproducible plans, ``day_correlation`` ρ of forecast errors between days of a path
    (1: one quantile level per path; 0: independent days).
    """

    paths: Annotated[int, Field(ge=100, le=100_000)] = 2000
    seed: Annotated[int, Field(ge=0)] = 0
    day_correlation: Annotated[float, Field(ge=0.0, le=1.0)] = 1.0


class ReportConfig(_Section):
    """``[report]``: where ``capplan report`` writes and how many months its tables show."""

    output: str = "reports/capacity.html"
    months: Literal[6, 12, 24] = 12


class ReviewConfig(_Section):
    """``[review]``: the monthly review's output and the archive of past plans."""

    output: str = "reports/review.html"
    archive_dir: str = "datasets/reviews"


class CapplanConfig(_Section):
    """The whole of ``capplan.toml``. Relative paths are resolved against its directory."""

    service: ServiceConfig = ServiceConfig()
    loadtest: LoadTestConfig = LoadTestConfig()
    capacity: CapacityConfig
    fleet: FleetConfig = FleetConfig()
    demand: DemandConfig
    pricing: PricingConfig = PricingConfig()
    resources: tuple[ResourceConfig, ...] = ()
    alerts: AlertsConfig = AlertsConfig()
    risk: RiskConfig = RiskConfig()
    report: ReportConfig = ReportConfig()
    review: ReviewConfig = ReviewConfig()

    _base_dir: Path = PrivateAttr(default_factory=Path.cwd)

    @model_validator(mode="after")
    def _priced_and_consistent(self) -> CapplanConfig:
        if self.fleet.instance_type not in self.pricing.instance_types:
            known = ", ".join(sorted(self.pricing.instance_types)) or "none"
            raise ValueError(
                f"fleet.instance_type has no price in [pricing.instance_types], {self.fleet.instance_type!r} "
                f"(priced: {known}), add [pricing.instance_types.\"{self.fleet.instance_type}\"] hourly = <price>"
            )
        unpriced = sorted(set(self.capacity.shapes) - set(self.pricing.instance_types))
        if unpriced:
            raise ValueError(f"capacity.shapes names an instance type with no price, {unpriced[0]!r}, "
                             f"add [pricing.instance_types.\"{unpriced[0]}\"] hourly = <price> or remove the shape")
        names = [r.name for r in self.resources]
        if len(set(names)) != len(names):
            raise ValueError(f"resources have duplicate names, {names}, give each [[resources]] a unique name")
        return self

    @property
    def base_dir(self) -> Path:
        """Directory that relative paths in the file are resolved against."""
        return self._base_dir

    def resolve(self, path: str) -> Path:
        """Resolve a path written in the config (relative to the config file's directory)."""
        candidate = Path(path).expanduser()
        return candidate if candidate.is_absolute() else self._base_dir / candidate

    @property
    def instance_price(self) -> InstancePrice:
        """The catalog entry of the fleet's instance type."""
        return self.pricing.instance_types[self.fleet.instance_type]
