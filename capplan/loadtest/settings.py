"""``LoadTestSettings``: everything one load-test run needs, validated, and its results.

This is the stable library contract of :func:`capplan.loadtest.runner.run_scenario`
(used by ``capplan loadtest``, ``capplan demo`` and the analyze closed-loop tests).
Durations are seconds, rates requests/s. Load model: closed (``users``) unless
``rate_rps`` is given (open model, Poisson arrivals).

Every knob is declared once, below, with :func:`~capplan.loadtest.knob.knob`: its default,
flag, help, capplan.toml key and bounds. ``capplan loadtest <scenario>`` builds its options
from these declarations (each scenario shows only its own knobs), capplan.toml's
``[loadtest]`` and ``[loadtest.<scenario>]`` sections are validated against them
(:mod:`capplan.config.loadtest`), and :func:`validate_settings` checks their bounds.

- baseline: ramp ``ramp_s`` to the level, hold ``hold_s``; verdict on the hold.
- stress: start at ``users`` (default 1) or ``rate_rps``, x ``growth`` per step of
  ``step_s`` (up to ``max_step_s`` until steady), stop rules and knee refinement in
  :mod:`capplan.loadtest.stress`; capped by ``max_duration_s``.
- spike: ``spike_pre_s`` at the level, ``spike_multiplier`` x for ``spike_window_s``,
  ``spike_post_s`` back at the level; recovery within ``recovery_tolerance``.
- soak: ramp, then the level for ``soak_s``; drift of p95, error rate and target RSS.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from capplan.errors import ConfigError
# The host guard lives in its own module; re-exported here for existing imports.
from capplan.loadtest.hosts import check_host, check_reachable, host_port, is_loopback  # noqa: F401
from capplan.loadtest.knob import PER_SCENARIO, SCENARIOS, bound_problem, knob, knobs_of
from capplan.models.drift import RECOVERY_TOLERANCE
from capplan.models.slo import parse_slos

ROLES = ("local", "master", "worker")
_SCENARIO = PER_SCENARIO
DEFAULT_LEVEL = {"baseline": 10, "stress": 1, "spike": 10, "soak": 10}
"""Users when neither ``users`` nor ``rate_rps`` is given, per scenario."""
STRESS_MAX_DURATION_S = 600.0
"""Default cap of a stress run; fixed schedules default to their length + 60 s."""


@dataclass(frozen=True)
class LoadTestSettings:
    """One load-test run: every field after ``scenario`` is a knob (flag, capplan.toml key, help)."""

    scenario: str
    host: str = knob(flag="--host", help="Target base URL, e.g. http://127.0.0.1:8089.", key="host",
                     default_text="none (required)")
    slos: tuple[str, ...] = knob((), "--slo", 'SLO such as "p95<300ms" or "error_rate<0.5%"; repeat '
                                 "(capplan.toml: [service] slos).", kind="list")
    users: int | None = knob(None, "--users", "Closed model: concurrent users (stress: the first level).",
                             key="users", section=_SCENARIO, ge=1,
                             default_text="10 users (stress: 1) unless --rate is given")
    rate_rps: float | None = knob(None, "--rate", "Open model: arrival rate in req/s (stress: the first level).",
                                  key="rate", section=_SCENARIO, gt=0)
    locustfile: Path | None = knob(None, "--locustfile", "Locust user classes.",
                                   key="locustfile", default_text="GET --path")
    path: str = knob("/", "--path", "Path the default user GETs.", key="path")
    workers: int = knob(0, "--workers", "Local Locust worker processes (0: one process); with --master: "
                        "how many remote workers to wait for.", key="workers", ge=0, le=64)
    max_duration_s: float | None = knob(None, "--max-duration", "Hard cap on the run.", kind="duration",
                                        key="max_duration", gt=0,
                                        default_text="stress 10m, other scenarios their schedule + 1m")
    out_dir: Path = knob(Path("datasets/runs"), "--out", "Run store root.", key="out_dir")
    target_pid: int | None = knob(None, "--target-pid", "Record this process's CPU and RSS.")
    target_rss_query: str | None = knob(
        None, "--target-rss-query", "Target RSS from Prometheus: prometheus://host:9090?query=<gauge in bytes>, "
        "e.g. process_resident_memory_bytes (soak drift for a remote target).", key="target_rss_query")
    allow_hosts: tuple[str, ...] = knob((), "--allow-host", "Allow load to this non-loopback host; repeat.",
                                        kind="list", key="allow_hosts")
    request_timeout_s: float = knob(10.0, "--request-timeout", "Give up on one request after this long (counted "
                                    "as a timeout error).", kind="duration", key="request_timeout", gt=0)
    ramp_s: float = knob(5.0, "--ramp", "Ramp-up time.", scenarios=("baseline", "soak"), kind="duration",
                         key="ramp", section=_SCENARIO, ge=0)
    hold_s: float = knob(30.0, "--hold", "Time the expected load is held.", scenarios=("baseline",),
                         kind="duration", key="hold", section=_SCENARIO, gt=0)
    step_s: float = knob(10.0, "--step-duration", "Minimum time per step; the steady part it is held for is "
                         "this less --settle.", scenarios=("stress",), kind="duration", key="step_duration",
                         section=_SCENARIO, gt=0)
    max_step_s: float = knob(20.0, "--max-step-duration", "Longest wait for a step to reach steady state.",
                             scenarios=("stress",), kind="duration", key="max_step_duration", section=_SCENARIO,
                             gt=0)
    growth: float = knob(2.0, "--growth", "Load factor from one step to the next.", scenarios=("stress",),
                         key="growth", section=_SCENARIO, gt=1)
    max_level: float = knob(4096.0, "--max-users", "Highest level (users, or req/s in the open model).",
                            scenarios=("stress",), key="max_users", section=_SCENARIO, gt=0)
    refine_steps: int = knob(2, "--refine-steps", "Extra steps near the knee.", scenarios=("stress",),
                             key="refine_steps", section=_SCENARIO, ge=0)
    error_rate_max: float = knob(0.05, "--error-ceiling", "Stop climbing above this error rate (fraction).",
                                 scenarios=("stress",), key="error_ceiling", section=_SCENARIO, gt=0, le=1)
    spike_multiplier: float = knob(5.0, "--multiplier", "Surge factor.", scenarios=("spike",), key="multiplier",
                                   section=_SCENARIO, gt=1)
    spike_pre_s: float = knob(15.0, "--spike-before", "Base load before the surge.", scenarios=("spike",),
                              kind="duration", key="before", section=_SCENARIO, gt=0)
    spike_window_s: float = knob(15.0, "--spike-window", "Surge length.", scenarios=("spike",), kind="duration",
                                 key="window", section=_SCENARIO, gt=0)
    spike_post_s: float = knob(30.0, "--spike-after", "Base load after the surge.", scenarios=("spike",),
                               kind="duration", key="after", section=_SCENARIO, gt=0)
    recovery_tolerance: float = knob(RECOVERY_TOLERANCE, "--recovery-tolerance", "Recovered when p95 is within "
                                     "this fraction of its pre-spike level.", scenarios=("spike",),
                                     key="recovery_tolerance", section=_SCENARIO, gt=0)
    soak_s: float = knob(300.0, "--soak-duration", "Steady time.", scenarios=("soak",), kind="duration",
                         key="duration", section=_SCENARIO, gt=0)
    max_in_flight: int = knob(256, "--max-in-flight", "Open model: request pool.", key="max_in_flight", ge=1)
    settle_s: float = knob(2.0, "--settle", "Seconds left out at each step's start before steady-state "
                           "detection.", kind="duration", key="settle", ge=0)
    role: str = "local"
    master_host: str = knob("127.0.0.1", "--master-host", "Master address for --worker.")
    master_port: int = knob(5557, "--master-port", "Master port.", ge=1, le=65535)
    raw_dir: Path | None = knob(None, "--raw-dir", "Also write every raw latency here (audit).")
    seed: int | None = knob(None, "--seed", "Seed of the open model's arrival draws.", key="seed")
    extra: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        validate_settings(self)

    @property
    def open_model(self) -> bool:
        """True when a target arrival rate was given (open model)."""
        return self.rate_rps is not None

    @property
    def level(self) -> float:
        """The scenario's base level: users (closed, :data:`DEFAULT_LEVEL` when not given) or req/s (open)."""
        if self.open_model:
            return float(self.rate_rps)
        return float(self.users if self.users is not None else DEFAULT_LEVEL[self.scenario])

    @property
    def scheduled_s(self) -> float | None:
        """Length of a fixed schedule in seconds (None for stress, which adapts)."""
        if self.scenario == "baseline":
            return self.ramp_s + self.hold_s
        if self.scenario == "soak":
            return self.ramp_s + self.soak_s
        if self.scenario == "spike":
            return self.spike_pre_s + self.spike_window_s + self.spike_post_s
        return None

    @property
    def effective_max_duration_s(self) -> float:
        """``max_duration_s``, defaulting to 600 s for stress and schedule + 60 s otherwise."""
        if self.max_duration_s is not None:
            return self.max_duration_s
        return STRESS_MAX_DURATION_S if self.scheduled_s is None else self.scheduled_s + 60.0

    def parameters(self) -> dict[str, Any]:
        """The settings written to run.json (no headers or tokens are ever part of them)."""
        skip = {"extra", "slos", "host", "scenario"}
        out = {k: (str(v) if isinstance(v, Path) else v) for k, v in self.__dict__.items() if k not in skip}
        out["load_model"] = "open" if self.open_model else "closed"
        return out


