"""A Grafana dashboard (JSON model, schemaVersion 39) for the plan: plain JSON, no client library.

Panels: demand — actual total req/s (Prometheus) against capplan's P50/P90 forecast (embedded
as CSV for Grafana's TestData source) and the fleet's trigger and maximum capacity; per-instance
req/s against the scale-out trigger; the burn rate of each SLO (1 h and 6 h, with the 14.4 and
6 paging lines); and the runway dates as of the export. The PromQL is :mod:`capplan.models.alerts`'.

:data:`DASHBOARD_SCHEMA` is the minimal JSON Schema the tests check the output against: the
fields Grafana's dashboard import needs (title, uid, schemaVersion, panels with id, type,
gridPos and targets with refId).
"""

from __future__ import annotations

import hashlib

import numpy as np

from capplan.export.k8s import PlanSource
from capplan.models.alerts import (
    BURN_RATE_WINDOWS,
    MetricNames,
    bad_ratio_expr,
    error_budget,
    instances_expr,
    total_rps_expr,
)
from capplan.models.slo import Slo

SCHEMA_VERSION = 39
PROMETHEUS = {"type": "prometheus", "uid": "${datasource}"}
TESTDATA = {"type": "grafana-testdata-datasource", "uid": "testdata"}

DASHBOARD_SCHEMA = {
    "type": "object", "required": ["title", "uid", "schemaVersion", "panels", "time"],
    "properties": {
        "title": {"type": "string", "minLength": 1}, "uid": {"type": "string", "pattern": "^[A-Za-z0-9_-]{1,40}$"},
        "schemaVersion": {"type": "integer", "minimum": 30}, "time": {"type": "object", "required": ["from", "to"]},
        "panels": {"type": "array", "minItems": 1, "items": {
            "type": "object", "required": ["id", "type", "title", "gridPos"],
            "properties": {
                "id": {"type": "integer"}, "type": {"enum": ["timeseries", "stat", "text", "row"]},
                "gridPos": {"type": "object", "required": ["h", "w", "x", "y"],
                            "properties": {k: {"type": "integer", "minimum": 0} for k in "hwxy"}},
                "targets": {"type": "array", "items": {"type": "object", "required": ["refId"]}}}}},
    },
}
"""Minimal JSON Schema of a Grafana dashboard JSON model, as capplan writes it."""


def _promql(ref: str, expr: str, legend: str) -> dict:
    return {"refId": ref, "datasource": PROMETHEUS, "expr": expr, "legendFormat": legend}


def _panel(pid: int, title: str, targets: list[dict], y: int, unit: str, thresholds: list[tuple[float, str]]) -> dict:
    steps = [{"color": "green", "value": None}] + [{"color": c, "value": v} for v, c in thresholds]
    return {"id": pid, "type": "timeseries", "title": title, "gridPos": {"h": 8, "w": 24, "x": 0, "y": y},
            "datasource": {"type": "datasource", "uid": "-- Mixed --"}, "targets": targets,
            "fieldConfig": {"defaults": {"unit": unit, "thresholds": {"mode": "absolute", "steps": steps},
                                         "custom": {"thresholdsStyle": {"mode": "line"}}}, "overrides": []}}


def _forecast_csv(report: PlanSource) -> str:
    demand = report.plan.demand
    rows = ["time,p50_rps,p90_rps"]
    for day, p50, p90 in zip(demand.ds, demand.p50_rps, demand.p90_rps):
        millis = int(np.datetime64(day, "ms").astype(np.int64))
        rows.append(f"{millis},{p50:.1f},{p90:.1f}")
    return "\n".join(rows)


def _demand_panel(report: PlanSource, names: MetricNames) -> dict:
    runway = report.plan.runway
    targets = [_promql("A", total_rps_expr(names), "actual req/s"),
               {"refId": "B", "datasource": TESTDATA, "scenarioId": "csv_content", "csvContent": _forecast_csv(report),
                "alias": "capplan forecast"}]
    return _panel(1, "Demand: actual vs forecast (P50/P90), fleet trigger and maximum capacity", targets, 0, "reqps",
                  [(runway.trigger_capacity_rps, "orange"), (runway.max_capacity_rps, "red")])


def _per_instance_panel(report: PlanSource, names: MetricNames) -> dict:
    trigger = next(t.threshold for t in report.triggers if t.name == "per_instance_rps")
    expr = f"{total_rps_expr(names)} / {instances_expr(names)}"
    return _panel(2, f"Per-instance req/s against the scale-out trigger ({trigger:g} req/s)",
                  [_promql("A", expr, "req/s per instance")], 8, "reqps", [(trigger, "red")])


def _burn_panel(slos: tuple[Slo, ...], names: MetricNames) -> dict:
    targets, ref = [], ord("A")
    for slo in slos:
        budget = error_budget(slo)
        if bad_ratio_expr(slo, names, "1h") is None or not 0 < budget < 1:
            continue
        for window in ("1h", "6h"):
            targets.append(_promql(chr(ref), f"{bad_ratio_expr(slo, names, window)} / {budget:g}",
                                   f"{slo.text} burn rate {window}"))
            ref += 1
    lines = sorted({(f, "red" if s == "page" else "orange") for s, f, _, _ in BURN_RATE_WINDOWS if f > 1})
    return _panel(3, "SLO error-budget burn rate (1 = on budget; page above 14.4 over 1h, 6 over 6h)", targets, 16,
                  "none", lines)


def _runway_panel(report: PlanSource) -> dict:
    runway = report.plan.runway
    lines = [f"**As of {report.as_of}** (capplan plan, demand: {report.demand_source})", "",
             f"* trigger capacity crossed: {runway.trigger_date or 'not within the horizon'}",
             f"* order more by: {runway.order_by_date or 'not within the horizon'}",
             f"* safe capacity exceeded: {runway.safe_exceeded_date or 'not within the horizon'}",
             f"* SLO at risk (max capacity exceeded): {runway.breach_date or 'not within the horizon'}"]
    return {"id": 4, "type": "text", "title": "Runway", "gridPos": {"h": 6, "w": 24, "x": 0, "y": 24},
            "options": {"mode": "markdown", "content": "\n".join(lines)}}


def dashboard(report: PlanSource, slos: tuple[Slo, ...], names: MetricNames) -> dict:
    """The dashboard JSON model (import it, or provision it as a file)."""
    uid = "capplan-" + hashlib.sha1(report.service.encode("utf-8")).hexdigest()[:12]
    return {
        "title": f"{report.service} capacity (capplan)", "uid": uid, "schemaVersion": SCHEMA_VERSION,
        "tags": ["capplan", "capacity"], "timezone": "utc", "editable": True,
        "time": {"from": "now-7d", "to": f"now+{max(len(report.plan.demand.ds), 1)}d"},
        "templating": {"list": [{"name": "datasource", "type": "datasource", "query": "prometheus",
                                 "label": "Prometheus"}]},
        "panels": [_demand_panel(report, names), _per_instance_panel(report, names), _burn_panel(slos, names),
                   _runway_panel(report)],
    }
