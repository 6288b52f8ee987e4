"""``run_scenario``: drive Locust as a library through one scenario and record the run.

One :class:`_Session` owns the Locust environment (local runner, or a master with worker
processes), the :class:`~capplan.loadtest.recorder.Recorder`, the scenario controller
(:mod:`capplan.loadtest.shapes`, :mod:`capplan.loadtest.stress`) and the
:class:`~capplan.store.runs.RunWriter`. A thin ``LoadTestShape`` adapter asks the
controller for the load once a second; a flusher greenlet turns each completed second
into a run-directory row (distributed: 2 s later, once the workers' sketches arrived).

Stopping: the schedule ends, ``max_duration_s`` passes, or SIGINT (Ctrl-C) / SIGTERM — in
every case the run is finalized (status ``complete`` or ``interrupted``) and summarized; an
interrupted fixed-schedule step is judged on its completed seconds (``partial``).

Failing safe (docs/faults.md): a fault while recording (disk full, read-only store) stops
the load within a second, finalizes what can still be written and raises
:class:`~capplan.errors.RecordingError`; a run in which no request succeeded is finalized
as ``failed`` and raises :class:`~capplan.errors.LoadTestError` — both exit 5.
"""

from __future__ import annotations

import logging
import math
import os
import signal
import time
from datetime import UTC, datetime
from typing import Any, Protocol

import gevent
import psutil
from locust import LoadTestShape
from locust.env import Environment
from locust.runners import STATE_STOPPED

from capplan.errors import LoadTestError, RecordingError
from capplan.loadtest.controllers import make_controller
from capplan.loadtest.distributed import MASTER_LAG_S, SECONDS_MESSAGE, LocalWorkers
from capplan.loadtest.faults import STOP_SIGNALS, describe, no_success_message, partial_steps
from capplan.loadtest.hosts import check_host
from capplan.loadtest.monitor import TargetMonitor
from capplan.loadtest.openmodel import ArrivalSchedule, open_model_user
from capplan.loadtest.recorder import (
    LoadState,
    ProcessSample,
    Recorder,
    SecondBucket,
    StepWindow,
    observed_from_sketch,
    second_row,
)
from capplan.loadtest.settings import LoadTestSettings, RunOutcome, check_reachable
from capplan.loadtest.shapes import FixedController, LoadTarget, StepComplete, StepResult
from capplan.loadtest.stress import StressController
from capplan.loadtest.summary import Series, build_summary, build_verdict, verdict_json
from capplan.loadtest.users import user_classes
from capplan.store.runs import RunWriter


class _NoSpawnRateWarning(logging.Filter):
    """The open model starts its whole request pool at once, on purpose; Locust warns above 100/s."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "spawn rate is very high" not in record.getMessage()


logging.getLogger("locust.runners").addFilter(_NoSpawnRateWarning())


class Progress(Protocol):
    """Receives live updates (the CLI renders them with rich)."""

    def on_second(self, row: dict[str, Any]) -> None: ...

    def on_step(self, row: dict[str, Any]) -> None: ...


def run_scenario(settings: LoadTestSettings, progress: Progress | None = None) -> RunOutcome:
    """Run one scenario against ``settings.host`` and return where and how it went.

    Raises :class:`LoadTestError` (exit 5) when the target is unreachable before the
    test starts or the workers never connect; never for errors during the run (those
    are recorded, and the SLO verdict decides).
    """
    if settings.role == "worker":
        raise LoadTestError("run_scenario runs a master or a local test, role 'worker', "
                            "use capplan.loadtest.worker.run_worker for workers")
    check_reachable(settings.host)
    session = _Session(settings, progress)
    outcome = session.run()
    session.raise_failure(outcome)
    return outcome


class _Shape(LoadTestShape):
    """Thin Locust adapter: the session's controller decides, Locust spawns."""

    def __init__(self, session: _Session) -> None:
        super().__init__()
        self._session = session

    def tick(self) -> tuple[int, float] | None:
        return self._session.tick()


