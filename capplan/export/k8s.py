"""Kubernetes autoscalers from the plan: an autoscaling/v2 HorizontalPodAutoscaler and a KEDA ScaledObject.

Both scale the service's Deployment between the plan's replica bounds on the per-instance
req/s trigger (``T = safe req/s × trigger_utilization``, :func:`capplan.models.alerts.scaling_triggers`):

* **minReplicas** = the fleet policy minimum (``[fleet] minimum``), never below 1;
* **maxReplicas** = the most instances the plan needs over its horizon (P90 demand, with
  redundancy), or the planned fleet when that is larger;
* **HPA**: a ``Pods`` metric (req/s per pod, served by a custom-metrics adapter such as
  prometheus-adapter under ``pods_metric``) with ``averageValue`` T, and, when the plan has
  the CPU trigger, a ``Resource`` cpu metric at that utilisation;
* **KEDA**: a ``prometheus`` trigger whose query is the service's total req/s — the same
  PromQL ``capplan rules`` divides by the instance count — with ``threshold`` T; KEDA sets
  replicas = ceil(total ÷ T), i.e. scales out when per-instance load crosses T.

Use one of the two for a Deployment: KEDA creates an HPA of its own.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Protocol

from capplan.errors import ConfigError
from capplan.models.alerts import MetricNames, ScalingTrigger, total_rps_expr
from capplan.models.capacity import CapacityPlan

KEDA_API = "keda.sh/v1alpha1"
HPA_API = "autoscaling/v2"


class PlanSource(Protocol):
    """What the exporters read of a plan: :class:`capplan.app.planning.PlanReport` is one (export sits below app)."""

    service: str
    demand_source: str
    plan: CapacityPlan
    triggers: tuple[ScalingTrigger, ...]

    @property
    def as_of(self) -> Any:
        """The first planned day."""


@dataclass(frozen=True)
class K8sTarget:
    """What the autoscalers scale and where KEDA reads Prometheus."""

    deployment: str
    namespace: str = "default"
    prometheus_url: str = "http://prometheus.monitoring.svc:9090"
    pods_metric: str = "http_requests_per_second"


@dataclass(frozen=True)
class ReplicaBounds:
    """Replica range and per-pod target of one service (req/s per instance)."""

    min_replicas: int
    max_replicas: int
    target_rps_per_instance: float
    cpu_utilization: float | None


def replica_bounds(report: PlanSource) -> ReplicaBounds:
    """The plan's replica range and its per-instance req/s (and CPU) triggers."""
    plan = report.plan
    triggers = {t.name: t.threshold for t in report.triggers}
    if "per_instance_rps" not in triggers or not triggers["per_instance_rps"] > 0:
        raise ConfigError("the plan has no per-instance req/s trigger, "
                          f"{sorted(triggers)}: set [capacity] per_instance_rps or runs")
    low = max(int(plan.fleet.minimum), 1)
    high = max(int(plan.needed_p90.max()), int(plan.planned.max()), low)
    cpu = triggers.get("cpu_utilization")
    return ReplicaBounds(low, high, float(triggers["per_instance_rps"]), float(cpu) if cpu else None)


def _quantity(value: float) -> str:
    """A Kubernetes quantity with milli-units where needed (``"224"``, ``"223500m"``)."""
    milli = round(value * 1000)
    return str(milli // 1000) if milli % 1000 == 0 else f"{milli}m"


def _metadata(name: str, target: K8sTarget, service: str) -> dict:
    return {"name": name, "namespace": target.namespace,
            "labels": {"app.kubernetes.io/name": _dns_label(service), "app.kubernetes.io/managed-by": "capplan"}}


def _dns_label(text: str) -> str:
    label = "".join(c if c.isalnum() or c == "-" else "-" for c in text.lower()).strip("-")[:63]
    return label or "service"


def horizontal_pod_autoscaler(report: PlanSource, target: K8sTarget) -> dict:
    """The autoscaling/v2 HorizontalPodAutoscaler manifest (module docstring)."""
    bounds = replica_bounds(report)
    metrics: list[dict] = [{"type": "Pods", "pods": {
        "metric": {"name": target.pods_metric},
        "target": {"type": "AverageValue", "averageValue": _quantity(bounds.target_rps_per_instance)}}}]
    if bounds.cpu_utilization is not None:
        metrics.append({"type": "Resource", "resource": {"name": "cpu", "target": {
            "type": "Utilization", "averageUtilization": max(1, math.floor(bounds.cpu_utilization * 100))}}})
    return {
        "apiVersion": HPA_API, "kind": "HorizontalPodAutoscaler",
        "metadata": _metadata(_dns_label(target.deployment), target, report.service),
        "spec": {"scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": target.deployment},
                 "minReplicas": bounds.min_replicas, "maxReplicas": bounds.max_replicas, "metrics": metrics},
    }


def keda_scaled_object(report: PlanSource, target: K8sTarget, names: MetricNames) -> dict:
    """The KEDA ScaledObject manifest with the Prometheus trigger (module docstring)."""
    bounds = replica_bounds(report)
    return {
        "apiVersion": KEDA_API, "kind": "ScaledObject",
        "metadata": _metadata(_dns_label(target.deployment), target, report.service),
        "spec": {
            "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": target.deployment},
            "minReplicaCount": bounds.min_replicas, "maxReplicaCount": bounds.max_replicas,
            "triggers": [{"type": "prometheus", "metricType": "AverageValue", "metadata": {
                "serverAddress": target.prometheus_url, "query": total_rps_expr(names),
                "threshold": f"{bounds.target_rps_per_instance:g}"}}],
        },
    }
