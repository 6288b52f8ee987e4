"""The distributed load-test manifests are the Kubernetes objects they claim to be, wired together.

Nothing here imports the kubernetes client (urllib3, ssl) or calls the host guard at collection:
another test module imports Locust in this process, and gevent must patch ssl before anyone loads it.
"""

from __future__ import annotations

import json
from types import SimpleNamespace

import pytest
import yaml

from capplan.errors import ConfigError
from capplan.export.k8s_loadtest import (
    RUNS_MOUNT,
    ClusterSettings,
    DistributedRun,
    build_manifests,
    master_argv,
    worker_argv,
    write_manifests,
)

CLUSTER = ClusterSettings(image="registry.example/capplan:0.1.0", namespace="load", claim="shop-runs")
MODELS = {"Service": "V1Service", "Job": "V1Job", "PersistentVolumeClaim": "V1PersistentVolumeClaim",
          "Pod": "V1Pod"}


def _run() -> DistributedRun:
    return DistributedRun(host="http://shop.prod.svc:8080", workers=3, allow_hosts=("shop.prod.svc",),
                          options=("--users", "4", "--slo", "p95<300ms"), user_options=("--path", "/cart"))


def _api():
    from kubernetes import client

    return client.ApiClient()


def _as_model(manifest: dict):
    """Deserialize as the kubernetes client does an API response (validating required fields)."""
    return _api().deserialize(SimpleNamespace(data=json.dumps(manifest)), MODELS[manifest["kind"]])


def _containers(manifest: dict) -> list[dict]:
    return manifest["spec"]["template"]["spec"]["containers"]


def test_every_manifest_deserializes_into_its_api_model_without_losing_a_key():
    manifests = build_manifests(_run(), CLUSTER)
    assert set(manifests) == {"service.yaml", "master-job.yaml", "workers-job.yaml", "pvc.yaml",
                              "fetch/fetch-pod.yaml"}
    for name, manifest in manifests.items():
        model = _as_model(yaml.safe_load(yaml.safe_dump(manifest)))
        assert type(model).__name__ == MODELS[manifest["kind"]], name
        # A misspelt or unknown key would be dropped by the model: the round trip would differ.
        assert _api().sanitize_for_serialization(model) == manifest, name
        assert model.metadata.name and model.metadata.namespace == "load"


def test_a_manifest_missing_a_required_field_is_rejected_by_the_model():
    broken = build_manifests(_run(), CLUSTER)["master-job.yaml"]
    del _containers(broken)[0]["name"]
    with pytest.raises(ValueError, match="name"):
        _as_model(broken)


def test_workers_reach_the_master_through_the_service():
    m = build_manifests(_run(), CLUSTER)
    service, master, workers = m["service.yaml"], m["master-job.yaml"], m["workers-job.yaml"]
    assert service["spec"]["selector"].items() <= master["spec"]["template"]["metadata"]["labels"].items()
    assert not service["spec"]["selector"].items() <= workers["spec"]["template"]["metadata"]["labels"].items()
    [port] = service["spec"]["ports"]
    assert port["targetPort"] == _containers(master)[0]["ports"][0]["containerPort"] == _run().master_port
    args = _containers(workers)[0]["args"]
    service_dns = f"{service['metadata']['name']}.{service['metadata']['namespace']}.svc"
    assert args[args.index("--master-host") + 1] == service_dns


def test_worker_job_runs_n_pods_and_the_master_job_one_attempt():
    m = build_manifests(_run(), CLUSTER)
    workers, master = m["workers-job.yaml"]["spec"], m["master-job.yaml"]["spec"]
    assert workers["parallelism"] == workers["completions"] == 3
    assert master["backoffLimit"] == 0 and master["template"]["spec"]["restartPolicy"] == "Never"
    args = _containers(m["master-job.yaml"])[0]["args"]
    assert args[args.index("--workers") + 1] == "3"


