"""What a run does when something goes wrong while it runs (the table is docs/faults.md).

- SIGINT and SIGTERM (:data:`STOP_SIGNALS`) stop the load and finalize the run as
  ``interrupted``; the fixed-schedule step the signal cut short is kept as a ``partial``
  step (its completed steady seconds), so the verdict is judged on what was measured and is
  never "breached" for lack of data.
- A run in which no request succeeded is ``failed``: :func:`no_success_message` says what
  the requests met instead (refusals, timeouts, HTTP errors).
- A recording fault (disk full, read-only store) is described by :func:`describe`.
"""

from __future__ import annotations

import signal
from collections.abc import Iterator, Mapping
from typing import Any

from capplan.loadtest.recorder import SecondBucket, StepWindow
from capplan.loadtest.shapes import FixedController, StepComplete

STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)
"""Signals that stop a run gracefully (finalized as ``interrupted``)."""

EXIT_CODE_BY_SIGNAL = {"SIGINT": 130, "SIGTERM": 143}
"""CLI exit code of a run interrupted by each signal (128 + the signal number, as shells do)."""


def partial_steps(controller: FixedController, windows: Mapping[int, StepWindow],
                  recorded_until_s: float) -> Iterator[StepComplete]:
    """The steps still open when the run was interrupted that recorded steady seconds."""
    for phase in controller.phases:
        window = windows.get(phase.step)
        if phase.step < 0 or window is None or not window.rows:
            continue
        steady_from = phase.start_s + controller.settle_s
        yield StepComplete(phase.step, phase.stage, phase.level, phase.start_s, steady_from,
                           max(steady_from, recorded_until_s))


def describe(exc: BaseException) -> str:
    """One-clause description of a fault: the OS reason and the file, else the exception text."""
    if isinstance(exc, OSError) and exc.strerror:
        where = f" ({exc.filename})" if exc.filename else ""
        return f"{exc.strerror}{where}"
    cause = exc.__cause__
    if isinstance(cause, OSError) and cause.strerror:
        return describe(cause)
    return f"{type(exc).__name__}: {exc}"


def no_success_message(total: SecondBucket, settings: Any, outcome: Any) -> str:
    """The exit-5 message of a run in which no request succeeded."""
    from capplan.loadtest.hosts import recorded_host

    host = recorded_host(settings.host)
    if total.requests == 0:
        return (f"no request completed during the run, 0 responses from {host} in "
                f"{outcome.totals.get('duration_s', 0):.0f}s, check that the target answers within "
                f"--request-timeout {settings.request_timeout_s:g}s (run recorded as failed in {outcome.run_dir})")
    kinds = ", ".join(f"{kind} x{n}" for kind, n in total.errors_by_kind.most_common(3))
    return (f"no request succeeded, all {total.requests} failed ({kinds}) at {host}, check that the target "
            f"is up and answering (run recorded as failed in {outcome.run_dir})")
