"""Locust master/worker plumbing: local worker processes and sketch shipping.

Workers run Locust's own :class:`~locust.runners.WorkerRunner`; every second each one
ships the buckets of its completed seconds (sketch bytes + counters, see
:meth:`~capplan.loadtest.recorder.SecondBucket.to_wire`) to the master as the custom
message ``capplan_seconds``, and everything it still holds when the test stops (flagged
``final``). The master merges them per wall-clock second, so its percentiles are those
of one sketch fed every sample of every worker. It writes a second only
:data:`MASTER_LAG_S` after it ended, giving the shipments time to arrive; a shipment
that still comes late is counted in the next second (and reported in the summary).

In the open model the master tells each worker its share of the arrival rate
(``capplan_rate``).
"""

from __future__ import annotations

import dataclasses
import json
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import gevent
import psutil

from capplan.errors import LoadTestError
from capplan.loadtest.recorder import Recorder
from capplan.loadtest.settings import LoadTestSettings

SECONDS_MESSAGE = "capplan_seconds"
RATE_MESSAGE = "capplan_rate"
MASTER_LAG_S = 2.5
"""Seconds the master waits after a second ended before writing it."""

_CONNECT_TIMEOUT_S = 60.0
_FINAL_TIMEOUT_S = 8.0


def settings_to_json(settings: LoadTestSettings) -> str:
    """Serialise settings for a worker process's command line."""
    data = {f.name: getattr(settings, f.name) for f in dataclasses.fields(settings)}
    return json.dumps({k: (str(v) if isinstance(v, Path) else v) for k, v in data.items()})


def settings_from_json(text: str) -> LoadTestSettings:
    """Inverse of :func:`settings_to_json`."""
    data = json.loads(text)
    for key in ("locustfile", "out_dir", "raw_dir"):
        if data.get(key) is not None:
            data[key] = Path(data[key])
    for key in ("slos", "allow_hosts"):
        data[key] = tuple(data.get(key) or ())
    return LoadTestSettings(**data)


def free_port() -> int:
    """A TCP port free on 127.0.0.1 right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class LocalWorkers:
    """The master side: spawn (local) or await (``role="master"``) N workers."""

    def __init__(self, settings: LoadTestSettings) -> None:
        self.settings = settings
        self.expected = settings.workers
        self.spawn_local = settings.role != "master"
        self.bind_host = "127.0.0.1" if self.spawn_local else "*"
        self.port = free_port() if self.spawn_local else settings.master_port
        self.procs: list[subprocess.Popen[bytes]] = []
        self.finals = 0

    def start(self, runner: Any) -> None:
        """Spawn the local workers and wait until all of them connected."""
        if self.spawn_local:
            worker_settings = dataclasses.replace(self.settings, role="worker", workers=0,
                                                  master_host="127.0.0.1", master_port=self.port)
            payload = settings_to_json(worker_settings)
            for _ in range(self.expected):
                self.procs.append(subprocess.Popen([sys.executable, "-m", "capplan.cli.worker_process", payload],
                                                   stdin=subprocess.DEVNULL))
        deadline = time.time() + _CONNECT_TIMEOUT_S
        while runner.worker_count < self.expected:
            if time.time() > deadline or any(p.poll() is not None for p in self.procs):
                self.stop(runner)
                raise LoadTestError(f"load-generator workers did not connect, {runner.worker_count} of "
                                    f"{self.expected} after {_CONNECT_TIMEOUT_S:.0f}s, check that workers can "
                                    f"reach the master on port {self.port}")
            gevent.sleep(0.1)

    def set_rate(self, runner: Any, rate_rps: float) -> None:
        """Give each worker its share of the open-model arrival rate."""
        runner.send_message(RATE_MESSAGE, rate_rps / max(1, runner.worker_count))

    def note_report(self, data: dict[str, Any]) -> None:
        """Count final shipments (sent once per worker when its test stops)."""
        if data.get("final"):
            self.finals += 1

    def collect_final(self, runner: Any) -> None:
        """After stop: wait until every worker shipped its last buckets (bounded)."""
        deadline = time.time() + _FINAL_TIMEOUT_S
        while self.finals < self.expected and time.time() < deadline:
            gevent.sleep(0.05)

    def stop(self, runner: Any) -> None:
        """Quit the workers and reap the processes this master started."""
        try:
            runner.quit()
        except Exception:  # noqa: BLE001 - best effort while shutting down
            pass
        for proc in self.procs:
            try:
                proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=5)


class Shipper:
    """Worker side: ship completed seconds to the master every second, all of them at stop."""

    def __init__(self, runner: Any, recorder: Recorder) -> None:
        self.runner, self.recorder = runner, recorder
        self.me = psutil.Process()
        self.me.cpu_percent(None)

    def loop(self) -> None:
        while True:
            now = time.time()
            gevent.sleep(int(now) + 1.1 - now)
            self.ship(final=False)

    def ship(self, final: bool) -> None:
        buckets = self.recorder.take(None if final else int(time.time()))
        cpu = self.me.cpu_percent(None)
        for bucket in buckets.values():
            bucket.gen_cpu_pct = cpu
        if buckets or final:
            data = {"seconds": {str(k): b.to_wire() for k, b in buckets.items()}, "final": final}
            self.runner.send_message(SECONDS_MESSAGE, data)
