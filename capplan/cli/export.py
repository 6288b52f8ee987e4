"""``capplan export {k8s,grafana,recording-rules}``: configs the platform runs, from capplan.toml's plan.

Each subcommand is one function registered in :func:`register`; add a new one the same way
(a function, then ``group.command(name)(function)``).
"""

from __future__ import annotations

from pathlib import Path

import typer

CONFIG = typer.Option(Path("capplan.toml"), "--config", "-c", help="Path to capplan.toml.")
OUT = typer.Option(None, "--out", "-o", help="Write the files into this directory (default: print them).")


def _emit(files: dict[str, str], out: Path | None) -> None:
    from capplan.export.files import write_exports

    if out is None:
        typer.echo("---\n".join(files.values()), nl=False)
        return
    for path in write_exports(files, out):
        typer.echo(f"wrote {path}")


def k8s_command(
    config: Path = CONFIG, out: Path | None = OUT,
    deployment: str | None = typer.Option(None, "--deployment", help="Deployment to scale (default: service name)."),
    namespace: str = typer.Option("default", "--namespace", help="Namespace of the Deployment."),
    prometheus_url: str = typer.Option("http://prometheus.monitoring.svc:9090", "--prometheus-url",
                                       help="Where KEDA queries Prometheus."),
    pods_metric: str = typer.Option("http_requests_per_second", "--pods-metric",
                                    help="HPA Pods metric: req/s per pod from a custom-metrics adapter."),
) -> None:
    """HorizontalPodAutoscaler (autoscaling/v2) and KEDA ScaledObject: plan's replica range, per-instance trigger."""
    from capplan.app.planning import build_plan
    from capplan.config import load_config
    from capplan.export.files import yaml_text
    from capplan.export.k8s import K8sTarget, horizontal_pod_autoscaler, keda_scaled_object
    from capplan.app.rules import metric_names

    cfg = load_config(config)
    report = build_plan(cfg)
    target = K8sTarget(deployment or report.service, namespace, prometheus_url, pods_metric)
    _emit({"hpa.yaml": yaml_text(horizontal_pod_autoscaler(report, target)),
           "keda-scaledobject.yaml": yaml_text(keda_scaled_object(report, target, metric_names(cfg)))}, out)


def grafana_command(config: Path = CONFIG, out: Path | None = OUT) -> None:
    """Grafana dashboard JSON: forecast vs actual, per-instance req/s vs trigger, SLO burn rates, runway."""
    from capplan.app.planning import build_plan
    from capplan.config import load_config
    from capplan.export.files import json_text
    from capplan.export.grafana import dashboard
    from capplan.app.rules import metric_names

    cfg = load_config(config)
    _emit({"grafana-dashboard.json": json_text(dashboard(build_plan(cfg), cfg.service.objectives,
                                                         metric_names(cfg)))}, out)


def recording_rules_command(config: Path = CONFIG, out: Path | None = OUT) -> None:
    """Prometheus recording rules for the SLIs the alerts use (sloth/pyrra style) and per-instance load."""
    from capplan.config import load_config
    from capplan.export.files import yaml_text
    from capplan.export.recording_rules import recording_rules
    from capplan.app.rules import metric_names

    cfg = load_config(config)
    rules = recording_rules(cfg.service.name, cfg.service.objectives, metric_names(cfg))
    _emit({"recording-rules.yaml": yaml_text(rules)}, out)


def k8s_loadtest_command(
    ctx: typer.Context,
    host: str = typer.Option(..., "--host", help="Target base URL as the pods reach it."),
    image: str = typer.Option(..., "--image", help="capplan image built from the repository's Dockerfile."),
    workers: int = typer.Option(2, "--workers", help="Worker pods (1-64)."),
    scenario: str = typer.Option("stress", "--scenario", help="baseline, stress, spike or soak."),
    allow_host: list[str] = typer.Option([], "--allow-host", help="Allow load to this non-loopback host."),
    name: str = typer.Option("capplan-loadtest", "--name", help="Prefix of the Kubernetes object names."),
    namespace: str = typer.Option("default", "--namespace", help="Namespace of every object."),
    claim: str = typer.Option("capplan-runs", "--claim", help="PersistentVolumeClaim holding the run directory."),
    claim_size: str = typer.Option("1Gi", "--claim-size", help="Size of the claim written to pvc.yaml."),
    existing_claim: bool = typer.Option(False, "--existing-claim", help="The claim exists: write no pvc.yaml."),
    master_port: int = typer.Option(5557, "--master-port", help="Locust master port (and the Service's)."),
    out: Path | None = OUT,
) -> None:
    """Distributed load test on Kubernetes: master Job, workers Job, Service, volume claim; options after -- go to
    `capplan loadtest SCENARIO` (e.g. -- --users 10 --slo "p95<300ms")."""
    from capplan.export.k8s_loadtest import ClusterSettings, DistributedRun, manifest_texts, master_argv, split_options

    master_only, both = split_options(ctx.args)
    run = DistributedRun(host=host, workers=workers, scenario=scenario, allow_hosts=tuple(allow_host),
                         options=master_only, user_options=both, master_port=master_port)
    _check_loadtest_argv(ctx, master_argv(run, "/runs"))
    cluster = ClusterSettings(image=image, name=name, namespace=namespace, claim=claim,
                              claim_size=None if existing_claim else claim_size)
    _emit(manifest_texts(run, cluster), out)


def _check_loadtest_argv(ctx: typer.Context, argv: list[str]) -> None:
    """Parse the master's command line with `capplan loadtest` itself, so a bad option fails here, not in the pod."""
    from capplan.errors import ConfigError

    root = ctx.find_root().command
    group = root.get_command(ctx.find_root(), argv[1])
    try:
        group.get_command(type(ctx)(group), argv[2]).make_context(argv[2], argv[3:])
    except Exception as exc:  # typer's vendored click raises its own UsageError classes
        if not hasattr(exc, "format_message"):
            raise
        raise ConfigError(f"capplan loadtest would refuse these options, {' '.join(argv[3:])!r} "
                          f"({exc.format_message()}), fix the options after --") from None


def register(app: typer.Typer) -> None:
    """Add the ``export`` command group to the root app."""
    group = typer.Typer(name="export", no_args_is_help=True,
                        help="Configs the platform runs, from capplan.toml's plan: autoscalers, dashboards, rules.")
    group.command("k8s")(k8s_command)
    group.command("grafana")(grafana_command)
    group.command("recording-rules")(recording_rules_command)
    group.command("k8s-loadtest", context_settings={"allow_extra_args": True, "ignore_unknown_options": True})(
        k8s_loadtest_command)
    app.add_typer(group, name="export")
