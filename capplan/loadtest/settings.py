"""``LoadTestSettings``: everything one load-test run needs, validated, and its results.

This is the stable library contract of :func:`capplan.loadtest.runner.run_scenario`
(used by ``capplan loadtest``, ``capplan demo`` and the analyze closed-loop tests).
Durations are seconds, rates requests/s. Load model: closed (``users``) unless
``rate_rps`` is given (open model, Poisson arrivals).

Scenario knobs and defaults (all scenarios accept ``users`` or ``rate_rps``):

- baseline: ramp ``ramp_s`` to the level, hold ``hold_s``; verdict on the hold.
- stress: start at ``users`` (default 1) or ``rate_rps`` (default 10/s), x ``growth`` per
  step of ``step_s`` (up to ``max_step_s`` until steady), stop rules and knee refinement
  in :mod:`capplan.loadtest.stress`; capped by ``max_duration_s``.
- spike: ``spike_pre_s`` at the level, ``spike_multiplier`` x for ``spike_window_s``,
  ``spike_post_s`` back at the level; recovery within ``recovery_tolerance``.
- soak: ramp, then the level for ``soak_s``; drift of p95, error rate and target RSS.
"""

from __future__ import annotations

import ipaddress
import math
import socket
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from capplan.errors import ConfigError, LoadTestError
from capplan.models.slo import parse_slos

SCENARIOS = ("baseline", "stress", "spike", "soak")
ROLES = ("local", "master", "worker")


@dataclass(frozen=True)
class LoadTestSettings:
    """One load-test run (see the module docstring for each scenario's knobs)."""

    scenario: str
    host: str
    slos: tuple[str, ...] = ()
    users: int | None = None
    rate_rps: float | None = None
    locustfile: Path | None = None
    path: str = "/"
    workers: int = 0
    max_duration_s: float | None = None
    out_dir: Path = Path("datasets/runs")
    target_pid: int | None = None
    target_rss_query: str | None = None
    allow_hosts: tuple[str, ...] = ()
    ramp_s: float = 5.0
    hold_s: float = 30.0
    step_s: float = 10.0
    max_step_s: float = 20.0
    growth: float = 2.0
    max_level: float = 4096.0
    refine_steps: int = 2
    error_rate_max: float = 0.05
    spike_multiplier: float = 5.0
    spike_pre_s: float = 15.0
    spike_window_s: float = 15.0
    spike_post_s: float = 30.0
    recovery_tolerance: float = 0.2
    soak_s: float = 300.0
    max_in_flight: int = 256
    settle_s: float = 2.0
    role: str = "local"
    master_host: str = "127.0.0.1"
    master_port: int = 5557
    raw_dir: Path | None = None
    seed: int | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        validate_settings(self)

    @property
    def open_model(self) -> bool:
        """True when a target arrival rate was given (open model)."""
        return self.rate_rps is not None

    @property
    def level(self) -> float:
        """The scenario's base level: users (closed) or req/s (open)."""
        if self.open_model:
            return float(self.rate_rps)
        return float(self.users if self.users is not None else (1 if self.scenario == "stress" else 10))

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
        return 600.0 if self.scheduled_s is None else self.scheduled_s + 60.0

    def parameters(self) -> dict[str, Any]:
        """The settings written to run.json (no headers or tokens are ever part of them)."""
        skip = {"extra", "slos", "host", "scenario"}
        out = {k: (str(v) if isinstance(v, Path) else v) for k, v in self.__dict__.items() if k not in skip}
        out["load_model"] = "open" if self.open_model else "closed"
        return out


def _need(ok: bool, message: str) -> None:
    if not ok:
        raise ConfigError(message)