def _need(ok: bool, message: str) -> None:
    if not ok:
        raise ConfigError(message)


def _check_bounds(s: LoadTestSettings) -> None:
    for name, (spec, _field) in knobs_of(LoadTestSettings).items():
        value = getattr(s, name)
        problem = bound_problem(spec, value)
        if problem is not None:
            typical = _field.default if _field.default is not None else (spec.ge if spec.ge is not None else 10)
            example = "30s, 2m or 1h" if spec.kind == "duration" else f"{spec.flag} {typical:g}"
            raise ConfigError(f"{spec.flag} {problem}, {value!r}, pass e.g. {example}")


def validate_settings(s: LoadTestSettings) -> None:
    """Raise ConfigError for the first invalid setting, naming the flag to fix."""
    _need(s.scenario in SCENARIOS, f"unknown scenario, {s.scenario!r}, use one of {', '.join(SCENARIOS)}")
    _need(s.role in ROLES, f"unknown role, {s.role!r}, use one of {', '.join(ROLES)}")
    parse_slos(s.slos)
    _need(s.users is None or s.rate_rps is None,
          f"--users and --rate are exclusive, {s.users} users and {s.rate_rps} req/s, "
          "pass --users for a closed model or --rate for an open one")
    _check_bounds(s)
    _need(s.role != "master" or s.workers >= 1, "--master needs the number of workers to wait for, "
          f"--workers {s.workers}, pass e.g. --master --workers 2")
    if s.target_rss_query is not None:
        from capplan.store.prometheus import parse_prometheus_url

        parse_prometheus_url(s.target_rss_query)
    _need(s.max_step_s >= s.step_s, f"max step duration {s.max_step_s}s is below the step duration "
          f"{s.step_s}s, raise --max-step-duration")
    _need(s.locustfile is None or Path(s.locustfile).is_file(),
          f"locustfile not found, {str(s.locustfile)!r}, pass an existing file to --locustfile "
          "(see loadtests/locustfile.py)")
    check_host(s.host, s.allow_hosts)


@dataclass(frozen=True)
class Verdict:
    """SLO verdict of a run: ``slos_met`` is None when no SLO was given."""

    slos_met: bool | None
    results: tuple[dict[str, Any], ...] = ()
    basis: str = ""


@dataclass(frozen=True)
class RunOutcome:
    """What :func:`run_scenario` returns: where the run is, its status, verdict and summary.

    ``steps`` are the steps.parquet rows without their sketches; ``summary`` is the
    scenario-specific block written to run.json (stress saturation step, spike recovery,
    soak drift).
    """

    run_dir: Path
    status: str
    verdict: Verdict
    summary: dict[str, Any]
    steps: tuple[dict[str, Any], ...]
    totals: dict[str, float]
