"""Benchmark: the demo target's accuracy and the run store's write cost.

1. Target accuracy. Maximum throughput measured with ``wrk -t1 -c64`` against the demo
   target for several (slots C, service S) settings, as a ratio to the nominal C/S.
   Baseline, measured side by side in the same run: the naive design (asyncio.Semaphore
   + asyncio.sleep), whose sleeps are rounded up to epoll's 1 ms granularity.
2. Run store. Appending per-second rows carrying a real LatencySketch (rows/s), the cost of
   one flush (a Parquet part + run.json), and finalize (merge) for a one-hour run.
   Baseline: the same rows written once with ``DataFrame.to_parquet``.

Run: ``.venv/bin/python benchmarks/bench_target.py [--duration-s 5] [--quick]``.
Only 127.0.0.1 is ever contacted, by servers this script starts.
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import os
import platform
import random
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

from capplan.loadtest.target import TargetSettings, start_target
from capplan.loadtest.wrk import measure_with_wrk
from capplan.models.sketch import LatencySketch
from capplan.store.runs import RunWriter, read_run

SETTINGS = [(1, 10.0), (4, 10.0), (16, 10.0), (8, 2.0), (64, 20.0), (64, 5.0)]


def _naive_server(slots: int, service_ms: float, port_queue: multiprocessing.Queue) -> None:
    """The baseline: asyncio streams, a semaphore of C slots, asyncio.sleep for service."""

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while await reader.readuntil(b"\r\n\r\n"):
                async with semaphore:
                    await asyncio.sleep(random.expovariate(1000.0 / service_ms))
                writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nok\n")
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            writer.close()

    async def main() -> None:
        server = await asyncio.start_server(handle, "127.0.0.1", 0, backlog=1024)
        port_queue.put(server.sockets[0].getsockname()[1])
        await server.serve_forever()

    semaphore = asyncio.Semaphore(slots)
    asyncio.run(main())


def bench_target(duration_s: int, settings: list[tuple[int, float]]) -> None:
    print(f"\n== demo target: wrk -t1 -c64 -d{duration_s}s, requests/s vs nominal C/S ==")
    print(f"{'slots':>5} {'S ms':>6} {'nominal':>8} {'capplan':>9} {'ratio':>6} {'naive':>9} {'ratio':>6}")
    for slots, service_ms in settings:
        connections = max(64, 2 * slots)
        with start_target(TargetSettings(port=0, slots=slots, service_ms=service_ms)) as target:
            ours = measure_with_wrk(target.url, connections=connections, duration_s=duration_s)
        queue: multiprocessing.Queue = multiprocessing.Queue()
        naive = multiprocessing.Process(target=_naive_server, args=(slots, service_ms, queue), daemon=True)
        naive.start()
        try:
            base = measure_with_wrk(f"http://127.0.0.1:{queue.get(timeout=10)}/", connections=connections,
                                    duration_s=duration_s)
        finally:
            naive.kill()
            naive.join()
        nominal = slots * 1000.0 / service_ms
        print(f"{slots:>5} {service_ms:>6g} {nominal:>8.0f} {ours.requests_per_s:>9.1f} "
              f"{ours.requests_per_s / nominal:>6.3f} {base.requests_per_s:>9.1f} {base.requests_per_s / nominal:>6.3f}")


def _rows(n: int, samples_per_s: int) -> list[dict]:
    rng = np.random.default_rng(0)
    rows = []
    for t in range(n):
        sketch = LatencySketch()
        latencies = rng.exponential(20.0, samples_per_s)
        sketch.add_many(latencies.tolist())
        rows.append({"t_s": float(t), "stage": "hold", "step": 0, "users": 50, "requests": samples_per_s,
                     "throughput_rps": float(samples_per_s), "errors": 0, "error_rate": 0.0,
                     "latency_p50_ms": float(np.median(latencies)), "latency_max_ms": float(latencies.max()),
                     "errors_by_kind": "{}", "gen_cpu_pct": 30.0, "sketch": sketch.to_bytes()})
    return rows


def bench_store(n_rows: int) -> None:
    print(f"\n== run store: {n_rows} per-second rows with a LatencySketch (1000 samples/s) each ==")
    rows = _rows(n_rows, 1000)
    with tempfile.TemporaryDirectory() as root:
        writer = RunWriter("soak", "http://127.0.0.1:1", root=root)
        start = time.perf_counter()
        for row in rows:
            writer.append_seconds([row])
        append_s = time.perf_counter() - start
        flush_times_s = []
        for k in range(10):
            writer.append_seconds(rows[5 * k: 5 * k + 5])
            start = time.perf_counter()
            writer.flush()
            flush_times_s.append(time.perf_counter() - start)
        flush_s = float(np.median(flush_times_s))
        start = time.perf_counter()
        path = writer.finalize("complete")
        finalize_s = time.perf_counter() - start
        size_kb = (path / "seconds.parquet").stat().st_size / 1024
        start = time.perf_counter()
        assert len(read_run(path).seconds) == n_rows + 50
        read_s = time.perf_counter() - start
        start = time.perf_counter()
        pd.DataFrame(rows).to_parquet(Path(root) / "baseline.parquet")
        baseline_s = time.perf_counter() - start
    print(f"append_seconds, one row per call : {n_rows / append_s:>10.0f} rows/s "
          f"({append_s / n_rows * 1e3:.2f} ms per row; a run appends 1 row/s)")
    print(f"flush of 5 rows (part + run.json): {flush_s * 1e3:>10.1f} ms (median of 10)")
    print(f"finalize (merge {n_rows + 50} rows, fsync): {finalize_s * 1e3:>8.1f} ms, seconds.parquet {size_kb:.0f} KiB")
    print(f"read_run                         : {read_s * 1e3:>10.1f} ms")
    print(f"baseline DataFrame.to_parquet once: {baseline_s * 1e3:>9.1f} ms; "
          f"RunWriter total / baseline = {(append_s + finalize_s) / baseline_s:.1f}x")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration-s", type=int, default=5)
    parser.add_argument("--rows", type=int, default=3600)
    parser.add_argument("--quick", action="store_true", help="two settings, 2 s each, 600 rows")
    args = parser.parse_args()
    cpu = next((ln.split(":", 1)[1].strip() for ln in Path("/proc/cpuinfo").read_text().splitlines()
                if ln.startswith("model name")), platform.processor())
    print(f"bench_target  {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}  nproc={os.cpu_count()}  cpu={cpu}  "
          f"load={os.getloadavg()[0]:.2f}")
    if args.quick:
        bench_target(2, SETTINGS[1:3])
        bench_store(600)
    else:
        bench_target(args.duration_s, SETTINGS)
        bench_store(args.rows)


if __name__ == "__main__":
    main()
