"""Scaling triggers in operator units, and the Prometheus alerting rules that watch them.

Pure: data structures and PromQL text only; writing YAML is :mod:`capplan.app.rules`.

Triggers (each with its rationale):

* per-instance req/s  ``T = S × u_trigger`` (S = safe per-instance throughput);
* CPU utilisation     ``T × cpu_ms_per_request / 1000 / vcpus`` (CPU proportional to load);
* p95 latency         ``u_trigger × SLO threshold`` — latency turns up sharply past the
  knee, so crossing this fraction of the objective is an early warning;
* forecast            ``predict_linear`` of per-instance req/s, one lead time ahead, > T.

SLO burn-rate alerts follow the SRE workbook, ch. 5 "Alerting on SLOs", table 5-8
(multiwindow, multi-burn-rate): page when the burn rate exceeds 14.4 over 1 h and 5 m or
6 over 6 h and 30 m; ticket when it exceeds 1 over 3 d and 6 h. Burn rate = observed
bad-event ratio ÷ error budget (budget = allowed error rate, or 1 − q for a latency pq SLO).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

from capplan.models.capacity import FleetSpec, InstanceCapacity
from capplan.models.slo import Slo

BURN_RATE_WINDOWS = (
    ("page", 14.4, "1h", "5m"),
    ("page", 6.0, "6h", "30m"),
    ("ticket", 1.0, "3d", "6h"),
)
"""(severity, burn-rate factor, long window, short window) — SRE workbook table 5-8."""


@dataclass(frozen=True)
class ScalingTrigger:
    """A threshold to scale out at: ``metric`` above ``threshold`` (in ``unit``), and why."""

    name: str
    metric: str
    threshold: float
    unit: str
    rationale: str


@dataclass(frozen=True)
class MetricNames:
    """Names of the service's Prometheus series (mirrors ``[alerts]`` in capplan.toml)."""

    selector: str = 'job="service"'
    requests_metric: str = "http_requests_total"
    code_label: str = "code"
    error_code_regex: str = "5.."
    latency_histogram: str | None = "http_request_duration_seconds"
    cpu_metric: str = "process_cpu_seconds_total"
    up_metric: str = "up"
    hold_s: float = 900.0
    forecast_window_s: float = 7 * 86_400.0


@dataclass(frozen=True)
class AlertRule:
    """One Prometheus alerting rule; ``for_s`` 0 fires on the first failing evaluation."""

    alert: str
    expr: str
    for_s: float
    severity: str
    summary: str
    description: str


@dataclass(frozen=True)
class RuleGroup:
    """A named group of alerting rules evaluated every ``interval_s`` seconds."""

    name: str
    interval_s: float
    rules: tuple[AlertRule, ...]


@dataclass(frozen=True)
class ResourceWatch:
    """A limited resource with a PromQL ``metric`` to watch: act at ``trigger_value`` (its unit)."""

    name: str
    metric: str
    unit: str
    trigger_value: float
    limit: float
    lead_time_s: float


def scaling_triggers(capacity: InstanceCapacity, fleet: FleetSpec, slos: tuple[Slo, ...],
                     cpu_ms_per_request: float | None = None, vcpus: int | None = None) -> tuple[ScalingTrigger, ...]:
    """Per-instance req/s, CPU (when CPU per request and vCPUs are known) and latency triggers."""
    rps = capacity.safe_rps * fleet.trigger_utilization
    out = [ScalingTrigger(
        "per_instance_rps", "requests per second per instance", rps, "req/s",
        f"{fleet.trigger_utilization:.0%} of the safe {capacity.safe_rps:.0f} req/s per instance "
        f"(max {capacity.max_rps:.0f} req/s from {capacity.source}): scaling out here leaves room for the "
        f"{fleet.lead_time_days:g}-day lead time before the SLO is at risk")]
    if cpu_ms_per_request and vcpus:
        cpu = rps * cpu_ms_per_request / 1000.0 / vcpus
        out.append(ScalingTrigger(
            "cpu_utilization", "CPU utilisation per instance", cpu, "fraction",
            f"{rps:.0f} req/s × {cpu_ms_per_request:g} ms CPU per request ÷ {vcpus} vCPUs = {cpu:.0%}: "
            "the CPU an instance shows at the req/s trigger"))
    for slo in slos:
        if slo.percentile is not None:
            out.append(ScalingTrigger(
                f"p{slo.percentile:g}_latency", f"p{slo.percentile:g} latency", slo.threshold_ms *
                fleet.trigger_utilization, "ms",
                f"{fleet.trigger_utilization:.0%} of the {slo.text} objective: latency rises steeply past the "
                "saturation knee, so this is the last calm point to add instances"))
    return tuple(out)