def validate_settings(s: LoadTestSettings) -> None:
    """Raise ConfigError for the first invalid setting, naming the flag to fix."""
    _need(s.scenario in SCENARIOS, f"unknown scenario, {s.scenario!r}, use one of {', '.join(SCENARIOS)}")
    _need(s.role in ROLES, f"unknown role, {s.role!r}, use one of {', '.join(ROLES)}")
    parse_slos(s.slos)
    _need(s.users is None or s.rate_rps is None,
          f"--users and --rate are exclusive, {s.users} users and {s.rate_rps} req/s, "
          "pass --users for a closed model or --rate for an open one")
    _need(s.users is None or s.users >= 1, f"--users must be at least 1, {s.users}, pass e.g. --users 10")
    _need(s.rate_rps is None or (math.isfinite(s.rate_rps) and s.rate_rps > 0),
          f"--rate must be a positive number of requests/s, {s.rate_rps}, pass e.g. --rate 50")
    _need(0 <= s.workers <= 64, f"--workers must be between 0 and 64, {s.workers}, pass e.g. --workers 2")
    _need(s.role != "master" or s.workers >= 1, "--master needs the number of workers to wait for, "
          f"--workers {s.workers}, pass e.g. --master --workers 2")
    if s.target_rss_query is not None:
        from capplan.store.prometheus import parse_prometheus_url

        parse_prometheus_url(s.target_rss_query)
    for name in ("effective_max_duration_s", "step_s", "max_step_s", "hold_s", "soak_s", "spike_window_s", "spike_pre_s",
                 "spike_post_s"):
        value = getattr(s, name)
        name = name.replace("effective_", "")
        _need(math.isfinite(value) and value > 0, f"{name} must be a positive duration, {value!r}, "
              "write durations like 30s, 2m or 1h")
    _need(s.ramp_s >= 0, f"ramp must be >= 0 s, {s.ramp_s!r}, write e.g. 5s")
    _need(s.growth > 1, f"stress growth must be > 1, {s.growth!r}, use e.g. 2 (double each step)")
    _need(s.spike_multiplier > 1, f"spike multiplier must be > 1, {s.spike_multiplier!r}, use e.g. 5")
    _need(s.max_step_s >= s.step_s, f"max step duration {s.max_step_s}s is below the step duration "
          f"{s.step_s}s, raise --max-step-duration")
    _need(s.max_in_flight >= 1, f"max in-flight must be >= 1, {s.max_in_flight}, use e.g. 256")
    _need(s.settle_s >= 0, f"settle time must be >= 0 s, {s.settle_s}, use e.g. 2s")
    _need(0 < s.error_rate_max <= 1, f"error ceiling must be in (0, 1], {s.error_rate_max}, use e.g. 0.05")
    _need(s.locustfile is None or Path(s.locustfile).is_file(),
          f"locustfile not found, {str(s.locustfile)!r}, pass an existing file to --locustfile "
          "(see loadtests/locustfile.py)")
    check_host(s.host, s.allow_hosts)


def host_port(url: str) -> tuple[str, int]:
    """(hostname, port) of an http(s) URL; ConfigError when it is not one."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConfigError(f"--host must be an http(s) URL, {url!r}, write e.g. http://127.0.0.1:8089")
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError as exc:
        raise ConfigError(f"--host has an invalid port, {url!r}, write e.g. http://127.0.0.1:8089") from exc
    return parts.hostname, port


def is_loopback(hostname: str) -> bool:
    """True for localhost and loopback IP literals (127.0.0.0/8, ::1)."""
    if hostname.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(hostname.strip("[]")).is_loopback
    except ValueError:
        return False


def check_host(url: str, allow_hosts: tuple[str, ...]) -> None:
    """Refuse non-loopback targets unless the user named them in ``--allow-host``."""
    hostname, _ = host_port(url)
    if not is_loopback(hostname) and hostname.lower() not in {h.lower() for h in allow_hosts}:
        raise ConfigError(f"refusing to send load to a non-loopback host, {hostname!r}, "
                          f"pass --allow-host {hostname} if you own it and mean it")


def check_reachable(url: str, timeout_s: float = 3.0) -> None:
    """Open and close one TCP connection to the target; LoadTestError when that fails."""
    hostname, port = host_port(url)
    try:
        with socket.create_connection((hostname, port), timeout=timeout_s):
            pass
    except OSError as exc:
        raise LoadTestError(f"target unreachable before the test started, {url} ({exc.strerror or exc}), "
                            "start the service (e.g. `capplan target`) or fix --host") from exc


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
