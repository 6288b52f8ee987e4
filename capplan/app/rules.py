"""Build and write the Prometheus rule file for ``capplan rules``.

:func:`rule_groups` assembles the pure rule builders of :mod:`capplan.models.alerts`
from a config and its triggers (:func:`capplan.app.capacity.build_triggers`, no forecast); :func:`write_rules` writes YAML atomically (temp file in the
same directory, then ``os.replace``), so a failure never leaves half a rule file.
"""

from __future__ import annotations

from pathlib import Path

import yaml

from capplan.config import CapplanConfig
from capplan.models.alerts import (
    MetricNames,
    ResourceWatch,
    RuleGroup,
    burn_rate_rules,
    forecast_rules,
    rule_groups_as_dict,
    threshold_rules,
)
from capplan.models.decision import TriggerSet
from capplan.store.atomic import write_output


def metric_names(config: CapplanConfig) -> MetricNames:
    """``[alerts]`` as the pure :class:`MetricNames`."""
    a = config.alerts
    return MetricNames(selector=a.selector, requests_metric=a.requests_metric, code_label=a.code_label,
                       error_code_regex=a.error_code_regex, latency_histogram=a.latency_histogram,
                       cpu_metric=a.cpu_metric, up_metric=a.up_metric, hold_s=a.hold.seconds,
                       forecast_window_s=a.forecast_window.seconds)


def rule_groups(config: CapplanConfig, base: TriggerSet) -> tuple[RuleGroup, ...]:
    """Capacity (threshold + forecast) and SLO burn-rate rule groups for one service."""
    names = metric_names(config)
    watches = tuple(
        ResourceWatch(r.name, r.metric, r.unit, r.trigger * r.limit, r.limit,
                      (r.lead_time or config.fleet.lead_time).seconds)
        for r in config.resources if r.metric
    )
    service = config.service.name
    capacity = threshold_rules(base.triggers, names, config.instance_price.vcpus)
    capacity += forecast_rules(base.capacity, base.fleet, names, watches)
    return (
        RuleGroup(f"{service}-capacity", 60.0, capacity),
        RuleGroup(f"{service}-slo-burn-rate", 60.0, burn_rate_rules(config.service.objectives, names)),
    )


def dump_rules(groups: tuple[RuleGroup, ...]) -> str:
    """The rule file as YAML text (Prometheus ``rule_files`` format)."""
    return yaml.safe_dump(rule_groups_as_dict(groups), sort_keys=False, allow_unicode=True, width=1000)


def write_rules(groups: tuple[RuleGroup, ...], path: Path) -> Path:
    """Write the rule file atomically; :class:`ReportError` (as for every output file) when it cannot be written."""
    return write_output(path, dump_rules(groups), "rule file")
