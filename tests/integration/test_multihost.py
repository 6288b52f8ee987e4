"""Distributed load generation across hosts: a master, two workers and the demo target, each in its
own network namespace on a private link this test creates (10.231.0.0/24, see ``netns.py``).

The processes reach each other only through their namespace addresses, as separate machines
would; the host guard lets the load through only because every command names the target in
``--allow-host``. The command lines are :func:`master_argv` / :func:`worker_argv`, the ones the
Kubernetes manifests run (checked here too). Slow; skipped, with the reason, where namespaces
cannot be created (not root, no iproute2).
"""

from __future__ import annotations

import math
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).parent))

from netns import Host, namespaces_unavailable, private_network  # noqa: E402

from capplan.export.k8s_loadtest import (  # noqa: E402
    RUNS_MOUNT,
    ClusterSettings,
    DistributedRun,
    build_manifests,
    master_argv,
    worker_argv,
)
from capplan.loadtest.recorder import read_raw_latencies  # noqa: E402
from capplan.models.sketch import LatencySketch, merge_sketches  # noqa: E402
from capplan.store.runs import read_run  # noqa: E402

pytestmark = pytest.mark.slow

TARGET_PORT = 8089
WORKER_STOP_LIMIT_S = 10.0
"""A worker whose master vanished must stop loading within this (Locust's own default is 60 s)."""

STRESS_OPTIONS = ("--users", "2", "--growth", "2", "--step-duration", "4s", "--max-step-duration", "8s",
                  "--max-duration", "30s", "--refine-steps", "1")


