"""Kubernetes manifests for a distributed capplan load test: one master, N workers, one volume.

``capplan export k8s-loadtest`` writes, into one directory (``kubectl apply -f DIR``):

- ``service.yaml`` — a ``Service`` for the master's Locust port, selecting the master pod;
- ``master-job.yaml`` — a ``Job`` running ``capplan loadtest SCENARIO --master --workers N``;
  it ends with the run (``restartPolicy: Never``, ``backoffLimit: 0``: a second attempt would
  start a second run against the same workers) and writes the run directory to ``/runs``;
- ``workers-job.yaml`` — a ``Job`` of N pods (``parallelism = completions = N``) running
  ``capplan loadtest SCENARIO --worker --master-host <service>``; each exits 0 when the
  master quits, so the Job completes with the run. Pods prefer distinct nodes;
- ``pvc.yaml`` — the ``PersistentVolumeClaim`` the user names (left out for an existing claim);
- ``fetch/fetch-pod.yaml`` — a ``Pod`` that mounts the same claim read-only and sleeps, so
  ``kubectl cp`` can copy the run out after the master pod has completed. It sits in a
  subdirectory so that ``kubectl apply -f DIR`` does not start it beside the master.

The command lines come from :func:`master_argv` and :func:`worker_argv`, the same functions the
multi-host test (network namespaces on one machine) runs, so what is deployed is what was tested.
Objects are built as the official ``kubernetes`` client's models and serialised by its
``ApiClient``, so every key is one the API knows.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from capplan.errors import ConfigError
from capplan.loadtest.settings import SCENARIOS, check_host
from capplan.store.atomic import write_output

if TYPE_CHECKING:
    from kubernetes import client as k8s

RUNS_MOUNT = "/runs"
"""Where the run volume is mounted in the master (and fetch) pod; the master's ``--out``."""

DEFAULT_MASTER_PORT = 5557
IMAGE_UID = 10001
"""The non-root user of the image built from the repository's Dockerfile (``useradd --uid 10001``)."""
_NAME = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?")
_QUANTITY = re.compile(r"[0-9]+(\.[0-9]+)?(Ki|Mi|Gi|Ti|Pi|Ei|k|M|G|T|P|E)?")
_FETCH_DIR = "fetch"


def _k8s() -> Any:
    """The kubernetes client's models, imported on first use.

    The client imports urllib3 and so ssl; a process that imports Locust afterwards (gevent
    patches ssl) would recurse forever in ssl, so merely importing this module must not load it.
    """
    from kubernetes import client

    return client


@dataclass(frozen=True)
class DistributedRun:
    """One distributed load test, independent of where its processes run.

    ``user_options`` (``--locustfile``, ``--path``) go to the master and every worker (both
    build the user classes); ``options`` (load levels, steps, SLOs, durations) to the master
    only, which drives the scenario. ``allow_hosts`` must name the target's host unless it is
    loopback (the host guard of ``capplan loadtest``).
    """

    host: str
    workers: int = 2
    scenario: str = "stress"
    allow_hosts: tuple[str, ...] = ()
    options: tuple[str, ...] = ()
    user_options: tuple[str, ...] = ()
    master_port: int = DEFAULT_MASTER_PORT

    def __post_init__(self) -> None:
        if self.scenario not in SCENARIOS:
            raise ConfigError(f"unknown scenario, {self.scenario!r}, use one of {', '.join(SCENARIOS)}")
        if not 1 <= self.workers <= 64:
            raise ConfigError(f"workers must be between 1 and 64, {self.workers}, pass e.g. --workers 4")
        if not 1 <= self.master_port <= 65535:
            raise ConfigError(f"master port must be a TCP port, {self.master_port}, pass e.g. --master-port 5557")
        check_host(self.host, self.allow_hosts)


def _common_argv(run: DistributedRun) -> list[str]:
    allow = [arg for h in run.allow_hosts for arg in ("--allow-host", h)]
    return ["capplan", "loadtest", run.scenario, "--host", run.host, *allow]


def master_argv(run: DistributedRun, out_dir: str) -> list[str]:
    """The master's command line: drive the scenario, await ``run.workers``, write runs under ``out_dir``."""
    return [*_common_argv(run), "--master", "--workers", str(run.workers), "--master-port", str(run.master_port),
            "--out", out_dir, *run.user_options, *run.options]


def worker_argv(run: DistributedRun, master_host: str) -> list[str]:
    """A worker's command line: connect to ``master_host`` and run the users it is assigned."""
    return [*_common_argv(run), "--worker", "--master-host", master_host, "--master-port", str(run.master_port),
            *run.user_options]


