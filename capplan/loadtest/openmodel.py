"""Open workload model on top of Locust: Poisson arrivals at a target rate.

Locust only knows users (a closed model). Here one scheduler greenlet draws Poisson
arrival times (exponential gaps at the current rate, in 20 ms batches) into a queue; a
pool of users takes one arrival each, sleeps until its intended time and runs one task.
When every pool user is busy (the target is slow), arrivals wait in the queue, and since
the recorder measures latency from the *intended* send time (carried in the request
context, see :data:`capplan.loadtest.recorder.INTENDED_TS_KEY`), that queueing shows in
the latency instead of silently lowering the offered load: no coordinated omission
(Tene, "How NOT to measure latency", 2013).

Only the first request of a task carries the intended time; later requests of the same
task are measured from their own send.

A schedule that is not ``active`` leaves the users closed-model (their own wait time):
a distributed worker wraps its users always and becomes open-model only when the master
sends it a rate, so a worker on another machine need not repeat the master's --rate.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable

import gevent
from gevent.queue import Queue
from locust import User

from capplan.loadtest.recorder import INTENDED_TS_KEY

_BATCH_S = 0.02


class ArrivalSchedule:
    """Poisson arrivals at ``rate_rps`` (changeable at any time) fed into a queue."""

    def __init__(self, on_intended: Callable[[float], None] | None = None, seed: int | None = None,
                 active: bool = True) -> None:
        self.rate_rps = 0.0
        self.active = active
        self.queue: Queue = Queue()
        self._rng = random.Random(seed)
        self._on_intended = on_intended
        self._greenlet: gevent.Greenlet | None = None

    def start(self) -> None:
        """Start drawing arrivals (idempotent)."""
        if self._greenlet is None:
            self._greenlet = gevent.spawn(self._run)

    def stop(self) -> None:
        """Stop drawing arrivals."""
        if self._greenlet is not None:
            self._greenlet.kill(block=False)
            self._greenlet = None

    def next_arrival(self) -> float:
        """Block until an arrival is due for dispatch; return its intended epoch time."""
        return self.queue.get()

    def _run(self) -> None:
        pending: float | None = None  # the next arrival already drawn, kept across batches
        while True:
            now = time.time()
            rate = self.rate_rps
            if rate <= 0:
                pending = None
                gevent.sleep(_BATCH_S)
                continue
            if pending is None:  # start, or after a pause at rate 0: no backfill
                pending = now + self._rng.expovariate(rate)
            horizon = now + _BATCH_S
            while pending < horizon:
                self.queue.put(pending)
                if self._on_intended is not None:
                    self._on_intended(pending)
                pending += self._rng.expovariate(rate)
            gevent.sleep(_BATCH_S / 2)


def open_model_user(base: type[User], schedule: ArrivalSchedule) -> type[User]:
    """A subclass of ``base`` whose every task starts at the next scheduled arrival."""

    class OpenModelUser(base):  # type: ignore[valid-type, misc]
        abstract = False
        _capplan_intended: float | None = None

        def on_start(self) -> None:
            super().on_start()
            if schedule.active:
                self._await_arrival()

        def wait_time(self) -> float:
            if not schedule.active:
                return super().wait_time()
            self._await_arrival()
            return 0.0

        def context(self) -> dict:
            ctx = super().context()
            intended, self._capplan_intended = self._capplan_intended, None
            return {**ctx, INTENDED_TS_KEY: intended} if intended is not None else ctx

        def _await_arrival(self) -> None:
            intended = schedule.next_arrival()
            delay = intended - time.time()
            if delay > 0:
                gevent.sleep(delay)
            self._capplan_intended = intended

    OpenModelUser.__name__ = OpenModelUser.__qualname__ = base.__name__
    return OpenModelUser
