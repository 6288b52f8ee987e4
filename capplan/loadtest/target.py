"""The bundled demo service: an HTTP/1.1 keep-alive server with a known capacity.

It has ``slots`` (C) concurrent service slots; requests beyond C wait in a FIFO queue.
Each request's service time is exponential with mean ``service_ms`` (S), so the
maximum throughput is C / S (requests/s with S in seconds). Optional knobs:

* contention (USL-style): a request that starts service when n slots are busy (itself
  included) has its service time multiplied by ``1 + sigma*(n-1) + kappa*n*(n-1)``, so
  throughput X(n) = (n/S) / (1 + sigma(n-1) + kappa n(n-1)) falls past a peak
  (Gunther, *Guerrilla Capacity Planning*, 2007, ch. 4);
* ``error_rate``: fraction of served requests answered with HTTP 500;
* ``leak_mb_per_min``: the process allocates and touches that much memory per minute.

Why the design: asyncio timers are rounded up to the 1 ms granularity of epoll, which
would stretch a 10 ms mean service time by ~5-10 %. Service completions are therefore
timed by one precise timer thread (``threading.Condition.wait`` with sub-ms accuracy),
and each slot keeps a *virtual* clock: a queued request starts exactly when the
previous one's deadline passed, not when the wake-up happened, so wake-up jitter never
accumulates into lost capacity. HTTP parsing runs on the asyncio loop (no thread per
connection), which keeps the server itself far above the capacities it simulates.

Routes: ``GET /health`` (immediate 200), ``GET /metrics`` (Prometheus text format),
anything else is a served request.

Layout: :mod:`~capplan.loadtest.target_settings` (settings and capacity),
:mod:`~capplan.loadtest.target_service` (slots, queue, precise timer, metrics),
:mod:`~capplan.loadtest.target_http` (the HTTP/1.1 protocol),
:mod:`~capplan.loadtest.target_process` (running it in a child process); this module
serves in the foreground and re-exports the public names.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sys
import threading
from collections.abc import Callable

from capplan.errors import CapplanError, LoadTestError
from capplan.loadtest.target_http import HttpProtocol
from capplan.loadtest.target_process import RunningTarget, start_target
from capplan.loadtest.target_service import PreciseTimer, ServiceSlots, TargetStats
from capplan.loadtest.target_settings import TargetSettings, is_loopback_host

__all__ = ["RunningTarget", "TargetSettings", "is_loopback_host", "run_target", "start_target"]


async def _leak(settings: TargetSettings, stats: TargetStats) -> None:
    """Allocate and touch ``leak_mb_per_min`` MB per minute, in one-second chunks."""
    chunk = int(settings.leak_mb_per_min * 1024 * 1024 / 60)
    while chunk > 0:
        await asyncio.sleep(1.0)
        stats.leaked.append(b"\xa5" * chunk)  # written, so really resident
        stats.leaked_bytes += chunk


async def _watch_parent(parent_pid: int, stop: asyncio.Event) -> None:
    """Stop when the parent that started this child has gone (no orphaned targets)."""
    while os.getppid() == parent_pid:
        await asyncio.sleep(0.5)
    stop.set()


async def _serve(settings: TargetSettings, on_ready: Callable[[str], None] | None,
                 parent_pid: int | None = None) -> None:
    loop = asyncio.get_running_loop()
    timer = PreciseTimer(loop)
    slots, stats = ServiceSlots(settings, timer), TargetStats()
    try:
        server = await loop.create_server(
            lambda: HttpProtocol(slots, stats), settings.host, settings.port, reuse_address=True, backlog=1024
        )
    except OSError as exc:
        timer.stop()
        raise LoadTestError(
            f"demo target could not listen on {settings.host}:{settings.port}, {exc.strerror}: "
            "choose another --port (0 picks a free one)"
        ) from exc
    stop = asyncio.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        if threading.current_thread() is threading.main_thread():
            loop.add_signal_handler(signum, stop.set)
    background = [asyncio.create_task(_leak(settings, stats))]
    if parent_pid is not None:
        background.append(asyncio.create_task(_watch_parent(parent_pid, stop)))
    port = server.sockets[0].getsockname()[1]
    if on_ready is not None:
        on_ready(f"http://{_url_host(settings.host)}:{port}")
    try:
        await stop.wait()
    finally:
        for task in background:
            task.cancel()
        server.close()
        timer.stop()


def _url_host(host: str) -> str:
    return f"[{host}]" if ":" in host else host


def run_target(settings: TargetSettings, on_ready: Callable[[str], None] | None = None,
               parent_pid: int | None = None) -> None:
    """Serve in the foreground until SIGINT/SIGTERM, then return cleanly.

    ``on_ready(url)`` is called once the socket accepts connections. With
    ``parent_pid`` the server also stops when that process is no longer its parent.
    """
    previous = sys.getswitchinterval()
    sys.setswitchinterval(0.0005)  # lets the timer thread take the GIL promptly under load
    try:
        asyncio.run(_serve(settings, on_ready, parent_pid))
    finally:
        sys.setswitchinterval(previous)


def _child_main(settings_json: str, parent_pid: int) -> None:
    """Entry point of the child process started by :func:`start_target`."""
    settings = TargetSettings(**json.loads(settings_json))

    def ready(url: str) -> None:
        sys.stdout.write(f"READY {url}\n")
        sys.stdout.flush()

    try:
        run_target(settings, on_ready=ready, parent_pid=parent_pid)
    except CapplanError as exc:  # reported by the parent as one clear error
        sys.stdout.write(f"ERROR {exc}\n")
        sys.stdout.flush()
        sys.exit(exc.exit_code)