@dataclass(frozen=True)
class ClusterSettings:
    """Where and how the run is deployed: object names, image, volume claim, pod resources.

    ``claim_size`` None means the claim ``claim`` already exists (no ``pvc.yaml``).
    CPU figures are Kubernetes quantities (``"1"``, ``"500m"``).
    """

    image: str
    name: str = "capplan-loadtest"
    namespace: str = "default"
    claim: str = "capplan-runs"
    claim_size: str | None = "1Gi"
    storage_class: str | None = None
    worker_cpu: str = "1"
    master_cpu: str = "1"
    labels: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not self.image.strip() or any(c.isspace() for c in self.image):
            raise ConfigError(f"container image must be one image reference, {self.image!r}, "
                              "pass e.g. --image registry.example/capplan:0.1.0 (built from the Dockerfile)")
        for what, value, limit in (("name", self.name, 50), ("namespace", self.namespace, 63),
                                   ("claim", self.claim, 63)):
            if len(value) > limit or not _NAME.fullmatch(value):
                raise ConfigError(f"Kubernetes {what} must be lower-case letters, digits and '-' (at most {limit}), "
                                  f"{value!r}, pass e.g. capplan-loadtest")
        if self.claim_size is not None and not _QUANTITY.fullmatch(self.claim_size):
            raise ConfigError(f"volume size must be a Kubernetes quantity, {self.claim_size!r}, pass e.g. 1Gi")
        for what, value in (("worker CPU", self.worker_cpu), ("master CPU", self.master_cpu)):
            if not re.fullmatch(r"[0-9]+(\.[0-9]+)?m?", value):
                raise ConfigError(f"{what} must be a CPU quantity, {value!r}, pass e.g. 1 or 500m")

    @property
    def service_host(self) -> str:
        """The master Service's DNS name as the workers resolve it."""
        return f"{self.name}-master.{self.namespace}.svc"


def _meta(cluster: ClusterSettings, suffix: str, role: str | None = None) -> k8s.V1ObjectMeta:
    k8s = _k8s()
    return k8s.V1ObjectMeta(name=f"{cluster.name}-{suffix}", namespace=cluster.namespace,
                            labels=_labels(cluster, role))


def _labels(cluster: ClusterSettings, role: str | None) -> dict[str, str]:
    labels = {"app.kubernetes.io/name": "capplan", "app.kubernetes.io/instance": cluster.name, **cluster.labels}
    if role is not None:
        labels["capplan/role"] = role
    return labels


def _container(cluster: ClusterSettings, role: str, argv: list[str], **extra: Any) -> k8s.V1Container:
    k8s = _k8s()
    cpu = cluster.master_cpu if role == "master" else cluster.worker_cpu
    return k8s.V1Container(
        name=role, image=cluster.image, command=argv[:1], args=argv[1:],
        resources=k8s.V1ResourceRequirements(requests={"cpu": cpu, "memory": "256Mi"}, limits={"cpu": cpu}),
        **extra)


def _non_root() -> k8s.V1PodSecurityContext:
    """Run as the image's user; ``fs_group`` makes the run volume writable for it."""
    k8s = _k8s()
    return k8s.V1PodSecurityContext(run_as_non_root=True, run_as_user=IMAGE_UID, fs_group=IMAGE_UID)


def master_job(run: DistributedRun, cluster: ClusterSettings) -> k8s.V1Job:
    """The master ``Job``: one pod, never retried, the run volume at :data:`RUNS_MOUNT`."""
    k8s = _k8s()
    container = _container(
        cluster, "master", master_argv(run, RUNS_MOUNT),
        ports=[k8s.V1ContainerPort(name="locust", container_port=run.master_port)],
        volume_mounts=[k8s.V1VolumeMount(name="runs", mount_path=RUNS_MOUNT)])
    volume = k8s.V1Volume(name="runs",
                          persistent_volume_claim=k8s.V1PersistentVolumeClaimVolumeSource(claim_name=cluster.claim))
    pod = k8s.V1PodSpec(restart_policy="Never", containers=[container], volumes=[volume],
                        termination_grace_period_seconds=30, security_context=_non_root())
    template = k8s.V1PodTemplateSpec(metadata=k8s.V1ObjectMeta(labels=_labels(cluster, "master")), spec=pod)
    return k8s.V1Job(api_version="batch/v1", kind="Job", metadata=_meta(cluster, "master", "master"),
                     spec=k8s.V1JobSpec(template=template, backoff_limit=0, completions=1, parallelism=1))


def workers_job(run: DistributedRun, cluster: ClusterSettings) -> k8s.V1Job:
    """The workers ``Job``: ``run.workers`` pods connecting to the master Service, spread over nodes."""
    k8s = _k8s()
    container = _container(cluster, "worker", worker_argv(run, cluster.service_host))
    spread = k8s.V1Affinity(pod_anti_affinity=k8s.V1PodAntiAffinity(
        preferred_during_scheduling_ignored_during_execution=[k8s.V1WeightedPodAffinityTerm(
            weight=100, pod_affinity_term=k8s.V1PodAffinityTerm(
                topology_key="kubernetes.io/hostname",
                label_selector=k8s.V1LabelSelector(match_labels=_labels(cluster, "worker"))))]))
    # OnFailure: a worker that failed before the master listened is restarted in place.
    pod = k8s.V1PodSpec(restart_policy="OnFailure", containers=[container], affinity=spread,
                        security_context=_non_root())
    template = k8s.V1PodTemplateSpec(metadata=k8s.V1ObjectMeta(labels=_labels(cluster, "worker")), spec=pod)
    return k8s.V1Job(api_version="batch/v1", kind="Job", metadata=_meta(cluster, "workers", "worker"),
                     spec=k8s.V1JobSpec(template=template, parallelism=run.workers, completions=run.workers,
                                        backoff_limit=2 * run.workers))


