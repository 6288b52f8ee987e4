"""A Locust worker process that records with capplan's recorder and ships to the master.

Started by the master for ``--workers N`` (``python -m capplan.loadtest.worker SETTINGS``)
or by ``capplan loadtest ... --worker --master-host H`` on another machine.
"""

from __future__ import annotations

import os
import sys

import gevent
from locust.env import Environment

from capplan.loadtest.distributed import RATE_MESSAGE, Shipper, settings_from_json
from capplan.loadtest.openmodel import ArrivalSchedule, open_model_user
from capplan.loadtest.recorder import Recorder
from capplan.loadtest.settings import LoadTestSettings, check_reachable
from capplan.loadtest.users import user_classes


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
    classes = [open_model_user(c, schedule) for c in user_classes(settings.locustfile, settings.path)]
    env = Environment(user_classes=classes, host=settings.host)
    env.events.request.add_listener(recorder.on_request)
    runner = env.create_worker_runner(settings.master_host, settings.master_port)
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


def main() -> None:
    """Entry point of ``python -m capplan.loadtest.worker SETTINGS_JSON``."""
    run_worker(settings_from_json(sys.argv[1]))


if __name__ == "__main__":
    main()