class _Session:
    def __init__(self, settings: LoadTestSettings, progress: Progress | None) -> None:
        self.s, self.progress = settings, progress
        self.host = check_host(settings.host, settings.allow_hosts)  # what is loaded is what was checked
        self.raw = _raw_file(settings, "master" if settings.workers else "local")
        self.recorder = Recorder(self.raw)
        self.distributed = settings.workers > 0
        classes = user_classes(settings.locustfile, settings.path, settings.request_timeout_s)
        self.schedule: ArrivalSchedule | None = None
        if settings.open_model and not self.distributed:
            self.schedule = ArrivalSchedule(self.recorder.count_intended, settings.seed)
            classes = [open_model_user(c, self.schedule) for c in classes]
        self.env = Environment(user_classes=classes, host=self.host.url, shape_class=_Shape(self))
        self.env.events.request.add_listener(self.recorder.on_request)
        self.controller = make_controller(settings)
        self.windows: dict[int, StepWindow] = {}
        self.steps: list[dict[str, Any]] = []
        self.series, self.total = Series(), SecondBucket()
        self.state = LoadState("init", -1, 0, math.nan)
        self.states: dict[int, LoadState] = {}
        self.finished = False
        self.interrupted: str | None = None  # the signal's name once one arrived
        self.fault: BaseException | None = None
        self.late_samples = 0
        self.me = psutil.Process()
        self.target = TargetMonitor(settings.target_pid, settings.target_rss_query)
        self.workers: LocalWorkers | None = None
        self.extra_notes: list[str] = []
        self.pending: list[StepComplete] = []

    # -- lifecycle ---------------------------------------------------------------------
    def run(self) -> RunOutcome:
        s = self.s
        self.writer = RunWriter(s.scenario, self.host.recorded, root=s.out_dir, parameters=s.parameters(),
                                slos=s.slos, load_model="open" if s.open_model else "closed", flush_interval_s=2.0)
        status = "failed"
        previous = {sig: signal.getsignal(sig) for sig in STOP_SIGNALS}
        handlers = [gevent.signal_handler(sig, self._on_signal, sig) for sig in STOP_SIGNALS]
        try:
            self._start_runner()
            status = self._wait()
        finally:
            for handler in handlers:
                handler.cancel()
            for sig, old in previous.items():
                signal.signal(sig, old)
            outcome = self._finish(status)
        return outcome

    def raise_failure(self, outcome: RunOutcome) -> None:
        """Exit-5 faults, raised once the run is finalized: recording failed, or nothing succeeded."""
        if self.fault is not None:
            raise RecordingError(f"recording the run failed, {describe(self.fault)}, free space or choose "
                                 f"another --out (load stopped at t={self.fault_at_s:.0f}s; what could be "
                                 f"written is in {outcome.run_dir})") from self.fault
        if outcome.status == "failed" and self.interrupted is None:
            raise LoadTestError(no_success_message(self.total, self.s, outcome))

    def _start_runner(self) -> None:
        if self.distributed:
            self.workers = LocalWorkers(self.s)
            self.runner = self.env.create_master_runner(self.workers.bind_host, self.workers.port)
            self.runner.register_message(SECONDS_MESSAGE, self._on_worker_seconds)
            self.workers.start(self.runner)
        else:
            self.runner = self.env.create_local_runner()
        now = time.time()
        gevent.sleep(math.ceil(now) - now)  # rows line up with whole seconds
        self.t0 = round(time.time())
        self.next_s = self.t0
        self.me.cpu_percent(None)
        if self.schedule is not None:
            self.schedule.start()
        self.runner.start_shape()
        self.flusher = gevent.spawn(self._flush_loop)

    def _wait(self) -> str:
        cap = self.t0 + self.s.effective_max_duration_s + 2.0 + (MASTER_LAG_S if self.distributed else 0.0)
        while not self.finished and self.runner.state != STATE_STOPPED:
            if self.interrupted:
                return "interrupted"
            if time.time() > cap:
                self.extra_notes.append("stopped at --max-duration")
                break
            gevent.sleep(0.2)
        return "failed" if self.fault is not None else "complete"

    def _on_signal(self, sig: int) -> None:
        self.interrupted = self.interrupted or signal.Signals(sig).name

    def _on_fault(self, exc: BaseException) -> None:
        """A recording fault: remember the first, stop asking for load (the wait loop stops the runner)."""
        if self.fault is None:
            self.fault, self.fault_at_s = exc, time.time() - getattr(self, "t0", time.time())
            self.finished = True
            logging.getLogger(__name__).debug("recording fault", exc_info=exc)

    def _mark_stopping(self) -> None:
        """From this second on rows are labelled ``stopping`` and belong to no step."""
        self.finished = True
        self.states[int(time.time())] = LoadState("stopping", -1, 0, math.nan)

    def _finish(self, status: str) -> RunOutcome:
        if not self.finished:
            self._mark_stopping()
        self._stop_load()
        self._guarded(self._flush, final=True)
        self.pending, pending = [], self.pending
        for done in pending:
            self._guarded(self._complete_step, done, time.time() - self.t0)
        if self.interrupted and isinstance(self.controller, FixedController):
            for done in partial_steps(self.controller, self.windows, self.next_s - self.t0):
                self._guarded(self._complete_step, done, time.time() - self.t0, partial=True)
        if self.workers is not None:
            self.workers.stop(self.runner)
        self.runner.quit()
        if self.raw is not None:
            self.raw.close()
        if self.fault is not None or (status == "complete" and self.total.successes == 0):
            status = "failed"
        summary = build_summary(self.s, self.total, self.series, self.steps, self._extra())
        verdict = build_verdict(self.s, self.steps, summary)
        self._guarded(self.writer.finalize, status, verdict=verdict_json(verdict), summary=summary)
        if not self.writer.finalized:
            self.writer.mark_failed()
        steps = tuple({k: v for k, v in s.items() if k != "sketch"} for s in self.steps)
        return RunOutcome(self.writer.path, status, verdict, summary, steps, summary["totals"])

    def _stop_load(self) -> None:
        self.runner.stop()
        if self.schedule is not None:
            self.schedule.stop()
        if self.workers is not None:
            self.workers.collect_final(self.runner)
        if hasattr(self, "flusher"):
            self.flusher.kill(block=True)

    def _guarded(self, call: Any, *args: Any, **kwargs: Any) -> None:
        """Run a recording step; any exception becomes the run's recording fault (load stops)."""
        try:
            call(*args, **kwargs)
        except Exception as exc:  # noqa: BLE001 - a fault while recording must never leave load running
            self._on_fault(exc)

    def _extra(self) -> dict[str, Any]:
        extra: dict[str, Any] = {"notes": list(self.extra_notes) + self.target.notes}
        if isinstance(self.controller, StressController):
            extra["notes"] += self.controller.notes
            extra["stress"] = {"stop_reason": self.controller.stop_reason}
        if self.interrupted:
            extra["interrupted"] = {"signal": self.interrupted, "at_s": round(self.next_s - self.t0, 1)}
        if self.late_samples:
            extra["notes"].append(f"{self.late_samples} worker samples arrived late and were counted "
                                  "in the next second")
        return extra

    # -- the shape adapter ------------------------------------------------------------
    def tick(self) -> tuple[int, float] | None:
        if self.fault is not None:
            return None
        try:
            return self._tick()
        except Exception as exc:  # noqa: BLE001 - see _guarded
            self._on_fault(exc)
            return None

    def _tick(self) -> tuple[int, float] | None:
        self._flush()
        t = time.time() - self.t0
        if self._complete_ready() and isinstance(self.controller, StressController):
            return self._load(self.current)  # hold the step until its last seconds are recorded
        decision = self._decide(t)
        while isinstance(decision, StepComplete):
            self.pending.append(decision)
            if self._complete_ready() and isinstance(self.controller, StressController):
                return self._load(self.current)
            decision = self._decide(t)
        if decision is None:
            self._mark_stopping()
            return None
        self._enter(decision, t)
        return self._load(decision)

    def _load(self, target: LoadTarget) -> tuple[int, float]:
        self.current = target
        if self.s.open_model:
            self._set_rate(target.level)
            return self.s.max_in_flight, float(self.s.max_in_flight)
        return int(target.level), float(target.spawn_rate)

    def _complete_ready(self) -> bool:
        """Aggregate the ended steps whose seconds are all recorded; True if one still waits."""
        while self.pending and self.next_s - self.t0 >= math.floor(self.pending[0].end_s):
            self._complete_step(self.pending.pop(0), time.time() - self.t0)
        return bool(self.pending)

    def _decide(self, t: float) -> LoadTarget | StepComplete | None:
        series: list[float] = []
        if isinstance(self.controller, StressController):
            if self.distributed:
                # The master writes a second MASTER_LAG_S after it ended: the stress controller
                # judges steadiness on recorded seconds, so its clock is where the record is.
                t = min(t, self.next_s - self.t0)
            if self.state.step in self.windows:
                series = self.windows[self.state.step].throughput_from(self.controller.series_from_s)
        return self.controller.decide(t, series)

    def _enter(self, target: LoadTarget, t: float) -> None:
        if target.step >= 0 and target.step not in self.windows:
            steady_from = None
            if isinstance(self.controller, FixedController):
                phase = next(p for p in self.controller.phases if p.step == target.step)
                steady_from = phase.start_s + self.controller.settle_s
            self.windows[target.step] = StepWindow(target.step, target.stage, target.level, steady_from)
        users = self.s.max_in_flight if self.s.open_model else int(target.level)
        offered = target.level if self.s.open_model else math.nan
        self.state = LoadState(target.stage, target.step, users, offered)
        self.states[int(self.t0 + t)] = self.state

    def _set_rate(self, rate_rps: float) -> None:
        if self.schedule is not None:
            self.schedule.rate_rps = rate_rps
        elif self.workers is not None:
            self.workers.set_rate(self.runner, rate_rps)

    def _complete_step(self, done: StepComplete, t: float, partial: bool = False) -> None:
        window = self.windows.pop(done.step, None) or StepWindow(done.step, done.stage, done.level, None)
        row = window.finish(done.start_s, done.steady_start_s, done.end_s)
        row["partial"] = partial
        row["users"] = row["users"] if not self.s.open_model else self.s.max_in_flight
        row["offered_rps"] = done.level if self.s.open_model else math.nan
        self.steps.append(row)
        self.writer.write_steps(self.steps)
        if isinstance(self.controller, StressController):
            observed = observed_from_sketch(window.merged.sketch, window.merged.requests, window.merged.errors)
            self.controller.record(StepResult(done.step, done.level, row["throughput_rps"], observed), t)
        if self.progress is not None:
            self.progress.on_step(row)

    # -- recording --------------------------------------------------------------------
    def _flush_loop(self) -> None:
        lag = MASTER_LAG_S if self.distributed else 0.0
        while self.fault is None:
            now = time.time()
            gevent.sleep(math.floor(now) + 1.05 - now)
            self._guarded(self._flush, lag_s=lag)

    def _flush(self, lag_s: float | None = None, final: bool = False) -> None:
        lag = (MASTER_LAG_S if self.distributed else 0.0) if lag_s is None else lag_s
        cutoff = int(time.time() - lag) if not final else int(math.ceil(time.time()))
        buckets = self.recorder.take(None if final else cutoff)
        if final and buckets:
            cutoff = max(cutoff, max(buckets) + 1)
        if self.next_s >= cutoff and not buckets:
            return
        cpu = self.me.cpu_percent(None)
        target = self.target.sample()
        rows = [self._row(sec, buckets.get(sec, SecondBucket()), cpu, target) for sec in range(self.next_s, cutoff)]
        self.next_s = max(self.next_s, cutoff)
        if rows:
            self.writer.append_seconds(rows)
            if self.progress is not None:
                self.progress.on_second(rows[-1])

    def _row(self, sec: int, bucket: SecondBucket, cpu: float, target: ProcessSample) -> dict[str, Any]:
        bucket.gen_cpu_pct = cpu if math.isnan(bucket.gen_cpu_pct) else max(cpu, bucket.gen_cpu_pct)
        state = self._state_at(sec)
        row = second_row(sec - self.t0, sec, bucket, state, target)
        row["ts"] = datetime.fromtimestamp(sec, tz=UTC)
        self.total.merge(bucket)
        self.series.add(row)
        window = self.windows.get(state.step)
        if window is not None:
            window.add(row, bucket)
        return row

    def _state_at(self, sec: int) -> LoadState:
        keys = [k for k in self.states if k <= sec]
        if not keys:
            return LoadState("init", -1, 0, math.nan)
        best = max(keys)
        for k in [k for k in self.states if k < best]:
            del self.states[k]  # keep the dict small: older states are never asked for again
        return self.states[best]

    def _on_worker_seconds(self, msg: Any, **_: Any) -> None:
        for sec_text, wire in msg.data["seconds"].items():
            sec = int(sec_text)
            bucket = SecondBucket.from_wire(wire)
            if sec < self.next_s:
                self.late_samples += bucket.requests
                sec = self.next_s
            self.recorder.put(sec, bucket)
        if self.workers is not None:
            self.workers.note_report(msg.data)


def _raw_file(settings: LoadTestSettings, node: str):
    """The audit file of raw latencies (float64 ms) when ``raw_dir`` is set."""
    if settings.raw_dir is None:
        return None
    settings.raw_dir.mkdir(parents=True, exist_ok=True)
    return open(settings.raw_dir / f"{node}-{os.getpid()}.f64", "wb")