def master_service(run: DistributedRun, cluster: ClusterSettings) -> k8s.V1Service:
    """The ``Service`` the workers reach the master through (:attr:`ClusterSettings.service_host`)."""
    k8s = _k8s()
    port = k8s.V1ServicePort(name="locust", port=run.master_port, target_port=run.master_port, protocol="TCP")
    return k8s.V1Service(api_version="v1", kind="Service", metadata=_meta(cluster, "master"),
                         spec=k8s.V1ServiceSpec(type="ClusterIP", selector=_labels(cluster, "master"), ports=[port]))


def run_claim(cluster: ClusterSettings) -> k8s.V1PersistentVolumeClaim:
    """The ``PersistentVolumeClaim`` named by the user, holding the run directories."""
    k8s = _k8s()
    spec = k8s.V1PersistentVolumeClaimSpec(
        access_modes=["ReadWriteOnce"], storage_class_name=cluster.storage_class,
        resources=k8s.V1VolumeResourceRequirements(requests={"storage": cluster.claim_size}))
    meta = k8s.V1ObjectMeta(name=cluster.claim, namespace=cluster.namespace, labels=_labels(cluster, None))
    return k8s.V1PersistentVolumeClaim(api_version="v1", kind="PersistentVolumeClaim", metadata=meta, spec=spec)


def fetch_pod(cluster: ClusterSettings) -> k8s.V1Pod:
    """A ``Pod`` mounting the run claim read-only, for ``kubectl cp`` once the master has completed."""
    k8s = _k8s()
    mount = k8s.V1VolumeMount(name="runs", mount_path=RUNS_MOUNT, read_only=True)
    container = k8s.V1Container(name="fetch", image=cluster.image, command=["sleep", "3600"],
                                volume_mounts=[mount])
    volume = k8s.V1Volume(name="runs", persistent_volume_claim=k8s.V1PersistentVolumeClaimVolumeSource(
        claim_name=cluster.claim, read_only=True))
    return k8s.V1Pod(api_version="v1", kind="Pod", metadata=_meta(cluster, "fetch", "fetch"),
                     spec=k8s.V1PodSpec(restart_policy="Never", containers=[container], volumes=[volume],
                                        security_context=_non_root()))


def build_manifests(run: DistributedRun, cluster: ClusterSettings) -> dict[str, dict[str, Any]]:
    """Relative file name -> manifest (plain dict, as ``kubectl`` reads it)."""
    k8s = _k8s()
    objects: dict[str, Any] = {"service.yaml": master_service(run, cluster),
                               "master-job.yaml": master_job(run, cluster),
                               "workers-job.yaml": workers_job(run, cluster)}
    if cluster.claim_size is not None:
        objects["pvc.yaml"] = run_claim(cluster)
    objects[f"{_FETCH_DIR}/fetch-pod.yaml"] = fetch_pod(cluster)
    api = k8s.ApiClient()
    return {name: api.sanitize_for_serialization(obj) for name, obj in objects.items()}


def write_manifests(run: DistributedRun, cluster: ClusterSettings, out_dir: Path) -> list[Path]:
    """Write :func:`build_manifests` as YAML files under ``out_dir`` (each atomically); their paths."""
    manifests = build_manifests(run, cluster)
    return [write_output(Path(out_dir) / name, yaml.safe_dump(body, sort_keys=False), "manifest")
            for name, body in manifests.items()]


def manifest_texts(run: DistributedRun, cluster: ClusterSettings) -> dict[str, str]:
    """Relative file name -> YAML text of :func:`build_manifests`."""
    return {name: yaml.safe_dump(body, sort_keys=False) for name, body in build_manifests(run, cluster).items()}


USER_OPTIONS = ("--locustfile", "--path")
"""``capplan loadtest`` options that workers need too (they build the user classes)."""

MANAGED_OPTIONS = ("--host", "--workers", "--master", "--worker", "--master-host", "--master-port", "--out",
                   "--allow-host", "--raw-dir")
"""Options the manifests set themselves; passing them through would contradict the deployment."""


def split_options(options: list[str] | tuple[str, ...]) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """(master-only options, options for master and workers) from ``capplan loadtest`` arguments."""
    master: list[str] = []
    both: list[str] = []
    args = list(options)
    while args:
        arg = args.pop(0)
        flag = arg.split("=", 1)[0]
        if flag in MANAGED_OPTIONS:
            raise ConfigError(f"{flag} is set by the manifests, {arg!r}, use this command's own option instead "
                              "(--host, --workers, --allow-host, --master-port) or drop it")
        into = both if flag in USER_OPTIONS else master
        into.append(arg)
        if "=" not in arg and arg.startswith("--") and args and not args[0].startswith("--"):
            into.append(args.pop(0))
    return tuple(master), tuple(both)