def promql_duration(seconds: float) -> str:
    """Seconds as a PromQL duration (``"15m"``, ``"14d"``), in the largest whole unit."""
    for unit, size in (("d", 86_400), ("h", 3_600), ("m", 60), ("s", 1)):
        if seconds >= size and math.isclose(seconds % size, 0.0, abs_tol=1e-9):
            return f"{int(seconds // size)}{unit}"
    return f"{max(1, round(seconds * 1000))}ms"


def _sel(names: MetricNames, extra: str = "") -> str:
    parts = [p for p in (names.selector, extra) if p]
    return "{" + ",".join(parts) + "}"


def _total_rps(names: MetricNames, window: str = "5m") -> str:
    return f"sum(rate({names.requests_metric}{_sel(names)}[{window}]))"


def _instances(names: MetricNames) -> str:
    return f"count({names.up_metric}{_sel(names)} == 1)"


def total_rps_expr(names: MetricNames, window: str = "5m") -> str:
    """PromQL of the service's total req/s, as the per-instance trigger rule uses it (KEDA, recording rules)."""
    return _total_rps(names, window)


def instances_expr(names: MetricNames) -> str:
    """PromQL counting the instances that are up, the per-instance trigger rule's denominator."""
    return _instances(names)


def bad_ratio_expr(slo: Slo, names: MetricNames, window: str) -> str | None:
    """PromQL of an SLO's bad-event ratio over ``window`` (the burn-rate alerts' SLI); None when not expressible."""
    return _bad_ratio(slo, names, window)


def threshold_rules(triggers: tuple[ScalingTrigger, ...], names: MetricNames,
                    vcpus: int | None = None) -> tuple[AlertRule, ...]:
    """One rule per trigger, firing when it holds for ``hold_s`` (warning severity).

    CPU utilisation is the process CPU-seconds rate ÷ ``vcpus`` (cores busy ÷ cores).
    """
    exprs = {
        "per_instance_rps": lambda t: f"{_total_rps(names)} / {_instances(names)} > {t:g}",
        "cpu_utilization": lambda t: f"avg(rate({names.cpu_metric}{_sel(names)}[5m])) / {vcpus or 1} > {t:g}",
    }
    rules = []
    for trig in triggers:
        if trig.name in exprs:
            expr = exprs[trig.name](trig.threshold)
        elif trig.name.endswith("_latency") and names.latency_histogram:
            q = float(trig.name[1:-len("_latency")]) / 100.0
            expr = (f"histogram_quantile({q:g}, sum by (le) (rate({names.latency_histogram}_bucket{_sel(names)}[5m])))"
                    f" > {trig.threshold / 1000.0:g}")
        else:
            continue
        rules.append(AlertRule(_camel(trig.name) + "ScaleOut", expr, names.hold_s, "warning",
                               f"{trig.metric} above the scale-out trigger {trig.threshold:g} {trig.unit}",
                               trig.rationale))
    return tuple(rules)


def forecast_rules(capacity: InstanceCapacity, fleet: FleetSpec, names: MetricNames,
                   resources: tuple[ResourceWatch, ...] = ()) -> tuple[AlertRule, ...]:
    """``predict_linear`` rules: per-instance load or a resource crossing its trigger within the lead time."""
    window, lead_s = promql_duration(names.forecast_window_s), fleet.lead_time_days * 86_400
    rps_trigger = capacity.safe_rps * fleet.trigger_utilization
    rules = [AlertRule(
        "PerInstanceLoadForecastScaleOut",
        f"predict_linear({_total_rps(names)}[{window}:1h], {lead_s:.0f}) / {_instances(names)} > {rps_trigger:g}",
        3_600.0, "ticket",
        f"per-instance load forecast to pass {rps_trigger:g} req/s within the {fleet.lead_time_days:g}-day lead time",
        f"linear trend over {window}: order instances now so they are serving before the trigger is crossed")]
    for res in resources:
        rules.append(AlertRule(
            _camel(res.name) + "ForecastExhaustion",
            f"predict_linear(({res.metric})[{window}:1h], {res.lead_time_s:.0f}) > {res.trigger_value:g}",
            3_600.0, "ticket",
            f"{res.name} forecast to pass {res.trigger_value:g} {res.unit} within {res.lead_time_s / 86_400:g} days",
            f"limit {res.limit:g} {res.unit}; the lead time to add more is {res.lead_time_s / 86_400:g} days"))
        rules.append(AlertRule(
            _camel(res.name) + "AboveTrigger", f"({res.metric}) > {res.trigger_value:g}", names.hold_s, "warning",
            f"{res.name} above {res.trigger_value:g} {res.unit}", f"limit {res.limit:g} {res.unit}"))
    return tuple(rules)