def test_run_directory_is_written_to_the_named_claim():
    m = build_manifests(_run(), CLUSTER)
    pod = m["master-job.yaml"]["spec"]["template"]["spec"]
    [volume] = pod["volumes"]
    assert volume["persistentVolumeClaim"]["claimName"] == m["pvc.yaml"]["metadata"]["name"] == "shop-runs"
    [mount] = pod["containers"][0]["volumeMounts"]
    args = pod["containers"][0]["args"]
    assert mount["mountPath"] == args[args.index("--out") + 1] == RUNS_MOUNT
    fetch = m["fetch/fetch-pod.yaml"]["spec"]
    assert fetch["volumes"][0]["persistentVolumeClaim"]["claimName"] == "shop-runs"


def test_an_existing_claim_gets_no_pvc_manifest():
    existing = ClusterSettings(image="capplan:1", claim="team-runs", claim_size=None)
    m = build_manifests(_run(), existing)
    assert "pvc.yaml" not in m
    assert m["master-job.yaml"]["spec"]["template"]["spec"]["volumes"][0]["persistentVolumeClaim"] == {
        "claimName": "team-runs"}


def test_containers_run_the_shared_command_lines():
    m = build_manifests(_run(), CLUSTER)
    master, worker = _containers(m["master-job.yaml"])[0], _containers(m["workers-job.yaml"])[0]
    assert [*master["command"], *master["args"]] == master_argv(_run(), RUNS_MOUNT)
    assert [*worker["command"], *worker["args"]] == worker_argv(_run(), CLUSTER.service_host)
    # Scenario options drive the master only; user-class options reach both.
    assert "--slo" in master["args"] and "--slo" not in worker["args"]
    assert "/cart" in master["args"] and "/cart" in worker["args"]


def test_non_loopback_target_needs_allow_host():
    with pytest.raises(ConfigError, match="--allow-host shop.prod.svc"):
        DistributedRun(host="http://shop.prod.svc:8080")


@pytest.mark.parametrize("bad", [{"name": "Capplan_Load"}, {"claim": "runs/1"}, {"claim_size": "lots"},
                                 {"image": "two words"}, {"worker_cpu": "fast"}])
def test_invalid_cluster_settings_name_the_value_and_the_fix(bad):
    with pytest.raises(ConfigError, match="pass e.g."):
        ClusterSettings(**{"image": "capplan:1", **bad})


def test_manifests_are_written_as_yaml_files(tmp_path):
    paths = write_manifests(_run(), CLUSTER, tmp_path / "k8s")
    assert sorted(p.relative_to(tmp_path / "k8s").as_posix() for p in paths) == sorted(build_manifests(_run(), CLUSTER))
    for path in paths:
        assert yaml.safe_load(path.read_text())["apiVersion"] in ("v1", "batch/v1")
    assert not list((tmp_path / "k8s").rglob("*.tmp"))


def _cli(*args: str):
    from typer.testing import CliRunner

    from capplan.cli.app import app

    return CliRunner().invoke(app, ["export", "k8s-loadtest", *args])


def test_cli_writes_the_manifests_with_the_options_after_the_separator(tmp_path):
    result = _cli("--host", "http://shop.prod.svc:8080", "--allow-host", "shop.prod.svc", "--image", "capplan:1",
                  "--workers", "3", "--out", str(tmp_path), "--", "--users", "4", "--slo", "p95<300ms")
    assert result.exit_code == 0, result.output
    master = yaml.safe_load((tmp_path / "master-job.yaml").read_text())
    args = _containers(master)[0]["args"]
    assert args[-4:] == ["--users", "4", "--slo", "p95<300ms"] and args[args.index("--workers") + 1] == "3"
    assert (tmp_path / "fetch" / "fetch-pod.yaml").is_file()


@pytest.mark.parametrize(("extra", "message"), [
    (["--", "--userz", "4"], "capplan loadtest would refuse these options"),
    (["--", "--out", "/elsewhere"], "--out is set by the manifests"),
    (["--workers", "0"], "workers must be between 1 and 64"),
])
def test_cli_refuses_bad_options_with_one_error_line_and_exit_2(tmp_path, extra, message):
    result = _cli("--host", "http://shop.prod.svc:8080", "--allow-host", "shop.prod.svc", "--image", "capplan:1",
                  "--out", str(tmp_path / "k8s"), *extra)
    assert result.exit_code == 2, result.output
    assert message in result.output and "Traceback" not in result.output
    assert not (tmp_path / "k8s").exists()
