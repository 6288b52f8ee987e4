"""A Locust worker process that records with capplan's recorder and ships to the master.

Started by the master for ``--workers N`` (``python -m capplan.loadtest.worker SETTINGS``)
or by ``capplan loadtest ... --worker --master-host H`` on another machine.

Fail safe: Locust replaces a worker's own ``--host`` with the master's at every spawn, so
the host guard (:mod:`capplan.loadtest.hosts`) checks *that* host before any user starts;
a refused host quits the worker with one ``Error:`` line. A worker quits when its master
has sent no heartbeat for :data:`MASTER_GONE_S` (Locust's default is 60 s), and on SIGTERM
or SIGINT.
"""

from __future__ import annotations

import os
import signal
from typing import Any

import gevent
import locust.runners
from locust.env import Environment

from capplan.errors import CapplanError
from capplan.loadtest.distributed import RATE_MESSAGE, Shipper, settings_from_json
from capplan.loadtest.openmodel import ArrivalSchedule, open_model_user
from capplan.loadtest.recorder import Recorder
from capplan.loadtest.hosts import check_host, check_reachable
from capplan.loadtest.settings import LoadTestSettings
from capplan.loadtest.users import user_classes

MASTER_GONE_S = 5
"""Seconds without a master heartbeat (sent every second) after which a worker quits."""


def run_worker(settings: LoadTestSettings) -> None:
    """Connect to the master, run whatever users it assigns, until it quits."""
    check_reachable(settings.host)
    raw = None
    if settings.raw_dir is not None:
        settings.raw_dir.mkdir(parents=True, exist_ok=True)
        raw = open(settings.raw_dir / f"worker-{os.getpid()}.f64", "wb")
    recorder = Recorder(raw)
    # The master decides the load model: its first rate message (sent before it asks for
    # users) turns the wrapped users open-model; without one they stay closed-model.
    schedule = ArrivalSchedule(recorder.count_intended, settings.seed, active=False)
    classes = [open_model_user(c, schedule)
               for c in user_classes(settings.locustfile, settings.path, settings.request_timeout_s)]
    env = Environment(user_classes=classes, host=check_host(settings.host, settings.allow_hosts).url)
    env.events.request.add_listener(recorder.on_request)
    locust.runners.MASTER_HEARTBEAT_TIMEOUT = MASTER_GONE_S  # read by the runner's checker at each tick
    runner = env.create_worker_runner(settings.master_host, settings.master_port)
    guard_master_host(runner, settings.allow_hosts)
    for sig in (signal.SIGTERM, signal.SIGINT):
        gevent.signal_handler(sig, runner.quit)
    shipper = Shipper(runner, recorder)

    def on_rate(msg: object, **_: object) -> None:
        schedule.active = True
        schedule.rate_rps = float(msg.data)  # type: ignore[attr-defined]

    runner.register_message(RATE_MESSAGE, on_rate)
    schedule.start()

    def on_stop(**_: object) -> None:
        schedule.rate_rps = 0.0
        shipper.ship(final=True)

    env.events.test_stop.add_listener(on_stop)
    loop = gevent.spawn(shipper.loop)
    try:
        runner.greenlet.join()
    finally:
        loop.kill()
        if raw is not None:
            raw.close()
    refused = getattr(runner, "capplan_refused", None)
    if refused is not None:
        raise type(refused)(f"worker refused the master's host: {refused}")


def guard_master_host(runner: Any, allow_hosts: tuple[str, ...]) -> None:
    """Check the host the master hands out before every spawn; quit the worker when it is refused."""
    start_worker = runner.start_worker

    def guarded(user_classes_count: dict[str, int], **kwargs: Any) -> None:
        try:
            checked = check_host(runner.environment.host or "", allow_hosts)
        except CapplanError as exc:
            runner.capplan_refused = exc
            runner.environment.host = None
            gevent.spawn(runner.quit)
            return
        runner.environment.host = checked.url
        start_worker(user_classes_count, **kwargs)

    runner.start_worker = guarded
