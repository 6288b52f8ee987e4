"""Fault injection on real runs: `capplan loadtest` against the demo target on 127.0.0.1.

Each test starts its own target (or a socket that never answers), runs the CLI in a child
process, injects one fault, and checks the documented exit code (docs/faults.md), the
time it took, and that the run store is readable and consistent afterwards.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from datetime import UTC, datetime
from pathlib import Path

import psutil
import pytest
from typer.testing import CliRunner

from capplan.cli.app import app
from capplan.loadtest.target import TargetSettings, start_target
from capplan.store.runs import list_runs, read_run

pytestmark = pytest.mark.slow

CLI = [sys.executable, "-m", "capplan"]
QUICK = ["--ramp", "0s", "--settle", "0s", "--quiet"]


def _loadtest(host: str, out: Path, *args: str) -> list[str]:
    return [*CLI, "loadtest", "baseline", "--host", host, "--out", str(out), *QUICK, *args]


def _run(cmd: list[str], timeout_s: float = 40.0) -> tuple[subprocess.CompletedProcess, float]:
    start = time.monotonic()
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout_s)
    return done, time.monotonic() - start


def _error_lines(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if line.startswith("Error:")]


def _only_run(out: Path):
    runs = list_runs(out)
    assert len(runs) == 1, [r.path for r in runs]
    return read_run(runs[0].path)


def _served(url: str) -> int:
    text = urllib.request.urlopen(url + "/metrics", timeout=5).read().decode()
    return sum(int(float(v)) for v in re.findall(r'^requests_total\{[^}]*\} (\S+)$', text, re.M))


def _once_recording(out: Path, action) -> threading.Thread:
    """Run ``action`` as soon as the run under ``out`` flushed its first seconds (the load is on)."""

    def wait() -> None:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and not list(out.glob("*/seconds/part-*.parquet")):
            time.sleep(0.05)
        action()

    thread = threading.Thread(target=wait, daemon=True)
    thread.start()
    return thread


def test_target_killed_mid_run_is_never_met_and_never_capacity(tmp_path):
    target = start_target(TargetSettings(slots=4, service_ms=10, port=0))
    _once_recording(tmp_path, target.stop)
    done, elapsed_s = _run(_loadtest(target.url, tmp_path, "--users", "4", "--hold", "5s", "--slo", "p95<500ms"))
    assert done.returncode == 1, done.stderr  # SLO breached: the error ceiling, not a fast "met"
    assert len(_error_lines(done.stderr)) == 1 and "error ceiling" in done.stderr
    run = _only_run(tmp_path)
    hold = run.steps[run.steps["stage"] == "hold"].iloc[0]
    assert hold["error_rate"] > 0.05
    # Throughput counts successes only: at most what 4 slots of 10 ms serve (~400/s), never the refusals.
    assert hold["throughput_rps"] < 450
    assert run.meta["verdict"]["slos_met"] is False
    assert elapsed_s < 25


def test_hung_target_times_out_and_exits_5(tmp_path):
    with socket.socket() as hung:  # accepts connections (kernel backlog) and never answers
        hung.bind(("127.0.0.1", 0))
        hung.listen(64)
        host = f"http://127.0.0.1:{hung.getsockname()[1]}"
        done, elapsed_s = _run(_loadtest(host, tmp_path, "--users", "4", "--hold", "2s", "--request-timeout", "1s"))
    assert done.returncode == 5, done.stderr
    errors = _error_lines(done.stderr)
    assert len(errors) == 1 and "no request succeeded" in errors[0], done.stderr
    assert "Traceback" not in done.stderr
    run = _only_run(tmp_path)
    assert run.status == "failed" and run.meta["summary"]["totals"]["successes"] == 0
    assert elapsed_s < 20


def test_half_the_requests_failing_breaches_the_error_ceiling(tmp_path):
    with start_target(TargetSettings(slots=4, service_ms=5, error_rate=0.5, port=0, seed=1)) as target:
        host = target.url + "/?access_token=SECRET"  # also: the host loaded is the one checked, stored without it
        done, _ = _run(_loadtest(host, tmp_path, "--users", "4", "--hold", "2s", "--slo", "p95<1s"))
        served = _served(target.url)
    assert done.returncode == 1, done.stderr
    run = _only_run(tmp_path)
    assert run.meta["host"] == target.url + "/" and "SECRET" not in json.dumps(run.meta)
    assert served >= run.meta["summary"]["totals"]["requests"] > 0  # every request reached the checked target
    hold = run.steps[run.steps["stage"] == "hold"].iloc[0]
    assert 0.4 < hold["error_rate"] < 0.6
    kinds = run.meta["summary"]["errors_by_kind"]
    assert set(kinds) == {"HTTP 500"} or all(k.startswith("HTTP 5") for k in kinds)
    # Failures have their own rate and latency columns; throughput is the successful half.
    assert hold["error_rps"] == pytest.approx(hold["errors"] / hold["duration_s"])
    assert hold["throughput_rps"] == pytest.approx((hold["requests"] - hold["errors"]) / hold["duration_s"])


def _signal_mid_hold(tmp_path: Path, sig: int) -> tuple[subprocess.CompletedProcess, float]:
    with start_target(TargetSettings(slots=4, service_ms=5, port=0)) as target:
        proc = subprocess.Popen(_loadtest(target.url, tmp_path, "--users", "4", "--hold", "20s", "--slo", "p95<1s"),
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        _once_recording(tmp_path, lambda: None).join()
        time.sleep(1.0)  # a few steady seconds of the hold
        sent = time.monotonic()
        proc.send_signal(sig)
        stdout, stderr = proc.communicate(timeout=20)
    return subprocess.CompletedProcess(proc.args, proc.returncode, stdout, stderr), time.monotonic() - sent


@pytest.mark.parametrize(("sig", "code"), [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_a_signal_mid_hold_finalizes_as_interrupted_and_judges_the_completed_part(tmp_path, sig, code):
    done, after_signal_s = _signal_mid_hold(tmp_path, sig)
    assert done.returncode == code, done.stderr
    assert after_signal_s < 5
    assert "Traceback" not in done.stderr
    run = _only_run(tmp_path)
    assert run.status == "interrupted"
    assert run.meta["summary"]["interrupted"]["signal"] == signal.Signals(sig).name
    verdict = run.meta["verdict"]
    assert verdict["slos_met"] is True, verdict  # p95 of a 5 ms service is far below 1 s
    assert "judged on the" in verdict["basis"]
    assert "requests" in done.stdout  # the summary table was printed


def test_master_killed_its_workers_stop_within_seconds(tmp_path):
    with start_target(TargetSettings(slots=4, service_ms=5, port=0)) as target:
        proc = subprocess.Popen(_loadtest(target.url, tmp_path, "--users", "4", "--hold", "60s", "--workers", "1"),
                                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        deadline = time.monotonic() + 20
        workers: list[psutil.Process] = []
        while time.monotonic() < deadline and not workers:
            workers = [c for c in psutil.Process(proc.pid).children() if "capplan.cli.worker_process" in " ".join(c.cmdline())]
            time.sleep(0.2)
        assert workers, "no worker started"
        _once_recording(tmp_path, lambda: None).join()
        time.sleep(1.0)  # load is flowing
        assert _served(target.url) > 0
        killed = time.monotonic()
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=5)
        gone, alive = psutil.wait_procs(workers, timeout=12)
        stopped_s = time.monotonic() - killed
        for p in alive:
            p.kill()
        print(f"workers gone {stopped_s:.1f} s after the master was killed")
        assert not alive, f"workers still loading the target {stopped_s:.1f} s after the master died"
        before = _served(target.url)
        time.sleep(1.0)
        assert _served(target.url) == before  # nothing loads the target any more
    assert stopped_s < 10
    run = _only_run(tmp_path)  # SIGKILL: not finalized, still readable, reported incomplete
    assert not run.complete and len(run.seconds) > 0


def _mount_small_tmpfs(path: Path) -> None:
    if os.geteuid() != 0 or shutil.which("mount") is None:
        pytest.skip("a small tmpfs needs root and mount(8); disk-full faults are not injected here")
    path.mkdir()
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=2m", "tmpfs", str(path)], capture_output=True, text=True)
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here ({done.stderr.strip()}); disk-full faults are not injected")


def _fill(path: Path, leave_bytes: int) -> None:
    free = shutil.disk_usage(path).free
    (path / "filler").write_bytes(b"\0" * max(0, free - leave_bytes))


def test_disk_full_stops_the_load_within_a_second_and_exits_5(tmp_path):
    store = tmp_path / "small"
    _mount_small_tmpfs(store)
    try:
        _fill(store, leave_bytes=48 * 1024)
        with start_target(TargetSettings(slots=8, service_ms=2, port=0)) as target:
            samples: list[tuple[float, int]] = []
            stop = threading.Event()

            def watch() -> None:
                while not stop.is_set():
                    samples.append((time.time(), _served(target.url)))
                    time.sleep(0.1)

            watcher = threading.Thread(target=watch, daemon=True)
            watcher.start()
            done, elapsed_s = _run(_loadtest(target.url, store / "runs", "--users", "8", "--hold", "60s"), 90)
            stop.set()
            watcher.join()
        assert done.returncode == 5, done.stderr
        errors = _error_lines(done.stderr)
        assert len(errors) == 1 and "No space left on device" in errors[0], done.stderr
        assert "Traceback" not in done.stderr
        assert elapsed_s < 40  # far from the 60 s hold: the fault ended the run
        ended = max(t for t, n in samples if n == samples[-1][1])  # first moment the count reached its final value
        last_rise = min(t for t, n in samples if n == samples[-1][1])
        stopped_at_s = float(re.search(r"load stopped at t=(\d+)s", errors[0])[1])
        run_dirs = [p for p in (store / "runs").iterdir()] if (store / "runs").is_dir() else []
        for run_dir in run_dirs:  # nothing half-written, no empty directory
            assert any(run_dir.iterdir()), f"empty run directory {run_dir}"
            assert not list(run_dir.rglob(".*.tmp")), "temp file left behind"
            read_run(run_dir)
        assert len(run_dirs) == 1
        # The run directory is named after its start second (UTC); t0 of the run is within 1 s after it.
        started = datetime.strptime(run_dirs[0].name.split("-")[0], "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC).timestamp()
        print(f"disk full: fault at t={stopped_at_s:.0f}s, load stopped {last_rise - started - stopped_at_s:+.1f} s "
              f"from the fault second, process exited {elapsed_s:.1f} s after it started")
        assert last_rise - (started + stopped_at_s) < 2.5, (last_rise, started, stopped_at_s, ended)
    finally:
        subprocess.run(["umount", "-l", str(store)], check=False)


def test_import_on_a_full_disk_exits_5_and_leaves_no_directory(tmp_path):
    store = tmp_path / "small"
    _mount_small_tmpfs(store)
    try:
        csv = tmp_path / "m.csv"
        csv.write_text("concurrency,throughput,latency_ms\n" + "".join(f"{n},{100 * n},{10 + n}\n" for n in range(1, 9)))
        (store / "runs").mkdir()
        _fill(store, leave_bytes=0)
        result = CliRunner().invoke(app, ["loadtest", "import", str(csv), "--out", str(store / "runs")])
        assert result.exit_code == 5, result.output
        assert len(_error_lines(result.stderr)) == 1 and "No space left" in result.stderr
        assert list((store / "runs").iterdir()) == []
    finally:
        subprocess.run(["umount", "-l", str(store)], check=False)


def test_a_worker_refuses_the_masters_host_when_the_guard_does(tmp_path):
    from locust.env import Environment

    from capplan.loadtest.distributed import free_port
    from capplan.loadtest.users import default_user

    with start_target(TargetSettings(slots=2, service_ms=2, port=0)) as target:
        # Ambiguous for the clients (urllib3 would read 127.0.0.2); whatever reads it, it stays on loopback.
        handed_out = target.url.replace("http://", "http://127.0.0.2\\@")
        env = Environment(user_classes=[default_user()], host=handed_out)
        port = free_port()
        master = env.create_master_runner("127.0.0.1", port)
        worker = subprocess.Popen([*CLI, "loadtest", "baseline", "--worker", "--master-host", "127.0.0.1",
                                   "--master-port", str(port), "--host", target.url],
                                  stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        try:
            deadline = time.monotonic() + 30
            while master.worker_count < 1 and time.monotonic() < deadline:
                time.sleep(0.1)
            assert master.worker_count == 1, "worker did not connect"
            master.start(1, spawn_rate=1)
            _, stderr = worker.communicate(timeout=20)
        finally:
            master.quit()
            if worker.poll() is None:
                worker.kill()
        assert worker.returncode == 2, stderr
        assert len(_error_lines(stderr)) == 1 and "master's host" in stderr
        assert _served(target.url) == 0  # no user ever started
