"""Per-worker and per-master cost of distributed load generation, for scale figures on paper.

All traffic goes to a demo target on 127.0.0.1 started here. Each configuration runs a master
(``capplan loadtest baseline --master --workers N``) and N separate ``--worker`` processes, as
on several machines, and takes every process's CPU from the kernel (``os.wait4`` rusage of the
exited child), so nothing is sampled or estimated.

(a) one worker at full speed against a fast target: requests per CPU-second of the worker
    (= requests/s one core sustains), its sketch traffic to the master (msgpack size of the
    ``capplan_seconds`` message it sent each second, rebuilt from the run's per-second
    sketches), and the master's CPU.
(b) the master's CPU per worker: masters with 1 and with 4 light workers; the difference per
    extra worker-second (each worker sends one sketch message a second, a Locust heartbeat a
    second and a stats report every 3 s); and a microbenchmark of what the master does with one
    sketch message (msgpack decode, ``SecondBucket.from_wire``, merge) on real messages of (a).

Usage: ``python benchmarks/bench_distributed.py [--hold 15]``.
"""

from __future__ import annotations

import argparse
import os
import platform
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import msgpack

from capplan.loadtest.distributed import free_port
from capplan.loadtest.recorder import Recorder, SecondBucket
from capplan.loadtest.target import TargetSettings, start_target
from capplan.models.sketch import LatencySketch
from capplan.store.runs import read_run

CAPPLAN = str(Path(sys.executable).with_name("capplan"))
FAST = TargetSettings(port=0, slots=1000, service_ms=0.01, distribution="constant")
SLOW = TargetSettings(port=0, slots=1000, service_ms=50, distribution="constant")
"""Light workers (2 users each, ~40 req/s): the master's cost per worker, not the machine's CPU."""


@dataclass(frozen=True)
class Measured:
    """One distributed run: CPU-seconds per process, wall time, requests, its per-second wires."""

    workers: int
    wall_s: float
    master_cpu_s: float
    master_steady_cpu: float
    worker_cpu_s: tuple[float, ...]
    requests: int
    steady_requests_per_cpu_s: float
    seconds: int
    wire_bytes: tuple[int, ...]


def _cpu_s(pid: int) -> float:
    _, status, usage = os.wait4(pid, 0)
    if os.waitstatus_to_exitcode(status) != 0:
        raise RuntimeError(f"process {pid} exited with {os.waitstatus_to_exitcode(status)}")
    return usage.ru_utime + usage.ru_stime


def run_distributed(url: str, workers: int, users: int, hold_s: int, work: Path) -> Measured:
    """A baseline with a master and ``workers`` separate worker processes; CPU of each process."""
    port, out = str(free_port()), work / f"runs-{workers}-{time.time_ns()}"
    began = time.monotonic()
    master = subprocess.Popen([CAPPLAN, "loadtest", "baseline", "--host", url, "--users", str(users), "--ramp", "1s",
                               "--hold", f"{hold_s}s", "--master", "--workers", str(workers), "--master-port", port,
                               "--out", str(out), "--quiet"], stdout=subprocess.DEVNULL)
    procs = [subprocess.Popen([CAPPLAN, "loadtest", "baseline", "--host", url, "--worker", "--master-host",
                               "127.0.0.1", "--master-port", port], stdout=subprocess.DEVNULL)
             for _ in range(workers)]
    t0, t1, steady_cpu = _steady_window([master.pid, *(p.pid for p in procs)], out, hold_s)
    master_cpu = _cpu_s(master.pid)
    worker_cpu = tuple(_cpu_s(p.pid) for p in procs)
    wall = time.monotonic() - began
    run = read_run(next(p for p in out.iterdir() if (p / "run.json").exists()))
    wires = tuple(len(msgpack.packb({"seconds": {str(int(row.ts.timestamp())): _wire(row)}, "final": False}))
                  for row in run.seconds.itertuples() if row.requests > 0)
    # Whole seconds inside the sampled window (a second's row counts the requests completed in it).
    inside = run.seconds[(run.seconds["ts"].map(lambda ts: ts.timestamp()) >= t0 - 0.5)
                         & (run.seconds["ts"].map(lambda ts: ts.timestamp()) < t1 - 0.5)]
    per_cpu = float(inside["requests"].sum()) / sum(steady_cpu[1:]) * (t1 - t0) / max(1, len(inside))
    return Measured(workers, wall, master_cpu, steady_cpu[0] / (t1 - t0), worker_cpu,
                    int(run.seconds["requests"].sum()), per_cpu, len(run.seconds), wires)


