"""Prometheus recording rules for the SLIs ``capplan rules`` alerts on, in the manner of sloth and pyrra.

Per SLO (labels ``service``, ``slo``), one rule per window the burn-rate alerts use
(:data:`capplan.models.alerts.BURN_RATE_WINDOWS`: 5m, 30m, 1h, 6h, 3d):

* ``slo:sli_error:ratio_rate<window>`` — the bad-event ratio, the very PromQL of the alerts
  (:func:`capplan.models.alerts.bad_ratio_expr`);
* ``slo:objective:ratio`` and ``slo:error_budget:ratio`` — the target and its budget, so a
  dashboard divides ``sli_error`` by ``error_budget`` to show the burn rate.

Capacity (label ``service``): ``capplan:requests:rate5m`` (total req/s),
``capplan:instances_up:count`` and ``capplan:requests_per_instance:rate5m`` — the left-hand
side of the per-instance scale-out alert.
"""

from __future__ import annotations

from capplan.models.alerts import (
    BURN_RATE_WINDOWS,
    MetricNames,
    bad_ratio_expr,
    error_budget,
    instances_expr,
    promql_duration,
    total_rps_expr,
)
from capplan.models.slo import Slo

_SECONDS = {"m": 60, "h": 3_600, "d": 86_400}


def sli_windows() -> tuple[str, ...]:
    """Every window the burn-rate alerts read, shortest first."""
    windows = {w for _, _, long, short in BURN_RATE_WINDOWS for w in (long, short)}
    return tuple(sorted(windows, key=lambda w: int(w[:-1]) * _SECONDS[w[-1]]))


def slo_rule_group(service: str, slos: tuple[Slo, ...], names: MetricNames) -> dict:
    """The SLI recording rules of every SLO that has a Prometheus expression."""
    rules = []
    for slo in slos:
        budget = error_budget(slo)
        if bad_ratio_expr(slo, names, "5m") is None or not 0 < budget < 1:
            continue
        labels = {"service": service, "slo": slo.text}
        for window in sli_windows():
            rules.append({"record": f"slo:sli_error:ratio_rate{window}", "expr": bad_ratio_expr(slo, names, window),
                          "labels": dict(labels)})
        rules.append({"record": "slo:objective:ratio", "expr": f"vector({1 - budget:g})", "labels": dict(labels)})
        rules.append({"record": "slo:error_budget:ratio", "expr": f"vector({budget:g})", "labels": dict(labels)})
    return {"name": f"{service}-slo-sli", "interval": promql_duration(60), "rules": rules}


def capacity_rule_group(service: str, names: MetricNames) -> dict:
    """Total and per-instance req/s and the instance count, as the scale-out alerts compute them."""
    labels = {"service": service}
    return {"name": f"{service}-capacity-sli", "interval": promql_duration(60), "rules": [
        {"record": "capplan:requests:rate5m", "expr": total_rps_expr(names), "labels": dict(labels)},
        {"record": "capplan:instances_up:count", "expr": instances_expr(names), "labels": dict(labels)},
        {"record": "capplan:requests_per_instance:rate5m",
         "expr": f"{total_rps_expr(names)} / {instances_expr(names)}", "labels": dict(labels)},
    ]}


def recording_rules(service: str, slos: tuple[Slo, ...], names: MetricNames) -> dict:
    """The rule file (``{"groups": [...]}``) with the SLO and the capacity groups."""
    return {"groups": [slo_rule_group(service, slos, names), capacity_rule_group(service, names)]}