def _bad_ratio(slo: Slo, names: MetricNames, window: str) -> str | None:
    if slo.metric == "error_rate":
        errors = f'{names.code_label}=~"{names.error_code_regex}"'
        return (f"(sum(rate({names.requests_metric}{_sel(names, errors)}[{window}])) / "
                f"sum(rate({names.requests_metric}{_sel(names)}[{window}])))")
    if slo.percentile is None or not names.latency_histogram:
        return None
    le = f'le="{slo.threshold_ms / 1000.0:g}"'
    hist = names.latency_histogram
    return (f"(1 - sum(rate({hist}_bucket{_sel(names, le)}[{window}])) / "
            f"sum(rate({hist}_count{_sel(names)}[{window}])))")


def error_budget(slo: Slo) -> float:
    """Allowed fraction of bad events: the error-rate threshold, or 1 − q for a ``pq`` latency SLO."""
    if slo.metric == "error_rate":
        return slo.threshold
    return 1.0 - slo.percentile / 100.0 if slo.percentile is not None else float("nan")


def burn_rate_rules(slos: tuple[Slo, ...], names: MetricNames) -> tuple[AlertRule, ...]:
    """Multiwindow, multi-burn-rate alerts per SLO: one page rule (two window pairs), one ticket rule."""
    rules = []
    for slo in slos:
        budget = error_budget(slo)
        if _bad_ratio(slo, names, "5m") is None or not 0 < budget < 1:
            continue
        base = "SloErrorRate" if slo.metric == "error_rate" else f"SloLatencyP{slo.percentile:g}".replace(".", "")
        for severity in ("page", "ticket"):
            pairs = [(f, lw, sw) for s, f, lw, sw in BURN_RATE_WINDOWS if s == severity]
            expr = " or ".join(
                f"({_bad_ratio(slo, names, lw)} > {f * budget:g} and {_bad_ratio(slo, names, sw)} > {f * budget:g})"
                for f, lw, sw in pairs)
            windows = ", ".join(f"{f:g}x over {lw} and {sw}" for f, lw, sw in pairs)
            rules.append(AlertRule(
                f"{base}BudgetBurn{'Fast' if severity == 'page' else 'Slow'}", expr, 0.0, severity,
                f"{slo.text}: error budget burning ({windows})",
                f"error budget {budget:g} of events; SRE workbook multiwindow multi-burn-rate alert"))
    return tuple(rules)


def _camel(name: str) -> str:
    """CamelCase of a user-given name, keeping only letters and digits (alert names are identifiers)."""
    words = re.sub(r"[^A-Za-z0-9]+", " ", name).split()
    return "".join(part[:1].upper() + part[1:] for part in words)


def template_literal(text: str) -> str:
    """``text`` as Go-template literal text: Prometheus expands annotations as templates, so a
    ``{{`` in a user-given name (service, resource) would be parsed as an action."""
    return text.replace("{{", '{{ "{{" }}')


def rule_groups_as_dict(groups: tuple[RuleGroup, ...]) -> dict:
    """The Prometheus rule-file structure (``{"groups": [...]}``) ready for a YAML dump."""
    out = []
    for group in groups:
        rules = []
        for rule in group.rules:
            item: dict = {"alert": rule.alert, "expr": rule.expr}
            if rule.for_s > 0:
                item["for"] = promql_duration(rule.for_s)
            item["labels"] = {"severity": rule.severity}
            item["annotations"] = {"summary": template_literal(rule.summary),
                                   "description": template_literal(rule.description)}
            rules.append(item)
        out.append({"name": group.name, "interval": promql_duration(group.interval_s), "rules": rules})
    return {"groups": out}
