"""The demo target's service model: C slots, a FIFO queue, precise service completions.

Why the design: asyncio timers are rounded up to the 1 ms granularity of epoll, which
would stretch a 10 ms mean service time by ~5-10 %. Service completions are therefore
timed by one precise timer thread (``threading.Condition.wait`` with sub-ms accuracy),
and each slot keeps a *virtual* clock: a queued request starts exactly when the
previous one's deadline passed, not when the wake-up happened, so wake-up jitter never
accumulates into lost capacity. Contention (USL-style) inflates a request's service time
by ``1 + sigma*(n-1) + kappa*n*(n-1)`` for the n slots busy when it starts.
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
import os
import random
import threading
import time
from collections import deque
from collections.abc import Callable

from capplan.loadtest.target_settings import TargetSettings


class PreciseTimer:
    """One thread that fires callbacks on the asyncio loop at precise monotonic deadlines."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop
        self._heap: list[tuple[float, int, Callable[[], None]]] = []
        self._seq = itertools.count()
        self._cond = threading.Condition()
        self._stopped = False
        self._thread = threading.Thread(target=self._run, name="target-timer", daemon=True)
        self._thread.start()

    def call_at(self, deadline_s: float, callback: Callable[[], None]) -> None:
        """Run ``callback`` on the loop as soon as ``time.monotonic() >= deadline_s``."""
        with self._cond:
            heapq.heappush(self._heap, (deadline_s, next(self._seq), callback))
            if self._heap[0][0] == deadline_s:
                self._cond.notify()

    def stop(self) -> None:
        """Stop the timer thread; pending callbacks are dropped."""
        with self._cond:
            self._stopped = True
            self._cond.notify()
        self._thread.join(timeout=2)

    def _run(self) -> None:
        while True:
            with self._cond:
                due = self._wait_due()
                if due is None:
                    return
            self._loop.call_soon_threadsafe(_run_all, due)

    def _wait_due(self) -> list[Callable[[], None]] | None:
        while not self._stopped:
            now = time.monotonic()
            if self._heap and self._heap[0][0] <= now:
                due = []
                while self._heap and self._heap[0][0] <= now:
                    due.append(heapq.heappop(self._heap)[2])
                return due
            self._cond.wait(self._heap[0][0] - now if self._heap else None)
        return None


def _run_all(callbacks: list[Callable[[], None]]) -> None:
    for callback in callbacks:
        callback()


class ServiceSlots:
    """C service slots with a FIFO queue and per-slot virtual clocks (see module docstring)."""

    def __init__(self, settings: TargetSettings, timer: PreciseTimer) -> None:
        self.settings = settings
        self.busy = 0
        self.queue: deque[tuple[float, Callable[[], None]]] = deque()
        self._timer = timer
        self._rng = random.Random(settings.seed)

    def submit(self, done: Callable[[], None]) -> None:
        """Serve one request; ``done`` runs on the loop when its service ends."""
        now = time.monotonic()
        if self.busy < self.settings.slots:
            self._start(now, done)
        else:
            self.queue.append((now, done))

    def _start(self, start_s: float, done: Callable[[], None]) -> None:
        self.busy += 1
        factor = self.settings.contention_factor(self.busy)
        deadline_s = start_s + self._draw_service_s() * factor
        self._timer.call_at(deadline_s, lambda: self._finish(deadline_s, done))

    def _draw_service_s(self) -> float:
        mean_s = self.settings.service_ms / 1000.0
        if self.settings.distribution == "constant":
            return mean_s
        return self._rng.expovariate(1.0 / mean_s)

    def _finish(self, deadline_s: float, done: Callable[[], None]) -> None:
        self.busy -= 1
        if self.queue:
            arrived_s, waiting = self.queue.popleft()
            self._start(max(arrived_s, deadline_s), waiting)
        done()

    def draw_error(self) -> bool:
        """True with probability ``error_rate``."""
        return self.settings.error_rate > 0 and self._rng.random() < self.settings.error_rate


class TargetStats:
    """Counters exported on /metrics."""

    def __init__(self) -> None:
        self.requests_by_code: dict[int, int] = {}
        self.leaked: list[bytes] = []
        self.leaked_bytes = 0

    def count(self, code: int) -> None:
        self.requests_by_code[code] = self.requests_by_code.get(code, 0) + 1


def rss_bytes() -> int:
    try:
        with open("/proc/self/statm", "rb") as fh:
            return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except OSError:  # not Linux
        import psutil

        return int(psutil.Process().memory_info().rss)


def metrics_text(slots: ServiceSlots, stats: TargetStats) -> str:
    """Prometheus text exposition format 0.0.4 (checked with ``promtool check metrics``)."""
    codes = {200: 0, **stats.requests_by_code}
    lines = ["# HELP requests_total Requests served by the demo target, by HTTP status code.",
             "# TYPE requests_total counter"]
    lines += [f'requests_total{{code="{code}"}} {n}' for code, n in sorted(codes.items())]
    gauges = [("busy_slots", "Service slots busy right now.", slots.busy),
              ("queued_requests", "Requests waiting for a free slot.", len(slots.queue)),
              ("slots", "Configured service slots.", slots.settings.slots),
              ("process_resident_memory_bytes", "Resident memory size in bytes.", rss_bytes()),
              ("leaked_bytes", "Bytes allocated on purpose by the leak knob.", stats.leaked_bytes)]
    for name, help_text, value in gauges:
        lines += [f"# HELP {name} {help_text}", f"# TYPE {name} gauge", f"{name} {value}"]
    return "\n".join(lines) + "\n"
