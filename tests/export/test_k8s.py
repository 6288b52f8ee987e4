"""capplan export k8s: the HPA and the ScaledObject are the API objects they claim to be."""

from __future__ import annotations

import math
from pathlib import Path

import jsonschema
import pytest
import yaml
from kubernetes.client import ApiClient, V2HorizontalPodAutoscaler
from typer.testing import CliRunner

from capplan.app.planning import build_plan
from capplan.cli.app import app
from capplan.config import load_config
from capplan.export.k8s import K8sTarget, horizontal_pod_autoscaler, keda_scaled_object, replica_bounds
from capplan.models.alerts import threshold_rules
from capplan.app.rules import metric_names

ROOT = Path(__file__).resolve().parents[2]
KEDA_CRD = ROOT.parent / "shared" / "reference" / "k8s" / "keda.sh_scaledobjects.yaml"
CONFIG = ROOT / "capplan.toml"


@pytest.fixture(scope="module")
def report():
    return build_plan(load_config(CONFIG))


def test_hpa_round_trips_through_the_kubernetes_client_model(report):
    manifest = horizontal_pod_autoscaler(report, K8sTarget("web", "shop"))
    client = ApiClient()
    model = client._ApiClient__deserialize(manifest, "V2HorizontalPodAutoscaler")
    assert isinstance(model, V2HorizontalPodAutoscaler)
    assert client.sanitize_for_serialization(model) == manifest  # nothing dropped or misspelt
    assert model.spec.scale_target_ref.name == "web" and model.metadata.namespace == "shop"


def test_hpa_bounds_and_target_come_from_the_plan(report):
    spec = horizontal_pod_autoscaler(report, K8sTarget("web"))["spec"]
    trigger = next(t for t in report.triggers if t.name == "per_instance_rps")
    # capplan.toml: 350 req/s × 0.8 target utilisation = 280 safe, × 0.8 trigger = 224 req/s per pod
    assert trigger.threshold == pytest.approx(224.0)
    assert spec["metrics"][0]["pods"]["target"]["averageValue"] == "224"
    assert spec["minReplicas"] == report.plan.fleet.minimum == 3
    assert spec["maxReplicas"] == max(int(report.plan.needed_p90.max()), int(report.plan.planned.max()))
    # the plan needs ceil(P90 peak / safe) + N+1 at its busiest day
    peak = float(report.plan.demand.p90_rps.max())
    assert spec["maxReplicas"] >= math.ceil(peak / 280.0 - 1e-9) + 1


@pytest.mark.skipif(not KEDA_CRD.is_file(), reason="../shared/reference/k8s/ (KEDA's CRD) is absent in this checkout")
def test_scaled_object_validates_against_kedas_crd_schema(report):
    crd = yaml.safe_load(KEDA_CRD.read_text())
    version = next(v for v in crd["spec"]["versions"] if v["name"] == "v1alpha1")
    manifest = keda_scaled_object(report, K8sTarget("web"), metric_names(load_config(CONFIG)))
    assert manifest["apiVersion"] == f"{crd['spec']['group']}/v1alpha1" and manifest["kind"] == crd["spec"]["names"]["kind"]
    jsonschema.validate(manifest, version["schema"]["openAPIV3Schema"])


@pytest.mark.skipif(not KEDA_CRD.is_file(), reason="../shared/reference/k8s/ (KEDA's CRD) is absent in this checkout")
def test_a_broken_scaled_object_fails_the_crd_schema(report):
    crd = yaml.safe_load(KEDA_CRD.read_text())
    schema = next(v for v in crd["spec"]["versions"] if v["name"] == "v1alpha1")["schema"]["openAPIV3Schema"]
    manifest = keda_scaled_object(report, K8sTarget("web"), metric_names(load_config(CONFIG)))
    del manifest["spec"]["triggers"][0]["type"]
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(manifest, schema)


def test_keda_query_is_the_promql_capplan_rules_alerts_on(report):
    cfg = load_config(CONFIG)
    names = metric_names(cfg)
    trigger = keda_scaled_object(report, K8sTarget("web"), names)["spec"]["triggers"][0]["metadata"]
    rule = next(r for r in threshold_rules(report.triggers, names) if r.alert == "PerInstanceRpsScaleOut")
    assert rule.expr.startswith(trigger["query"] + " / ")  # total req/s ÷ instances > T
    assert float(trigger["threshold"]) == pytest.approx(replica_bounds(report).target_rps_per_instance)


def test_export_k8s_writes_both_manifests(tmp_path):
    result = CliRunner().invoke(app, ["export", "k8s", "--config", str(CONFIG), "--out", str(tmp_path),
                                      "--deployment", "web"])
    assert result.exit_code == 0, result.output
    assert yaml.safe_load((tmp_path / "hpa.yaml").read_text())["kind"] == "HorizontalPodAutoscaler"
    assert yaml.safe_load((tmp_path / "keda-scaledobject.yaml").read_text())["kind"] == "ScaledObject"


def test_export_with_a_missing_config_exits_2(tmp_path):
    result = CliRunner().invoke(app, ["export", "k8s", "--config", str(tmp_path / "none.toml")])
    assert result.exit_code == 2 and result.stderr.startswith("Error: ")