@pytest.fixture(scope="module")
def hosts(tmp_path_factory) -> Iterator[dict[str, Host]]:
    """Four namespaces (master, worker1, worker2, target) and the demo target running in one."""
    reason = namespaces_unavailable()
    if reason is not None:
        pytest.skip(f"multi-host test needs Linux network namespaces: {reason}")
    logs = tmp_path_factory.mktemp("target")
    with private_network(f"cpl{os.getpid()}", ("master", "worker1", "worker2", "target")) as network:
        target = network["target"]
        log = (logs / "target.out").open("w+")
        proc = subprocess.Popen(target.capplan("target", "--host", target.address, "--port", str(TARGET_PORT),
                                               "--allow-host", "--slots", "4", "--service-ms", "10"),
                                stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        try:
            _wait_for_line(logs / "target.out", "listening on", proc, timeout_s=30)
            yield network
        finally:
            proc.terminate()
            proc.wait(timeout=10)
            log.close()


def _run_spec(network: dict[str, Host], scenario: str = "stress", options: tuple[str, ...] = STRESS_OPTIONS):
    target = network["target"].address
    return DistributedRun(host=f"http://{target}:{TARGET_PORT}", workers=2, scenario=scenario,
                          allow_hosts=(target,), options=options)


def _wait_for_line(path: Path, text: str, proc: subprocess.Popen, timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if text in path.read_text():
            return
        if proc.poll() is not None:
            break
        time.sleep(0.1)
    raise AssertionError(f"{text!r} not seen in {timeout_s} s (exit {proc.poll()}): {path.read_text()[-2000:]}")


def _start(host: Host, argv: list[str], log: Path) -> subprocess.Popen:
    """Run a ``capplan …`` argv (``argv[0] == "capplan"``) inside ``host``'s namespace."""
    assert argv[0] == "capplan"
    return subprocess.Popen(host.capplan(*argv[1:]), stdout=log.open("w"), stderr=subprocess.STDOUT,
                            stdin=subprocess.DEVNULL)


def _start_cluster(network, run: DistributedRun, tmp_path: Path):
    out, raw = str(tmp_path / "runs"), str(tmp_path / "raw")
    ran = {"master": master_argv(run, out)}
    master = _start(network["master"], ran["master"], tmp_path / "master.log")
    workers = []
    for name in ("worker1", "worker2"):
        ran[name] = worker_argv(run, network["master"].address)
        workers.append(_start(network[name], [*ran[name], "--raw-dir", raw], tmp_path / f"{name}.log"))
    return master, workers, ran


def _log(tmp_path: Path, name: str) -> str:
    return (tmp_path / f"{name}.log").read_text()[-3000:]


def test_stress_across_namespaces_merges_exact_percentiles_and_settles_every_step(hosts, tmp_path):
    run = _run_spec(hosts)
    began = time.monotonic()
    master, workers, ran = _start_cluster(hosts, run, tmp_path)
    try:
        master_exit = master.wait(timeout=120)
        worker_exits = [w.wait(timeout=30) for w in workers]
    finally:
        for proc in (master, *workers):
            proc.kill() if proc.poll() is None else None
    elapsed = time.monotonic() - began
    assert master_exit == 0, _log(tmp_path, "master")
    assert worker_exits == [0, 0], (_log(tmp_path, "worker1"), _log(tmp_path, "worker2"))

    [run_dir] = [p for p in (tmp_path / "runs").iterdir() if (p / "run.json").exists()]
    stored = read_run(run_dir)
    assert stored.complete and stored.meta["host"] == run.host
    files = sorted((tmp_path / "raw").glob("worker-*.f64"))
    per_worker = [np.asarray(read_raw_latencies(f)) for f in files]
    assert len(files) == 2 and all(len(v) > 100 for v in per_worker), [len(v) for v in per_worker]
    samples = np.concatenate(per_worker)
    merged = merge_sketches(LatencySketch.from_bytes(b) for b in stored.seconds["sketch"])
    print(f"\nmulti-host stress: master {hosts['master'].address}, workers {hosts['worker1'].address} "
          f"{hosts['worker2'].address}, target {run.host}; {elapsed:.1f} s wall")
    print(f"  requests per worker {[len(v) for v in per_worker]}, merged sketch count {merged.count}")
    assert merged.count == len(samples) == stored.seconds["requests"].sum()
    for q in (0.5, 0.9, 0.95, 0.99, 0.999):
        exact = float(np.percentile(samples, 100 * q, method="lower"))
        print(f"  p{100 * q:g}: merged {merged.quantile(q):.3f} ms vs exact {exact:.3f} ms "
              f"({merged.quantile(q) / exact - 1:+.3%})")
        assert math.isclose(merged.quantile(q), exact, rel_tol=0.01), q
    assert merged.max_ms == samples.max()
    _assert_every_step_settled(stored)
    _assert_manifests_run_these_command_lines(run, ran, str(tmp_path / "runs"), hosts["master"].address)


def _assert_every_step_settled(stored) -> None:
    steps, notes = stored.steps, stored.meta["summary"].get("notes", [])
    print(f"  stress stop: {stored.meta['summary'].get('stress', {}).get('stop_reason')}")
    for row in steps.itertuples():
        print(f"  step {row.step} {row.stage}: {row.users} users, {row.throughput_rps:.1f} req/s, "
              f"p95 {row.latency_p95_ms:.1f} ms, steady {row.steady_start_s:.0f}-{row.end_s:.0f} s")
    assert len(steps) >= 3, f"only {len(steps)} steps"
    unsettled = [n for n in notes if "never reached steady state" in n]
    assert not unsettled, unsettled
    assert (steps["end_s"] - steps["steady_start_s"] >= 3).all()


def _assert_manifests_run_these_command_lines(run, ran, out_dir: str, master_address: str) -> None:
    cluster = ClusterSettings(image="capplan:test")
    manifests = build_manifests(run, cluster)

    def command(name: str) -> list[str]:
        [container] = manifests[name]["spec"]["template"]["spec"]["containers"]
        return [*container["command"], *container["args"]]

    # The same command lines, with the cluster's addresses where the namespaces had theirs.
    assert command("master-job.yaml") == [RUNS_MOUNT if a == out_dir else a for a in ran["master"]]
    for name in ("worker1", "worker2"):
        expected = [cluster.service_host if a == master_address else a for a in ran[name]]
        assert command("workers-job.yaml") == expected
    assert manifests["workers-job.yaml"]["spec"]["parallelism"] == run.workers


def test_worker_refuses_the_namespace_target_without_allow_host(hosts, tmp_path):
    run = _run_spec(hosts)
    argv = worker_argv(run, hosts["master"].address)
    i = argv.index("--allow-host")
    del argv[i:i + 2]
    result = subprocess.run(hosts["worker1"].capplan(*argv[1:]), capture_output=True, text=True, timeout=60)
    assert result.returncode == 2, result.stderr
    assert "refusing to send load to a non-loopback host" in result.stderr


def test_workers_stop_within_seconds_when_their_master_is_killed(hosts, tmp_path):
    run = _run_spec(hosts, "baseline", ("--users", "4", "--ramp", "1s", "--hold", "60s"))
    master, workers, _ = _start_cluster(hosts, run, tmp_path)
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and not list((tmp_path / "runs").glob("*/run.json")):
            assert master.poll() is None, _log(tmp_path, "master")  # run.json: every worker connected
            time.sleep(0.1)
        time.sleep(3)  # the load starts at the next whole second: both workers under load for 2 s
        assert all(w.poll() is None for w in workers), "workers running before the kill"
        os.kill(master.pid, signal.SIGKILL)  # `ip netns exec` execs: the pid is capplan's
        killed = time.monotonic()
        stopped_after = [_wait_exit(w, killed, WORKER_STOP_LIMIT_S + 5) for w in workers]
    finally:
        for proc in (master, *workers):
            proc.kill() if proc.poll() is None else None
            proc.wait(timeout=10)
    print(f"\nmaster SIGKILLed: workers stopped after {', '.join(f'{s:.1f} s' for s in stopped_after)} "
          f"(limit {WORKER_STOP_LIMIT_S:.0f} s)")
    assert max(stopped_after) <= WORKER_STOP_LIMIT_S, (stopped_after, _log(tmp_path, "worker1"))
    loaded = [len(read_raw_latencies(f)) for f in sorted((tmp_path / "raw").glob("worker-*.f64"))]
    assert len(loaded) == 2 and min(loaded) > 0, f"both workers were loading the target: {loaded}"


def _wait_exit(proc: subprocess.Popen, since: float, timeout_s: float) -> float:
    """Seconds from ``since`` until ``proc`` exited (``inf`` if it had not after ``timeout_s``)."""
    while time.monotonic() - since < timeout_s:
        if proc.poll() is not None:
            return time.monotonic() - since
        time.sleep(0.05)
    return math.inf