def _steady_window(pids: list[int], out: Path, hold_s: int) -> tuple[float, float, list[float]]:
    """(start, end) epoch seconds of the middle of the hold and each process's CPU-seconds within it."""
    import psutil

    procs = [psutil.Process(pid) for pid in pids]
    while not list(out.glob("*/run.json")):  # written once every worker connected
        time.sleep(0.05)
    time.sleep(3)
    first, t0 = [sum(p.cpu_times()[:2]) for p in procs], time.time()
    time.sleep(hold_s - 4)
    last, t1 = [sum(p.cpu_times()[:2]) for p in procs], time.time()
    return t0, t1, [b - a for a, b in zip(first, last, strict=True)]


def _wire(row) -> dict:
    """The ``to_wire`` dict a worker ships for one second (sketch bytes as stored for that second)."""
    bucket = SecondBucket(LatencySketch.from_bytes(row.sketch), int(row.requests), int(row.errors))
    return bucket.to_wire()


def master_merge_us(wires: list[dict], repeat: int = 2000) -> float:
    """Microseconds the master spends on one message: msgpack decode, from_wire, merge into its recorder."""
    packed = [msgpack.packb({"seconds": {"1700000000": w}, "final": False}) for w in wires]
    recorder = Recorder(None)
    began = time.perf_counter()
    for i in range(repeat):
        data = msgpack.unpackb(packed[i % len(packed)])
        for sec, wire in data["seconds"].items():
            recorder.put(int(sec), SecondBucket.from_wire(wire))
    return (time.perf_counter() - began) / repeat * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hold", type=int, default=15, help="seconds of load per configuration")
    parser.add_argument("--many", type=int, default=8, help="workers of the larger master in (b)")
    args = parser.parse_args()
    print(f"machine: {platform.node()} {os.cpu_count()} cores, load avg {os.getloadavg()[0]:.1f}; "
          f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}")
    with tempfile.TemporaryDirectory() as tmp, start_target(FAST) as target:
        work = Path(tmp)
        full = run_distributed(target.url, workers=1, users=32, hold_s=args.hold, work=work)
        rps_core = full.steady_requests_per_cpu_s
        full_wires = [_wire(r) for r in read_run(next(p for p in sorted(work.glob("runs-1-*/*"))
                                                      if (p / "run.json").exists())).seconds.itertuples()
                      if r.requests > 0]
        wire_mean = sum(full.wire_bytes) / len(full.wire_bytes)
        print(f"(a) 1 worker, 32 users, fast target: {full.requests} requests in {full.seconds} s; worker "
              f"{full.worker_cpu_s[0]:.1f} CPU-s in all (startup included); over the steady hold {rps_core:.0f} "
              f"requests per worker CPU-second; "
              f"{full.requests / args.hold:.0f} req/s over the hold")
        print(f"    sketch message per second: mean {wire_mean:.0f} B, max {max(full.wire_bytes)} B "
              f"({wire_mean * 8 / 1000:.1f} kbit/s per worker); master {full.master_cpu_s:.1f} CPU-s")
    print(f"    master over the hold: {full.master_steady_cpu:.1%} of a core")
    with tempfile.TemporaryDirectory() as tmp, start_target(SLOW) as target:
        work = Path(tmp)
        light = {n: run_distributed(target.url, workers=n, users=2 * n, hold_s=args.hold, work=work)
                 for n in (1, args.many)}
        one, many = light[1], light[args.many]
        per_worker_s = (many.master_steady_cpu - one.master_steady_cpu) / (args.many - 1)
        print(f"(b) master CPU over the hold: {one.master_steady_cpu:.1%} of a core with 1 light worker, "
              f"{many.master_steady_cpu:.1%} with {args.many}; {per_worker_s * 1000:.2f} ms of master CPU per "
              f"worker-second -> one master core for about {1 / per_worker_s:.0f} workers")
        us = master_merge_us(full_wires)
        print(f"    capplan's part of it: {us:.0f} us per sketch message (decode + from_wire + merge), "
              f"{us / 1e4:.3f} % of one core per worker")
        print(f"scale on paper: workers per master core (sketch merge only) {1e6 / us:.0f}, "
              f"(all master work measured) {1 / per_worker_s:.0f}; at {rps_core:.0f} req/s per worker core "
              f"that is {rps_core / per_worker_s:.0f} req/s per master core")


if __name__ == "__main__":
    main()
